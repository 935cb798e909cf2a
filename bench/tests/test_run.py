"""Short end-to-end runs of the harness on the scratch dataset: servers, pre-check, SQL count,
wrk, RSS, the table, the results JSON and the markdown record."""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench import run
from bench.dataset import BENCH_DATABASE, Servers, database_on
from bench.queries import QUERIES, BenchQuery
from bench.tests.conftest import fill_scratch, off_loop
from bench.wrk import WrkResult

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@pytest.fixture
def bench_env(servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`catalog_bench` on the test server (never the real one), holding scratch data."""
    url = database_on(servers.admin_url, BENCH_DATABASE)
    off_loop(lambda: fill_scratch(url, servers.admin_url))
    monkeypatch.setenv("DATABASE_URL", servers.admin_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setattr(run, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(run, "BENCHMARKS_MD", tmp_path / "benchmarks.md")
    return tmp_path


SHORT = [
    *("--duration", "1", "--warmup", "1", "--connections", "4", "--workers", "1"),
    *("--orders-seconds", "1"),
]


def test_reference_only(bench_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = run.parse_args([*SHORT, "--skip-seed", "--reference-only", "--record"])
    with ExitStack() as stack:
        assert run.run(options, stack) == 0
    out = capsys.readouterr().out
    assert "reference listing (1 SQL)" in out
    assert "listing throughput" not in out  # nothing of ours to compare
    recorded = (bench_env / "benchmarks.md").read_text()
    assert recorded.startswith("# Benchmarks\n\n### ")
    assert "| reference listing (1 SQL) |" in recorded
    (saved,) = (bench_env / "results").glob("*.json")
    data = json.loads(saved.read_text())
    assert data["reference"]["wrk"]["requests"] > 0
    assert data["reference"]["peak_rss_mib"] > 10
    assert data["measurements"] == []


def test_full_run(bench_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Long enough for our listing (slow, one worker) to complete requests in the window.
    options = run.parse_args(
        [*SHORT, "--duration", "3", "--skip-seed", "--queries", "flat,listing"]
    )
    with ExitStack() as stack:
        assert run.run(options, stack) == 0
    out = capsys.readouterr().out
    assert "pre-check passed" in out
    assert "the reference's listing answer matches ours" in out
    assert "listing throughput:" in out
    assert "| one hot product, 4 clients |" in out
    # The placeOrder rows' client (bench.orders.Connection) placed orders, none failed.
    rows = {
        cells[0]: cells
        for line in out.splitlines()
        if line.startswith(("| distinct products", "| one hot product"))
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert int(rows["distinct products, 4 clients"][4]) > 0, rows
    assert [row[6] for row in rows.values()] == ["0", "0"], rows
    (saved,) = (bench_env / "results").glob("*.json")
    data = json.loads(saved.read_text())
    assert [m["name"] for m in data["measurements"]] == ["flat", "listing"]
    for measurement in data["measurements"]:
        assert measurement["sql_per_request"] >= 1
        assert measurement["wrk"]["requests"] > 0, measurement
        assert measurement["peak_rss_mib"] > 10
    assert not (bench_env / "benchmarks.md").exists()  # no --record


def test_precheck_failure_is_explained(
    bench_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = BenchQuery("flat", "flat", "{ products(first: 1) { noSuchField } }")
    monkeypatch.setattr(run, "QUERIES", tuple(broken if q.name == "flat" else q for q in QUERIES))
    options = run.parse_args([*SHORT, "--skip-seed", "--queries", "flat"])
    with ExitStack() as stack, pytest.raises(run.BenchError) as failure:
        run.run(options, stack)
    message = str(failure.value)
    assert "api failed the pre-check for query 'flat' (HTTP 400)" in message
    assert "noSuchField" in message
    assert "bench/queries.py" in message


def test_option_checks() -> None:
    with pytest.raises(SystemExit):
        run.parse_args(["--queries", "nope"])
    with pytest.raises(SystemExit):
        run.parse_args(["--connections", "1", "--threads", "2"])
    options = run.parse_args(["--queries", "detail,listing"])
    assert [q.name for q in options.queries] == ["detail", "listing"]
    assert options.dataset.describe() == (
        "--categories 200 --products 20000 --users 2000 --reviews 100000 --seed 42"
    )


def test_a_run_without_completed_requests_is_a_failure() -> None:
    clean = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    none_done = WrkResult(0, 1_000_000, 0, {"p50": 0.0, "p99": 0.0}, clean, 0, 0)
    assert not run.succeeded(none_done)
    some_done = WrkResult(5, 1_000_000, 0, {"p50": 1.0, "p99": 2.0}, clean, 0, 0)
    assert run.succeeded(some_done)
