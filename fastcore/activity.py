"""Decorator for activities and the calls activity code makes; temporalio's names.

Activities are ``async def`` (run on the engine's event loop; one that returns without
awaiting real I/O costs no task) or plain ``def`` (run in the engine's thread pool). A
method of an object can be an activity too: decorate the method and register the bound
method (``Engine(activities=[db.load])``), the usual way to give activities a client.

Plain ``def`` activities are cancelled as temporalio cancels them: ``CancelledError`` is
raised in their thread once cancellation is requested (delay it with
``shield_thread_cancel_exception()``; opt out with ``@activity.defn(
no_thread_cancel_exception=True)`` and poll ``is_cancelled()`` instead).
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar, overload

from ._definitions import _ACT_ATTR, ActivityDefinition, ArgChecker, _hints, _is_method
from ._metric_meter import MetricMeter
from .common import Priority, RetryPolicy

__all__ = [
    "ActivityCancellationDetails",
    "Info",
    "LoggerAdapter",
    "cancellation_details",
    "client",
    "defn",
    "heartbeat",
    "in_activity",
    "info",
    "is_cancelled",
    "is_worker_shutdown",
    "logger",
    "metric_meter",
    "payload_converter",
    "raise_complete_async",
    "shield_thread_cancel_exception",
    "wait_for_cancelled",
    "wait_for_cancelled_sync",
    "wait_for_worker_shutdown",
    "wait_for_worker_shutdown_sync",
]

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
    """Mark a function (or a method) as an activity; ``name`` defaults to its name.

    ``no_thread_cancel_exception=True``: a plain ``def`` activity is not interrupted by
    ``CancelledError`` in its thread when cancelled; it polls ``is_cancelled()``.
    """

    def decorate(f: F) -> F:
        if not callable(f):
            raise TypeError("@activity.defn needs a function")
        if isinstance(f, type):
            # a class: its instances are the activity, called through ``__call__``
            call = inspect.getattr_static(f, "__call__", None)
            if not inspect.isfunction(call):
                raise TypeError(f"@activity.defn on class {f.__qualname__} needs a __call__ method")
            target: Callable[..., Any] = call
            method, is_class = True, True
        else:
            target, method, is_class = f, _is_method(f), False
        arg_hints, ret_hint = _hints(target, skip_self=method)
        setattr(
            f,
            _ACT_ATTR,
            ActivityDefinition(
                name=None if dynamic else (name or f.__name__),
                fn=f,
                is_async=inspect.iscoroutinefunction(target),
                arg_hints=arg_hints,
                ret_hint=ret_hint,
                checker=ArgChecker(target, skip_self=method),
                dynamic=dynamic,
                is_method=method and not is_class,
                no_thread_cancel_exception=no_thread_cancel_exception,
                is_class=is_class,
            ),
        )
        return f

    if fn is not None:
        return decorate(fn)
    return decorate


@dataclass(frozen=True)
class Info:
    """What an activity attempt knows about itself, as ``temporalio.activity.Info`` (its
    fields, in its order). ``priority`` is always ``Priority.default`` (see
    ``fastcore.common.Priority``)."""

    activity_id: str
    activity_type: str
    attempt: int
    #: when this attempt was scheduled (after the previous attempt's backoff)
    current_attempt_scheduled_time: datetime
    heartbeat_details: Sequence[Any]
    heartbeat_timeout: timedelta | None
    is_local: bool
    namespace: str
    schedule_to_close_timeout: timedelta | None
    scheduled_time: datetime
    start_to_close_timeout: timedelta | None
    started_time: datetime
    task_queue: str
    #: identifies this activity for ``Engine.get_async_activity_handle(task_token=...)``
    task_token: bytes
    workflow_id: str
    workflow_namespace: str
    workflow_run_id: str
    workflow_type: str
    retry_policy: RetryPolicy | None
    priority: Priority = Priority.default

    @property
    def in_workflow(self) -> bool:
        """Whether a workflow started this activity (always, in fastcore)."""
        return bool(self.workflow_id)

    def _logger_details(self) -> Mapping[str, Any]:
        return {
            "activity_id": self.activity_id,
            "activity_type": self.activity_type,
            "attempt": self.attempt,
            "namespace": self.namespace,
            "task_queue": self.task_queue,
            "workflow_id": self.workflow_id,
            "workflow_run_id": self.workflow_run_id,
            "workflow_type": self.workflow_type,
        }


@dataclass(frozen=True)
class ActivityCancellationDetails:
    """Why the activity was cancelled, as ``temporalio.activity.ActivityCancellationDetails``.

    Set once, when the cancellation is delivered; it does not change afterwards.
    """

    not_found: bool = False
    cancel_requested: bool = False
    paused: bool = False
    reset: bool = False
    timed_out: bool = False
    worker_shutdown: bool = False


class _Context:
    """The running attempt's context: its info, heartbeat sink and cancel state.

    ``attempt`` is the engine's ``ActivityTask`` (or, for another runtime, any object with
    ``info()``, ``heartbeat(details)`` and ``cancel_requested``; the other calls below use
    what it offers and fall back to doing nothing).
    """

    __slots__ = ("_attempt", "_info", "_logger_details")

    def __init__(self, attempt: Any) -> None:
        self._attempt = attempt
        self._info: Info | None = None
        self._logger_details: Mapping[str, Any] | None = None

    @property
    def info(self) -> Info:
        if self._info is None:
            self._info = self._attempt.info()
        return self._info

    @property
    def logger_details(self) -> Mapping[str, Any]:
        if self._logger_details is None:
            self._logger_details = self.info._logger_details()
        return self._logger_details


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


def client() -> Any:
    """The client of the engine running this activity: on fastcore, the ``Engine`` itself
    (start workflows, get handles, complete other activities from inside an activity).

    Raises:
        RuntimeError: Outside an activity, or when the runtime running it offers no client.
    """
    get = getattr(_ctx()._attempt, "client", None)
    found = get() if get is not None else None
    if found is None:
        raise RuntimeError("No client available for this activity")
    return found


def metric_meter() -> MetricMeter:
    """A metric meter for activity code: its values are tagged with the namespace, task queue
    and activity type (see ``fastcore.common.MetricMeter``)."""
    get = getattr(_ctx()._attempt, "metric_meter", None)
    meter: MetricMeter = get() if get is not None else MetricMeter.noop
    return meter


def payload_converter() -> Any:
    """The payload converter of the engine running this activity (for activities that
    convert ``RawValue`` arguments themselves)."""
    get = getattr(_ctx()._attempt, "payload_converter", None)
    if get is None:
        from ._converter import default

        return default().payload_converter
    return get()


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


def cancellation_details() -> ActivityCancellationDetails | None:
    """Why the activity was cancelled, once it was; None before."""
    get = getattr(_ctx()._attempt, "cancellation_details", None)
    details: ActivityCancellationDetails | None = get() if get is not None else None
    return details


@contextlib.contextmanager
def shield_thread_cancel_exception() -> Iterator[None]:
    """Delay the ``CancelledError`` a cancellation raises in a plain ``def`` activity's thread.

    A cancellation that arrives inside the block is raised when the outermost block exits
    (even if the block returned or raised); a no-op for async activities.
    """
    shield = getattr(_ctx()._attempt, "shield", None)
    if shield is None:
        yield None
        return
    with shield():
        yield None


async def wait_for_cancelled() -> None:
    """Wait until cancellation of this (async) activity is requested."""
    await _ctx()._attempt.wait_cancelled()


def wait_for_cancelled_sync(timeout: timedelta | float | None = None) -> None:
    """Block until cancellation of this activity is requested, or ``timeout`` passes."""
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    _ctx()._attempt.wait_cancelled_sync(seconds)


def is_worker_shutdown() -> bool:
    """Whether the engine running this activity has begun to shut down."""
    check = getattr(_ctx()._attempt, "is_worker_shutdown", None)
    return bool(check()) if check is not None else False


async def wait_for_worker_shutdown() -> None:
    """Wait until the engine running this (async) activity begins to shut down."""
    await _ctx()._attempt.wait_worker_shutdown()


def wait_for_worker_shutdown_sync(timeout: timedelta | float | None = None) -> None:
    """Block until the engine begins to shut down, or ``timeout`` passes."""
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    _ctx()._attempt.wait_worker_shutdown_sync(seconds)


def raise_complete_async() -> NoReturn:
    """End this attempt without a result: something else completes the activity later.

    That code calls ``Engine.get_async_activity_handle(task_token=info().task_token)``'s
    ``complete``, ``fail``, ``heartbeat`` or ``report_cancellation``. The activity's
    timeouts (start-to-close, heartbeat, schedule-to-close) still apply.
    """
    raise _CompleteAsyncError()


class _CompleteAsyncError(BaseException):
    """Raised by ``raise_complete_async``: the attempt ends without an outcome."""


class LoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Adds the running activity's details to each record, as temporalio's.

    Attributes:
        activity_info_on_message: append a dict of the activity's details to the message.
        activity_info_on_extra: put that dict on the record as ``temporal_activity``.
        full_activity_info_on_extra: put the whole ``Info`` on the record as ``activity_info``.
    """

    def __init__(self, logger: logging.Logger, extra: Mapping[str, Any] | None) -> None:
        super().__init__(logger, extra or {})
        self.activity_info_on_message = True
        self.activity_info_on_extra = True
        self.full_activity_info_on_extra = False

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Add the activity's details to the message and the record's extra."""
        context = _current.get()
        if context is not None:
            if self.activity_info_on_message:
                msg = f"{msg} ({context.logger_details})"
            if self.activity_info_on_extra or self.full_activity_info_on_extra:
                extra = dict(kwargs.get("extra") or {})
                if self.activity_info_on_extra:
                    extra["temporal_activity"] = context.logger_details
                if self.full_activity_info_on_extra:
                    extra["activity_info"] = context.info
                kwargs["extra"] = extra
        return msg, kwargs

    @property
    def base_logger(self) -> logging.Logger:
        """The underlying logger, for adding handlers and formatters."""
        base: logging.Logger = self.logger
        return base


logger = LoggerAdapter(logging.getLogger(__name__), None)
"""A logger for activity code: each record carries the activity's details."""


def _definition(fn: Any) -> ActivityDefinition:
    return ActivityDefinition.from_fn(fn)
