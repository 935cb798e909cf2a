"""Progress bars for the seed's phases: one redrawn stderr line each, on a terminal only."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TextIO, TypeVar

COPY_BATCH = 1000  # rows between progress-bar updates

_T = TypeVar("_T")


class Bar:
    """One phase's progress: a single redrawn stderr line, finished with the elapsed time."""

    WIDTH = 28

    def __init__(self, stream: TextIO | None, label: str, total: int) -> None:
        self._stream = stream
        self._label = label
        self._total = max(total, 1)
        self._done = 0
        self._drawn = -1
        self._started = time.perf_counter()

    def __enter__(self) -> Bar:
        self._draw()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stream is None:
            return
        if kind is None:
            self._done = self._total
            self._drawn = -1
            self._draw(f" {time.perf_counter() - self._started:.1f} s")
        self._stream.write("\n")
        self._stream.flush()

    def advance(self, count: int = 1) -> None:
        self._done = min(self._done + count, self._total)
        self._draw()

    def _draw(self, suffix: str = "") -> None:
        if self._stream is None:
            return
        percent = self._done * 100 // self._total
        # Redraw only when the percentage moves: terminals are slow next to the work.
        if percent == self._drawn:
            return
        self._drawn = percent
        filled = self.WIDTH * self._done // self._total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(f"\r{self._label:<18} [{bar}] {percent:3d}%{suffix}")
        self._stream.flush()


class Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr
        # Bars in a log file or a pipe are noise: draw only on an interactive terminal.
        self._stream = stream if enabled and stream.isatty() else None

    def phase(self, label: str, total: int = 1) -> Bar:
        return Bar(self._stream, label, total)

    def track(self, label: str, rows: Sequence[_T]) -> Iterator[_T]:
        """Yield `rows` (to COPY) while the bar follows how many were consumed."""
        with self.phase(label, len(rows)) as bar:
            for start in range(0, len(rows), COPY_BATCH):
                yield from rows[start : start + COPY_BATCH]
                bar.advance(min(COPY_BATCH, len(rows) - start))
