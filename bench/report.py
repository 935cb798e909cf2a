"""Results: the table on stdout, the markdown section for docs/benchmarks.md, machine facts."""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]

from bench.wrk import WrkResult


@dataclass(frozen=True)
class Measurement:
    name: str
    title: str
    wrk: WrkResult
    peak_rss_mib: float
    sql_per_request: int | None


@dataclass
class Report:
    started: datetime
    measurements: list[Measurement] = field(default_factory=list)
    reference: Measurement | None = None
    reference_of: str = "listing"
    # The reference endpoint's answers to other queries (detail, flat), by query name.
    other_references: list[Measurement] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)  # shown above the table, in order
    notes: list[str] = field(default_factory=list)

    def compared(self) -> Measurement | None:
        return next((m for m in self.measurements if m.name == self.reference_of), None)

    def ratio(self) -> float | None:
        ours, reference = self.compared(), self.reference
        if ours is None or reference is None or not reference.wrk.requests_per_second:
            return None
        return ours.wrk.requests_per_second / reference.wrk.requests_per_second

    def rows(self) -> list[tuple[str, ...]]:
        rows = [row(m) for m in self.measurements]
        if self.reference is not None:
            rows.append(row(self.reference))
        rows += [row(m) for m in self.other_references]
        return rows

    def other_ratio_lines(self) -> list[str]:
        lines = []
        for reference in self.other_references:
            ours = next((m for m in self.measurements if m.name == reference.name), None)
            if ours is None or not reference.wrk.requests_per_second:
                continue
            ratio = ours.wrk.requests_per_second / reference.wrk.requests_per_second
            lines.append(
                f"{reference.name} throughput: {ratio:.2f}x its reference "
                f"({ours.wrk.requests_per_second:,.0f} vs "
                f"{reference.wrk.requests_per_second:,.0f} req/s)"
            )
        return lines

    def ratio_line(self) -> str | None:
        ratio, ours, reference = self.ratio(), self.compared(), self.reference
        if ratio is None or ours is None or reference is None:
            return None
        return (
            f"{self.reference_of} throughput: {ratio:.2f}x the reference "
            f"({ours.wrk.requests_per_second:,.0f} vs "
            f"{reference.wrk.requests_per_second:,.0f} req/s; reference p50 "
            f"{reference.wrk.p50_ms:.1f} ms, p99 {reference.wrk.p99_ms:.1f} ms)"
        )

    def as_dict(self) -> dict[str, Any]:
        def one(m: Measurement) -> dict[str, Any]:
            return {
                "name": m.name,
                "title": m.title,
                "peak_rss_mib": round(m.peak_rss_mib, 1),
                "sql_per_request": m.sql_per_request,
                "wrk": m.wrk.as_dict(),
            }

        return {
            "started": self.started.isoformat(),
            "facts": self.facts,
            "measurements": [one(m) for m in self.measurements],
            "reference": one(self.reference) if self.reference else None,
            "reference_of": self.reference_of,
            "other_references": [one(m) for m in self.other_references],
            "ratio": self.ratio(),
            "notes": self.notes,
        }


HEADER = ("query", "req/s", "p50 ms", "p99 ms", "SQL/req", "peak RSS MiB", "failures")


def row(m: Measurement) -> tuple[str, ...]:
    return (
        m.title,
        f"{m.wrk.requests_per_second:,.1f}",
        f"{m.wrk.p50_ms:.1f}",
        f"{m.wrk.p99_ms:.1f}",
        "?" if m.sql_per_request is None else str(m.sql_per_request),
        f"{m.peak_rss_mib:,.0f}",
        str(m.wrk.failures),
    )


def text_table(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def markdown_table(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", *(["---:"] * (len(header) - 1))]) + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def render_text(report: Report) -> str:
    parts = [text_table(report.rows())]
    if (ratio := report.ratio_line()) is not None:
        parts.append(ratio)
    parts += report.other_ratio_lines()
    parts += report.notes
    return "\n".join(parts)


def render_markdown(report: Report) -> str:
    stamp = report.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### {stamp}", ""]
    lines += [f"- **{key}**: {value}" for key, value in report.facts.items()]
    lines += ["", markdown_table(report.rows()), ""]
    if (ratio := report.ratio_line()) is not None:
        lines += [ratio[0].upper() + ratio[1:] + ".", ""]
    lines += [line[0].upper() + line[1:] + "." for line in report.other_ratio_lines()]
    if report.other_references:
        lines.append("")
    lines += [f"{note}" for note in report.notes]
    return "\n".join(lines).rstrip() + "\n"


def append_markdown(path: Path, section: str, header: str) -> None:
    existing = path.read_text() if path.exists() else header
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(existing.rstrip("\n") + "\n\n" + section)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(cpus: int) -> str:
    ram = psutil.virtual_memory().total / 1024**3
    return (
        f"{cpus} CPUs ({cpu_model()}), {ram:.1f} GiB RAM, {platform.system()} {platform.release()}"
    )


def git_revision(root: Path) -> str:
    def git(*args: str) -> str:
        result = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    return revision + (" + uncommitted changes" if git("status", "--porcelain") else "")


def first_difference(
    ours: Any, theirs: Any, path: str = "", ignore: frozenset[str] = frozenset()
) -> str | None:
    """Where two JSON values first differ in shape or value (None if they agree)."""
    if isinstance(ours, Mapping) and isinstance(theirs, Mapping):
        keys_ours, keys_theirs = set(ours) - ignore, set(theirs) - ignore
        if keys_ours != keys_theirs:
            return (
                f"{path or '/'}: keys differ (only ours: {sorted(keys_ours - keys_theirs)}, "
                f"only reference: {sorted(keys_theirs - keys_ours)})"
            )
        for key in sorted(keys_ours):
            found = first_difference(ours[key], theirs[key], f"{path}/{key}", ignore)
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items vs {len(theirs)} in the reference"
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = first_difference(a, b, f"{path}/{index}", ignore)
            if found:
                return found
        return None
    if isinstance(ours, bool) != isinstance(theirs, bool):
        return f"{path or '/'}: {ours!r} vs {theirs!r} in the reference"
    numbers = isinstance(ours, int | float) and isinstance(theirs, int | float)
    if (numbers and abs(ours - theirs) < 1e-9) or (not numbers and ours == theirs):
        return None
    return f"{path or '/'}: {ours!r} vs {theirs!r} in the reference"
