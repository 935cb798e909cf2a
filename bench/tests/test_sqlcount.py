"""Counting SQL statements per request, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.dataset import Servers
from bench.queries import BenchQuery
from bench.sqlcount import count_statements

TYPENAME = BenchQuery("typename", "typename", "{ __typename }")
TWO_PRODUCTS = BenchQuery(
    "two", "two", "query Two($n: Int) { products(first: $n) { edges { node { id } } } }", {"n": 2}
)
BROKEN = BenchQuery("broken", "broken", "{ noSuchField }")


async def test_counts_statements(scratch_url: str, servers: Servers, tmp_path: Path) -> None:
    counted = await count_statements(
        scratch_url, servers.redis_url, [TYPENAME, TWO_PRODUCTS], {}, tmp_path
    )
    assert counted["typename"] == []
    assert len(counted["two"]) >= 1
    assert any("products" in statement for statement in counted["two"])


async def test_a_failing_query_is_an_error(
    scratch_url: str, servers: Servers, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="'broken' failed: 400"):
        await count_statements(scratch_url, servers.redis_url, [BROKEN], {}, tmp_path)
