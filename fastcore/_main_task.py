"""The run method's task: asyncio's ``Task`` semantics, stepped by the run itself.

asyncio would drive a workflow's run method with a ``Task``: each time the future it awaits
completes, a wake-up is scheduled on the loop, and the loop then steps the coroutine.
``MainTask`` keeps what a ``Task`` means to workflow code (``asyncio.current_task()`` is it;
``cancel()``, ``cancelling()``/``uncancel()``, done callbacks and ``get_stack()`` behave as a
``Task``'s) and what its steps' order is, but when the future it awaits is one the engine
resolves (an activity's, a condition's, a timer's) and nothing else is ready, the run steps
it at once: no scheduled wake-up, no loop round per step.

Ordering is asyncio's: a wake-up that arrives while other callbacks are ready, or while the
loop runs a batch, is queued behind them exactly as a ``Task``'s would be.
"""

from __future__ import annotations

import asyncio
import contextvars
from asyncio import base_tasks
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

__all__ = ["MainTask", "WakeFuture"]

# asyncio's own (C) bookkeeping of the running task, and its Task helpers, typed loosely:
# they take any task-like object
_enter_task: Callable[[Any, Any], None] = asyncio.tasks._enter_task
_leave_task: Callable[[Any, Any], None] = asyncio.tasks._leave_task
_task_get_stack: Callable[[Any, int | None], list[Any]] = base_tasks._task_get_stack
_task_repr_info: Callable[[Any], list[str]] = base_tasks._task_repr_info
_Future = asyncio.Future
_future_set_result = _Future.set_result
_future_set_exception = _Future.set_exception
_future_cancel = _Future.cancel


def _loop_of(fut: Any) -> Any:
    """The loop a future belongs to (``asyncio.futures._get_loop``)."""
    try:
        get_loop = fut.get_loop
    except AttributeError:
        return fut._loop
    return get_loop()


class _Loop(Protocol):
    """What the task needs of the run's loop (``WorkflowLoop``)."""

    _ready: list[Any]
    #: a batch of ready callbacks is running (a wake-up now queues behind it)
    in_batch: bool

    def call_soon(self, callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        """Queue a callback."""
        ...


class WakeFuture(_Future):  # type: ignore[type-arg]
    """A future the engine resolves that wakes the run's main task directly when it waits
    on it (activity, condition and timer futures)."""

    __slots__ = ("_waiter",)

    def __init__(self, *, loop: asyncio.AbstractEventLoop) -> None:
        _Future.__init__(self, loop=loop)
        self._waiter: MainTask | None = None

    def set_result(self, result: Any) -> None:
        _future_set_result(self, result)
        w = self._waiter
        if w is not None:  # MainTask.wake, inline: this is every activity's path
            self._waiter = None
            loop = w._wloop
            if loop._ready or loop.in_batch:
                loop.call_soon(w.resume, context=w._context)
            else:
                w.woken = True

    def set_exception(self, exception: type | BaseException) -> None:
        _future_set_exception(self, exception)
        w = self._waiter
        if w is not None:
            self._waiter = None
            w.wake()

    def cancel(self, msg: Any = None) -> bool:
        if not _future_cancel(self, msg=msg):
            return False
        w = self._waiter
        if w is not None:
            self._waiter = None
            w.wake()
        return True


class MainTask(_Future):  # type: ignore[type-arg]
    """The run method's coroutine as a task (see the module docstring)."""

    __slots__ = (
        "_cancel_msg",
        "_context",
        "_coro",
        "_fut_waiter",
        "_must_cancel",
        "_name",
        "_num_cancels_requested",
        "_on_done",
        "_wloop",
        "done_pending",
        "woken",
    )

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any],
        loop: Any,
        on_done: Callable[[MainTask], None],
    ) -> None:
        _Future.__init__(self, loop=loop)
        self._coro = coro
        self._context = contextvars.copy_context()
        self._fut_waiter: Any = None
        self._must_cancel = False
        self._cancel_msg: Any = None
        self._num_cancels_requested = 0
        self._name = "main"
        self._on_done = on_done
        self._wloop: _Loop = loop
        #: the run steps it at once (``step_now``): woken with nothing else ready
        #: finished in a step the run took at once: ``on_done`` is still to be called
        self.done_pending = False
        # its first step, as a Task schedules it when made (``wake``, inline)
        if loop._ready or loop.in_batch:
            self.woken = False
            loop.call_soon(self.resume, context=self._context)
        else:
            self.woken = True

    # ------------------------------------------------------------------ being woken

    def wake(self) -> None:
        """The awaited future is done (or the first step is due): step when asyncio would."""
        loop = self._wloop
        if loop._ready or loop.in_batch:
            loop.call_soon(self.resume, context=self._context)
        else:
            self.woken = True  # nothing is ahead of it: the run steps it next

    def _wakeup(self, fut: Any) -> None:
        """A done callback (a future the engine does not resolve itself)."""
        try:
            fut.result()
        except BaseException as exc:
            self._step(exc)
        else:
            self._step(None)

    def resume(self) -> None:
        """Take the step the last wake-up asked for (in the task's context)."""
        self._step(None, True)

    def step_now(self) -> None:
        """Take the step ``woken`` asks for, now: nothing on the run's loop is ahead of it.

        When the coroutine finishes, ``on_done`` follows at once (outside the task), as a
        Task's first done callback would run next.
        """
        self.woken = False
        self._context.run(self._step, None, True)
        if self.done_pending:
            self.done_pending = False
            self._on_done(self)

    def detach(self) -> None:
        """The run closed: the future it waits on no longer points back to it."""
        fut = self._fut_waiter
        if isinstance(fut, WakeFuture):
            fut._waiter = None

    # ------------------------------------------------------------------ a step

    def _step(self, exc: BaseException | None, wake: bool = False) -> None:
        if wake:  # a wake-up: the awaited future's outcome, as Task's __wakeup passes it on
            fut = self._fut_waiter
            if fut is not None:
                try:
                    fut.result()
                except BaseException as err:
                    exc = err
        if self.done():
            raise asyncio.InvalidStateError(f"_step(): already done: {self!r}, {exc!r}")
        if self._must_cancel:
            if not isinstance(exc, asyncio.CancelledError):
                exc = self._cancelled_error()
            self._must_cancel = False
        self._fut_waiter = None
        loop = self._wloop
        _enter_task(loop, self)
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            if self._must_cancel:
                self._must_cancel = False
                self._finish(_future_cancel, self._cancel_msg)
            else:
                self._finish(_future_set_result, stop.value)
        except asyncio.CancelledError:
            self._finish(_future_cancel, None)
        except (KeyboardInterrupt, SystemExit) as err:
            self._finish(_future_set_exception, err)
            raise
        except BaseException as err:
            self._finish(_future_set_exception, err)
        else:
            if (
                isinstance(result, WakeFuture)
                and result._asyncio_future_blocking
                and result._loop is self._loop
                and not self._must_cancel
                and not result.done()
            ):  # ``_park``'s common case, inline: an engine future of this run, pending
                result._asyncio_future_blocking = False
                self._fut_waiter = result
                result._waiter = self
            else:
                self._park(result)
        finally:
            _leave_task(loop, self)

    def _park(self, result: Any) -> None:
        """The coroutine yielded ``result``: wait on it as a Task would."""
        loop = self._wloop
        if (
            isinstance(result, WakeFuture)
            and result._asyncio_future_blocking
            and result._loop is self._loop
        ):  # the common case: an engine future of this run
            result._asyncio_future_blocking = False
            self._fut_waiter = result
            if result.done():
                self.wake()
            else:
                result._waiter = self
            if self._must_cancel and result.cancel(msg=self._cancel_msg):
                self._must_cancel = False
            return
        blocking = getattr(result, "_asyncio_future_blocking", None)
        if blocking is not None:
            if _loop_of(result) is not loop:
                self._again(
                    RuntimeError(
                        f"Task {self!r} got Future {result!r} attached to a different loop"
                    )
                )
            elif blocking:
                if result is self:
                    self._again(RuntimeError(f"Task cannot await on itself: {self!r}"))
                    return
                result._asyncio_future_blocking = False
                self._fut_waiter = result
                if isinstance(result, WakeFuture):
                    if result.done():
                        self.wake()
                    else:
                        result._waiter = self
                else:
                    result.add_done_callback(self._wakeup, context=self._context)
                if self._must_cancel and result.cancel(msg=self._cancel_msg):
                    self._must_cancel = False
            else:
                self._again(
                    RuntimeError(
                        f"yield was used instead of yield from in task {self!r} with {result!r}"
                    )
                )
        elif result is None:
            loop.call_soon(self._step, None, context=self._context)  # a bare yield
        else:
            self._again(RuntimeError(f"Task got bad yield: {result!r}"))

    def _again(self, exc: BaseException) -> None:
        self._wloop.call_soon(self._step, exc, context=self._context)

    def _finish(self, how: Callable[[Any, Any], Any], value: Any) -> None:
        """Complete the task; its ``on_done`` runs first, when asyncio would run a Task's
        first done callback (at once when nothing else is ready)."""
        loop = self._wloop
        if loop._ready or loop.in_batch or self._callbacks:
            loop.call_soon(self._on_done, self)
            how(self, value)
        else:
            how(self, value)
            self.done_pending = True  # step_now calls on_done once the step is over

    def _cancelled_error(self) -> asyncio.CancelledError:
        msg = self._cancel_msg
        return asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg)

    # ------------------------------------------------------------------ Task's API

    def cancel(self, msg: Any = None) -> bool:
        """Request cancellation, as ``asyncio.Task.cancel``."""
        if self.done():
            return False
        self._num_cancels_requested += 1
        waiter = self._fut_waiter
        if waiter is not None and waiter.cancel(msg=msg):
            return True
        self._must_cancel = True
        self._cancel_msg = msg
        return True

    def cancelling(self) -> int:
        """Pending cancellation requests (``asyncio.Task.cancelling``)."""
        return self._num_cancels_requested

    def uncancel(self) -> int:
        """Take one cancellation request back (``asyncio.Task.uncancel``)."""
        if self._num_cancels_requested > 0:
            self._num_cancels_requested -= 1
        return self._num_cancels_requested

    def get_coro(self) -> Coroutine[Any, Any, Any]:
        """The run method's coroutine."""
        return self._coro

    def get_context(self) -> contextvars.Context:
        """The context the coroutine runs in."""
        return self._context

    def get_name(self) -> str:
        """The task's name."""
        return self._name

    def set_name(self, value: object) -> None:
        """Rename the task."""
        self._name = str(value)

    def get_stack(self, *, limit: int | None = None) -> list[Any]:
        """The coroutine's frames, as ``asyncio.Task.get_stack``."""
        return _task_get_stack(self, limit)

    def __repr__(self) -> str:
        info = _task_repr_info(self)
        return f"<Task {' '.join(info)}>"
