"""The byte-budgeted document cache: weights, least-recently-used eviction, and a weight that
does not underestimate what a parsed document really holds."""

from __future__ import annotations

import tracemalloc

import pytest

from schema.document_cache import DocumentCache, parse_counting_tokens

OPTIONS = {"max_tokens": 1000}


def entry_of(cache: DocumentCache, text: str) -> None:
    document, tokens = parse_counting_tokens(text, OPTIONS)  # type: ignore[arg-type]
    cache.add(text, document, tokens)


def test_least_recently_used_documents_go_first_when_the_budget_is_spent() -> None:
    texts = [f"{{ me {{ id }} }} # {i}" for i in range(4)]
    one = DocumentCache(budget=10**9)
    entry_of(one, texts[0])
    weight = one.bytes
    cache = DocumentCache(budget=3 * weight)

    for text in texts[:3]:
        entry_of(cache, text)
    assert cache.get(texts[0]) is not None  # now the most recently used
    entry_of(cache, texts[3])

    assert cache.get(texts[1]) is None
    assert all(cache.get(text) is not None for text in (texts[0], texts[2], texts[3]))
    assert cache.bytes == 3 * weight <= cache.budget


def test_a_document_bigger_than_the_budget_is_not_kept() -> None:
    cache = DocumentCache(budget=2048)
    entry_of(cache, "{ me { " + "id " * 200 + "} }")

    assert len(cache) == 0 and cache.bytes == 0


def test_adding_the_same_text_again_does_not_count_it_twice() -> None:
    cache = DocumentCache(budget=10**9)
    entry_of(cache, "{ me { id } }")
    weight = cache.bytes
    entry_of(cache, "{ me { id } }")

    assert cache.bytes == weight and len(cache) == 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{ me { " + "id " * 995 + "} }", id="fields"),
        pytest.param("{ me { " + "createdAt " * 995 + "} }", id="long-fields"),
        pytest.param(
            "{ nodes(ids: [" + ", ".join(f'"id-{i:09d}"' for i in range(930)) + "]) { id } }",
            id="strings",
        ),
        pytest.param(
            "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(160)) + " }", id="aliases"
        ),
        pytest.param("#" + "x" * 14_000 + "\n{ me { id } }", id="comment"),
    ],
)
def test_the_weight_covers_what_parsing_allocates(text: str) -> None:
    tracemalloc.start()
    document, tokens = parse_counting_tokens(text, OPTIONS)  # type: ignore[arg-type]
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    # What graphql-core's code allocated (the test process allocates for itself meanwhile).
    by_graphql = snapshot.filter_traces([tracemalloc.Filter(True, "*/graphql/*")])
    allocated = sum(stat.size for stat in by_graphql.statistics("filename"))
    cache = DocumentCache(budget=10**9)
    cache.add(text, document, tokens)

    # Never less than what is held (the weight also counts the text, which the parser did not
    # allocate), and not so much more that the budget would hold far fewer documents than it can.
    assert allocated <= cache.bytes < 2 * (allocated + len(text)) + 2048
