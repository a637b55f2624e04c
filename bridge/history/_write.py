"""fastcore -> Temporal: ``to_temporal`` frames fastcore activations as workflow tasks.

The events themselves are written by ``_write_events``; the format is
described in ``bridge.history``.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import WorkflowHistory

from fastcore.history import COMMAND_EVENTS, Event
from fastcore.history import EventType as E
from fastcore.integration import DEFAULT_TASK_QUEUE

from ._common import _LA_MARKER, _NO_TASK
from ._write_events import (
    _external_cancel_ack,
    _write,
    _Writer,
)

_WITH_START = frozenset(
    {E.WORKFLOW_EXECUTION_SIGNALED, E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED}
)  # inputs sent with the start (``with_start``): written in the start's task


def to_temporal(
    events: Sequence[Event],
    *,
    workflow_id: str | None = None,
    namespace: str = "default",
    task_queue: str | None = None,
) -> WorkflowHistory:
    """Translate a fastcore history into Temporal's history of the same run.

    Args:
        events: The run's events, in order, starting with ``WORKFLOW_EXECUTION_STARTED``.
        workflow_id: The id for the ``WorkflowHistory``; the start event's by default.
        namespace: Namespace written into events that name one.
        task_queue: Task queue written into the start, workflow tasks and activities; by
            default the one the start recorded (``fastcore`` when it named none).

    Returns:
        A ``temporalio.client.WorkflowHistory`` that Temporal's ``Replayer`` accepts.

    Raises:
        ValueError: The history does not start with a start event, or is not well formed.
    """
    if not events or events[0].event_type is not E.WORKFLOW_EXECUTION_STARTED:
        raise ValueError("a fastcore history starts with WORKFLOW_EXECUTION_STARTED")
    tq = task_queue or events[0].attributes.get("task_queue") or DEFAULT_TASK_QUEUE
    w = _Writer(namespace, tq)
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
            elif _is_local_activity(ev):
                # a local activity's outcome with no activation before it to carry it: a
                # workflow task of its own records it (and the commands that follow it)
                self.flush_held()
                self.i -= 1
                self.complete([], ev.timestamp)
            elif t in COMMAND_EVENTS:
                raise ValueError(f"event {ev.event_id} ({t.value}) follows no input")
            else:
                self.input(ev)
        self.flush_held()

    def group(self, ev: Event) -> list[Event]:
        """An input and the signals and updates sent with the start that share its task."""
        inputs = [ev]
        if ev.event_type is E.WORKFLOW_EXECUTION_STARTED:
            while (
                self.i < len(self.events)
                and self.events[self.i].event_type in _WITH_START
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

    def complete(
        self, inputs: list[Event], ts: float, attempt: int = 1, now: float | None = None
    ) -> None:
        """A completed task for ``inputs`` (already written), then the commands after it.

        ``now`` is the task's ``workflow.now()``: its input's time, or for a retried task
        the retry's (the engine runs it then, and so does Temporal)."""
        commands = self.commands()
        end_ts = commands[0].timestamp if commands else ts
        if now is None:
            now = inputs[0].timestamp if inputs else ts
        sched = self.w.workflow_task(ts, end_ts, attempt=attempt, now=now)
        for e in inputs:
            if e.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                _write(self.w, e, sequencing=self.first_sched.get(e.event_id, sched))
        for c in commands:
            _write(self.w, c)
            if c.event_type is E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED and (
                c.attributes.get("child_workflow_only", True)
            ):
                # a child's cancel: fastcore records no answer; Temporal's comes at once
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
        self.complete(inputs, ev.timestamp, attempt=self.attempts.get(x, 0) + 1, now=ev.timestamp)

    def flush_held(self) -> None:
        """Inputs still held back when the history ends (or the run is closed from outside)."""
        for x in list(self.held):
            for e in self.held.pop(x):
                if e.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                    continue  # never accepted by a completed task: Temporal has no event
                _write(self.w, e)


def _is_local_activity(ev: Event) -> bool:
    return ev.event_type is E.MARKER_RECORDED and ev.attributes.get("marker_name") == _LA_MARKER


def to_temporal_json(
    events: Sequence[Event],
    *,
    workflow_id: str | None = None,
    namespace: str = "default",
    task_queue: str | None = None,
) -> str:
    """The JSON of ``to_temporal``: the form of ``temporal workflow show --output json``.

    ``temporalio.client.WorkflowHistory.from_json`` and ``from_temporal`` read it back.
    """
    return to_temporal(
        events, workflow_id=workflow_id, namespace=namespace, task_queue=task_queue
    ).to_json()
