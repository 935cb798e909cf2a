"""Creating, seeding once and reseeding the bench database; the workload's lookups."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import dataset
from bench.dataset import DatasetArgs, Servers, database_on
from bench.queries import LOOKUPS, QUERIES, Lookup, lookups_used, request_body
from bench.tests import fake_seed
from bench.tests.conftest import off_loop

SEED_DATABASE = "catalog_bench_test_seed"


@pytest.fixture
def fake_seed_module(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    monkeypatch.setattr(dataset, "SEED_MODULE", "bench.tests.fake_seed")
    monkeypatch.setattr(dataset, "SEED_SOURCE", Path(fake_seed.__file__))
    fake_seed.calls.clear()
    return fake_seed.calls


def test_seeds_once_and_reseeds_on_other_arguments(
    servers: Servers, fake_seed_module: list[dict[str, object]]
) -> None:
    url = database_on(servers.admin_url, SEED_DATABASE)
    off_loop(lambda: asyncio.run(dataset.recreate_database(servers.admin_url, SEED_DATABASE)))
    small = DatasetArgs(categories=3, products=40, users=20, reviews=30, seed=7)

    said = off_loop(lambda: dataset.prepare(servers.admin_url, url, small, skip_seed=False))
    assert said.startswith("seeded with --categories 3 --products 40")
    assert fake_seed_module == [
        {
            "database_url": url,
            "categories": 3,
            "products": 40,
            "users": 20,
            "reviews": 30,
            "seed": 7,
            "progress": True,
        }
    ]
    marker = off_loop(lambda: asyncio.run(dataset.read_marker(url)))
    assert marker == dataset.seed_fingerprint(small)

    said = off_loop(lambda: dataset.prepare(servers.admin_url, url, small, skip_seed=False))
    assert said.startswith("already seeded")
    assert len(fake_seed_module) == 1

    said = off_loop(lambda: dataset.prepare(servers.admin_url, url, small, skip_seed=True))
    assert "skipped" in said
    assert len(fake_seed_module) == 1

    bigger = DatasetArgs(categories=3, products=60, users=20, reviews=30, seed=7)
    # A fresh database first: the fake seed would fail on duplicate SKUs otherwise.
    said = off_loop(lambda: dataset.prepare(servers.admin_url, url, bigger, skip_seed=False))
    assert said.startswith("seeded with")
    assert len(fake_seed_module) == 2
    counts = off_loop(lambda: asyncio.run(dataset.dataset_counts(url)))
    assert counts["products"] == 60


def test_a_changed_seed_module_reseeds(
    servers: Servers, fake_seed_module: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = DatasetArgs(categories=3, products=40, users=20, reviews=30, seed=7)
    before = dataset.seed_fingerprint(small)
    monkeypatch.setattr(dataset, "SEED_SOURCE", Path(dataset.__file__))
    assert dataset.seed_fingerprint(small) != before


def test_missing_seed_module_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset, "SEED_MODULE", "bench.tests.no_such_seed")
    with pytest.raises(SystemExit, match="--skip-seed"):
        dataset.load_seed_catalog()


def test_lookups_find_data(scratch_url: str) -> None:
    names = lookups_used()
    assert set(names) == {"most_reviewed_slug", "search_word"}
    values = off_loop(
        lambda: asyncio.run(dataset.lookup_values(scratch_url, {n: LOOKUPS[n] for n in names}))
    )
    assert values["search_word"] == "wireless"
    assert str(values["most_reviewed_slug"]).startswith("product-")
    detail = next(q for q in QUERIES if q.name == "detail")
    assert request_body(detail, values)["variables"] == {"slug": values["most_reviewed_slug"]}
    assert isinstance(detail.variables["slug"], Lookup)


def test_a_lookup_that_finds_nothing_fails_clearly(scratch_url: str) -> None:
    statements = {"nothing": "SELECT slug FROM products WHERE false"}
    with pytest.raises(SystemExit, match="'nothing' found nothing"):
        off_loop(lambda: asyncio.run(dataset.lookup_values(scratch_url, statements)))
