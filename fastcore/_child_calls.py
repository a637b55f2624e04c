"""The workflow calls that start a child workflow: ``start_child_workflow`` (awaiting it
gives the child's handle once it started) and ``execute_child_workflow`` (the child's result).

Their options are temporalio's; what an embedded engine has no use for is accepted and
changes nothing (see ``start_child_workflow``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from . import _runtime
from ._activity_calls import MISSING, args_of
from .common import (
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    Priority,
    RetryPolicy,
    WorkflowIDReusePolicy,
)

__all__ = ["execute_child_workflow", "start_child_workflow"]


def start_child_workflow(
    workflow: Any,
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    id: str | None = None,
    task_queue: str | None = None,
    result_type: type | None = None,
    cancellation_type: ChildWorkflowCancellationType = (
        ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
    ),
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    execution_timeout: timedelta | None = None,
    run_timeout: timedelta | None = None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    memo: Mapping[str, Any] | None = None,
    task_timeout: timedelta | None = None,
    static_summary: str | None = None,
    static_details: str | None = None,
    priority: Priority = Priority.default,
    cron_schedule: str = "",
    search_attributes: Any = None,
) -> Awaitable[Any]:
    """Start a child workflow; awaiting this gives a handle once the child has started.

    ``task_queue`` is recorded (the child's ``info().task_queue``; by default its parent's),
    not used for routing. ``cron_schedule`` and ``search_attributes`` (a
    ``TypedSearchAttributes``, or the deprecated name -> list mapping) are the child's, as for
    a client's start. Accepted and without effect, as for a client's start:
    ``task_timeout`` (a workflow task runs in-process), ``static_summary``/``static_details``
    (no UI), ``priority`` (no queue to order).
    """
    del task_timeout, static_summary, static_details, priority
    return _runtime.current().start_child_workflow(  # type: ignore[no-any-return]
        workflow,
        args_of(arg, args, more),
        id=id,
        result_type=result_type,
        cancellation_type=cancellation_type,
        parent_close_policy=parent_close_policy,
        execution_timeout=execution_timeout,
        run_timeout=run_timeout,
        id_reuse_policy=id_reuse_policy,
        retry_policy=retry_policy,
        memo=memo,
        task_queue=task_queue,
        cron_schedule=cron_schedule,
        search_attributes=search_attributes,
    )


async def execute_child_workflow(
    workflow: Any,
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    id: str | None = None,
    task_queue: str | None = None,
    result_type: type | None = None,
    cancellation_type: ChildWorkflowCancellationType = (
        ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
    ),
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    execution_timeout: timedelta | None = None,
    run_timeout: timedelta | None = None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    retry_policy: RetryPolicy | None = None,
    memo: Mapping[str, Any] | None = None,
    task_timeout: timedelta | None = None,
    static_summary: str | None = None,
    static_details: str | None = None,
    priority: Priority = Priority.default,
    cron_schedule: str = "",
    search_attributes: Any = None,
) -> Any:
    """Run a child workflow to its end; failures raise ``ChildWorkflowError``."""
    handle = await start_child_workflow(
        workflow,
        *args_of(arg, args, more),
        id=id,
        task_queue=task_queue,
        result_type=result_type,
        cancellation_type=cancellation_type,
        parent_close_policy=parent_close_policy,
        execution_timeout=execution_timeout,
        run_timeout=run_timeout,
        id_reuse_policy=id_reuse_policy,
        retry_policy=retry_policy,
        memo=memo,
        task_timeout=task_timeout,
        static_summary=static_summary,
        static_details=static_details,
        priority=priority,
        cron_schedule=cron_schedule,
        search_attributes=search_attributes,
    )
    return await handle
