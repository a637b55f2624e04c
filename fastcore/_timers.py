"""Deadlines on the engine's clock: durable timers, activity timeouts, retry backoff."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

from ._clock import Clock

__all__ = ["TimerEntry", "TimerService", "log_callback_error"]

_log = logging.getLogger("fastcore.engine")


def log_callback_error(callback: Callable[..., Any], args: tuple[Any, ...], err: Exception) -> None:
    """Log (WARNING) that a timer callback raised ``err``: what happens with no ``on_error``."""
    _log.warning(
        "fastcore timer callback %s failed: %s: %s",
        getattr(callback, "__qualname__", callback),
        type(err).__name__,
        err,
        exc_info=err,
    )


class TimerEntry:
    """One deadline: ``cancel()`` keeps its callback from running."""

    __slots__ = ("args", "callback", "cancelled", "deadline")

    def __init__(
        self, deadline: float, callback: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        self.deadline = deadline
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerService:
    """A heap of deadlines with one real loop callback armed for the earliest.

    A callback that raises does not stop the others: ``on_error(callback, args, error)`` is
    told (the engine fails the workflow task of the run it belonged to), and the service
    goes on.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.on_error: Callable[[Callable[..., Any], tuple[Any, ...], Exception], None] = (
            log_callback_error
        )
        self._heap: list[tuple[float, int, TimerEntry]] = []
        self._seq = itertools.count()
        self._armed: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def call_at(self, deadline: float, callback: Callable[..., Any], *args: Any) -> TimerEntry:
        entry = TimerEntry(deadline, callback, args)
        heapq.heappush(self._heap, (deadline, next(self._seq), entry))
        if self._armed_at is None or deadline < self._armed_at:
            self._arm()
        return entry

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerEntry:
        return self.call_at(self.clock.now() + delay, callback, *args)

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _arm(self) -> None:
        if self._armed is not None:
            self._armed.cancel()
            self._armed = None
            self._armed_at = None
        if self.closed:
            return
        nxt = self.next_deadline()
        if nxt is None:
            return
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        delay = max(0.0, nxt - self.clock.now())
        self._armed = loop.call_later(delay, self.fire_due)
        self._armed_at = nxt

    def fire_due(self) -> None:
        """Run every callback whose deadline has passed, then re-arm."""
        self._armed = None
        self._armed_at = None
        now = self.clock.now()
        heap = self._heap
        while heap and (heap[0][0] <= now or heap[0][2].cancelled):
            _, _, entry = heapq.heappop(heap)
            if entry.cancelled:
                continue
            entry.cancelled = True
            try:
                entry.callback(*entry.args)
            except Exception as err:  # one run's fault must not stop every timer
                try:
                    self.on_error(entry.callback, entry.args, err)
                except Exception:
                    log_callback_error(entry.callback, entry.args, err)
        self._arm()

    def close(self) -> None:
        self.closed = True
        if self._armed is not None:
            self._armed.cancel()
        self._heap.clear()
