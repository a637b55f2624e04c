"""Temporal -> fastcore, one event at a time: each Temporal event's attributes as fastcore's.

``_READERS`` maps a fastcore event type to the function that reads the attributes of the
Temporal event of that type (``_read`` calls it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from temporalio.api.enums.v1 import StartChildWorkflowExecutionFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent

from fastcore.history import EventType as E
from fastcore.integration import DEFAULT_TASK_QUEUE

from ._common import (
    _CHILD_CAUSE,
    _LA_MARKER,
    _PATCH_DETAILS,
    _PATCH_MARKER,
    _extras,
    _from_dur,
    _from_one,
    _from_payload,
    _from_payloads,
    _from_retry,
    _from_search_attributes,
    _from_ts,
    _pick,
)


class Reader(Protocol):
    """What reading one event needs of the whole read (``_read``'s reader provides it)."""

    now: float | None  # the current workflow task's started time
    children: dict[str, int]  # child workflow id -> its initiated event (fastcore id)

    def map(self, tid: int) -> int:
        """The fastcore id of a Temporal event id already read."""
        ...

    def failure(self, f: Failure) -> dict[str, Any]:
        """A Temporal failure as a fastcore failure dict, its event ids mapped."""
        ...

    def attempt(self, started_id: int) -> int:
        """The attempt an activity's started event records (1 when there is none)."""
        ...


_Read = Callable[[Reader, HistoryEvent], dict[str, Any]]


def _r_started(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_started_event_attributes
    extras = _extras(a.header)
    parent = None
    if a.HasField("parent_workflow_execution"):
        parent = {
            "workflow_id": a.parent_workflow_execution.workflow_id,
            "run_id": a.parent_workflow_execution.run_id,
            "initiated_event_id": a.parent_initiated_event_id,
        }
        if a.HasField("root_workflow_execution"):
            parent["root"] = {
                "workflow_id": a.root_workflow_execution.workflow_id,
                "run_id": a.root_workflow_execution.run_id,
            }
    attrs: dict[str, Any] = {
        "workflow_type": a.workflow_type.name,
        "workflow_id": a.workflow_id,
        "run_id": a.original_execution_run_id,
        "input": _from_payloads(a.input),
        "attempt": a.attempt or 1,
        "parent": parent,
        "continued_run_id": a.continued_execution_run_id or None,
        "first_run_id": a.first_execution_run_id or a.original_execution_run_id,
        "execution_timeout": _from_dur(a, "workflow_execution_timeout"),
        "run_timeout": _from_dur(a, "workflow_run_timeout"),
        "execution_deadline": _from_ts(a.workflow_execution_expiration_time)
        if a.HasField("workflow_execution_expiration_time")
        else None,
        "memo": {k: _from_payload(v) for k, v in a.memo.fields.items()},
        "retry_policy": _from_retry(a.retry_policy) if a.HasField("retry_policy") else None,
        "seed": extras.get("seed", 0),
    }
    # recorded only when set, as the engine records them
    if a.task_queue.name and a.task_queue.name != DEFAULT_TASK_QUEUE:
        attrs["task_queue"] = a.task_queue.name
    search_attributes = _from_search_attributes(a.search_attributes)
    if search_attributes:
        attrs["search_attributes"] = search_attributes
    if a.cron_schedule:
        attrs["cron_schedule"] = a.cron_schedule
    if a.HasField("last_completion_result") and a.last_completion_result.payloads:
        attrs["last_completion_result"] = _from_one(a.last_completion_result)
    if a.HasField("continued_failure"):
        attrs["continued_failure"] = r.failure(a.continued_failure)
    backoff = extras.get("first_task_backoff") or _from_dur(a, "first_workflow_task_backoff")
    if backoff:
        attrs["first_task_backoff"] = backoff
    if extras.get("request_id"):
        attrs["request_id"] = extras["request_id"]  # the start's request id (Temporal's)
    return attrs


def _r_signaled(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_signaled_event_attributes
    d: dict[str, Any] = {"signal_name": a.signal_name, "input": _from_payloads(a.input)}
    extras = _extras(a.header)
    if extras.get("external"):
        d["external"] = extras["external"]
    if a.request_id:
        d["request_id"] = a.request_id
    if extras.get("ends_start_delay"):
        d["ends_start_delay"] = True  # a signal-with-start that found the run waiting
    return d


def _execution(a: Any) -> dict[str, Any]:
    return {
        "workflow_id": a.workflow_execution.workflow_id,
        "run_id": a.workflow_execution.run_id or None,
    }


def _r_signal_external(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.signal_external_workflow_execution_initiated_event_attributes
    return {
        **_execution(a),
        "signal_name": a.signal_name,
        "input": _from_payloads(a.input),
        "child_workflow_only": a.child_workflow_only,
    }


def _r_external_answer(attr: str) -> Callable[[Reader, HistoryEvent], dict[str, Any]]:
    """An answer to a signal or cancel request sent to another workflow."""

    def read(r: Reader, te: HistoryEvent) -> dict[str, Any]:
        a = getattr(te, attr)
        d = {"initiated_event_id": r.map(a.initiated_event_id), **_execution(a)}
        if hasattr(a, "cause"):
            if a.cause == 1:
                d["cause"] = "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
            else:
                d.update(json.loads(a.control) if a.control else {"cause": str(a.cause)})
        return d

    return read


def _r_properties_modified(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_properties_modified_event_attributes
    return {"upserted_memo": {k: _from_payload(v) for k, v in a.upserted_memo.fields.items()}}


def _r_update_accepted(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_update_accepted_event_attributes
    req = a.accepted_request
    return {
        "update_id": req.meta.update_id or a.protocol_instance_id,
        "name": req.input.name,
        "input": _from_payloads(req.input.args),
    }


def _r_update_completed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_update_completed_event_attributes
    failed = a.outcome.HasField("failure")
    return {
        "update_id": a.meta.update_id,
        "accepted_event_id": r.map(a.accepted_event_id),
        "result": None if failed else _from_one(a.outcome.success),
        "failure": r.failure(a.outcome.failure) if failed else None,
    }


def _r_cancel_requested(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"reason": te.workflow_execution_cancel_requested_event_attributes.cause}


def _r_activity_scheduled(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_scheduled_event_attributes
    return {
        "activity_id": a.activity_id,
        "activity_type": a.activity_type.name,
        "input": _from_payloads(a.input),
        "start_to_close_timeout": _from_dur(a, "start_to_close_timeout"),
        "schedule_to_close_timeout": _from_dur(a, "schedule_to_close_timeout"),
        "schedule_to_start_timeout": _from_dur(a, "schedule_to_start_timeout"),
        "heartbeat_timeout": _from_dur(a, "heartbeat_timeout"),
        "retry_policy": _from_retry(a.retry_policy),
        "cancellation_type": _extras(a.header).get("cancellation_type", 0),
    }


def _r_activity_completed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_completed_event_attributes
    return {
        "scheduled_event_id": r.map(a.scheduled_event_id),
        "result": _from_one(a.result),
        "attempt": r.attempt(a.started_event_id),
    }


def _activity_failure(attributes: str) -> _Read:
    """The reader of a failed or timed-out activity (the same fields under two names)."""

    def read(r: Reader, te: HistoryEvent) -> dict[str, Any]:
        a = getattr(te, attributes)
        return {
            "scheduled_event_id": r.map(a.scheduled_event_id),
            "failure": r.failure(a.failure),
            "attempt": r.attempt(a.started_event_id),
            "retry_state": int(a.retry_state),
        }

    return read


def _r_activity_cancel_requested(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_cancel_requested_event_attributes
    return {"scheduled_event_id": r.map(a.scheduled_event_id)}


def _r_activity_canceled(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_canceled_event_attributes
    return {"scheduled_event_id": r.map(a.scheduled_event_id), "details": _from_payloads(a.details)}


def _r_timer_started(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.timer_started_event_attributes
    timeout = _from_dur(a, "start_to_fire_timeout") or 0.0
    now = r.now if r.now is not None else _from_ts(te.event_time)
    return {"timer_id": a.timer_id, "start_to_fire_timeout": timeout, "fire_at": now + timeout}


def _r_timer_fired(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.timer_fired_event_attributes
    return {"timer_id": a.timer_id, "started_event_id": r.map(a.started_event_id)}


def _r_timer_canceled(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.timer_canceled_event_attributes
    return {"timer_id": a.timer_id, "started_event_id": r.map(a.started_event_id)}


def _r_marker(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.marker_recorded_event_attributes
    if a.marker_name == _LA_MARKER:
        return _r_local_activity(r, te)
    if a.marker_name == _PATCH_MARKER:
        ps = a.details.get(_PATCH_DETAILS) or a.details.get("patch_data")
        data = json.loads(ps.payloads[0].data) if ps is not None and ps.payloads else {}
        return {
            "marker_name": _PATCH_MARKER,
            "details": {"patch_id": data.get("id", ""), "deprecated": bool(data.get("deprecated"))},
        }
    return {
        "marker_name": a.marker_name,
        "details": {k: _from_payloads(v) for k, v in a.details.items()},
    }


def _r_local_activity(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    """sdk-core's local activity marker as fastcore's (``details`` and ``failure``)."""
    a = te.marker_recorded_event_attributes
    ps = a.details.get("data")
    data = json.loads(ps.payloads[0].data) if ps is not None and ps.payloads else {}

    def seconds(stamp: Any) -> float | None:
        if not isinstance(stamp, dict):
            return None
        return float(stamp.get("seconds") or 0) + float(stamp.get("nanos") or 0) / 1e9

    result = a.details.get("result")
    failure = r.failure(a.failure) if a.HasField("failure") else None
    return {
        "marker_name": _LA_MARKER,
        "details": {
            "seq": int(data.get("seq") or 0),
            "attempt": int(data.get("attempt") or 1),
            "activity_id": str(data.get("activity_id") or ""),
            "activity_type": str(data.get("activity_type") or ""),
            "complete_time": seconds(data.get("complete_time")),
            "original_schedule_time": seconds(data.get("original_schedule_time")),
            "result": _from_payload(result.payloads[0])
            if result is not None and result.payloads
            else None,
        },
        "failure": failure,
    }


def _r_child_initiated(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.start_child_workflow_execution_initiated_event_attributes
    r.children[a.workflow_id] = r.map(te.event_id)
    return {
        "workflow_id": a.workflow_id,
        "workflow_type": a.workflow_type.name,
        "input": _from_payloads(a.input),
        "parent_close_policy": int(a.parent_close_policy),
        "execution_timeout": _from_dur(a, "workflow_execution_timeout"),
        "run_timeout": _from_dur(a, "workflow_run_timeout"),
        "retry_policy": _from_retry(a.retry_policy) if a.HasField("retry_policy") else None,
        "cancellation_type": _extras(a.header).get("cancellation_type", 0),
        "memo": {k: _from_payload(v) for k, v in a.memo.fields.items()},
        **_pick(_extras(a.header), "task_queue"),
    }


def _r_child_start_failed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.start_child_workflow_execution_failed_event_attributes
    return {
        "initiated_event_id": r.map(a.initiated_event_id),
        "workflow_id": a.workflow_id,
        "workflow_type": a.workflow_type.name,
        "cause": StartChildWorkflowExecutionFailedCause.Name(a.cause).removeprefix(_CHILD_CAUSE)
        if a.cause
        else a.control or "UNSPECIFIED",
    }


def _r_child_started(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_started_event_attributes
    return {
        "initiated_event_id": r.map(a.initiated_event_id),
        "workflow_id": a.workflow_execution.workflow_id,
        "run_id": a.workflow_execution.run_id,
        "workflow_type": a.workflow_type.name,
    }


def _child_ids(r: Reader, a: Any) -> dict[str, Any]:
    return {
        "initiated_event_id": r.map(a.initiated_event_id),
        "started_event_id": r.map(a.started_event_id),
        "workflow_id": a.workflow_execution.workflow_id,
        "run_id": a.workflow_execution.run_id,
    }


def _r_child_completed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_completed_event_attributes
    return {**_child_ids(r, a), "result": _from_one(a.result)}


def _r_child_failed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_failed_event_attributes
    return {**_child_ids(r, a), "failure": r.failure(a.failure), "retry_state": int(a.retry_state)}


def _r_child_canceled(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_canceled_event_attributes
    return {**_child_ids(r, a), "details": _from_payloads(a.details)}


def _r_child_terminated(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    return _child_ids(r, te.child_workflow_execution_terminated_event_attributes)


def _r_child_timed_out(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_timed_out_event_attributes
    return {**_child_ids(r, a), "retry_state": int(a.retry_state)}


def _r_cancel_external(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.request_cancel_external_workflow_execution_initiated_event_attributes
    d: dict[str, Any] = {
        "workflow_id": a.workflow_execution.workflow_id,
        "child_workflow_only": a.child_workflow_only,
    }
    initiated = r.children.get(a.workflow_execution.workflow_id)
    if a.child_workflow_only and initiated is not None:
        d["initiated_event_id"] = initiated
    elif not a.child_workflow_only:
        d["run_id"] = a.workflow_execution.run_id or None
    if a.reason:
        d["reason"] = a.reason
    return d


def _next_run(d: dict[str, Any], a: Any) -> dict[str, Any]:
    if a.new_execution_run_id:
        d["new_execution_run_id"] = a.new_execution_run_id
    return d


def _r_completed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_completed_event_attributes
    return _next_run({"result": _from_one(a.result)}, a)


def _r_failed(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_failed_event_attributes
    return _next_run({"failure": r.failure(a.failure)}, a)


def _r_upsert(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.upsert_workflow_search_attributes_event_attributes
    return {"search_attributes": _from_search_attributes(a.search_attributes)}


def _r_canceled(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"details": _from_payloads(te.workflow_execution_canceled_event_attributes.details)}


def _r_terminated(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_terminated_event_attributes
    return {"reason": a.reason, "details": _from_payloads(a.details)}


def _r_timed_out(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_timed_out_event_attributes
    return _next_run({"retry_state": int(a.retry_state)}, a)


def _r_continued(r: Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_continued_as_new_event_attributes
    extras = _extras(a.header)
    d: dict[str, Any] = {
        "new_execution_run_id": a.new_execution_run_id,
        "workflow_type": a.workflow_type.name,
        "input": _from_payloads(a.input),
    }
    given = set(extras.get("options") or ())
    if "task_queue" in given:
        d["task_queue"] = a.task_queue.name
    if "run_timeout" in given:
        d["run_timeout"] = _from_dur(a, "workflow_run_timeout")
    if "memo" in given:
        d["memo"] = {k: _from_payload(v) for k, v in a.memo.fields.items()}
    if a.HasField("backoff_start_interval"):
        d["backoff_start_interval"] = _from_dur(a, "backoff_start_interval")
    d.update(_pick(extras, "retry_policy", "search_attributes"))
    return d


_READERS: dict[str, _Read] = {
    E.WORKFLOW_EXECUTION_STARTED.value: _r_started,
    E.WORKFLOW_EXECUTION_SIGNALED.value: _r_signaled,
    E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED.value: _r_signal_external,
    E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED.value: _r_external_answer(
        "external_workflow_execution_signaled_event_attributes"
    ),
    E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED.value: _r_external_answer(
        "signal_external_workflow_execution_failed_event_attributes"
    ),
    E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED.value: _r_external_answer(
        "external_workflow_execution_cancel_requested_event_attributes"
    ),
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED.value: _r_external_answer(
        "request_cancel_external_workflow_execution_failed_event_attributes"
    ),
    E.WORKFLOW_PROPERTIES_MODIFIED.value: _r_properties_modified,
    E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED.value: _r_update_accepted,
    E.WORKFLOW_EXECUTION_UPDATE_COMPLETED.value: _r_update_completed,
    E.WORKFLOW_EXECUTION_CANCEL_REQUESTED.value: _r_cancel_requested,
    E.ACTIVITY_TASK_SCHEDULED.value: _r_activity_scheduled,
    E.ACTIVITY_TASK_COMPLETED.value: _r_activity_completed,
    E.ACTIVITY_TASK_FAILED.value: _activity_failure("activity_task_failed_event_attributes"),
    E.ACTIVITY_TASK_TIMED_OUT.value: _activity_failure("activity_task_timed_out_event_attributes"),
    E.ACTIVITY_TASK_CANCEL_REQUESTED.value: _r_activity_cancel_requested,
    E.ACTIVITY_TASK_CANCELED.value: _r_activity_canceled,
    E.TIMER_STARTED.value: _r_timer_started,
    E.TIMER_FIRED.value: _r_timer_fired,
    E.TIMER_CANCELED.value: _r_timer_canceled,
    E.MARKER_RECORDED.value: _r_marker,
    E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES.value: _r_upsert,
    E.START_CHILD_WORKFLOW_EXECUTION_INITIATED.value: _r_child_initiated,
    E.START_CHILD_WORKFLOW_EXECUTION_FAILED.value: _r_child_start_failed,
    E.CHILD_WORKFLOW_EXECUTION_STARTED.value: _r_child_started,
    E.CHILD_WORKFLOW_EXECUTION_COMPLETED.value: _r_child_completed,
    E.CHILD_WORKFLOW_EXECUTION_FAILED.value: _r_child_failed,
    E.CHILD_WORKFLOW_EXECUTION_CANCELED.value: _r_child_canceled,
    E.CHILD_WORKFLOW_EXECUTION_TERMINATED.value: _r_child_terminated,
    E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT.value: _r_child_timed_out,
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED.value: _r_cancel_external,
    E.WORKFLOW_EXECUTION_COMPLETED.value: _r_completed,
    E.WORKFLOW_EXECUTION_FAILED.value: _r_failed,
    E.WORKFLOW_EXECUTION_CANCELED.value: _r_canceled,
    E.WORKFLOW_EXECUTION_TERMINATED.value: _r_terminated,
    E.WORKFLOW_EXECUTION_TIMED_OUT.value: _r_timed_out,
    E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW.value: _r_continued,
}
