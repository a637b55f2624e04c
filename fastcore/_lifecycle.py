"""Where an engine is in its life: not started, ready, or shut down.

Every call that needs a running engine checks ``ready`` first (one attribute read) and
otherwise calls ``ensure_started``, which starts the engine on first use and refuses once
it was shut down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["Lifecycle"]


class Lifecycle:
    """An engine's started/ready/closed flags and its start-on-first-use."""

    __slots__ = ("_start", "closed", "ready", "started")

    def __init__(self, start: Callable[[], Awaitable[None]]) -> None:
        self._start = start
        self.started = False
        self.closed = False
        self.ready = False  # started and not shut down: the fast check before every call

    async def ensure_started(self) -> None:
        """Start the engine if it never was; raise if it was shut down."""
        if not self.started:
            await self._start()
        elif self.closed:
            raise RuntimeError("this engine was shut down")
