"""Temporal -> fastcore: ``from_temporal`` reads workflow tasks back as activations.

``_Reader`` drops Temporal's bookkeeping events, follows the workflow tasks (failed ones
become ``WORKFLOW_TASK_FAILED``/``WORKFLOW_TASK_RETRIED``) and renumbers the rest;
``_read_events`` reads each event's attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.json_format import ParseError
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import WorkflowHistory

from fastcore.history import COMMAND_EVENTS, Event
from fastcore.history import EventType as E

from ._common import (
    _CHANGE_VERSION,
    _DROPPED,
    _NO_TASK,
    _from_ts,
)
from ._failure import failure_from_temporal
from ._read_events import _READERS


def from_temporal(
    history: WorkflowHistory | History | str | dict[str, Any],
) -> list[Event]:
    """Read a Temporal history back as a fastcore history.

    Workflow-task events, activity-started events, the upserts sdk-core writes after patch
    markers and acknowledgements of a child's cancel request are dropped; the remaining
    events are numbered densely from 1 and their cross-references follow.

    Args:
        history: A ``WorkflowHistory``, a ``History`` proto, or its JSON (string or dict), as
            ``to_temporal_json`` and ``temporal workflow show --output json`` write it.

    Returns:
        The fastcore events.

    Raises:
        ValueError: The history holds an event fastcore cannot represent (a search
            attribute upsert, a Nexus operation, ...), or it is not a history Temporal
            writes (not its JSON, an event naming one that is missing).
    """
    try:
        if isinstance(history, str | dict):
            tevents: Sequence[HistoryEvent] = WorkflowHistory.from_json("", history).events
        else:
            tevents = history.events
    except ValueError:
        raise
    except (ParseError, TypeError, AttributeError, KeyError, RecursionError) as err:
        raise ValueError(f"not a Temporal history: {type(err).__name__}: {err}") from None
    r = _Reader(tevents)
    te: HistoryEvent | None = None
    try:
        for te in tevents:
            r.read(te)
    except ValueError:
        raise
    except _DAMAGE as err:
        # a history Temporal never writes (an event that names one that is not there, a
        # field of the wrong kind): the documented ValueError, naming the event
        where = f"event {te.event_id}" if te is not None else "the history"
        raise ValueError(
            f"cannot read the Temporal history at {where}: {type(err).__name__}: {err}"
        ) from None
    return r.out


_DAMAGE = (KeyError, IndexError, TypeError, AttributeError, OverflowError, RecursionError)


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
        if t == EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            # the answer to a child's cancel (fastcore records none); another workflow's is kept
            ack = te.external_workflow_execution_cancel_requested_event_attributes
            initiated = self.by_id.get(ack.initiated_event_id)
            return initiated is None or (
                initiated.request_cancel_external_workflow_execution_initiated_event_attributes.child_workflow_only
            )
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
        if etype is E.WORKFLOW_EXECUTION_STARTED and attrs.get("first_task_backoff"):
            # a retry or cron run: fastcore holds its start back until the backoff ends and
            # records the delivery (WORKFLOW_TASK_RETRIED) where Temporal's first task is
            self.blocked = True
        if etype not in COMMAND_EVENTS and etype not in _NO_TASK:  # an input
            self.group.append(fc_id)
            if self.blocked and not attrs.get("with_start"):
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
