"""Long polls: how long a call may wait, and waiting for a run to change without polling.

A long poll waits until the run changes, or until just before the client's deadline (the
Python client gives history polls 70 s, the ``temporal`` CLI 65 s), so the client gets an
answer (an empty page with a next page token) instead of ``DEADLINE_EXCEEDED``. It is woken
by the engine's own change notification, ``WorkflowHandle.watch()``, which yields each event
as it is appended; never by a timer loop. Stopping the bridge wakes every long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc.aio

__all__ = ["Budget", "wait_for_event"]

_MARGIN = 2.0  # seconds kept before the client's deadline: the answer must arrive in time
_MIN_WAIT = 0.05


class Budget:
    """How long one call may wait: until shortly before the client's deadline, at most
    ``cap`` seconds (the whole cap when the client set no deadline)."""

    def __init__(self, context: grpc.aio.ServicerContext, cap: float) -> None:
        remaining = context.time_remaining()
        wait = cap
        if remaining is not None:
            margin = _MARGIN if remaining > 2 * _MARGIN else remaining / 4
            wait = min(cap, remaining - margin)
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._end = loop.time() + max(wait, _MIN_WAIT)

    def left(self) -> float:
        """Seconds left to wait (0 when spent)."""
        return max(0.0, self._end - self._loop.time())


async def wait_for_event(
    handle: Any,
    from_event_id: int,
    timeout: float,
    closing: asyncio.Event,
    *,
    also: asyncio.Future[Any] | None = None,
) -> bool:
    """Wait until the run has event ``from_event_id`` (or has closed), for ``timeout`` s.

    Args:
        handle: The run's engine handle.
        from_event_id: The engine event id to wait for.
        timeout: Seconds to wait at most.
        closing: Set when the bridge stops.
        also: Another future whose completion ends the wait too (e.g. an update's task).

    Returns:
        True when the run changed (or closed) or ``also`` completed, False when the time
        ran out or the bridge is stopping.
    """
    if timeout <= 0 or closing.is_set():
        return False
    if also is not None and also.done():
        return True
    events = handle.watch(from_event_id=from_event_id)
    nxt: asyncio.Future[Any] = asyncio.ensure_future(anext(events, None))
    stop = asyncio.ensure_future(closing.wait())
    waits: set[asyncio.Future[Any]] = {nxt, stop}
    if also is not None:
        waits.add(also)
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if nxt in done:
            nxt.result()  # an engine error (e.g. the run was purged) reaches the caller
            return True
        return also is not None and also in done
    finally:
        for task in (nxt, stop):
            task.cancel()
        await asyncio.wait({nxt, stop})  # let the watch leave its wait (it unregisters)
        for task in (nxt, stop):
            if not task.cancelled():
                task.exception()  # retrieved: raised above when it mattered
        with contextlib.suppress(RuntimeError):  # a watch that ended by cancellation
            await events.aclose()
