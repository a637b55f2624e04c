"""Translate fastcore histories into Temporal's own history format, and back.

A fastcore history has no workflow tasks: each *input* event (started, activity resolved,
timer fired, signal, update accepted, cancel requested, child event) is one activation and
the command events after it are what the code did in reply. Temporal frames each activation
as a workflow task, so ``to_temporal`` writes::

    <input>  WorkflowTaskScheduled  WorkflowTaskStarted  WorkflowTaskCompleted  <commands>

renumbering every event and cross-reference, and adding what Temporal records and fastcore
does not:

* an ``ActivityTaskStarted`` (with the attempt) before each activity result;
* an ``UpsertWorkflowSearchAttributes`` of ``TemporalChangeVersion`` after each
  ``core_patch`` marker, as sdk-core writes with its internal flag 2;
* an ``ExternalWorkflowExecutionCancelRequested`` (and its workflow task) after each
  request to cancel another workflow, which fastcore resolves in the same activation;
* an update's ``WorkflowExecutionUpdateAccepted`` after the task's completion, where
  Temporal writes the accepted protocol message.

A signal-with-start (``with_start=True`` right after the start) shares the first task;
terminated and timed-out events get no task. Each task's started event carries the
activation's time (the input's), which is what ``workflow.now()`` returns on both sides. The
first task records the sdk-core flags a current Temporal Python worker records (1-4), so
Temporal's ``Replayer`` runs with its strict checks: activity and child ids and types, and
patch upserts, must match.

Workflow task failures: ``WORKFLOW_TASK_FAILED`` becomes a failed task (cause
non-determinism or unhandled failure) and ``WORKFLOW_TASK_RETRIED`` the completed retry,
with ``attempt`` counting the failures. An input fastcore held back while the run was
blocked is written where fastcore delivered it (at its retry), in a task of its own, so
Temporal's replay sees the same activations; read back, it is an ordinary input there. An
update whose task failed is accepted by the task that completes it (Temporal writes no event
for an update that was never accepted, so one held back until the history ends is dropped).

Attributes Temporal has no place for (the start's ``seed``, activities' and children's
``cancellation_type``) travel as JSON in a ``fastcore`` header field, and a child start
failure cause Temporal lacks in ``control``, so that ``from_temporal(to_temporal(h)) == h``.
A timer's ``fire_at`` is read back as its task's time plus its duration, as the engine
computes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Header, Payloads, RetryPolicy
from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.enums.v1 import (
    ContinueAsNewInitiator,
    EventType,
    StartChildWorkflowExecutionFailedCause,
    TaskQueueKind,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import WorkflowHistory

from fastcore._converter import Payload
from fastcore.history import COMMAND_EVENTS, Event
from fastcore.history import EventType as E

__all__ = [
    "CORE_FLAGS",
    "failure_from_temporal",
    "failure_to_temporal",
    "from_temporal",
    "to_temporal",
    "to_temporal_json",
]

CORE_FLAGS = (1, 2, 3, 4)
"""sdk-core internal flags written on the first workflow task, as temporalio 1.35 does."""

_PATCH_MARKER = "core_patch"
_PATCH_DETAILS = "patch-data"  # sdk-core's details key for a patch marker
_CHANGE_VERSION = "TemporalChangeVersion"
_EXTRAS = "fastcore"  # header field for attributes Temporal has no place for
_JSON = b"json/plain"
_IDENTITY = "fastcore"
_CHILD_CAUSE = "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_"
_WFT_TIMEOUT = 10.0  # Temporal's default workflow task timeout

_NO_TASK = frozenset({E.WORKFLOW_EXECUTION_TERMINATED, E.WORKFLOW_EXECUTION_TIMED_OUT})
_ACTIVITY_RESULTS = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)
_DROPPED = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    }
)


# ---------------------------------------------------------------------------------------------
# small value conversions


def _ts(seconds: float) -> Timestamp:
    whole = math.floor(seconds)
    nanos = round((seconds - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return Timestamp(seconds=whole, nanos=nanos)


def _from_ts(ts: Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9


def _set_dur(target: Duration, seconds: float | None) -> None:
    if seconds is not None:
        target.FromNanoseconds(round(seconds * 1e9))


def _from_dur(owner: Any, field: str) -> float | None:
    """A duration field as seconds; unset and zero (Temporal's "no timeout") are ``None``."""
    if not owner.HasField(field):
        return None
    nanos: int = getattr(owner, field).ToNanoseconds()
    return nanos / 1e9 if nanos else None


def _payload(p: Payload) -> TPayload:
    return TPayload(metadata=p.metadata, data=p.data)


def _from_payload(p: TPayload) -> Payload:
    return Payload(dict(p.metadata), p.data)


def _payloads(values: Sequence[Payload] | None) -> Payloads:
    return Payloads(payloads=[_payload(p) for p in values or ()])


def _from_payloads(ps: Payloads) -> list[Payload]:
    return [_from_payload(p) for p in ps.payloads]


def _one(p: Payload | None) -> Payloads:
    return _payloads([p] if p is not None else [])


def _from_one(ps: Payloads) -> Payload | None:
    return _from_payload(ps.payloads[0]) if ps.payloads else None


def _json_payload(value: Any, **meta: bytes) -> TPayload:
    data = json.dumps(value, separators=(",", ":")).encode()
    return TPayload(metadata={"encoding": _JSON, **meta}, data=data)


def _retry(d: dict[str, Any]) -> RetryPolicy:
    rp = RetryPolicy(
        backoff_coefficient=d.get("backoff_coefficient", 2.0),
        maximum_attempts=d.get("maximum_attempts", 0),
        non_retryable_error_types=d.get("non_retryable_error_types") or [],
    )
    _set_dur(rp.initial_interval, d.get("initial_interval"))
    _set_dur(rp.maximum_interval, d.get("maximum_interval"))
    return rp


def _from_retry(rp: RetryPolicy) -> dict[str, Any]:
    initial = _from_dur(rp, "initial_interval")
    return {
        "initial_interval": initial if initial is not None else 1.0,
        "backoff_coefficient": rp.backoff_coefficient or 2.0,
        "maximum_interval": _from_dur(rp, "maximum_interval"),
        "maximum_attempts": rp.maximum_attempts,
        "non_retryable_error_types": list(rp.non_retryable_error_types),
    }


def _set_extras(header: Header, extras: dict[str, Any]) -> None:
    extras = {k: v for k, v in extras.items() if v}  # defaults (0) are left out
    if extras:
        header.fields[_EXTRAS].CopyFrom(_json_payload(extras))


def _extras(header: Header) -> dict[str, Any]:
    p = header.fields.get(_EXTRAS)
    return json.loads(p.data) if p is not None else {}


def _enum(value: Any) -> Any:
    """A proto enum value from an int (or ``None``, which is unspecified)."""
    return int(value or 0)


def _pick(attrs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: attrs[k] for k in keys if k in attrs}


# ---------------------------------------------------------------------------------------------
# failures


IdMap = Callable[[int], int]


def _same(i: int) -> int:
    return i


def failure_to_temporal(
    failure: dict[str, Any], *, map_id: IdMap = _same, started_of: IdMap = _same
) -> Failure:
    """Turn a fastcore failure dict (see ``fastcore._failure``) into Temporal's ``Failure``.

    Args:
        failure: The failure dict.
        map_id: Maps event ids the failure refers to (activity scheduled, child initiated).
        started_of: Gives the started event id for a mapped scheduled/initiated id.

    Returns:
        The proto.
    """
    f = Failure(
        message=failure.get("message") or "",
        source=failure.get("source") or "",
        stack_trace=failure.get("stack_trace") or "",
    )
    cause = failure.get("cause")
    if cause:
        f.cause.CopyFrom(failure_to_temporal(cause, map_id=map_id, started_of=started_of))
    if (info := failure.get("application_failure_info")) is not None:
        app = f.application_failure_info
        app.SetInParent()
        app.type = info.get("type") or ""
        app.non_retryable = bool(info.get("non_retryable"))
        if info.get("details"):
            app.details.CopyFrom(_payloads(info["details"]))
        _set_dur(app.next_retry_delay, info.get("next_retry_delay"))
    elif (info := failure.get("timeout_failure_info")) is not None:
        to = f.timeout_failure_info
        to.SetInParent()
        to.timeout_type = _enum(info.get("timeout_type"))
        if info.get("last_heartbeat_details"):
            to.last_heartbeat_details.CopyFrom(_payloads(info["last_heartbeat_details"]))
    elif (info := failure.get("canceled_failure_info")) is not None:
        f.canceled_failure_info.SetInParent()
        if info.get("details"):
            f.canceled_failure_info.details.CopyFrom(_payloads(info["details"]))
    elif failure.get("terminated_failure_info") is not None:
        f.terminated_failure_info.SetInParent()
    elif (info := failure.get("activity_failure_info")) is not None:
        act = f.activity_failure_info
        sched = map_id(int(info.get("scheduled_event_id") or 0))
        act.scheduled_event_id = sched
        act.started_event_id = started_of(sched) if sched else 0
        act.identity = _IDENTITY
        act.activity_type.name = info.get("activity_type") or ""
        act.activity_id = info.get("activity_id") or ""
        act.retry_state = _enum(info.get("retry_state"))
    elif (info := failure.get("child_workflow_failure_info")) is not None:
        child = f.child_workflow_execution_failure_info
        initiated = map_id(int(info.get("initiated_event_id") or 0))
        child.namespace = "default"
        child.workflow_execution.workflow_id = info.get("workflow_id") or ""
        child.workflow_execution.run_id = info.get("run_id") or ""
        child.workflow_type.name = info.get("workflow_type") or ""
        child.initiated_event_id = initiated
        child.started_event_id = started_of(initiated) if initiated else 0
        child.retry_state = _enum(info.get("retry_state"))
    return f


def failure_from_temporal(f: Failure, *, map_id: IdMap = _same) -> dict[str, Any]:
    """Turn Temporal's ``Failure`` into a fastcore failure dict.

    Args:
        f: The proto.
        map_id: Maps the event ids the failure refers to back to fastcore's.

    Returns:
        The failure dict.
    """
    d: dict[str, Any] = {
        "message": f.message,
        "source": f.source,
        "stack_trace": f.stack_trace,
        "cause": failure_from_temporal(f.cause, map_id=map_id) if f.HasField("cause") else None,
    }
    which = f.WhichOneof("failure_info")
    if which == "application_failure_info":
        app = f.application_failure_info
        d[which] = {
            "type": app.type,
            "non_retryable": app.non_retryable,
            "details": _from_payloads(app.details),
            "next_retry_delay": _from_dur(app, "next_retry_delay"),
        }
    elif which == "timeout_failure_info":
        to = f.timeout_failure_info
        d[which] = {
            "timeout_type": int(to.timeout_type),
            "last_heartbeat_details": _from_payloads(to.last_heartbeat_details),
        }
    elif which == "canceled_failure_info":
        d[which] = {"details": _from_payloads(f.canceled_failure_info.details)}
    elif which == "terminated_failure_info":
        d[which] = {}
    elif which == "activity_failure_info":
        act = f.activity_failure_info
        d[which] = {
            "activity_type": act.activity_type.name,
            "activity_id": act.activity_id,
            "retry_state": int(act.retry_state),
            "scheduled_event_id": map_id(act.scheduled_event_id),
        }
    elif which == "child_workflow_execution_failure_info":
        child = f.child_workflow_execution_failure_info
        d["child_workflow_failure_info"] = {
            "workflow_id": child.workflow_execution.workflow_id,
            "run_id": child.workflow_execution.run_id,
            "workflow_type": child.workflow_type.name,
            "retry_state": int(child.retry_state),
            "initiated_event_id": map_id(child.initiated_event_id),
        }
    elif which == "server_failure_info":
        d["application_failure_info"] = {
            "type": "ServerError",
            "non_retryable": f.server_failure_info.non_retryable,
            "details": [],
            "next_retry_delay": None,
        }
    return d


# ---------------------------------------------------------------------------------------------
# fastcore -> Temporal


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


def to_temporal(
    events: Sequence[Event],
    *,
    workflow_id: str | None = None,
    namespace: str = "default",
    task_queue: str = "fastcore",
) -> WorkflowHistory:
    """Translate a fastcore history into Temporal's history of the same run.

    Args:
        events: The run's events, in order, starting with ``WORKFLOW_EXECUTION_STARTED``.
        workflow_id: The id for the ``WorkflowHistory``; the start event's by default.
        namespace: Namespace written into events that name one.
        task_queue: Task queue written into the start, workflow tasks and activities.

    Returns:
        A ``temporalio.client.WorkflowHistory`` that Temporal's ``Replayer`` accepts.

    Raises:
        ValueError: The history does not start with a start event, or is not well formed.
    """
    if not events or events[0].event_type is not E.WORKFLOW_EXECUTION_STARTED:
        raise ValueError("a fastcore history starts with WORKFLOW_EXECUTION_STARTED")
    w = _Writer(namespace, task_queue)
    _Framer(w, events).run()
    return WorkflowHistory(
        workflow_id or events[0].attributes.get("workflow_id") or "", list(w.events)
    )


class _Framer:
    """Frames fastcore activations as Temporal workflow tasks.

    A failed activation (``WORKFLOW_TASK_FAILED``) becomes a failed workflow task; inputs
    that arrive while the run is blocked are written when fastcore delivers them (at their
    ``WORKFLOW_TASK_RETRIED``), each in its own task, so that Temporal's replay delivers
    exactly what fastcore delivered in each activation.
    """

    def __init__(self, w: _Writer, events: Sequence[Event]) -> None:
        self.w = w
        self.events = events
        self.i = 0
        # Inputs fastcore held back (a failed task blocked the run) and delivered later.
        self.retried = {
            int(e.attributes["input_event_id"])
            for e in events
            if e.event_type is E.WORKFLOW_TASK_RETRIED
        }
        self.held: dict[int, list[Event]] = {}  # held inputs not yet written to Temporal
        self.attempts: dict[int, int] = {}  # input id -> failed attempts so far
        self.first_sched: dict[int, int] = {}  # input id -> scheduled id of its first task
        self.retry_ts: float | None = None  # when a retry that failed again began
        self.blocked = False  # a task failed and fastcore holds inputs back
        self.deferred: list[int] = []  # inputs awaiting a retry, in delivery order

    def run(self) -> None:
        events, n = self.events, len(self.events)
        while self.i < n:
            ev = events[self.i]
            self.i += 1
            t = ev.event_type
            if t in _NO_TASK:
                self.flush_held()
                _write(self.w, ev)
            elif t is E.WORKFLOW_TASK_FAILED:
                self.task_failed(ev)
            elif t is E.WORKFLOW_TASK_RETRIED:
                self.retry(ev)
            elif t in COMMAND_EVENTS:
                raise ValueError(f"event {ev.event_id} ({t.value}) follows no input")
            else:
                self.input(ev)
        self.flush_held()

    def group(self, ev: Event) -> list[Event]:
        """An input and the signals-with-start that share its activation."""
        inputs = [ev]
        if ev.event_type is E.WORKFLOW_EXECUTION_STARTED:
            while (
                self.i < len(self.events)
                and self.events[self.i].event_type is E.WORKFLOW_EXECUTION_SIGNALED
                and self.events[self.i].attributes.get("with_start")
            ):
                inputs.append(self.events[self.i])
                self.i += 1
        return inputs

    def commands(self) -> list[Event]:
        out: list[Event] = []
        while self.i < len(self.events) and self.events[self.i].event_type in COMMAND_EVENTS:
            out.append(self.events[self.i])
            self.i += 1
        return out

    def next_fails(self, x: int) -> bool:
        """Whether the next event records that the activation of input ``x`` failed."""
        if self.i >= len(self.events):
            return False
        nxt = self.events[self.i]
        return (
            nxt.event_type is E.WORKFLOW_TASK_FAILED and nxt.attributes.get("input_event_id") == x
        )

    def input(self, ev: Event) -> None:
        inputs = self.group(ev)
        x = ev.event_id
        if self.next_fails(x):  # its activation failed: a failed task follows
            self.write_inputs(inputs)
        elif x in self.retried:  # held back while blocked: written when delivered
            self.held[x] = inputs
            self.deferred.append(x)
        elif self.blocked and not self.next_is_command():  # held back, never delivered
            self.write_inputs(inputs)
            self.deferred.append(x)
        else:
            self.blocked = False
            self.write_inputs(inputs)
            self.complete(inputs, ev.timestamp)

    def next_is_command(self) -> bool:
        return self.i < len(self.events) and self.events[self.i].event_type in COMMAND_EVENTS

    def write_inputs(self, inputs: list[Event]) -> None:
        # An update is accepted (and written) only by a task that completes.
        for e in inputs:
            if e.event_type is not E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                _write(self.w, e)

    def complete(self, inputs: list[Event], ts: float, attempt: int = 1) -> None:
        """A completed task for ``inputs`` (already written), then the commands after it."""
        commands = self.commands()
        end_ts = commands[0].timestamp if commands else ts
        now = inputs[0].timestamp if inputs else ts
        sched = self.w.workflow_task(ts, end_ts, attempt=attempt, now=now)
        for e in inputs:
            if e.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                _write(self.w, e, sequencing=self.first_sched.get(e.event_id, sched))
        for c in commands:
            _write(self.w, c)
            if c.event_type is E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
                _external_cancel_ack(self.w, c)

    def task_failed(self, ev: Event) -> None:
        x = ev.attributes.get("input_event_id")
        attempt = 1
        if x is not None:
            attempt = self.attempts.get(x, 0) + 1
            self.attempts[x] = attempt
            if x not in self.deferred:
                self.deferred.insert(0, x)
        self.blocked = True
        start_ts = self.retry_ts if self.retry_ts is not None else ev.timestamp
        self.retry_ts = None
        sched = self.w.workflow_task(
            start_ts, ev.timestamp, attempt=attempt, failure=ev.attributes.get("failure") or {}
        )
        if x is not None:
            self.first_sched.setdefault(x, sched)

    def retry(self, ev: Event) -> None:
        x = int(ev.attributes["input_event_id"])
        inputs = self.held.pop(x, None)
        if inputs is not None:
            self.write_inputs(inputs)
        else:
            inputs = [e for e in self.events if e.event_id == x]
        if self.next_fails(x):
            self.retry_ts = ev.timestamp  # the retry failed too; task_failed writes its task
            return
        if x in self.deferred:
            self.deferred.remove(x)
        self.blocked = bool(self.deferred)
        self.complete(inputs, ev.timestamp, attempt=self.attempts.get(x, 0) + 1)

    def flush_held(self) -> None:
        """Inputs still held back when the history ends (or the run is closed from outside)."""
        for x in list(self.held):
            for e in self.held.pop(x):
                if e.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                    continue  # never accepted by a completed task: Temporal has no event
                _write(self.w, e)


def to_temporal_json(
    events: Sequence[Event],
    *,
    workflow_id: str | None = None,
    namespace: str = "default",
    task_queue: str = "fastcore",
) -> str:
    """The JSON of ``to_temporal``: the form of ``temporal workflow show --output json``.

    ``temporalio.client.WorkflowHistory.from_json`` and ``from_temporal`` read it back.
    """
    return to_temporal(
        events, workflow_id=workflow_id, namespace=namespace, task_queue=task_queue
    ).to_json()


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
    for k, v in (at.get("memo") or {}).items():
        a.memo.fields[k].CopyFrom(_payload(v))
    if at.get("retry_policy"):
        a.retry_policy.CopyFrom(_retry(at["retry_policy"]))
    _set_extras(a.header, _pick(at, "seed"))


def _w_signaled(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_signaled_event_attributes
    a.signal_name = at.get("signal_name") or ""
    if at.get("input"):
        a.input.CopyFrom(_payloads(at["input"]))
    a.identity = _IDENTITY


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
    _set_extras(a.header, _pick(at, "cancellation_type"))
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


def _w_completed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_completed_event_attributes
    a.result.CopyFrom(_one(at.get("result")))
    a.workflow_task_completed_event_id = w.wft_completed


def _w_failed(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_failed_event_attributes
    a.failure.CopyFrom(w.failure(at.get("failure")))
    a.workflow_task_completed_event_id = w.wft_completed


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
    out.workflow_execution_timed_out_event_attributes.retry_state = _enum(at.get("retry_state"))


def _w_continued(w: _Writer, out: HistoryEvent, at: dict[str, Any], _: int) -> None:
    a = out.workflow_execution_continued_as_new_event_attributes
    a.new_execution_run_id = at.get("new_execution_run_id") or ""
    a.workflow_type.name = at.get("workflow_type") or ""
    w.task_queue_into(a.task_queue)
    a.input.CopyFrom(_payloads(at.get("input")))
    _set_dur(a.workflow_task_timeout, _WFT_TIMEOUT)
    a.workflow_task_completed_event_id = w.wft_completed
    a.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW


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
    E.START_CHILD_WORKFLOW_EXECUTION_INITIATED: _w_child_initiated,
    E.START_CHILD_WORKFLOW_EXECUTION_FAILED: _w_child_start_failed,
    E.CHILD_WORKFLOW_EXECUTION_STARTED: _w_child_started,
    E.CHILD_WORKFLOW_EXECUTION_COMPLETED: _w_child_completed,
    E.CHILD_WORKFLOW_EXECUTION_FAILED: _w_child_failed,
    E.CHILD_WORKFLOW_EXECUTION_CANCELED: _w_child_canceled,
    E.CHILD_WORKFLOW_EXECUTION_TERMINATED: _w_child_terminated,
    E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: _w_child_timed_out,
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _w_cancel_external,
    E.WORKFLOW_EXECUTION_COMPLETED: _w_completed,
    E.WORKFLOW_EXECUTION_FAILED: _w_failed,
    E.WORKFLOW_EXECUTION_CANCELED: _w_canceled,
    E.WORKFLOW_EXECUTION_TERMINATED: _w_terminated,
    E.WORKFLOW_EXECUTION_TIMED_OUT: _w_timed_out,
    E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _w_continued,
}


# ---------------------------------------------------------------------------------------------
# Temporal -> fastcore


def from_temporal(
    history: WorkflowHistory | History | str | dict[str, Any],
) -> list[Event]:
    """Read a Temporal history back as a fastcore history.

    Workflow-task events, activity-started events, the upserts sdk-core writes after patch
    markers and acknowledgements of external cancel requests are dropped; the remaining
    events are numbered densely from 1 and their cross-references follow.

    Args:
        history: A ``WorkflowHistory``, a ``History`` proto, or its JSON (string or dict), as
            ``to_temporal_json`` and ``temporal workflow show --output json`` write it.

    Returns:
        The fastcore events.

    Raises:
        ValueError: The history holds an event fastcore cannot represent (a search
            attribute upsert, an external signal, a Nexus operation, ...).
    """
    if isinstance(history, str | dict):
        tevents: Sequence[HistoryEvent] = WorkflowHistory.from_json("", history).events
    else:
        tevents = history.events
    r = _Reader(tevents)
    for te in tevents:
        r.read(te)
    return r.out


class _Reader:
    """Reads Temporal events in order into fastcore events, tracking workflow tasks."""

    def __init__(self, tevents: Sequence[HistoryEvent]) -> None:
        self.by_id = {e.event_id: e for e in tevents}
        self.out: list[Event] = []
        self.ids: dict[int, int] = {}  # Temporal id -> fastcore id
        self.children: dict[str, int] = {}  # child workflow id -> its initiated event
        self.seen_task = False
        self.sched: HistoryEvent | None = None  # the current task's scheduled event
        self.now: float | None = None  # the current task's started time
        self.group: list[int] = []  # inputs since the last task ended
        self.blocked = False  # a task failed and no task has completed since
        self.pending: list[int] = []  # inputs held back while blocked, in delivery order
        # An update whose first task failed is accepted later, naming that task's scheduled
        # event: fastcore records it as the failed activation's input.
        self.early_updates: dict[int, HistoryEvent] = {}
        for e in tevents:
            if e.HasField("workflow_execution_update_accepted_event_attributes"):
                a = e.workflow_execution_update_accepted_event_attributes
                self.early_updates[a.accepted_request_sequencing_event_id] = e

    def emit(self, etype: E, ts: float, attrs: dict[str, Any], tid: int | None = None) -> int:
        fc_id = len(self.out) + 1
        if tid is not None:
            self.ids[tid] = fc_id
        self.out.append(Event(fc_id, etype, ts, attrs))
        return fc_id

    def read(self, te: HistoryEvent) -> None:
        t = te.event_type
        ts = _from_ts(te.event_time)
        if t == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            self.seen_task = True
            self.sched = te
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            self.now = ts  # the task's workflow.now()
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            self.task_failed(te, ts)
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            if self.blocked:
                when = _from_ts(self.sched.event_time) if self.sched is not None else ts
                for x in self.pending:
                    self.emit(E.WORKFLOW_TASK_RETRIED, when, {"input_event_id": x})
                self.pending = []
                self.blocked = False
            self.group = []
        elif not self.skipped(te):
            self.event(te, ts)

    def skipped(self, te: HistoryEvent) -> bool:
        """Events fastcore does not record (Temporal's bookkeeping around its own events)."""
        t = te.event_type
        if t in _DROPPED:
            return True
        if t == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            sa = te.upsert_workflow_search_attributes_event_attributes.search_attributes
            return set(sa.indexed_fields) <= {_CHANGE_VERSION}  # sdk-core's patch upserts
        # already read: an update accepted after its first task failed is that task's input
        return te.event_id in self.ids

    def event(self, te: HistoryEvent, ts: float) -> None:
        name = EventType.Name(te.event_type).removeprefix("EVENT_TYPE_")
        reader = _READERS.get(name)
        if reader is None:
            raise ValueError(f"fastcore has no event for Temporal event {te.event_id} ({name})")
        etype = E(name)
        fc_id = len(self.out) + 1
        self.ids[te.event_id] = fc_id
        attrs = reader(self, te)
        if etype is E.WORKFLOW_EXECUTION_SIGNALED and not self.seen_task:
            attrs["with_start"] = True  # the engine marks only signals-with-start
        self.out.append(Event(fc_id, etype, ts, attrs))
        if etype not in COMMAND_EVENTS and etype not in _NO_TASK:  # an input
            self.group.append(fc_id)
            if self.blocked:
                self.pending.append(fc_id)

    def task_failed(self, te: HistoryEvent, ts: float) -> None:
        a = te.workflow_task_failed_event_attributes
        early = self.early_updates.get(self.sched.event_id) if self.sched is not None else None
        if early is not None and early.event_id not in self.ids:
            self.event(early, _from_ts(early.event_time))
        failure = self.failure(a.failure)
        if self.blocked and self.pending:  # a retry that failed again
            x: int | None = self.pending[0]
            when = _from_ts(self.sched.event_time) if self.sched is not None else ts
            self.emit(E.WORKFLOW_TASK_RETRIED, when, {"input_event_id": x})
        else:
            x = self.group[0] if self.group else None
            self.pending = [x] if x is not None else []
        self.emit(E.WORKFLOW_TASK_FAILED, ts, {"input_event_id": x, "failure": failure})
        self.blocked = True
        self.group = []

    def map(self, tid: int) -> int:
        return self.ids.get(tid, tid)

    def failure(self, f: Failure) -> dict[str, Any]:
        return failure_from_temporal(f, map_id=self.map)

    def attempt(self, started_id: int) -> int:
        st = self.by_id.get(started_id)
        if st is None or not st.HasField("activity_task_started_event_attributes"):
            return 1
        return st.activity_task_started_event_attributes.attempt or 1


def _r_started(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_started_event_attributes
    extras = _extras(a.header)
    parent = None
    if a.HasField("parent_workflow_execution"):
        parent = {
            "workflow_id": a.parent_workflow_execution.workflow_id,
            "run_id": a.parent_workflow_execution.run_id,
            "initiated_event_id": a.parent_initiated_event_id,
        }
    return {
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


def _r_signaled(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_signaled_event_attributes
    return {"signal_name": a.signal_name, "input": _from_payloads(a.input)}


def _r_update_accepted(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_update_accepted_event_attributes
    req = a.accepted_request
    return {
        "update_id": req.meta.update_id or a.protocol_instance_id,
        "name": req.input.name,
        "input": _from_payloads(req.input.args),
    }


def _r_update_completed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_update_completed_event_attributes
    failed = a.outcome.HasField("failure")
    return {
        "update_id": a.meta.update_id,
        "accepted_event_id": r.map(a.accepted_event_id),
        "result": None if failed else _from_one(a.outcome.success),
        "failure": r.failure(a.outcome.failure) if failed else None,
    }


def _r_cancel_requested(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"reason": te.workflow_execution_cancel_requested_event_attributes.cause}


def _r_activity_scheduled(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
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


def _r_activity_completed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_completed_event_attributes
    return {
        "scheduled_event_id": r.map(a.scheduled_event_id),
        "result": _from_one(a.result),
        "attempt": r.attempt(a.started_event_id),
    }


def _r_activity_failed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_failed_event_attributes
    return {
        "scheduled_event_id": r.map(a.scheduled_event_id),
        "failure": r.failure(a.failure),
        "attempt": r.attempt(a.started_event_id),
        "retry_state": int(a.retry_state),
    }


def _r_activity_timed_out(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_timed_out_event_attributes
    return {
        "scheduled_event_id": r.map(a.scheduled_event_id),
        "failure": r.failure(a.failure),
        "attempt": r.attempt(a.started_event_id),
        "retry_state": int(a.retry_state),
    }


def _r_activity_cancel_requested(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_cancel_requested_event_attributes
    return {"scheduled_event_id": r.map(a.scheduled_event_id)}


def _r_activity_canceled(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.activity_task_canceled_event_attributes
    return {"scheduled_event_id": r.map(a.scheduled_event_id), "details": _from_payloads(a.details)}


def _r_timer_started(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.timer_started_event_attributes
    timeout = _from_dur(a, "start_to_fire_timeout") or 0.0
    now = r.now if r.now is not None else _from_ts(te.event_time)
    return {"timer_id": a.timer_id, "start_to_fire_timeout": timeout, "fire_at": now + timeout}


def _r_timer_fired(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.timer_fired_event_attributes
    return {"timer_id": a.timer_id, "started_event_id": r.map(a.started_event_id)}


def _r_timer_canceled(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.timer_canceled_event_attributes
    return {"timer_id": a.timer_id, "started_event_id": r.map(a.started_event_id)}


def _r_marker(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.marker_recorded_event_attributes
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


def _r_child_initiated(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
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
    }


def _r_child_start_failed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.start_child_workflow_execution_failed_event_attributes
    return {
        "initiated_event_id": r.map(a.initiated_event_id),
        "workflow_id": a.workflow_id,
        "workflow_type": a.workflow_type.name,
        "cause": StartChildWorkflowExecutionFailedCause.Name(a.cause).removeprefix(_CHILD_CAUSE)
        if a.cause
        else a.control or "UNSPECIFIED",
    }


def _r_child_started(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_started_event_attributes
    return {
        "initiated_event_id": r.map(a.initiated_event_id),
        "workflow_id": a.workflow_execution.workflow_id,
        "run_id": a.workflow_execution.run_id,
        "workflow_type": a.workflow_type.name,
    }


def _child_ids(r: _Reader, a: Any) -> dict[str, Any]:
    return {
        "initiated_event_id": r.map(a.initiated_event_id),
        "started_event_id": r.map(a.started_event_id),
        "workflow_id": a.workflow_execution.workflow_id,
        "run_id": a.workflow_execution.run_id,
    }


def _r_child_completed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_completed_event_attributes
    return {**_child_ids(r, a), "result": _from_one(a.result)}


def _r_child_failed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_failed_event_attributes
    return {**_child_ids(r, a), "failure": r.failure(a.failure), "retry_state": int(a.retry_state)}


def _r_child_canceled(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_canceled_event_attributes
    return {**_child_ids(r, a), "details": _from_payloads(a.details)}


def _r_child_terminated(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    return _child_ids(r, te.child_workflow_execution_terminated_event_attributes)


def _r_child_timed_out(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.child_workflow_execution_timed_out_event_attributes
    return {**_child_ids(r, a), "retry_state": int(a.retry_state)}


def _r_cancel_external(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.request_cancel_external_workflow_execution_initiated_event_attributes
    d: dict[str, Any] = {
        "workflow_id": a.workflow_execution.workflow_id,
        "child_workflow_only": a.child_workflow_only,
    }
    initiated = r.children.get(a.workflow_execution.workflow_id)
    if a.child_workflow_only and initiated is not None:
        d["initiated_event_id"] = initiated
    return d


def _r_completed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"result": _from_one(te.workflow_execution_completed_event_attributes.result)}


def _r_failed(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"failure": r.failure(te.workflow_execution_failed_event_attributes.failure)}


def _r_canceled(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"details": _from_payloads(te.workflow_execution_canceled_event_attributes.details)}


def _r_terminated(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_terminated_event_attributes
    return {"reason": a.reason, "details": _from_payloads(a.details)}


def _r_timed_out(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    return {"retry_state": int(te.workflow_execution_timed_out_event_attributes.retry_state)}


def _r_continued(r: _Reader, te: HistoryEvent) -> dict[str, Any]:
    a = te.workflow_execution_continued_as_new_event_attributes
    return {
        "new_execution_run_id": a.new_execution_run_id,
        "workflow_type": a.workflow_type.name,
        "input": _from_payloads(a.input),
    }


_Read = Callable[[_Reader, HistoryEvent], dict[str, Any]]
_READERS: dict[str, _Read] = {
    E.WORKFLOW_EXECUTION_STARTED.value: _r_started,
    E.WORKFLOW_EXECUTION_SIGNALED.value: _r_signaled,
    E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED.value: _r_update_accepted,
    E.WORKFLOW_EXECUTION_UPDATE_COMPLETED.value: _r_update_completed,
    E.WORKFLOW_EXECUTION_CANCEL_REQUESTED.value: _r_cancel_requested,
    E.ACTIVITY_TASK_SCHEDULED.value: _r_activity_scheduled,
    E.ACTIVITY_TASK_COMPLETED.value: _r_activity_completed,
    E.ACTIVITY_TASK_FAILED.value: _r_activity_failed,
    E.ACTIVITY_TASK_TIMED_OUT.value: _r_activity_timed_out,
    E.ACTIVITY_TASK_CANCEL_REQUESTED.value: _r_activity_cancel_requested,
    E.ACTIVITY_TASK_CANCELED.value: _r_activity_canceled,
    E.TIMER_STARTED.value: _r_timer_started,
    E.TIMER_FIRED.value: _r_timer_fired,
    E.TIMER_CANCELED.value: _r_timer_canceled,
    E.MARKER_RECORDED.value: _r_marker,
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
