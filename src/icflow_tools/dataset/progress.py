"""A progress line on stderr for long runs, at most once a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, what: str, total: int | None = None, stream: TextIO | None = None, every: float = 1.0) -> None:
        self._what = what
        self._total = total
        self._stream = stream or sys.stderr
        self._every = every
        self._start = self._last = time.monotonic()
        self.done = 0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._print(now)

    def finish(self) -> None:
        self._print(time.monotonic())

    def _print(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-9)
        of = f"/{self._total}" if self._total is not None else ""
        print(f"{self._what}: {self.done}{of} ({rate:.0f}/s)", file=self._stream, flush=True)
