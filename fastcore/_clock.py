"""Time for the engine: a clock the user can replace (``fastcore.testing.VirtualClock``)."""

from __future__ import annotations

import time

__all__ = ["Clock", "SystemClock"]


class Clock:
    """Wall-clock time in epoch seconds; every workflow time comes from here."""

    #: Whether the engine may jump this clock ahead when nothing is running.
    skips = False

    def now(self) -> float:
        """Current time, epoch seconds."""
        return time.time()

    def skip_to(self, when: float) -> None:
        """Jump ahead to ``when`` (only clocks with ``skips`` do)."""
        raise NotImplementedError


class SystemClock(Clock):
    """The real clock."""

    #: ``time.time`` itself: the engine stamps every event, and this costs it one C call
    now = staticmethod(time.time)
