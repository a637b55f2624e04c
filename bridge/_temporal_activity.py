"""fastcore activities as Temporal activities, and failures translated between the two SDKs.

``as_temporal_activities([reserve, charge])`` wraps ``@fastcore.activity.defn`` functions
so a ``temporalio.worker.Worker`` registers them under the same names. Inside the wrapper
``fastcore.activity.info()``, ``heartbeat()`` and ``is_cancelled()`` answer from
``temporalio.activity``, and a fastcore ``ApplicationError`` leaves as temporalio's (type,
message, details, ``non_retryable`` and ``next_retry_delay`` kept), so the retry policy
treats it as the fastcore engine would.

The failure translation (:func:`to_temporal_error`, :func:`from_temporal_error`) is shared
with the workflow side (``bridge._temporal_workflow``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import temporalio.activity
import temporalio.common
import temporalio.exceptions
from temporalio.common import RawValue

from fastcore import activity as fc_activity
from fastcore._definitions import ActivityDefinition
from fastcore.common import RetryPolicy
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
    WorkflowAlreadyStartedError,
)

__all__ = [
    "as_temporal_activities",
    "as_temporal_activity",
    "from_temporal_error",
    "from_temporal_retry_policy",
    "temporal_failure",
    "to_temporal_error",
    "to_temporal_retry_policy",
]

_TWIN_ATTR = "__fastcore_temporal_activity__"
_ORIGINAL_ATTR = "_fastcore_temporal_original"  # the temporalio exception a fastcore one came from
_MAX_DEPTH = 64  # cause chains deeper than this are cut (guards against cycles)


# ---------------------------------------------------------------- activities


def as_temporal_activities(fns: Iterable[Callable[..., Any]]) -> list[Callable[..., Any]]:
    """Wrap fastcore activities as temporalio activities, for ``Worker(activities=...)``.

    Args:
        fns: Functions decorated with ``@fastcore.activity.defn``.

    Returns:
        One temporalio activity per function, in order, registered under the same name
        (see :func:`as_temporal_activity`).
    """
    return [as_temporal_activity(fn) for fn in fns]


def as_temporal_activity(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap one fastcore activity as a temporalio activity (built once, then cached).

    ``async def`` activities stay async and run on the worker's event loop. Plain ``def``
    activities run in the worker's thread pool, so the ``Worker`` needs
    ``activity_executor=concurrent.futures.ThreadPoolExecutor(...)`` (a thread pool: a
    process pool cannot pickle the wrapper); as in fastcore they
    learn of cancellation through ``activity.is_cancelled()`` (the wrapper is declared with
    temporalio's ``no_thread_cancel_exception=True``) rather than an exception thrown into
    the thread. Dynamic activities get the decoded argument list, as in fastcore.

    Args:
        fn: A function decorated with ``@fastcore.activity.defn``.

    Returns:
        A temporalio activity with the same name, parameters and type hints.

    Raises:
        fastcore.errors.InvalidArgumentError: ``fn`` is not a fastcore activity.
    """
    twin = getattr(fn, _TWIN_ATTR, None)
    if twin is not None:
        return twin  # type: ignore[no-any-return]
    defn = ActivityDefinition.from_fn(fn)
    wrapper = _dynamic_wrapper(defn) if defn.dynamic else _wrapper(defn)
    if defn.dynamic:
        temporalio.activity.defn(no_thread_cancel_exception=True, dynamic=True)(wrapper)
    else:
        temporalio.activity.defn(name=defn.name, no_thread_cancel_exception=True)(wrapper)
    setattr(fn, _TWIN_ATTR, wrapper)
    return wrapper


class _TemporalAttempt:
    """What ``fastcore.activity``'s context asks of an attempt, answered by temporalio."""

    __slots__ = ()

    def info(self) -> fc_activity.Info:
        i = temporalio.activity.info()
        return fc_activity.Info(
            activity_id=i.activity_id,
            activity_type=i.activity_type,
            attempt=i.attempt,
            heartbeat_details=tuple(i.heartbeat_details),
            heartbeat_timeout=i.heartbeat_timeout,
            schedule_to_close_timeout=i.schedule_to_close_timeout,
            start_to_close_timeout=i.start_to_close_timeout,
            scheduled_time=_utc(i.scheduled_time),
            started_time=_utc(i.started_time),
            workflow_id=i.workflow_id or "",
            workflow_run_id=i.workflow_run_id or "",
            workflow_type=i.workflow_type or "",
            workflow_namespace=i.workflow_namespace or i.namespace,
            task_queue=i.task_queue,
            is_local=i.is_local,
        )

    def heartbeat(self, details: Sequence[Any]) -> None:
        temporalio.activity.heartbeat(*details)

    @property
    def cancel_requested(self) -> bool:
        return temporalio.activity.is_cancelled()


_ATTEMPT = _TemporalAttempt()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _call_sync(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    token = fc_activity._current.set(fc_activity._Context(_ATTEMPT))
    try:
        return fn(*args)
    except FailureError as err:
        failure = temporal_failure(err)
    finally:
        fc_activity._current.reset(token)
    raise failure


async def _call_async(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    token = fc_activity._current.set(fc_activity._Context(_ATTEMPT))
    try:
        return await fn(*args)
    except FailureError as err:
        failure = temporal_failure(err)
    finally:
        fc_activity._current.reset(token)
    raise failure


def temporal_failure(err: BaseException) -> BaseException:
    """:func:`to_temporal_error` carrying ``err``'s traceback, ready to raise to temporalio."""
    return to_temporal_error(err).with_traceback(err.__traceback__)


def _wrapper(defn: ActivityDefinition) -> Callable[..., Any]:
    fn = defn.fn
    wrapper: Callable[..., Any]
    if defn.is_async:

        async def run_async(*args: Any) -> Any:
            return await _call_async(fn, args)

        wrapper = run_async
    else:

        def run_sync(*args: Any) -> Any:
            return _call_sync(fn, args)

        wrapper = run_sync
    # Same name, signature and type hints: temporalio decodes arguments by the hints it
    # reads through ``__wrapped__``.
    functools.update_wrapper(wrapper, fn, updated=())
    return wrapper


def _dynamic_wrapper(defn: ActivityDefinition) -> Callable[..., Any]:
    fn = defn.fn

    def decode(args: Sequence[RawValue]) -> list[Any]:
        conv = temporalio.activity.payload_converter()
        return [conv.from_payload(a.payload) for a in args]

    wrapper: Callable[..., Any]
    if defn.is_async:

        async def run_dynamic_async(args: Sequence[RawValue]) -> Any:
            return await _call_async(fn, [decode(args)])

        wrapper = run_dynamic_async
    else:

        def run_dynamic_sync(args: Sequence[RawValue]) -> Any:
            return _call_sync(fn, [decode(args)])

        wrapper = run_dynamic_sync
    wrapper.__module__ = getattr(fn, "__module__", wrapper.__module__)
    wrapper.__name__ = getattr(fn, "__name__", wrapper.__name__)
    wrapper.__qualname__ = getattr(fn, "__qualname__", wrapper.__qualname__)
    wrapper.__doc__ = fn.__doc__
    return wrapper


# ---------------------------------------------------------------- retry policies


def to_temporal_retry_policy(policy: RetryPolicy | None) -> temporalio.common.RetryPolicy | None:
    """temporalio's ``RetryPolicy`` with the same fields (``None`` stays ``None``)."""
    if policy is None:
        return None
    return temporalio.common.RetryPolicy(
        initial_interval=policy.initial_interval,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=(
            list(policy.non_retryable_error_types)
            if policy.non_retryable_error_types is not None
            else None
        ),
    )


def from_temporal_retry_policy(policy: temporalio.common.RetryPolicy | None) -> RetryPolicy | None:
    """fastcore's ``RetryPolicy`` with the same fields (``None`` stays ``None``)."""
    if policy is None:
        return None
    return RetryPolicy(
        initial_interval=policy.initial_interval,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=(
            list(policy.non_retryable_error_types)
            if policy.non_retryable_error_types is not None
            else None
        ),
    )


# ---------------------------------------------------------------- failures


def to_temporal_error(err: BaseException, _depth: int = 0) -> BaseException:
    """temporalio's exception for a fastcore failure, its cause chain converted too.

    A fastcore exception that :func:`from_temporal_error` made gives back the temporalio
    exception it came from (with the failure Temporal recorded). Exceptions that are not
    fastcore failures (``asyncio.CancelledError``, ``ValueError``, ...) come back as they
    are: temporalio converts them itself, as fastcore does (an application error named
    after the class).

    Args:
        err: The exception raised by fastcore code.

    Returns:
        The exception to raise to temporalio.
    """
    original = getattr(err, _ORIGINAL_ATTR, None)
    if isinstance(original, BaseException):
        return original
    if not isinstance(err, FailureError | WorkflowAlreadyStartedError):
        return err
    out = _to_temporal_one(err)
    cause = err.__cause__
    if cause is not None and _depth < _MAX_DEPTH:
        out.__cause__ = to_temporal_error(cause, _depth + 1)
    out.__suppress_context__ = True
    return out


def _to_temporal_one(err: BaseException) -> BaseException:
    te = temporalio.exceptions
    if isinstance(err, ApplicationError):
        return te.ApplicationError(
            err.message,
            *err.details,
            type=err.type,
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
        )
    if isinstance(err, CancelledError):
        return te.CancelledError(err.message, *err.details)
    if isinstance(err, TerminatedError):
        return te.TerminatedError(err.message, *err.details)
    if isinstance(err, TimeoutError):
        return te.TimeoutError(
            err.message,
            type=te.TimeoutType(int(err.type)) if err.type else None,
            last_heartbeat_details=list(err.last_heartbeat_details),
        )
    if isinstance(err, ActivityError):
        return te.ActivityError(
            err.message,
            scheduled_event_id=err.scheduled_event_id,
            started_event_id=err.started_event_id,
            identity=err.identity,
            activity_type=err.activity_type,
            activity_id=err.activity_id,
            retry_state=te.RetryState(int(err.retry_state)) if err.retry_state else None,
        )
    if isinstance(err, ChildWorkflowError):
        return te.ChildWorkflowError(
            err.message,
            namespace=err.namespace,
            workflow_id=err.workflow_id,
            run_id=err.run_id,
            workflow_type=err.workflow_type,
            initiated_event_id=err.initiated_event_id,
            started_event_id=err.started_event_id,
            retry_state=te.RetryState(int(err.retry_state)) if err.retry_state else None,
        )
    if isinstance(err, WorkflowAlreadyStartedError):
        return te.WorkflowAlreadyStartedError(err.workflow_id, err.workflow_type, run_id=err.run_id)
    assert isinstance(err, FailureError)
    return te.ApplicationError(err.message, type=type(err).__name__)


def from_temporal_error(err: BaseException, _depth: int = 0) -> BaseException:
    """fastcore's exception for a temporalio failure, its cause chain converted too.

    The result remembers ``err``, so :func:`to_temporal_error` gives back the original
    when fastcore code lets it propagate. Exceptions that are not temporalio failures come
    back as they are.

    Args:
        err: The exception temporalio raised into workflow code.

    Returns:
        The ``fastcore.errors`` exception fastcore code expects.
    """
    if not isinstance(err, temporalio.exceptions.FailureError):
        return err
    out = _from_temporal_one(err)
    cause = err.__cause__
    if cause is not None and _depth < _MAX_DEPTH:
        out.__cause__ = from_temporal_error(cause, _depth + 1)
    out.__suppress_context__ = True
    setattr(out, _ORIGINAL_ATTR, err)
    return out


def _retry_state(value: temporalio.exceptions.RetryState | None) -> RetryState | None:
    return RetryState(int(value)) if value else None


def _from_temporal_one(err: temporalio.exceptions.FailureError) -> BaseException:
    te = temporalio.exceptions
    if isinstance(err, te.ApplicationError):
        return ApplicationError(
            err.message,
            *err.details,
            type=err.type,
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
        )
    if isinstance(err, te.CancelledError):
        return CancelledError(err.message, *err.details)
    if isinstance(err, te.TerminatedError):
        return TerminatedError(err.message, *err.details)
    if isinstance(err, te.TimeoutError):
        return TimeoutError(
            err.message,
            type=TimeoutType(int(err.type)) if err.type else None,
            last_heartbeat_details=tuple(err.last_heartbeat_details),
        )
    if isinstance(err, te.ActivityError):
        return ActivityError(
            err.message,
            scheduled_event_id=err.scheduled_event_id,
            started_event_id=err.started_event_id,
            identity=err.identity,
            activity_type=err.activity_type,
            activity_id=err.activity_id,
            retry_state=_retry_state(err.retry_state),
        )
    if isinstance(err, te.ChildWorkflowError):
        return ChildWorkflowError(
            err.message,
            namespace=err.namespace,
            workflow_id=err.workflow_id,
            run_id=err.run_id,
            workflow_type=err.workflow_type,
            initiated_event_id=err.initiated_event_id,
            started_event_id=err.started_event_id,
            retry_state=_retry_state(err.retry_state),
        )
    if isinstance(err, te.WorkflowAlreadyStartedError):
        return WorkflowAlreadyStartedError(err.workflow_id, err.workflow_type, run_id=err.run_id)
    return FailureError(err.message)
