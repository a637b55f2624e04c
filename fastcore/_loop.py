"""A private, deterministic event loop per workflow run.

Workflow code runs as asyncio tasks on this loop, so ``asyncio.gather``, ``create_task``,
``Event``, ``Lock``, ``Queue``, ``wait_for``, ``shield`` and ``asyncio.sleep`` behave as in
temporalio: the engine runs every ready callback until none is left (``run_once``), and
``call_later`` becomes a durable timer. Nothing here touches the real event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["LoopRuntime", "WorkflowLoop"]

_get_running_loop = asyncio.events._get_running_loop
_set_running_loop = asyncio.events._set_running_loop


class LoopRuntime(Protocol):
    """What the loop needs from the run it belongs to: its time and its durable timers."""

    def time(self) -> float:
        """The workflow's current time, epoch seconds."""
        ...

    def start_timer(self, seconds: float, callback: Callable[[], None]) -> int:
        """Start a durable timer; returns its sequence number."""
        ...

    def cancel_timer(self, seq: int) -> None:
        """Cancel the durable timer ``seq`` if it has not fired."""
        ...


class _Handle:
    """What ``call_soon`` returns: a callback that can be cancelled before it runs."""

    __slots__ = ("_args", "_callback", "_cancelled", "_context")

    def __init__(
        self,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        context: contextvars.Context | None,
    ) -> None:
        self._callback = callback
        self._args = args
        self._context = context
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled


class _TimerHandle(_Handle):
    """What ``call_later`` returns: cancelling it cancels the durable timer."""

    __slots__ = ("_loop", "_seq", "_when")

    def __init__(
        self,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        context: contextvars.Context | None,
        loop: WorkflowLoop,
        when: float,
    ) -> None:
        super().__init__(callback, args, context)
        self._loop = loop
        self._when = when
        self._seq = 0

    def when(self) -> float:
        return self._when

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._loop._fastcore_runtime.cancel_timer(self._seq)

    def _fire(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._loop.call_soon(self._callback, *self._args, context=self._context)


class WorkflowLoop(asyncio.AbstractEventLoop):
    """The loop workflow code sees as ``asyncio.get_running_loop()``."""

    def __init__(self, runtime: LoopRuntime) -> None:
        self._ready: list[_Handle] = []
        # what ``fastcore.workflow`` calls while this loop runs (``_runtime.current``)
        self._fastcore_runtime = runtime
        self.errors: list[BaseException] | None = None  # made on the first error
        #: a batch of ready callbacks is running (``run_once``)
        self.in_batch = False

    # -- scheduling ---------------------------------------------------------------

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> _Handle:
        h = _Handle(callback, args, context)
        self._ready.append(h)
        return h

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> _Handle:
        raise RuntimeError("workflow code must not use threads")

    def call_later(  # type: ignore[override]
        self,
        delay: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> _TimerHandle:
        rt = self._fastcore_runtime
        h = _TimerHandle(callback, args, context, self, rt.time() + max(delay, 0.0))
        h._seq = rt.start_timer(max(delay, 0.0), h._fire)
        return h

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> _TimerHandle:
        return self.call_later(when - self.time(), callback, *args, context=context)

    def time(self) -> float:
        return self._fastcore_runtime.time()

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self, coro: Any, *, name: str | None = None, context: contextvars.Context | None = None
    ) -> asyncio.Task[Any]:
        if context is not None:
            return asyncio.Task(coro, loop=self, name=name, context=context)
        return asyncio.Task(coro, loop=self, name=name)

    # -- state the asyncio machinery asks about --------------------------------------

    #: ``bool()``, a C call: every future made on this loop asks (``loop.get_debug()``)
    get_debug = staticmethod(bool)

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return False

    def _timer_handle_cancelled(self, handle: Any) -> None:
        pass

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException) and not isinstance(exc, asyncio.CancelledError):
            self._error(exc)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self.call_exception_handler(context)

    def get_exception_handler(self) -> None:
        return None

    def set_exception_handler(self, handler: Any) -> None:
        raise RuntimeError("workflow code must not change the exception handler")

    def get_task_factory(self) -> None:
        return None

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> Any:  # type: ignore[override]
        raise RuntimeError("workflow code must not use executors; use an activity")

    def _error(self, err: BaseException) -> None:
        if self.errors is None:
            self.errors = []
        self.errors.append(err)

    # -- running ----------------------------------------------------------------------

    def run_once(self) -> None:
        """Run ready callbacks until none is left, with this loop as the running loop."""
        prev = _get_running_loop()
        if prev is not self:
            _set_running_loop(self)
        self.in_batch = True
        try:
            while self._ready:
                batch = self._ready
                self._ready = []
                for h in batch:  # FIFO: callbacks queued meanwhile run in the next batch
                    if h._cancelled:
                        continue
                    try:
                        if h._context is None:
                            h._callback(*h._args)
                        else:
                            h._context.run(h._callback, *h._args)
                    except BaseException as err:  # a callback's failure fails the workflow task
                        self._error(err)
        finally:
            self.in_batch = False
            if prev is not self:
                _set_running_loop(prev)

    def clear(self) -> None:
        """Drop every queued callback (the run closed)."""
        self._ready.clear()

    def enter(self) -> Any:
        """Make this the running loop (for queries and validators); returns a token."""
        prev = _get_running_loop()
        _set_running_loop(self)
        return prev

    @staticmethod
    def leave(token: Any) -> None:
        _set_running_loop(token)
