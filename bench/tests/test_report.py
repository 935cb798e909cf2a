"""The table, the markdown section and the answer comparison."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.report import (
    Measurement,
    Report,
    append_markdown,
    first_difference,
    render_markdown,
    render_text,
)
from bench.wrk import WrkResult


def wrk_result(requests: int, p50_us: float, p99_us: float) -> WrkResult:
    return WrkResult(
        requests=requests,
        duration_us=10_000_000,
        bytes=0,
        latency_us={"p50": p50_us, "p99": p99_us},
        errors={"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        non2xx=0,
        graphql_errors=0,
    )


def sample_report() -> Report:
    report = Report(started=datetime(2026, 11, 26, 12, 30, tzinfo=UTC))
    report.measurements = [
        Measurement(
            "listing", "listing (50 + reviews)", wrk_result(1000, 40_000, 90_500), 300.4, 5
        ),
        Measurement("flat", "flat list (100)", wrk_result(3000, 10_000, 20_000), 301.0, 1),
    ]
    report.reference = Measurement(
        "listing", "reference listing (1 SQL)", wrk_result(4000, 8_000, 15_000), 110.0, 1
    )
    report.facts = {"Machine": "2 CPUs", "Load": "wrk -t2 -c32 -d20s"}
    return report


def test_text_table() -> None:
    text = render_text(sample_report())
    lines = text.splitlines()
    assert lines[0].split() == [
        "query",
        "req/s",
        "p50",
        "ms",
        "p99",
        "ms",
        "SQL/req",
        "peak",
        "RSS",
        "MiB",
        "failures",
    ]
    assert "listing (50 + reviews)" in lines[2]
    assert lines[2].split()[-6:] == ["100.0", "40.0", "90.5", "5", "300", "0"]
    assert "reference listing (1 SQL)" in lines[4]
    assert "listing throughput: 0.25x the reference (100 vs 400 req/s" in text
    assert len({len(line) for line in lines[:5]}) == 1  # aligned columns


def test_markdown_section(tmp_path: Path) -> None:
    section = render_markdown(sample_report())
    assert section.startswith("### 2026-11-26 12:30 UTC\n")
    assert "- **Machine**: 2 CPUs" in section
    assert "| query | req/s | p50 ms | p99 ms | SQL/req | peak RSS MiB | failures |" in section
    assert "| listing (50 + reviews) | 100.0 | 40.0 | 90.5 | 5 | 300 | 0 |" in section
    assert "Listing throughput: 0.25x the reference" in section
    path = tmp_path / "docs" / "benchmarks.md"
    append_markdown(path, section, "# Benchmarks\n")
    append_markdown(path, section, path.read_text())
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\n### 2026")
    assert text.count("### 2026-11-26") == 2


def test_no_reference_no_ratio() -> None:
    report = sample_report()
    report.reference = None
    assert report.ratio() is None
    assert "throughput" not in render_text(report)


def test_first_difference() -> None:
    ours = {"a": [1, {"b": 2.0, "c": "x"}], "cursor": "1"}
    assert (
        first_difference(
            ours, {"a": [1, {"b": 2, "c": "x"}], "cursor": "2"}, ignore=frozenset({"cursor"})
        )
        is None
    )
    assert first_difference(ours, {"a": [1, {"b": 2, "c": "y"}], "cursor": "1"}) == (
        "/a/1/c: 'x' vs 'y' in the reference"
    )
    assert first_difference(ours, {"a": [1], "cursor": "1"}) == "/a: 2 items vs 1 in the reference"
    assert "only ours: ['cursor']" in (first_difference(ours, {"a": ours["a"]}) or "")
    assert first_difference(True, 1) == "/: True vs 1 in the reference"
    assert first_difference({"n": None}, {"n": 0}) == "/n: None vs 0 in the reference"


def test_other_references_have_their_own_ratio() -> None:
    report = sample_report()
    report.other_references = [
        Measurement("flat", "reference flat (1 SQL)", wrk_result(6000, 5_000, 9_000), 100.0, 1)
    ]
    text = render_text(report)
    assert "reference flat (1 SQL)" in text
    assert "flat throughput: 0.50x its reference (300 vs 600 req/s)" in text
    assert "Flat throughput: 0.50x its reference" in render_markdown(report)
    assert report.as_dict()["other_references"][0]["name"] == "flat"
