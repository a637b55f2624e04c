"""A one-shot signal both threads and coroutines can wait on (activity cancellation, shutdown).

``set()`` may be called from any thread; ``wait_sync`` blocks a thread, ``wait`` suspends a
coroutine on whichever event loop it runs (woken through ``call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["Signal"]


class Signal:
    """Set once; ``is_set``, ``wait`` (async) and ``wait_sync`` (threads)."""

    __slots__ = ("_event", "_lock", "_waiters")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def is_set(self) -> bool:
        """Whether the signal was set."""
        return self._event.is_set()

    def set(self) -> None:
        """Set the signal and wake every waiter (from any thread)."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, fut)

    async def wait(self) -> None:
        """Wait until the signal is set."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._event.is_set():
                return
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        await fut

    def wait_sync(self, timeout: float | None = None) -> bool:
        """Block until the signal is set or ``timeout`` seconds pass; whether it was set."""
        return self._event.wait(timeout)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
