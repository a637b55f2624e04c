"""Testing helpers: a virtual clock that skips ahead, as Temporal's time-skipping server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from ._clock import Clock

__all__ = ["VirtualClock"]


class VirtualClock(Clock):
    """A clock that runs at real speed and jumps ahead whenever every workflow is waiting.

    As with Temporal's time-skipping test environment, the engine skips to the next timer
    while a caller awaits a workflow's ``result()`` and no activity is running, so a test of
    a one-hour timer finishes in milliseconds. ``advance()`` moves time by hand (timers that
    fall due fire at once); ``start`` fixes the starting time (a datetime or epoch seconds).
    """

    skips = True

    def __init__(self, start: float | datetime | None = None) -> None:
        if isinstance(start, datetime):
            start = start.timestamp()
        self._offset = 0.0 if start is None else start - time.time()
        self._engines: list[object] = []

    def now(self) -> float:
        return time.time() + self._offset

    def skip_to(self, when: float) -> None:
        delta = when - self.now()
        if delta > 0:
            self._offset += delta

    async def advance(self, duration: timedelta | float) -> None:
        """Move time forward by ``duration`` and fire whatever falls due."""
        seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
        self._offset += seconds
        for engine in list(self._engines):
            await engine._on_clock_advanced()  # type: ignore[attr-defined]

    sleep = advance
