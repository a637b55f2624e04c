"""The workflow calls that run activities: ``start_activity``, ``execute_activity``, their
local forms, and temporalio's ``_method`` and ``_class`` spellings of each.

The ``_method`` calls name an activity that is a method (``@activity.defn`` on a method,
registered as ``obj.method``); the ``_class`` calls name a class whose instances are the
activity (``@activity.defn`` on a class with ``__call__``, registered as an instance). Both
take the options of the plain call without ``result_type``: the result's type comes from the
method, as in temporalio.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from . import _runtime
from .common import ActivityCancellationType, Priority, RetryPolicy

__all__ = [
    "MISSING",
    "args_of",
    "execute_activity",
    "execute_activity_class",
    "execute_activity_method",
    "execute_local_activity",
    "execute_local_activity_class",
    "execute_local_activity_method",
    "start_activity",
    "start_activity_class",
    "start_activity_method",
    "start_local_activity",
    "start_local_activity_class",
    "start_local_activity_method",
]


def args_of(arg: Any, args: Sequence[Any] | None, rest: tuple[Any, ...]) -> list[Any]:
    """The call's arguments: ``arg``, then the further positional ones, then ``args``."""
    out: list[Any] = [] if arg is MISSING else [arg]
    out.extend(rest)
    if args:
        out.extend(args)
    return out


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def start_activity(
    activity: Callable[..., Any] | str,
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    activity_id: str | None = None,
    task_queue: str | None = None,
    result_type: type | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
) -> Any:
    """Schedule an activity and return a handle (an awaitable, cancellable future).

    ``priority`` is accepted as temporalio takes it and changes nothing (one engine, no
    queue to order).
    """
    del priority
    return _runtime.current().start_activity(
        activity,
        args_of(arg, args, more),
        activity_id=activity_id,
        result_type=result_type,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        cancellation_type=cancellation_type,
        task_queue=task_queue,
        summary=summary,
    )


async def execute_activity(
    activity: Callable[..., Any] | str,
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    activity_id: str | None = None,
    task_queue: str | None = None,
    result_type: type | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
    priority: Priority = Priority.default,
) -> Any:
    """Run an activity and return its result; failures raise ``ActivityError``.

    ``priority`` is accepted and changes nothing (see ``start_activity``).
    """
    del priority
    rt = getattr(_runtime._running_loop(), "_fastcore_runtime", None) or _runtime.current()
    return await rt.start_activity(
        activity,
        [arg] if not more and not args and arg is not MISSING else args_of(arg, args, more),
        activity_id=activity_id,
        result_type=result_type,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        cancellation_type=cancellation_type,
        task_queue=task_queue,
        summary=summary,
    )


def start_local_activity(
    activity: Callable[..., Any] | str,
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    activity_id: str | None = None,
    result_type: type | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: timedelta | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
) -> Any:
    """Run a local activity and return its handle: no command when it starts; its outcome
    is recorded as a ``core_local_activity`` marker, as Temporal records it.

    When it fails for good, awaiting it raises the activity's own error (an
    ``ApplicationError``, or a ``TimeoutError``), not an ``ActivityError``: what temporalio
    raises for a local activity. Its retries run in the engine (``local_retry_threshold`` is
    accepted so code ports: no retry turns into a timer). Cancelling it resolves it
    (``ActivityError`` caused by ``CancelledError``) at once, whatever the
    ``cancellation_type``.
    """
    return _runtime.current().start_local_activity(
        activity,
        args_of(arg, args, more),
        activity_id=activity_id,
        result_type=result_type,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
        local_retry_threshold=local_retry_threshold,
        cancellation_type=cancellation_type,
        summary=summary,
    )


async def execute_local_activity(
    activity: Callable[..., Any] | str,
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    activity_id: str | None = None,
    result_type: type | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: timedelta | None = None,
    cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
    summary: str | None = None,
) -> Any:
    """Run a local activity and return its result (see ``start_local_activity``)."""
    return await start_local_activity(
        activity,
        *args_of(arg, args, more),
        activity_id=activity_id,
        result_type=result_type,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
        local_retry_threshold=local_retry_threshold,
        cancellation_type=cancellation_type,
        summary=summary,
    )


def _without_result_type(base: Callable[..., Any], name: str, doc: str) -> Callable[..., Any]:
    """``base`` under ``name``, its signature without ``result_type`` (as temporalio's)."""
    sig = inspect.signature(base)
    params = [p for p in sig.parameters.values() if p.name != "result_type"]
    if inspect.iscoroutinefunction(base):

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await base(*args, **kwargs)

        call: Callable[..., Any] = call_async
    else:

        def call_sync(*args: Any, **kwargs: Any) -> Any:
            return base(*args, **kwargs)

        call = call_sync
    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc
    call.__module__ = "fastcore.workflow"
    call.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return call


start_activity_method = _without_result_type(
    start_activity, "start_activity_method", "``start_activity`` for an activity method."
)
execute_activity_method = _without_result_type(
    execute_activity, "execute_activity_method", "``execute_activity`` for an activity method."
)
start_local_activity_method = _without_result_type(
    start_local_activity,
    "start_local_activity_method",
    "``start_local_activity`` for an activity method.",
)
execute_local_activity_method = _without_result_type(
    execute_local_activity,
    "execute_local_activity_method",
    "``execute_local_activity`` for an activity method.",
)
start_activity_class = _without_result_type(
    start_activity, "start_activity_class", "``start_activity`` for a callable activity class."
)
execute_activity_class = _without_result_type(
    execute_activity,
    "execute_activity_class",
    "``execute_activity`` for a callable activity class.",
)
start_local_activity_class = _without_result_type(
    start_local_activity,
    "start_local_activity_class",
    "``start_local_activity`` for a callable activity class.",
)
execute_local_activity_class = _without_result_type(
    execute_local_activity,
    "execute_local_activity_class",
    "``execute_local_activity`` for a callable activity class.",
)
