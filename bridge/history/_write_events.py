"""fastcore -> Temporal, one event at a time: each fastcore event as Temporal event(s).

``_Writer`` numbers the Temporal events and keeps the id maps cross-references need;
``_write`` translates one fastcore event (adding the ``ActivityTaskStarted`` before an
activity result), and ``_WRITERS`` holds the translation of each event type.
``_write`` decides where the workflow tasks go.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import (
    ContinueAsNewInitiator,
    EventType,
    StartChildWorkflowExecutionFailedCause,
    TaskQueueKind,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent

from fastcore import Payload
from fastcore.history import Event
from fastcore.history import EventType as E

from ._common import (
    _ACTIVITY_RESULTS,
    _CHANGE_VERSION,
    _CHILD_CAUSE,
    _IDENTITY,
    _LA_MARKER,
    _PATCH_DETAILS,
    _PATCH_MARKER,
    _WFT_TIMEOUT,
    CORE_FLAGS,
    _enum,
    _from_ts,
    _json_payload,
    _one,
    _payload,
    _payloads,
    _pick,
    _retry,
    _search_attributes,
    _set_dur,
    _set_extras,
    _ts,
)
from ._failure import failure_to_temporal


class _Writer:
    """Builds Temporal events, keeping the id maps that cross-references need."""

    def __init__(self, namespace: str, task_queue: str) -> None:
        self.namespace = namespace
        self.task_queue = task_queue
        self.events: list[HistoryEvent] = []
        self.ids: dict[int, int] = {}  # fastcore id -> Temporal id
        self.started: dict[int, int] = {}  # Temporal scheduled/initiated id -> its started id
        self.cancel_requested: dict[int, int] = {}  # scheduled id -> latest cancel request
        self.child: dict[int, tuple[str, str, str]] = {}  # initiated id -> (wf id, run id, type)
        self.patches: set[str] = set()
        self.wft_completed = 0
        self.first_task = True

    def add(self, kind: str, ts: float) -> HistoryEvent:
        ev = HistoryEvent(
            event_id=len(self.events) + 1,
            event_time=_ts(ts),
            event_type=EventType.Value("EVENT_TYPE_" + kind),
            task_id=len(self.events) + 1,
        )
        self.events.append(ev)
        return ev

    def map(self, fc_id: int) -> int:
        return self.ids.get(fc_id, fc_id)

    def failure(self, d: dict[str, Any] | None) -> Failure:
        return failure_to_temporal(
            d or {}, map_id=self.map, started_of=lambda i: self.started.get(i, 0)
        )

    def task_queue_into(self, tq: Any) -> None:
        tq.name = self.task_queue
        tq.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL

    def workflow_task(
        self,
        ts: float,
        end_ts: float,
        *,
        attempt: int = 1,
        failure: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> int:
        """Write a task's scheduled/started/completed (or failed) events; the scheduled id.

        ``now`` is the activation's time (fastcore's ``workflow.now()``, the input's time),
        which Temporal's ``workflow.now()`` takes from the started event.
        """
        sched = self.add("WORKFLOW_TASK_SCHEDULED", ts)
        a = sched.workflow_task_scheduled_event_attributes
        self.task_queue_into(a.task_queue)
        _set_dur(a.start_to_close_timeout, _WFT_TIMEOUT)
        a.attempt = attempt
        started = self.add("WORKFLOW_TASK_STARTED", ts if now is None else now)
        s = started.workflow_task_started_event_attributes
        s.scheduled_event_id = sched.event_id
        s.identity = _IDENTITY
        if failure is not None:
            failed = self.add("WORKFLOW_TASK_FAILED", end_ts)
            f = failed.workflow_task_failed_event_attributes
            f.scheduled_event_id = sched.event_id
            f.started_event_id = started.event_id
            f.cause = _task_failed_cause(failure)
            f.failure.CopyFrom(self.failure(failure))
            f.identity = _IDENTITY
            return sched.event_id
        done = self.add("WORKFLOW_TASK_COMPLETED", end_ts)
        c = done.workflow_task_completed_event_attributes
        c.scheduled_event_id = sched.event_id
        c.started_event_id = started.event_id
        c.identity = _IDENTITY
        c.sdk_metadata.SetInParent()
        if self.first_task:
            self.first_task = False
            c.sdk_metadata.core_used_flags.extend(CORE_FLAGS)
            c.sdk_metadata.sdk_name = "fastcore"
        self.wft_completed = done.event_id
        return sched.event_id


def _task_failed_cause(failure: dict[str, Any]) -> Any:
    info = failure.get("application_failure_info") or {}
    if info.get("type") == "NondeterminismError":
        return WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
    return WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE


def _external_cancel_ack(w: _Writer, c: Event) -> None:
    """Temporal acknowledges a cancel request to another workflow with an event and a task."""
    ack = w.add("EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED", c.timestamp)
    a = ack.external_workflow_execution_cancel_requested_event_attributes
    a.initiated_event_id = w.map(c.event_id)
    a.namespace = w.namespace
    a.workflow_execution.workflow_id = c.attributes.get("workflow_id") or ""
    w.workflow_task(c.timestamp, c.timestamp)


def _write(w: _Writer, ev: Event, *, sequencing: int = 0) -> None:
    at = ev.attributes
    t = ev.event_type
    ts = ev.timestamp
    if t in _ACTIVITY_RESULTS:
        sched = w.map(int(at["scheduled_event_id"]))
        st = w.add("ACTIVITY_TASK_STARTED", ts)
        sa = st.activity_task_started_event_attributes
        sa.scheduled_event_id = sched
        sa.identity = _IDENTITY
        sa.attempt = int(at.get("attempt") or 1)
        w.started[sched] = st.event_id
    out = w.add(t.value, ts)
    w.ids[ev.event_id] = out.event_id
    writer = _WRITERS.get(t)
    if writer is None:  # pragma: no cover - every EventType has a writer
        raise ValueError(f"no translation for {t.value}")
    writer(w, out, at, sequencing)


def _w_started(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_started_event_attributes
    a.workflow_type.name = at.get("workflow_type") or ""
    a.workflow_id = at.get("workflow_id") or ""
    w.task_queue_into(a.task_queue)
    a.input.CopyFrom(_payloads(at.get("input")))
    _set_dur(a.workflow_execution_timeout, at.get("execution_timeout"))
    _set_dur(a.workflow_run_timeout, at.get("run_timeout"))
    _set_dur(a.workflow_task_timeout, _WFT_TIMEOUT)
    if at.get("execution_deadline") is not None:
        a.workflow_execution_expiration_time.CopyFrom(_ts(at["execution_deadline"]))
    run_id = at.get("run_id") or ""
    a.original_execution_run_id = run_id
    a.first_execution_run_id = at.get("first_run_id") or run_id
    if at.get("continued_run_id"):
        a.continued_execution_run_id = at["continued_run_id"]
        if int(at.get("attempt") or 1) > 1:
            a.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
        elif at.get("cron_schedule") and at.get("first_task_backoff"):
            a.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
        else:
            a.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    a.attempt = int(at.get("attempt") or 1)
    a.identity = _IDENTITY
    parent = at.get("parent")
    if parent:
        a.parent_workflow_namespace = w.namespace
        a.parent_workflow_execution.workflow_id = parent.get("workflow_id") or ""
        a.parent_workflow_execution.run_id = parent.get("run_id") or ""
        # An id in the parent's history; the parent's translation numbers it differently.
        a.parent_initiated_event_id = int(parent.get("initiated_event_id") or 0)
        root = parent.get("root")
        if root:
            a.root_workflow_execution.workflow_id = root.get("workflow_id") or ""
            a.root_workflow_execution.run_id = root.get("run_id") or ""
    for k, v in (at.get("memo") or {}).items():
        a.memo.fields[k].CopyFrom(_payload(v))
    if at.get("retry_policy"):
        a.retry_policy.CopyFrom(_retry(at["retry_policy"]))
    if at.get("task_queue"):
        a.task_queue.name = at["task_queue"]
    _search_attributes(a.search_attributes, at.get("search_attributes"))
    a.cron_schedule = at.get("cron_schedule") or ""
    if at.get("last_completion_result") is not None:
        a.last_completion_result.CopyFrom(_one(at["last_completion_result"]))
    if at.get("continued_failure"):
        a.continued_failure.CopyFrom(w.failure(at["continued_failure"]))
    # A retry or cron run: its first workflow task waits out the backoff (recorded as
    # fastcore recorded it too: a Duration rounds it to nanoseconds)
    _set_dur(a.first_workflow_task_backoff, at.get("first_task_backoff"))
    _set_extras(a.header, _pick(at, "seed", "first_task_backoff", "request_id"))


def _w_signaled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_signaled_event_attributes
    a.signal_name = at.get("signal_name") or ""
    if at.get("input"):
        a.input.CopyFrom(_payloads(at["input"]))
    a.identity = _IDENTITY
    a.request_id = at.get("request_id") or ""
    extras = _pick(at, "external", "ends_start_delay")
    if extras:
        _set_extras(a.header, extras)


def _w_signal_external(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.signal_external_workflow_execution_initiated_event_attributes
    a.workflow_task_completed_event_id = w.wft_completed
    a.namespace = w.namespace
    a.workflow_execution.workflow_id = at.get("workflow_id") or ""
    a.workflow_execution.run_id = at.get("run_id") or ""
    a.signal_name = at.get("signal_name") or ""
    if at.get("input"):
        a.input.CopyFrom(_payloads(at["input"]))
    a.child_workflow_only = bool(at.get("child_workflow_only"))


def _external_common(w: _Writer, a: Any, at: dict[str, Any]) -> None:
    """The fields every answer to a signal or cancel of another workflow carries."""
    a.initiated_event_id = w.map(int(at.get("initiated_event_id") or 0))
    a.namespace = w.namespace
    a.workflow_execution.workflow_id = at.get("workflow_id") or ""
    a.workflow_execution.run_id = at.get("run_id") or ""


def _external_failed(w: _Writer, a: Any, at: dict[str, Any]) -> None:
    """A signal or cancel of another workflow that failed (both messages have these fields)."""
    _external_common(w, a, at)
    cause = at.get("cause") or ""
    if cause == "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND":
        a.cause = 1  # ..._FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND in both enums
    else:
        a.cause = 0
        a.control = json.dumps({"cause": cause, "message": at.get("message") or ""})


def _w_external_signaled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    _external_common(w, out.external_workflow_execution_signaled_event_attributes, at)


def _w_signal_external_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    _external_failed(w, out.signal_external_workflow_execution_failed_event_attributes, at)


def _w_cancel_external_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    _external_failed(w, out.request_cancel_external_workflow_execution_failed_event_attributes, at)


def _w_external_cancel_requested(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    _external_common(w, out.external_workflow_execution_cancel_requested_event_attributes, at)


def _w_properties_modified(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_properties_modified_event_attributes
    a.workflow_task_completed_event_id = w.wft_completed
    for k, v in (at.get("upserted_memo") or {}).items():
        a.upserted_memo.fields[k].CopyFrom(_payload(v))


def _w_update_accepted(w: _Writer, out: HistoryEvent, at: dict[str, Any], seq: int) -> None:
    a = out.workflow_execution_update_accepted_event_attributes
    update_id = at.get("update_id") or ""
    a.protocol_instance_id = update_id
    a.accepted_request_message_id = update_id + "/request"
    a.accepted_request_sequencing_event_id = seq
    a.accepted_request.meta.update_id = update_id
    a.accepted_request.meta.identity = _IDENTITY
    a.accepted_request.input.name = at.get("name") or ""
    if at.get("input"):
        a.accepted_request.input.args.CopyFrom(_payloads(at["input"]))


def _w_update_completed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_update_completed_event_attributes
    a.meta.update_id = at.get("update_id") or ""
    a.meta.identity = _IDENTITY
    a.accepted_event_id = w.map(int(at.get("accepted_event_id") or 0))
    if at.get("failure") is not None:
        a.outcome.failure.CopyFrom(w.failure(at["failure"]))
    else:
        a.outcome.success.CopyFrom(_one(at.get("result")))


def _w_cancel_requested(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_cancel_requested_event_attributes
    a.cause = at.get("reason") or ""
    a.identity = _IDENTITY


def _w_activity_scheduled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.activity_task_scheduled_event_attributes
    a.activity_id = str(at.get("activity_id") or "")
    a.activity_type.name = at.get("activity_type") or ""
    w.task_queue_into(a.task_queue)
    a.input.CopyFrom(_payloads(at.get("input")))
    _set_dur(a.schedule_to_close_timeout, at.get("schedule_to_close_timeout"))
    _set_dur(a.schedule_to_start_timeout, at.get("schedule_to_start_timeout"))
    _set_dur(a.start_to_close_timeout, at.get("start_to_close_timeout"))
    _set_dur(a.heartbeat_timeout, at.get("heartbeat_timeout"))
    a.workflow_task_completed_event_id = w.wft_completed
    if at.get("retry_policy"):
        a.retry_policy.CopyFrom(_retry(at["retry_policy"]))
    _set_extras(a.header, _pick(at, "cancellation_type"))


def _w_activity_completed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.activity_task_completed_event_attributes
    a.scheduled_event_id = sched = w.map(int(at["scheduled_event_id"]))
    a.started_event_id = w.started[sched]
    a.identity = _IDENTITY
    a.result.CopyFrom(_one(at.get("result")))


def _w_activity_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.activity_task_failed_event_attributes
    a.scheduled_event_id = sched = w.map(int(at["scheduled_event_id"]))
    a.started_event_id = w.started[sched]
    a.identity = _IDENTITY
    a.failure.CopyFrom(w.failure(at.get("failure")))
    a.retry_state = _enum(at.get("retry_state"))


def _w_activity_timed_out(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.activity_task_timed_out_event_attributes
    a.scheduled_event_id = sched = w.map(int(at["scheduled_event_id"]))
    a.started_event_id = w.started[sched]
    a.failure.CopyFrom(w.failure(at.get("failure")))
    a.retry_state = _enum(at.get("retry_state"))


def _w_activity_cancel_requested(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.activity_task_cancel_requested_event_attributes
    a.scheduled_event_id = sched = w.map(int(at["scheduled_event_id"]))
    a.workflow_task_completed_event_id = w.wft_completed
    w.cancel_requested[sched] = out.event_id


def _w_activity_canceled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.activity_task_canceled_event_attributes
    a.scheduled_event_id = sched = w.map(int(at["scheduled_event_id"]))
    a.started_event_id = w.started[sched]
    a.latest_cancel_requested_event_id = w.cancel_requested.get(sched, 0)
    a.identity = _IDENTITY
    if at.get("details"):
        a.details.CopyFrom(_payloads(at["details"]))


def _w_timer_started(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.timer_started_event_attributes
    a.timer_id = str(at.get("timer_id") or "")
    _set_dur(a.start_to_fire_timeout, at.get("start_to_fire_timeout") or 0.0)
    a.workflow_task_completed_event_id = w.wft_completed


def _w_timer_fired(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.timer_fired_event_attributes
    a.timer_id = str(at.get("timer_id") or "")
    a.started_event_id = w.map(int(at.get("started_event_id") or 0))


def _w_timer_canceled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.timer_canceled_event_attributes
    a.timer_id = str(at.get("timer_id") or "")
    a.started_event_id = w.map(int(at.get("started_event_id") or 0))
    a.workflow_task_completed_event_id = w.wft_completed
    a.identity = _IDENTITY


def _w_marker(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.marker_recorded_event_attributes
    name = at.get("marker_name") or ""
    a.marker_name = name
    a.workflow_task_completed_event_id = w.wft_completed
    details = at.get("details") or {}
    if name == _LA_MARKER:
        _w_local_activity(w, out, at)
        return
    if name != _PATCH_MARKER:
        for k, v in details.items():
            vals = v if isinstance(v, list) else [v]
            a.details[k].CopyFrom(
                Payloads(
                    payloads=[
                        _payload(x) if isinstance(x, Payload) else _json_payload(x) for x in vals
                    ]
                )
            )
        return
    patch_id = str(details.get("patch_id") or "")
    data = {"id": patch_id, "deprecated": bool(details.get("deprecated"))}
    a.details[_PATCH_DETAILS].CopyFrom(Payloads(payloads=[_json_payload(data)]))
    # sdk-core (flag 2) follows every patch marker with the sorted set of patch ids so far.
    w.patches.add(patch_id)
    up = w.add("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", _from_ts(out.event_time))
    ua = up.upsert_workflow_search_attributes_event_attributes
    ua.workflow_task_completed_event_id = w.wft_completed
    ua.search_attributes.indexed_fields[_CHANGE_VERSION].CopyFrom(
        _json_payload(sorted(w.patches), type=b"KeywordList")
    )


def _w_local_activity(w: _Writer, out: HistoryEvent, at: dict[str, Any]) -> None:
    """A local activity's outcome as sdk-core records it: ``data`` (its
    ``LocalActivityMarkerData`` as JSON), ``result`` on success, else the failure."""
    a = out.marker_recorded_event_attributes
    d = at.get("details") or {}
    completed = d.get("complete_time") or _from_ts(out.event_time)
    scheduled = d.get("original_schedule_time") or completed

    def stamp(seconds: float) -> dict[str, int]:
        ts = _ts(float(seconds))
        return {"seconds": ts.seconds, "nanos": ts.nanos}

    data = {
        "seq": int(d.get("seq") or 0),
        "attempt": int(d.get("attempt") or 1),
        "activity_id": str(d.get("activity_id") or d.get("seq") or ""),
        "activity_type": str(d.get("activity_type") or ""),
        "complete_time": stamp(completed),
        "backoff": None,
        "original_schedule_time": stamp(scheduled),
    }
    a.details["data"].CopyFrom(Payloads(payloads=[_json_payload(data)]))
    result = d.get("result")
    if at.get("failure"):
        a.failure.CopyFrom(w.failure(at["failure"]))
    elif result is not None:
        a.details["result"].CopyFrom(_one(result))


def _w_child_initiated(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.start_child_workflow_execution_initiated_event_attributes
    a.namespace = w.namespace
    a.workflow_id = at.get("workflow_id") or ""
    a.workflow_type.name = at.get("workflow_type") or ""
    w.task_queue_into(a.task_queue)
    a.input.CopyFrom(_payloads(at.get("input")))
    _set_dur(a.workflow_execution_timeout, at.get("execution_timeout"))
    _set_dur(a.workflow_run_timeout, at.get("run_timeout"))
    _set_dur(a.workflow_task_timeout, _WFT_TIMEOUT)
    a.parent_close_policy = _enum(at.get("parent_close_policy"))
    a.workflow_task_completed_event_id = w.wft_completed
    a.workflow_id_reuse_policy = WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    if at.get("retry_policy"):
        a.retry_policy.CopyFrom(_retry(at["retry_policy"]))
    for k, v in (at.get("memo") or {}).items():
        a.memo.fields[k].CopyFrom(_payload(v))
    if at.get("task_queue"):
        a.task_queue.name = at["task_queue"]
    _set_extras(a.header, _pick(at, "cancellation_type", "task_queue"))
    w.child[out.event_id] = (a.workflow_id, "", a.workflow_type.name)


def _w_child_start_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.start_child_workflow_execution_failed_event_attributes
    a.namespace = w.namespace
    a.workflow_id = at.get("workflow_id") or ""
    a.workflow_type.name = at.get("workflow_type") or ""
    cause: Any = at.get("cause") or 0
    if isinstance(cause, str):
        try:
            cause = StartChildWorkflowExecutionFailedCause.Value(_CHILD_CAUSE + cause)
        except ValueError:  # a cause Temporal does not have (WORKFLOW_TYPE_NOT_REGISTERED)
            a.control = cause
            cause = 0
    a.cause = _enum(cause)
    a.initiated_event_id = w.map(int(at.get("initiated_event_id") or 0))


def _child_common(w: _Writer, a: Any, at: dict[str, Any]) -> None:
    initiated = w.map(int(at.get("initiated_event_id") or 0))
    wf_id, run_id, wf_type = w.child.get(initiated, ("", "", ""))
    a.namespace = w.namespace
    a.initiated_event_id = initiated
    a.workflow_execution.workflow_id = at.get("workflow_id") or wf_id
    a.workflow_execution.run_id = at.get("run_id") or run_id
    a.workflow_type.name = at.get("workflow_type") or wf_type
    if "started_event_id" in at:
        a.started_event_id = w.map(int(at["started_event_id"] or 0))


def _w_child_started(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.child_workflow_execution_started_event_attributes
    _child_common(w, a, at)
    w.child[a.initiated_event_id] = (
        a.workflow_execution.workflow_id,
        a.workflow_execution.run_id,
        a.workflow_type.name,
    )
    w.started[a.initiated_event_id] = out.event_id


def _w_child_completed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.child_workflow_execution_completed_event_attributes
    _child_common(w, a, at)
    a.result.CopyFrom(_one(at.get("result")))


def _w_child_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.child_workflow_execution_failed_event_attributes
    _child_common(w, a, at)
    a.failure.CopyFrom(w.failure(at.get("failure")))
    a.retry_state = _enum(at.get("retry_state"))


def _w_child_canceled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.child_workflow_execution_canceled_event_attributes
    _child_common(w, a, at)
    if at.get("details"):
        a.details.CopyFrom(_payloads(at["details"]))


def _w_child_terminated(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    _child_common(w, out.child_workflow_execution_terminated_event_attributes, at)


def _w_child_timed_out(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.child_workflow_execution_timed_out_event_attributes
    _child_common(w, a, at)
    a.retry_state = _enum(at.get("retry_state"))


def _w_cancel_external(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.request_cancel_external_workflow_execution_initiated_event_attributes
    a.workflow_task_completed_event_id = w.wft_completed
    a.namespace = w.namespace
    a.workflow_execution.workflow_id = at.get("workflow_id") or ""
    a.child_workflow_only = bool(at.get("child_workflow_only"))
    if at.get("initiated_event_id"):  # a child's cancel: Temporal names the child's run
        child = w.child.get(w.map(int(at["initiated_event_id"])))
        a.workflow_execution.run_id = child[1] if child else ""
    elif at.get("run_id"):
        a.workflow_execution.run_id = at["run_id"]
    if at.get("reason"):
        a.reason = at["reason"]


def _w_completed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_completed_event_attributes
    a.result.CopyFrom(_one(at.get("result")))
    a.workflow_task_completed_event_id = w.wft_completed
    a.new_execution_run_id = at.get("new_execution_run_id") or ""  # a cron workflow's next run


def _w_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_failed_event_attributes
    a.failure.CopyFrom(w.failure(at.get("failure")))
    a.workflow_task_completed_event_id = w.wft_completed
    a.new_execution_run_id = at.get("new_execution_run_id") or ""  # a retry or cron run


def _w_upsert(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.upsert_workflow_search_attributes_event_attributes
    a.workflow_task_completed_event_id = w.wft_completed
    _search_attributes(a.search_attributes, at.get("search_attributes"))


def _w_canceled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_canceled_event_attributes
    a.workflow_task_completed_event_id = w.wft_completed
    if at.get("details"):
        a.details.CopyFrom(_payloads(at["details"]))


def _w_terminated(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_terminated_event_attributes
    a.reason = at.get("reason") or ""
    if at.get("details"):
        a.details.CopyFrom(_payloads(at["details"]))
    a.identity = _IDENTITY


def _w_timed_out(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_timed_out_event_attributes
    a.retry_state = _enum(at.get("retry_state"))
    a.new_execution_run_id = at.get("new_execution_run_id") or ""  # a cron workflow's next run


def _w_continued(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_continued_as_new_event_attributes
    a.new_execution_run_id = at.get("new_execution_run_id") or ""
    a.workflow_type.name = at.get("workflow_type") or ""
    w.task_queue_into(a.task_queue)
    a.input.CopyFrom(_payloads(at.get("input")))
    _set_dur(a.workflow_task_timeout, _WFT_TIMEOUT)
    a.workflow_task_completed_event_id = w.wft_completed
    a.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    _set_dur(a.workflow_run_timeout, at.get("run_timeout"))
    _set_dur(a.backoff_start_interval, at.get("backoff_start_interval"))
    for k, v in (at.get("memo") or {}).items():
        a.memo.fields[k].CopyFrom(_payload(v))
    if at.get("task_queue"):
        a.task_queue.name = at["task_queue"]
    _search_attributes(a.search_attributes, at.get("search_attributes"))
    # which options continue_as_new gave (the others are kept from the run), and those
    # Temporal's event has no field for: fastcore's own
    _set_extras(
        a.header,
        {
            "options": sorted(k for k in ("task_queue", "run_timeout", "memo") if k in at),
            **_pick(at, "retry_policy", "search_attributes"),
        },
    )


_Write = Callable[[_Writer, HistoryEvent, dict[str, Any], int], None]
_WRITERS: dict[E, _Write] = {
    E.WORKFLOW_EXECUTION_STARTED: _w_started,
    E.WORKFLOW_EXECUTION_SIGNALED: _w_signaled,
    E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _w_update_accepted,
    E.WORKFLOW_EXECUTION_UPDATE_COMPLETED: _w_update_completed,
    E.WORKFLOW_EXECUTION_CANCEL_REQUESTED: _w_cancel_requested,
    E.ACTIVITY_TASK_SCHEDULED: _w_activity_scheduled,
    E.ACTIVITY_TASK_COMPLETED: _w_activity_completed,
    E.ACTIVITY_TASK_FAILED: _w_activity_failed,
    E.ACTIVITY_TASK_TIMED_OUT: _w_activity_timed_out,
    E.ACTIVITY_TASK_CANCEL_REQUESTED: _w_activity_cancel_requested,
    E.ACTIVITY_TASK_CANCELED: _w_activity_canceled,
    E.TIMER_STARTED: _w_timer_started,
    E.TIMER_FIRED: _w_timer_fired,
    E.TIMER_CANCELED: _w_timer_canceled,
    E.MARKER_RECORDED: _w_marker,
    E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _w_upsert,
    E.START_CHILD_WORKFLOW_EXECUTION_INITIATED: _w_child_initiated,
    E.START_CHILD_WORKFLOW_EXECUTION_FAILED: _w_child_start_failed,
    E.CHILD_WORKFLOW_EXECUTION_STARTED: _w_child_started,
    E.CHILD_WORKFLOW_EXECUTION_COMPLETED: _w_child_completed,
    E.CHILD_WORKFLOW_EXECUTION_FAILED: _w_child_failed,
    E.CHILD_WORKFLOW_EXECUTION_CANCELED: _w_child_canceled,
    E.CHILD_WORKFLOW_EXECUTION_TERMINATED: _w_child_terminated,
    E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: _w_child_timed_out,
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _w_cancel_external,
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: _w_cancel_external_failed,
    E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: _w_external_cancel_requested,
    E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _w_signal_external,
    E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: _w_signal_external_failed,
    E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: _w_external_signaled,
    E.WORKFLOW_PROPERTIES_MODIFIED: _w_properties_modified,
    E.WORKFLOW_EXECUTION_COMPLETED: _w_completed,
    E.WORKFLOW_EXECUTION_FAILED: _w_failed,
    E.WORKFLOW_EXECUTION_CANCELED: _w_canceled,
    E.WORKFLOW_EXECUTION_TERMINATED: _w_terminated,
    E.WORKFLOW_EXECUTION_TIMED_OUT: _w_timed_out,
    E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _w_continued,
}
