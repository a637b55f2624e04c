"""Workflow side: Temporal workflow code runs a fastcore sub-workflow, execute_fastcore_workflow.

Temporal workflow code calls ``await bridge.execute_fastcore_workflow(Checkout.run, order,
...)``; that schedules the generic activity ``fastcore.run_workflow`` (registered by
``bridge.fastcore_activities``, ``bridge.subworkflow._activity``), which runs the fastcore
sub-workflow in the worker's engine and returns its result.

This module runs inside Temporal's workflow sandbox, so it imports only the standard
library, ``temporalio.workflow``/``temporalio.common`` and ``fastcore.integration``'s
definition readers (which read attributes and run no engine code); never gRPC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from fastcore.integration import workflow_definition_of

from ._workflow_forward import NO_ARG, call_args, handler_reference

__all__ = [
    "FASTCORE_ACTIVITY_NAME",
    "FastcoreWorkflowInput",
    "execute_fastcore_workflow",
    "fastcore_workflow_name",
    "start_fastcore_workflow",
]

FASTCORE_ACTIVITY_NAME = "fastcore.run_workflow"
"""The name of the generic activity ``fastcore_activities`` registers by default."""


@dataclass
class FastcoreWorkflowInput:
    """What the workflow side sends the activity: the sub-workflow to run and how.

    Attributes:
        workflow: The fastcore workflow type name.
        args: Its arguments, as JSON-able values (Temporal's data converter carries them).
        id: The fastcore workflow id; None lets the activity derive one from the Temporal
            workflow id, run id and activity id (unique per scheduled activity).
        execution_timeout: The sub-workflow's fastcore execution timeout, in seconds.
        memo: Extra memo for the fastcore run.
        mirror: Signal the Temporal workflow where the run is and its history events
            (``bridge.FastcoreMirror``).
        state_query: The fastcore query whose answer goes with each mirrored batch.
    """

    workflow: str
    args: list[Any] = field(default_factory=list)
    id: str | None = None
    execution_timeout: float | None = None
    memo: dict[str, Any] | None = None
    mirror: bool = False
    state_query: str | None = None


def fastcore_workflow_name(workflow_ref: Any) -> str:
    """The fastcore type name of a workflow given as its class, run method or name.

    Raises:
        TypeError: ``workflow_ref`` is no fastcore workflow (nor a string).
    """
    if isinstance(workflow_ref, str):
        return workflow_ref
    defn = workflow_definition_of(workflow_ref)
    name = defn.name if defn is not None else None
    if not isinstance(name, str):
        label = getattr(workflow_ref, "__qualname__", repr(workflow_ref))
        raise TypeError(
            f"{label} is not a fastcore workflow: pass a @fastcore.workflow.defn class, its "
            "@workflow.run method, or the workflow type name"
        )
    return name


def start_fastcore_workflow(
    workflow_ref: Any,
    arg: Any = NO_ARG,
    *,
    args: Sequence[Any] = (),
    id: str | None = None,
    execution_timeout: timedelta | None = None,
    memo: dict[str, Any] | None = None,
    mirror: bool = False,
    state_query: Any = None,
    local: bool = False,
    task_queue: str | None = None,
    result_type: type | None = None,
    start_to_close_timeout: timedelta | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: workflow.ActivityCancellationType = (
        workflow.ActivityCancellationType.TRY_CANCEL
    ),
    activity_id: str | None = None,
    local_retry_threshold: timedelta | None = None,
    summary: str | None = None,
    activity_name: str = FASTCORE_ACTIVITY_NAME,
) -> workflow.ActivityHandle[Any]:
    """Schedule a fastcore sub-workflow as an activity (or a local one) and return its handle.

    The options are ``workflow.start_activity``'s; see ``execute_fastcore_workflow``.
    """
    name = fastcore_workflow_name(workflow_ref)
    if result_type is None and not isinstance(workflow_ref, str):
        defn = workflow_definition_of(workflow_ref)
        result_type = defn.run_ret_hint if defn is not None else None
    payload = FastcoreWorkflowInput(
        workflow=name,
        args=call_args(arg, args),
        id=id,
        execution_timeout=execution_timeout.total_seconds() if execution_timeout else None,
        memo=memo,
        mirror=mirror,
        state_query=handler_reference("query", state_query)[0] if state_query is not None else None,
    )
    if local:
        if heartbeat_timeout is not None or task_queue is not None:
            raise ValueError("a local activity takes neither heartbeat_timeout nor task_queue")
        return workflow.start_local_activity(
            activity_name,
            payload,
            result_type=result_type,
            start_to_close_timeout=start_to_close_timeout,
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            retry_policy=retry_policy,
            local_retry_threshold=local_retry_threshold,
            cancellation_type=cancellation_type,
            activity_id=activity_id,
            summary=summary,
        )
    return workflow.start_activity(
        activity_name,
        payload,
        task_queue=task_queue,
        result_type=result_type,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        cancellation_type=cancellation_type,
        activity_id=activity_id,
        summary=summary,
    )


async def execute_fastcore_workflow(
    workflow_ref: Any,
    arg: Any = NO_ARG,
    *,
    args: Sequence[Any] = (),
    id: str | None = None,
    execution_timeout: timedelta | None = None,
    memo: dict[str, Any] | None = None,
    mirror: bool = False,
    state_query: Any = None,
    local: bool = False,
    task_queue: str | None = None,
    result_type: type | None = None,
    start_to_close_timeout: timedelta | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    cancellation_type: workflow.ActivityCancellationType = (
        workflow.ActivityCancellationType.TRY_CANCEL
    ),
    activity_id: str | None = None,
    local_retry_threshold: timedelta | None = None,
    summary: str | None = None,
    activity_name: str = FASTCORE_ACTIVITY_NAME,
) -> Any:
    """Run a fastcore sub-workflow in an activity worker's engine and return its result.

    Call it from Temporal workflow code (sandboxed or not). The activity checkpoints the
    sub-workflow in its heartbeats, so a retry on any worker resumes it; give a
    ``heartbeat_timeout`` so a dead worker is noticed and cancellation arrives promptly.

    Args:
        workflow_ref: The fastcore workflow: its ``@workflow.run`` method, class or type name.
        arg: A single argument (or use ``args``).
        args: The arguments, JSON-able through Temporal's data converter.
        id: The fastcore workflow id (default: derived from the Temporal activity).
        execution_timeout: The sub-workflow's own fastcore execution timeout.
        memo: Memo for the fastcore run.
        mirror: Keep the calling workflow informed (``bridge.FastcoreMirror``): once the
            sub-workflow does not finish at once, the activity signals the workflow
            (``bridge.MIRROR_SIGNAL``) with where it runs and its history events, batched,
            the last batch before the result. Give an ``id`` to find it in the mirror.
        state_query: With ``mirror``: a ``@fastcore.workflow.query`` (method or name) taking
            no arguments, run after each burst of events; the mirror keeps its latest answer
            (``FastcoreMirror.state``).
        local: Run as a local activity (no heartbeats, so no checkpoint: a retry after a
            worker crash starts the sub-workflow again). For short sub-workflows.
        task_queue: The activity's task queue (default: the workflow's).
        result_type: The result's type (default: the run method's return annotation).
        start_to_close_timeout: As ``workflow.execute_activity``.
        schedule_to_close_timeout: As ``workflow.execute_activity``.
        schedule_to_start_timeout: As ``workflow.execute_activity``.
        heartbeat_timeout: As ``workflow.execute_activity`` (not for local activities).
        retry_policy: Temporal's retry policy for the whole sub-workflow.
        cancellation_type: As ``workflow.execute_activity``; ``WAIT_CANCELLATION_COMPLETED``
            waits until the sub-workflow's cancellation handling has run.
        activity_id: The Temporal activity id.
        local_retry_threshold: As ``workflow.execute_local_activity`` (``local=True`` only).
        summary: The activity's summary in the Temporal UI.
        activity_name: The activity's name, if ``fastcore_activities`` was given another.

    Raises:
        temporalio.exceptions.ActivityError: The sub-workflow failed; ``cause`` is the
            mapped fastcore failure (see ``bridge.fastcore_activities``).
    """
    return await start_fastcore_workflow(
        workflow_ref,
        arg,
        args=args,
        id=id,
        execution_timeout=execution_timeout,
        memo=memo,
        mirror=mirror,
        state_query=state_query,
        local=local,
        task_queue=task_queue,
        result_type=result_type,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        cancellation_type=cancellation_type,
        activity_id=activity_id,
        local_retry_threshold=local_retry_threshold,
        summary=summary,
        activity_name=activity_name,
    )
