"""The document cache over HTTP: memory stays flat however many distinct documents arrive, and
only documents that passed every check are kept."""

from __future__ import annotations

import gc
import time
from typing import cast

import httpx
import psutil  # type: ignore[import-untyped,unused-ignore]
from starlette.applications import Starlette

from app.http import GraphQLEndpoint
from app.settings import Settings
from schema.document_cache import DocumentCache
from schema.root import CatalogSchema
from tests.support.graphql import GraphQLClient

MIB = 1024 * 1024
# Over 2,000 documents of 250 to 400 kB parsed (500 MB if kept), the process may grow this much.
RSS_BOUND = 48 * MIB


def documents_of(app: Starlette) -> DocumentCache:
    endpoint: GraphQLEndpoint = app.state.graphql
    return cast(CatalogSchema, endpoint.full).shared.documents


def near_limit(i: int) -> str:
    """A valid document of about 14,000 characters and 1,000 tokens, distinct for each `i`.

    Mostly padded with comments, as in the issue (cheap to validate, 250 kB parsed: the
    parser keeps every comment token); every 20th a list of 930 strings (slow to validate,
    400 kB parsed).
    """
    if i % 20 == 0:
        ids = ", ".join(f'"{i:05d}-{k:06d}"' for k in range(930))
        return f"{{ nodes(ids: [{ids}]) {{ id }} }}"
    return "".join(f"#{i:06d}-{k:05d}\n" for k in range(985)) + "{ nodes(ids: []) { id } }"


async def test_distinct_near_limit_documents_leave_memory_flat(
    client: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    cache = documents_of(app)
    process = psutil.Process()
    for sample in (near_limit(0), near_limit(1)):
        assert 13_500 < len(sample) <= settings.max_document_length

    async def send(i: int) -> None:
        response = await client.post("/graphql", json={"query": near_limit(i)})
        assert "cost" in response.json()["extensions"]  # it ran

    for i in range(100):  # the cache fills up: from here on it only replaces
        await send(i)
    gc.collect()
    before = process.memory_info().rss
    largest = 0
    started = time.perf_counter()
    for i in range(100, 2_100):
        await send(i)
        largest = max(largest, cache.bytes)
    elapsed = time.perf_counter() - started
    gc.collect()
    grown = process.memory_info().rss - before

    assert grown < RSS_BOUND, f"grew {grown / MIB:.1f} MiB over 2,000 documents"
    assert largest <= cache.budget == settings.document_cache_bytes
    assert 10 < len(cache) < 100  # ~650 kB weighed each: a few dozen fit in the budget
    assert cache.get(near_limit(2_099)) is not None  # the latest are the ones kept
    assert cache.get(near_limit(100)) is None
    print(f"2,000 documents in {elapsed:.1f} s, RSS {grown / MIB:+.1f} MiB")


async def test_a_valid_document_is_kept_and_reused(gql: GraphQLClient, app: Starlette) -> None:
    cache = documents_of(app)
    document = "{ me { id } } # kept"

    await gql.data(document)
    entry = cache.get(document)
    await gql.data(document)

    assert entry is not None
    assert cache.get(document) is entry
    assert id(documents_full(app)) in entry.valid_for


def documents_full(app: Starlette) -> CatalogSchema:
    endpoint: GraphQLEndpoint = app.state.graphql
    return cast(CatalogSchema, endpoint.full)


async def test_refused_documents_are_not_kept(
    gql: GraphQLClient, app: Starlette, settings: Settings
) -> None:
    cache = documents_of(app)
    refused = [
        "{ me { nope } }",  # invalid
        "{ me { id }",  # unparseable
        "{ me @skip(if: true) @skip(if: false) { id } }",  # over a limit
        '{ product(slug: "\\u0000") { id } }',  # a string no store takes
        " ".join(f"a{i}: me {{ id }}" for i in range(settings.max_aliases + 1)).join("{}"),
    ]
    for document in refused:
        body = await gql.post(document)
        assert "data" not in body, (document, body)
        assert cache.get(document) is None, document
