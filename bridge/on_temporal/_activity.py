"""fastcore activities as Temporal activities: ``as_temporal_activities([...])``.

``as_temporal_activities([reserve, charge])`` wraps ``@fastcore.activity.defn`` functions
so a ``temporalio.worker.Worker`` registers them under the same names. Inside the wrapper
``fastcore.activity.info()``, ``heartbeat()`` and ``is_cancelled()`` answer from
``temporalio.activity``, and a fastcore ``ApplicationError`` leaves as temporalio's (type,
message, details, ``non_retryable`` and ``next_retry_delay`` kept), so the retry policy
treats it as the fastcore engine would.

Failures are translated by ``bridge._failures``, as for the workflows.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import temporalio.activity
from temporalio.common import RawValue

from fastcore import activity as fc_activity
from fastcore.common import RetryPolicy
from fastcore.errors import FailureError, InvalidArgumentError
from fastcore.integration import ActivityDefinition, activity_context

from .._failures import temporal_failure
from ._runtime import _retry_policy

__all__ = ["as_temporal_activities", "as_temporal_activity"]

_TWIN_ATTR = "__fastcore_temporal_activity__"


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
    bound = inspect.ismethod(fn)
    twin = None if bound else getattr(fn, _TWIN_ATTR, None)
    if twin is not None:
        return twin  # type: ignore[no-any-return]
    defn = ActivityDefinition.from_fn(fn)
    if defn.is_method:
        if not bound:
            raise InvalidArgumentError(
                f"activity {defn.name!r} is a method: pass it bound to an instance "
                f"(obj.{getattr(fn, '__name__', 'method')})"
            )
        defn = dataclasses.replace(defn, fn=fn)
    wrapper = _dynamic_wrapper(defn) if defn.dynamic else _wrapper(defn)
    if defn.dynamic:
        temporalio.activity.defn(no_thread_cancel_exception=True, dynamic=True)(wrapper)
    else:
        temporalio.activity.defn(name=defn.name, no_thread_cancel_exception=True)(wrapper)
    if not bound:  # a bound method is a new object at each attribute access: not cached
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
            current_attempt_scheduled_time=_utc(i.current_attempt_scheduled_time),
            heartbeat_details=tuple(i.heartbeat_details),
            heartbeat_timeout=i.heartbeat_timeout,
            is_local=i.is_local,
            namespace=i.namespace,
            schedule_to_close_timeout=i.schedule_to_close_timeout,
            scheduled_time=_utc(i.scheduled_time),
            start_to_close_timeout=i.start_to_close_timeout,
            started_time=_utc(i.started_time),
            task_queue=i.task_queue,
            task_token=i.task_token,
            workflow_id=i.workflow_id or "",
            workflow_namespace=i.workflow_namespace or i.namespace,
            workflow_run_id=i.workflow_run_id or "",
            workflow_type=i.workflow_type or "",
            retry_policy=_retry_policy(i.retry_policy, RetryPolicy),
        )

    def client(self) -> Any:
        return temporalio.activity.client()

    def payload_converter(self) -> Any:
        return temporalio.activity.payload_converter()

    def metric_meter(self) -> Any:
        return temporalio.activity.metric_meter()

    def heartbeat(self, details: Sequence[Any]) -> None:
        temporalio.activity.heartbeat(*details)

    @property
    def cancel_requested(self) -> bool:
        return temporalio.activity.is_cancelled()

    def cancellation_details(self) -> fc_activity.ActivityCancellationDetails | None:
        d = temporalio.activity.cancellation_details()
        if d is None:
            return None
        return fc_activity.ActivityCancellationDetails(
            not_found=d.not_found,
            cancel_requested=d.cancel_requested,
            paused=d.paused,
            reset=d.reset,
            timed_out=d.timed_out,
            worker_shutdown=d.worker_shutdown,
        )

    def shield(self) -> AbstractContextManager[None]:
        return temporalio.activity.shield_thread_cancel_exception()

    async def wait_cancelled(self) -> None:
        await temporalio.activity.wait_for_cancelled()

    def wait_cancelled_sync(self, timeout: float | None) -> None:
        temporalio.activity.wait_for_cancelled_sync(timeout)

    def is_worker_shutdown(self) -> bool:
        return temporalio.activity.is_worker_shutdown()

    async def wait_worker_shutdown(self) -> None:
        await temporalio.activity.wait_for_worker_shutdown()

    def wait_worker_shutdown_sync(self, timeout: float | None) -> None:
        temporalio.activity.wait_for_worker_shutdown_sync(timeout)


_ATTEMPT = _TemporalAttempt()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _call_sync(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    with activity_context(_ATTEMPT):
        try:
            return fn(*args)
        except FailureError as err:
            failure = temporal_failure(err)
    raise failure


async def _call_async(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    with activity_context(_ATTEMPT):
        try:
            return await fn(*args)
        except FailureError as err:
            failure = temporal_failure(err)
    raise failure


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
