"""The history model: every state change of a workflow run is an ``Event``.

Event ids start at 1 and are dense per run. Events fall in two groups:

* **inputs** arrive from outside the workflow code (started, activity completed/failed/
  timed out, timer fired, signaled, update accepted, cancel requested, child resolved).
  Each input is one *activation*: the engine delivers it and runs the code until every
  coroutine is parked again.
* **commands** are what the code did in reply (activity scheduled, timer started, marker,
  child initiated, update completed, workflow completed/failed/...). They follow the input
  that caused them; replay checks their kind, order and activity/child type.

Attributes (``Payload`` values are encoded arguments; ``failure`` is the dict made by
``fastcore._failure.to_failure``; durations are float seconds, times epoch seconds)::

    WORKFLOW_EXECUTION_STARTED   workflow_type, workflow_id, run_id, input[], attempt, parent
                                 ({workflow_id, run_id, initiated_event_id} | None),
                                 continued_run_id, first_run_id, execution_timeout, run_timeout,
                                 execution_deadline(epoch s|None), memo{str: Payload},
                                 retry_policy(dict|None), seed(int),
                                 trace_context (W3C traceparents; only when tracing),
                                 task_queue (only when given), search_attributes ({name:
                                 {type, value}}; only when given, or carried from an earlier
                                 run), cron_schedule, last_completion_result(Payload),
                                 continued_failure (cron and retry runs), first_task_backoff
                                 (s; retry and cron runs): each only when set,
                                 request_id (only for a start that carried Temporal's)
    WORKFLOW_EXECUTION_SIGNALED  signal_name, input[], with_start (present, True, only for a
                                 signal sent with the start or received while the run waited
                                 for its first task: delivered with the start),
                                 ends_start_delay (True: a signal-with-start that ended
                                 that wait), external ({workflow_id, run_id,
                                 initiated_event_id}: present only for a signal sent by a
                                 workflow through an external handle), request_id (only when
                                 carried)
    WORKFLOW_EXECUTION_UPDATE_ACCEPTED   update_id, name, input[], with_start (present, True,
                                         only for an update sent with the start)
    WORKFLOW_EXECUTION_UPDATE_COMPLETED  update_id, accepted_event_id, result(Payload|None),
                                         failure(dict|None)
    WORKFLOW_EXECUTION_CANCEL_REQUESTED  reason
    ACTIVITY_TASK_SCHEDULED      activity_id, activity_type, input[], start_to_close_timeout,
                                 schedule_to_close_timeout, schedule_to_start_timeout,
                                 heartbeat_timeout, retry_policy(dict), cancellation_type(int)
    ACTIVITY_TASK_COMPLETED      scheduled_event_id, result(Payload), attempt
    ACTIVITY_TASK_FAILED         scheduled_event_id, failure, attempt, retry_state(int)
    ACTIVITY_TASK_TIMED_OUT      scheduled_event_id, failure, attempt, retry_state(int)
    ACTIVITY_TASK_CANCEL_REQUESTED  scheduled_event_id
    ACTIVITY_TASK_CANCELED       scheduled_event_id, details[]
    TIMER_STARTED                timer_id, start_to_fire_timeout, fire_at
    TIMER_FIRED                  timer_id, started_event_id
    TIMER_CANCELED               timer_id, started_event_id
    MARKER_RECORDED              marker_name ("core_patch"), details {patch_id, deprecated}; or
                                 a local activity's outcome (an input, not a command, unless
                                 the workflow cancelled it): marker_name "core_local_activity",
                                 details {seq, attempt, activity_id, activity_type,
                                 complete_time, original_schedule_time, result(Payload|None)},
                                 failure(dict|None)
    UPSERT_WORKFLOW_SEARCH_ATTRIBUTES  search_attributes{name: {type, value(None: removed)}}
    START_CHILD_WORKFLOW_EXECUTION_INITIATED  workflow_id, workflow_type, input[],
                                 parent_close_policy(int), execution_timeout, run_timeout,
                                 retry_policy(dict|None), cancellation_type(int), memo{str: Payload}
    START_CHILD_WORKFLOW_EXECUTION_FAILED     initiated_event_id, workflow_id, workflow_type,
                                              cause ("WORKFLOW_ALREADY_EXISTS" | ...)
    CHILD_WORKFLOW_EXECUTION_STARTED          initiated_event_id, workflow_id, run_id, workflow_type
    (every CHILD_WORKFLOW_EXECUTION_<close> also carries the child's workflow_id and run_id)
    CHILD_WORKFLOW_EXECUTION_COMPLETED        initiated_event_id, started_event_id, result(Payload)
    CHILD_WORKFLOW_EXECUTION_FAILED           initiated_event_id, started_event_id, failure,
                                              retry_state(int)
    CHILD_WORKFLOW_EXECUTION_CANCELED         initiated_event_id, started_event_id, details[]
    CHILD_WORKFLOW_EXECUTION_TERMINATED       initiated_event_id, started_event_id
    CHILD_WORKFLOW_EXECUTION_TIMED_OUT        initiated_event_id, started_event_id, retry_state
    REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED  workflow_id, child_workflow_only,
                                 initiated_event_id (of the child being cancelled), or, from
                                 ``get_external_workflow_handle(...).cancel()``: workflow_id,
                                 run_id(str|None), child_workflow_only=False
    REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED  initiated_event_id, workflow_id, run_id,
                                 cause ("EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND")
    EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED  initiated_event_id, workflow_id, run_id
    SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED  workflow_id, run_id(str|None), signal_name,
                                 input[], child_workflow_only
    SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED  initiated_event_id, workflow_id, run_id, cause
    EXTERNAL_WORKFLOW_EXECUTION_SIGNALED  initiated_event_id, workflow_id, run_id
    WORKFLOW_PROPERTIES_MODIFIED     upserted_memo{str: Payload} (a null payload removes a key)
    WORKFLOW_EXECUTION_COMPLETED     result(Payload), new_execution_run_id (the next cron run)
    WORKFLOW_EXECUTION_FAILED        failure, new_execution_run_id (a retry or the next cron run)
    WORKFLOW_EXECUTION_CANCELED      details[]
    WORKFLOW_EXECUTION_TERMINATED    reason, details[]
    WORKFLOW_EXECUTION_TIMED_OUT     retry_state(int), new_execution_run_id (the next cron run)
    WORKFLOW_EXECUTION_CONTINUED_AS_NEW  new_execution_run_id, workflow_type, input[], and
                                 the options continue_as_new set (others are kept): task_queue,
                                 run_timeout, memo{str: Payload}, retry_policy(dict),
                                 search_attributes
    WORKFLOW_TASK_FAILED         input_event_id(int|None), failure
    WORKFLOW_TASK_RETRIED        input_event_id

Workflow task failures (as Temporal's): when the code raises something that is not a failure
(a bug), or replay finds nondeterminism, the activation's commands are dropped and
``WORKFLOW_TASK_FAILED`` follows its input; the run stays open and blocked, and inputs that
arrive meanwhile are kept but not delivered. A retry (later, or after a restart with fixed
code) writes ``WORKFLOW_TASK_RETRIED`` naming each held-back input, in order, and that
input's commands follow it.
"""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Any

from ._converter import Payload

__all__ = [
    "CLOSE_EVENTS",
    "COMMAND_EVENTS",
    "TASK_EVENTS",
    "Event",
    "EventType",
    "event_from_json",
    "event_to_json",
]


class EventType(StrEnum):
    """The kind of an event; names are Temporal's without the ``EVENT_TYPE_`` prefix."""

    WORKFLOW_EXECUTION_STARTED = "WORKFLOW_EXECUTION_STARTED"
    WORKFLOW_EXECUTION_SIGNALED = "WORKFLOW_EXECUTION_SIGNALED"
    WORKFLOW_EXECUTION_UPDATE_ACCEPTED = "WORKFLOW_EXECUTION_UPDATE_ACCEPTED"
    WORKFLOW_EXECUTION_UPDATE_COMPLETED = "WORKFLOW_EXECUTION_UPDATE_COMPLETED"
    WORKFLOW_EXECUTION_CANCEL_REQUESTED = "WORKFLOW_EXECUTION_CANCEL_REQUESTED"
    ACTIVITY_TASK_SCHEDULED = "ACTIVITY_TASK_SCHEDULED"
    ACTIVITY_TASK_COMPLETED = "ACTIVITY_TASK_COMPLETED"
    ACTIVITY_TASK_FAILED = "ACTIVITY_TASK_FAILED"
    ACTIVITY_TASK_TIMED_OUT = "ACTIVITY_TASK_TIMED_OUT"
    ACTIVITY_TASK_CANCEL_REQUESTED = "ACTIVITY_TASK_CANCEL_REQUESTED"
    ACTIVITY_TASK_CANCELED = "ACTIVITY_TASK_CANCELED"
    TIMER_STARTED = "TIMER_STARTED"
    TIMER_FIRED = "TIMER_FIRED"
    TIMER_CANCELED = "TIMER_CANCELED"
    MARKER_RECORDED = "MARKER_RECORDED"
    UPSERT_WORKFLOW_SEARCH_ATTRIBUTES = "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"
    START_CHILD_WORKFLOW_EXECUTION_INITIATED = "START_CHILD_WORKFLOW_EXECUTION_INITIATED"
    START_CHILD_WORKFLOW_EXECUTION_FAILED = "START_CHILD_WORKFLOW_EXECUTION_FAILED"
    CHILD_WORKFLOW_EXECUTION_STARTED = "CHILD_WORKFLOW_EXECUTION_STARTED"
    CHILD_WORKFLOW_EXECUTION_COMPLETED = "CHILD_WORKFLOW_EXECUTION_COMPLETED"
    CHILD_WORKFLOW_EXECUTION_FAILED = "CHILD_WORKFLOW_EXECUTION_FAILED"
    CHILD_WORKFLOW_EXECUTION_CANCELED = "CHILD_WORKFLOW_EXECUTION_CANCELED"
    CHILD_WORKFLOW_EXECUTION_TERMINATED = "CHILD_WORKFLOW_EXECUTION_TERMINATED"
    CHILD_WORKFLOW_EXECUTION_TIMED_OUT = "CHILD_WORKFLOW_EXECUTION_TIMED_OUT"
    REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED = (
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED"
    )
    REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED = (
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"
    )
    EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED = "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED"
    SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED = "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED"
    SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED = "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED"
    EXTERNAL_WORKFLOW_EXECUTION_SIGNALED = "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED"
    WORKFLOW_PROPERTIES_MODIFIED = "WORKFLOW_PROPERTIES_MODIFIED"
    WORKFLOW_EXECUTION_COMPLETED = "WORKFLOW_EXECUTION_COMPLETED"
    WORKFLOW_EXECUTION_FAILED = "WORKFLOW_EXECUTION_FAILED"
    WORKFLOW_EXECUTION_CANCELED = "WORKFLOW_EXECUTION_CANCELED"
    WORKFLOW_EXECUTION_TERMINATED = "WORKFLOW_EXECUTION_TERMINATED"
    WORKFLOW_EXECUTION_TIMED_OUT = "WORKFLOW_EXECUTION_TIMED_OUT"
    WORKFLOW_EXECUTION_CONTINUED_AS_NEW = "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    WORKFLOW_TASK_FAILED = "WORKFLOW_TASK_FAILED"
    WORKFLOW_TASK_RETRIED = "WORKFLOW_TASK_RETRIED"


E = EventType

COMMAND_EVENTS = frozenset(
    {
        E.ACTIVITY_TASK_SCHEDULED,
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        E.TIMER_STARTED,
        E.TIMER_CANCELED,
        E.MARKER_RECORDED,
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.WORKFLOW_PROPERTIES_MODIFIED,
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        E.WORKFLOW_EXECUTION_COMPLETED,
        E.WORKFLOW_EXECUTION_FAILED,
        E.WORKFLOW_EXECUTION_CANCELED,
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)
"""Events the workflow code produces; everything else is an input."""

CLOSE_EVENTS = frozenset(
    {
        E.WORKFLOW_EXECUTION_COMPLETED,
        E.WORKFLOW_EXECUTION_FAILED,
        E.WORKFLOW_EXECUTION_CANCELED,
        E.WORKFLOW_EXECUTION_TERMINATED,
        E.WORKFLOW_EXECUTION_TIMED_OUT,
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)
"""Events that close a run."""

TASK_EVENTS = frozenset({E.WORKFLOW_TASK_FAILED, E.WORKFLOW_TASK_RETRIED})
"""Bookkeeping of failed workflow tasks: neither inputs nor commands."""


class Event:
    """One entry of a run's history."""

    __slots__ = ("attributes", "event_id", "event_type", "timestamp")

    def __init__(
        self, event_id: int, event_type: EventType, timestamp: float, attributes: dict[str, Any]
    ) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.timestamp = timestamp
        self.attributes = attributes

    def __repr__(self) -> str:
        return f"Event({self.event_id}, {self.event_type.value}, {self.attributes!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Event)
            and self.event_id == other.event_id
            and self.event_type == other.event_type
            and self.timestamp == other.timestamp
            and self.attributes == other.attributes
        )

    __hash__ = None  # type: ignore[assignment]


def _enc(value: Any) -> Any:
    if isinstance(value, Payload):
        meta = {k: v.decode("latin-1") for k, v in value.metadata.items()}
        try:
            return {"_payload": {"metadata": meta, "data": value.data.decode("utf-8")}}
        except UnicodeDecodeError:
            return {
                "_payload": {"metadata": meta, "data_b64": base64.b64encode(value.data).decode()}
            }
    if isinstance(value, dict):
        return {k: _enc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        p = value.get("_payload")
        if p is not None and len(value) == 1:
            meta = {k: v.encode("latin-1") for k, v in p["metadata"].items()}
            data = p["data"].encode("utf-8") if "data" in p else base64.b64decode(p["data_b64"])
            return Payload(meta, data)
        return {k: _dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def event_to_json(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of an event (payloads keep their encoding); the stores' format."""
    return {
        "event_id": event.event_id,
        "event_type": event.event_type.value,
        "timestamp": event.timestamp,
        "attributes": _enc(event.attributes),
    }


def event_from_json(obj: dict[str, Any]) -> Event:
    """Read an event back from ``event_to_json``'s form."""
    return Event(
        int(obj["event_id"]),
        EventType(obj["event_type"]),
        float(obj["timestamp"]),
        _dec(obj.get("attributes") or {}),
    )
