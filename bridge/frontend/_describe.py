"""A run as Temporal describes and lists it: ``WorkflowExecutionInfo`` and pending work.

``DescribeWorkflowExecution`` reads the run's history (the engine's events and their
Temporal translation) and the engine's description: execution, type, status, start/close/
execution times, history length and size (of the translated history, so they agree with
what ``GetWorkflowExecutionHistory`` serves), memo (the payloads the start recorded), search
attributes and task queue (the engine keeps them), parent and root, first run id, the
execution config, pending activities and children (their event ids Temporal's) and a pending
workflow task when the run's last workflow task failed.

A ``ListWorkflowExecutions`` row comes from the engine's list row alone, no history read:
the same fields, with the history length the engine counts (fastcore's events; Temporal's
translation adds its workflow task events) and no history size.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import (
    PendingActivityInfo,
    PendingChildExecutionInfo,
    PendingWorkflowTaskInfo,
    WorkflowExecutionConfig,
    WorkflowExecutionInfo,
)
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from fastcore import DataConverter, EventType, WorkflowExecutionStatus
from fastcore import PendingActivityInfo as FastcorePending
from fastcore.integration import default_converter, to_failure

from ..history import failure_to_temporal
from ._history import RunHistory
from ._payloads import memo_of
from ._payloads import to_temporal as payload_to_temporal
from ._search_attributes import to_temporal_attributes

__all__ = ["describe_response", "execution_info", "list_row", "status_of_run", "timestamp"]

_CLOSE_STATUS = {
    EventType.WORKFLOW_EXECUTION_COMPLETED: WorkflowExecutionStatus.COMPLETED,
    EventType.WORKFLOW_EXECUTION_FAILED: WorkflowExecutionStatus.FAILED,
    EventType.WORKFLOW_EXECUTION_CANCELED: WorkflowExecutionStatus.CANCELED,
    EventType.WORKFLOW_EXECUTION_TERMINATED: WorkflowExecutionStatus.TERMINATED,
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: WorkflowExecutionStatus.CONTINUED_AS_NEW,
    EventType.WORKFLOW_EXECUTION_TIMED_OUT: WorkflowExecutionStatus.TIMED_OUT,
}
_WORKFLOW_TASK_TIMEOUT = 10  # seconds: Temporal's default, shown in the execution config


def timestamp(epoch_seconds: float) -> Timestamp:
    """A protobuf timestamp of epoch seconds."""
    ts = Timestamp()
    ts.FromNanoseconds(round(epoch_seconds * 1e9))
    return ts


def _duration(seconds: float | None) -> Duration | None:
    if not seconds:
        return None
    d = Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def status_of_run(run: RunHistory) -> WorkflowExecutionStatus:
    """The run's status, from its last event."""
    return _CLOSE_STATUS.get(run.source[-1].event_type, WorkflowExecutionStatus.RUNNING)


def list_row(desc: Any) -> WorkflowExecutionInfo:
    """The row ``ListWorkflowExecutions`` gives for the engine's list row ``desc``."""
    start = desc.start_time.timestamp()
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=desc.id, run_id=desc.run_id),
        type=WorkflowType(name=desc.workflow_type),
        start_time=timestamp(start),
        execution_time=timestamp((desc.execution_time or desc.start_time).timestamp()),
        status=int(desc.status),  # type: ignore[arg-type]  # fastcore's values are Temporal's
        history_length=int(desc.history_length),
        memo=memo_of(desc.raw_memo),
        search_attributes=to_temporal_attributes(desc.typed_search_attributes),
        task_queue=desc.task_queue,
        state_transition_count=int(desc.history_length),
    )
    if desc.parent_id:
        info.parent_execution.CopyFrom(
            WorkflowExecution(workflow_id=desc.parent_id, run_id=desc.parent_run_id or "")
        )
        info.parent_namespace_id = "default"
        info.root_execution.CopyFrom(info.parent_execution)
    else:
        info.root_execution.CopyFrom(info.execution)
    if desc.close_time is not None:
        closed_at = desc.close_time.timestamp()
        info.close_time.CopyFrom(timestamp(closed_at))
        info.execution_duration.FromNanoseconds(round((closed_at - start) * 1e9))
    return info


def execution_info(run: RunHistory, desc: Any) -> WorkflowExecutionInfo:
    """The row ``DescribeWorkflowExecution`` gives for a run (its history read)."""
    started = run.source[0]
    attrs = started.attributes
    status = status_of_run(run)
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=run.workflow_id, run_id=run.run_id),
        type=WorkflowType(name=str(attrs.get("workflow_type", ""))),
        start_time=timestamp(started.timestamp),
        execution_time=timestamp(started.timestamp + float(attrs.get("first_task_backoff") or 0)),
        status=int(status),  # type: ignore[arg-type]  # fastcore's values are Temporal's
        history_length=len(run.events),
        history_size_bytes=run.size_bytes,
        memo=memo_of(desc.raw_memo),  # as started, with upsert_memo's changes
        search_attributes=to_temporal_attributes(desc.typed_search_attributes),
        task_queue=desc.task_queue,
        state_transition_count=len(run.source),
        first_run_id=str(attrs.get("first_run_id") or run.run_id),
    )
    parent = attrs.get("parent")
    if parent:
        info.parent_execution.CopyFrom(
            WorkflowExecution(workflow_id=parent["workflow_id"], run_id=parent["run_id"])
        )
        info.parent_namespace_id = "default"
        info.root_execution.CopyFrom(info.parent_execution)
    else:
        info.root_execution.CopyFrom(info.execution)
    if run.closed:
        closed_at = run.source[-1].timestamp
        info.close_time.CopyFrom(timestamp(closed_at))
        info.execution_duration.FromNanoseconds(round((closed_at - started.timestamp) * 1e9))
    return info


_ACTIVITY_CLOSES = frozenset(
    {
        "activity_task_completed_event_attributes",
        "activity_task_failed_event_attributes",
        "activity_task_timed_out_event_attributes",
        "activity_task_canceled_event_attributes",
    }
)


def _pending_activities(
    events: list[HistoryEvent], engine_view: dict[str, FastcorePending], converter: DataConverter
) -> list[PendingActivityInfo]:
    """Temporal's pending activities: ids and types from the translated history, attempt,
    state, times and last failure from the engine's own description of each."""
    scheduled: dict[int, HistoryEvent] = {}
    for e in events:
        kind = e.WhichOneof("attributes")
        if kind == "activity_task_scheduled_event_attributes":
            scheduled[e.event_id] = e
        elif kind in _ACTIVITY_CLOSES:
            scheduled.pop(getattr(e, kind).scheduled_event_id, None)
    out = []
    for e in scheduled.values():
        a = e.activity_task_scheduled_event_attributes
        info = PendingActivityInfo(
            activity_id=a.activity_id,
            activity_type=a.activity_type,
            state=PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
            attempt=1,
            maximum_attempts=a.retry_policy.maximum_attempts,
            scheduled_time=e.event_time,
        )
        mine = engine_view.get(a.activity_id)
        if mine is not None:
            _fill_from_engine(info, mine, converter)
        out.append(info)
    return out


def _fill_from_engine(
    info: PendingActivityInfo, mine: FastcorePending, converter: DataConverter
) -> None:
    info.state = int(mine.state)  # type: ignore[assignment]  # fastcore's values are Temporal's
    info.attempt = mine.attempt
    info.last_worker_identity = mine.last_worker_identity
    for field in (
        "last_started_time",
        "last_heartbeat_time",
        "next_attempt_schedule_time",
        "expiration_time",
    ):
        value = getattr(mine, field)
        if value is not None:
            getattr(info, field).CopyFrom(timestamp(value.timestamp()))
    if mine.heartbeat_details:
        info.heartbeat_details.payloads.extend(
            payload_to_temporal(converter.encode_one(d)) for d in mine.heartbeat_details
        )
    if mine.last_failure is not None:
        info.last_failure.CopyFrom(failure_to_temporal(to_failure(mine.last_failure, converter)))


_CHILD_CLOSES = frozenset(
    {
        "start_child_workflow_execution_failed_event_attributes",
        "child_workflow_execution_completed_event_attributes",
        "child_workflow_execution_failed_event_attributes",
        "child_workflow_execution_canceled_event_attributes",
        "child_workflow_execution_terminated_event_attributes",
        "child_workflow_execution_timed_out_event_attributes",
    }
)


def _pending_children(events: list[HistoryEvent]) -> list[PendingChildExecutionInfo]:
    pending: dict[int, PendingChildExecutionInfo] = {}
    for e in events:
        kind = e.WhichOneof("attributes")
        if kind == "start_child_workflow_execution_initiated_event_attributes":
            a = e.start_child_workflow_execution_initiated_event_attributes
            pending[e.event_id] = PendingChildExecutionInfo(
                workflow_id=a.workflow_id,
                workflow_type_name=a.workflow_type.name,
                initiated_id=e.event_id,
                parent_close_policy=a.parent_close_policy,
            )
        elif kind == "child_workflow_execution_started_event_attributes":
            s = e.child_workflow_execution_started_event_attributes
            if s.initiated_event_id in pending:
                pending[s.initiated_event_id].run_id = s.workflow_execution.run_id
        elif kind in _CHILD_CLOSES:
            pending.pop(getattr(e, kind).initiated_event_id, None)
    return list(pending.values())


def _failed_task_attempts(run: RunHistory) -> int:
    """Workflow tasks that failed in a row at the end of the history."""
    n = 0
    for e in reversed(run.events):
        if e.HasField("workflow_task_failed_event_attributes"):
            n += 1
        elif not (
            e.HasField("workflow_task_scheduled_event_attributes")
            or e.HasField("workflow_task_started_event_attributes")
        ):
            break
    return n


def describe_response(
    run: RunHistory, description: Any, converter: DataConverter = default_converter
) -> DescribeWorkflowExecutionResponse:
    """``DescribeWorkflowExecution``'s answer for a run and the engine's description of it."""
    attrs = run.source[0].attributes
    config = WorkflowExecutionConfig(
        task_queue=TaskQueue(name=description.task_queue),
        workflow_execution_timeout=_duration(attrs.get("execution_timeout")),
        workflow_run_timeout=_duration(attrs.get("run_timeout")),
        default_workflow_task_timeout=_duration(_WORKFLOW_TASK_TIMEOUT),
    )
    response = DescribeWorkflowExecutionResponse(
        execution_config=config,
        workflow_execution_info=execution_info(run, description),
    )
    if not run.closed:
        engine_view = {p.activity_id: p for p in getattr(description, "pending_activities", ())}
        response.pending_activities.extend(_pending_activities(run.events, engine_view, converter))
        response.pending_children.extend(_pending_children(run.events))
        if getattr(description, "pending_task_failure", None) is not None:
            response.pending_workflow_task.CopyFrom(
                PendingWorkflowTaskInfo(
                    state=PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
                    attempt=_failed_task_attempts(run) + 1,
                )
            )
    return response
