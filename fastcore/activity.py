"""Decorator for activities and the calls activity code makes; temporalio's names.

Activities are ``async def`` (run on the engine's event loop; one that returns without
awaiting real I/O costs no task) or plain ``def`` (run in the engine's thread pool).
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from ._definitions import _ACT_ATTR, ActivityDefinition, _ArgChecker, _hints

__all__ = ["Info", "defn", "heartbeat", "in_activity", "info", "is_cancelled"]

F = TypeVar("F", bound=Callable[..., Any])


@overload
def defn(fn: F) -> F: ...


@overload
def defn(
    *, name: str | None = None, no_thread_cancel_exception: bool = False, dynamic: bool = False
) -> Callable[[F], F]: ...


def defn(
    fn: F | None = None,
    *,
    name: str | None = None,
    no_thread_cancel_exception: bool = False,
    dynamic: bool = False,
) -> F | Callable[[F], F]:
    """Mark a function as an activity; ``name`` defaults to the function's name."""
    del no_thread_cancel_exception

    def decorate(f: F) -> F:
        if not callable(f):
            raise TypeError("@activity.defn needs a function")
        arg_hints, ret_hint = _hints(f, skip_self=False)
        setattr(
            f,
            _ACT_ATTR,
            ActivityDefinition(
                name=None if dynamic else (name or f.__name__),
                fn=f,
                is_async=inspect.iscoroutinefunction(f),
                arg_hints=arg_hints,
                ret_hint=ret_hint,
                checker=_ArgChecker(f, skip_self=False),
                dynamic=dynamic,
            ),
        )
        return f

    if fn is not None:
        return decorate(fn)
    return decorate


@dataclass(frozen=True)
class Info:
    """What an activity attempt knows about itself, as ``temporalio.activity.Info``."""

    activity_id: str
    activity_type: str
    attempt: int
    heartbeat_details: Sequence[Any]
    heartbeat_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    start_to_close_timeout: timedelta | None
    scheduled_time: datetime
    started_time: datetime
    workflow_id: str
    workflow_run_id: str
    workflow_type: str
    workflow_namespace: str = "default"
    task_queue: str = "fastcore"
    is_local: bool = True


class _Context:
    """The running attempt's context: its info, heartbeat sink and cancel flag."""

    __slots__ = ("_attempt", "_info")

    def __init__(self, attempt: Any) -> None:
        self._attempt = attempt
        self._info: Info | None = None

    @property
    def info(self) -> Info:
        if self._info is None:
            self._info = self._attempt.info()
        return self._info


_current: contextvars.ContextVar[_Context | None] = contextvars.ContextVar(
    "fastcore_activity", default=None
)


def _ctx() -> _Context:
    c = _current.get()
    if c is None:
        raise RuntimeError("Not in activity context")
    return c


def info() -> Info:
    """Info of the running activity attempt."""
    return _ctx().info


def in_activity() -> bool:
    """Whether the caller is activity code."""
    return _current.get() is not None


def heartbeat(*details: Any) -> None:
    """Report progress; resets the heartbeat timeout, and the next attempt sees ``details``."""
    c = _ctx()
    c._attempt.heartbeat(details)


def is_cancelled() -> bool:
    """Whether cancellation was requested (how plain ``def`` activities learn of it)."""
    return bool(_ctx()._attempt.cancel_requested)


def _definition(fn: Any) -> ActivityDefinition:
    return ActivityDefinition.from_fn(fn)
