"""db/lru.py: the bounded least-recently-used map every in-process cache uses."""

from __future__ import annotations

from db.lru import LRU


def test_evicts_the_least_recently_used_beyond_the_capacity() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert list(cache) == ["a", "c"]
    assert cache.get("b") is None and len(cache) == 2


def test_peek_does_not_refresh() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.peek("a") == 1
    cache.put("c", 3)
    assert "a" not in cache and list(cache) == ["b", "c"]


def test_get_tells_a_stored_none_from_a_missing_key() -> None:
    cache: LRU[str, int | None] = LRU(2)
    cache.put("none", None)
    missing = object()
    assert cache.get("none", missing) is None
    assert cache.get("other", missing) is missing


def test_weights_bound_the_total_and_an_entry_too_heavy_changes_nothing() -> None:
    cache: LRU[str, str] = LRU(10, weigh=len)
    assert cache.put("a", "xxxx") and cache.put("b", "yyyy")
    assert cache.weight == 8
    assert not cache.put("huge", "z" * 11)
    assert list(cache) == ["a", "b"] and cache.weight == 8
    assert cache.put("c", "zzzzz")  # evicts "a" only: 4 + 5 <= 10
    assert list(cache) == ["b", "c"] and cache.weight == 9


def test_replacing_a_key_reweighs_it_and_pop_forgets_it() -> None:
    cache: LRU[str, str] = LRU(10, weigh=len)
    cache.put("a", "xxxxxx")
    cache.put("a", "xx")
    assert cache.weight == 2 and len(cache) == 1
    assert cache.pop("a") == "xx" and cache.pop("a") is None
    assert cache.weight == 0 and len(cache) == 0
    cache.put("b", "x")
    cache.clear()
    assert len(cache) == 0 and cache.weight == 0
