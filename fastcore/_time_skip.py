"""Virtual time: jump a skipping clock to the next deadline whenever every workflow waits.

As Temporal's time-skipping test server does: while a caller awaits a result or an update and
nothing runs (no activity attempt in flight, no commit pending, no input queued), the clock
skips to the next timer and fires it. The other engine parts keep the counters up to date
and call ``schedule`` when one of them may have dropped to zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sized

from ._clock import Clock
from ._lifecycle import Lifecycle
from ._timers import TimerService

__all__ = ["TimeSkipper"]


class TimeSkipper:
    """Skips the clock ahead when nothing runs and someone waits."""

    def __init__(self, clock: Clock, timers: TimerService, lifecycle: Lifecycle) -> None:
        self._clock = clock
        self._timers = timers
        self._life = lifecycle
        self.inflight = 0  # activity attempts running
        self.result_waiters = 0  # callers awaiting a result or an update
        self.pending_commits = 0  # appends the store has not made durable yet
        self._inputs: Sized = ()  # inputs queued for activation (the pipeline's queue)
        self._scheduled = False

    def watch_inputs(self, queue: Sized) -> None:
        """Count ``queue`` (the pipeline's inputs) as work that is not done yet."""
        self._inputs = queue

    def schedule(self) -> None:
        """Check soon whether time can skip (a cheap no-op for a real clock)."""
        if not self._clock.skips or self._scheduled or self._life.closed:
            return
        self._scheduled = True
        asyncio.get_running_loop().call_soon(self._check, 0)

    def _check(self, rounds: int) -> None:
        self._scheduled = False
        if (
            self._life.closed
            or self.result_waiters == 0
            or self.inflight
            or self.pending_commits
            or len(self._inputs)
        ):
            return
        if rounds < 2:
            # let callbacks that are already queued run first
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._check, rounds + 1)
            return
        nxt = self._timers.next_deadline()
        if nxt is None:
            return
        if nxt > self._clock.now():
            self._clock.skip_to(nxt)
        self._timers.fire_due()
        self.schedule()

    async def on_clock_advanced(self) -> None:
        """The clock was moved by hand (``VirtualClock.advance``): fire what fell due."""
        self._timers.fire_due()
        await asyncio.sleep(0)
