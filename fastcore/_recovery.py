"""Rebuilding runs by replay: after a restart, from an imported history, after a failed task.

A run is rebuilt by replaying its history into a fresh ``WorkflowInstance``; what the history
says is in flight (activities, timers, children) is started again and inputs a failed
workflow task held back are delivered live. A workflow task that fails (an exception that is
not a workflow failure, or a nondeterminism) leaves the run open and blocked, and is retried
with exponential backoff, as Temporal does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from ._children import Children
from ._clock import Clock
from ._converter import DataConverter
from ._definitions import WorkflowDefinition
from ._dispatch import Dispatcher
from ._environment import WorkflowEnvironment
from ._external import ExternalRequests
from ._failure import to_failure
from ._failure_logs import workflow_task_failed
from ._instance import WorkflowInstance
from ._pipeline import Pipeline
from ._run import CLOSE_STATUS, Run
from ._run_table import RunTable
from ._search_attributes import fold
from ._store import RunRecord, Store, fold_memo
from ._telemetry import Telemetry
from ._timers import TimerService
from .common import WorkflowExecutionStatus
from .errors import (
    InvalidArgumentError,
    NondeterminismError,
    StoreError,
    WorkflowAlreadyStartedError,
)
from .history import CLOSE_EVENTS, Event, EventType

__all__ = ["Recovery"]

_log = logging.getLogger("fastcore.recovery")

_EXTERNAL_RESOLVED = frozenset(
    {
        EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    }
)


_ACTIVITY_DONE = frozenset(
    {
        EventType.ACTIVITY_TASK_COMPLETED,
        EventType.ACTIVITY_TASK_FAILED,
        EventType.ACTIVITY_TASK_TIMED_OUT,
        EventType.ACTIVITY_TASK_CANCELED,
    }
)


class Recovery:
    """Replays runs into fresh instances and retries failed workflow tasks."""

    def __init__(
        self,
        *,
        workflow_definition: Callable[[Any], WorkflowDefinition | None],
        runs: RunTable,
        store: Store,
        env: WorkflowEnvironment,
        converter: DataConverter,
        clock: Clock,
        timers: TimerService,
        telemetry: Telemetry,
        pipeline: Pipeline,
        dispatcher: Dispatcher,
        children: Children,
        external: ExternalRequests,
        timed_out: Callable[[Run], None],
        plan_next: Callable[[Run, Event], None],
        retry_interval: float,
    ) -> None:
        self._workflow_definition = workflow_definition
        self._runs = runs
        self._store = store
        self._env = env
        self._converter = converter
        self._clock = clock
        self._timers = timers
        self.telemetry = telemetry
        self._activate = pipeline.activate
        self._commit = pipeline.commit
        self._dispatcher = dispatcher
        self._children = children
        self._external = external
        self._timed_out = timed_out
        self._plan_next = plan_next
        self.retry_interval = retry_interval  # seconds; doubles per consecutive failure
        self._held: list[tuple[Run, Event]] | None = None  # during recover(): sent after it

    # ------------------------------------------------------------------ whole runs

    async def recover(self) -> None:
        """Rebuild every open run the store holds whose workflow is registered here.

        A run that cannot be read or rebuilt (a damaged row, a history its code cannot even
        begin to replay) is set aside: logged at WARNING, kept in the run table so every call
        on it raises ``StoreError`` naming it, never written to; every other run recovers.
        """
        records = await self._store.open_runs()
        runs: list[Run] = []
        for record in records:
            defn = self._workflow_definition(record.workflow_type)
            if defn is None:
                continue  # its workflow is not registered here; leave it in the store
            run = Run(record, defn)
            self._runs.put(run)
            if record.damage is not None:
                self._set_aside(run, record.damage)
                continue
            try:
                started = record.history[0].attributes
                parent = started.get("parent")
                if parent:
                    run.parent = (
                        parent["workflow_id"],
                        parent["run_id"],
                        parent["initiated_event_id"],
                    )
                # children recorded as started in the parent
                for ev in record.history:
                    if ev.event_type is EventType.CHILD_WORKFLOW_EXECUTION_STARTED:
                        if not run.children:
                            run.children = {}
                        run.children[ev.attributes["initiated_event_id"]] = (
                            ev.attributes["workflow_id"],
                            ev.attributes["run_id"],
                        )
            except Exception as err:  # a row that decoded but lacks what it must carry
                self._set_aside(run, self._unreadable(run, err))
                continue
            runs.append(run)
        # requests to other workflows wait until every run is rebuilt (their target may be one)
        held: list[tuple[Run, Event]] = []
        self._held = held
        try:
            for run in runs:
                self.telemetry.suppress_replay(run)
                try:
                    self.rebuild(run)
                except Exception as err:  # the history is not one this engine wrote
                    self._forget_work(run)
                    self._set_aside(run, self._unreadable(run, err))
                    continue
                self.arm_run_deadline(run)
        finally:
            self._held = None
        for run, ev in held:
            if run.record.damage is None:
                self._resend(run, ev)

    @staticmethod
    def _unreadable(run: Run, err: Exception) -> StoreError:
        r = run.record
        return StoreError(
            f"workflow {r.workflow_id!r} run {r.run_id!r} cannot be read from the store: "
            f"its history cannot be replayed ({type(err).__name__}: {err}). Its rows are left "
            "as they are on disk; other runs are unaffected",
            workflow_id=r.workflow_id,
            run_id=r.run_id,
        )

    def _forget_work(self, run: Run) -> None:
        """Stop what a failed rebuild of ``run`` may have started (it will not be resumed)."""
        for task in list(run.activities.values()):
            task.abandon()
        for entry in run.timers.values():
            entry.cancel()
        run.instance = None

    def _set_aside(self, run: Run, damage: StoreError) -> None:
        """Keep a run that cannot be read: calls on it raise ``damage``; nothing writes it."""
        run.record.damage = damage
        run.record.history = []
        run.instance = None
        _log.warning("%s", damage)

    async def import_history(self, events: Sequence[Event]) -> Run:
        """Resume a run from a history recorded elsewhere: replay it, then go on.

        Raises:
            InvalidArgumentError: the history does not start a run registered here.
            WorkflowAlreadyStartedError: a run with that id is open here, or that run
                already exists in the store.
        """
        events = list(events)
        if not events or events[0].event_type is not EventType.WORKFLOW_EXECUTION_STARTED:
            raise InvalidArgumentError("a history starts with WORKFLOW_EXECUTION_STARTED")
        a = events[0].attributes
        defn = self._workflow_definition(a["workflow_type"])
        if defn is None:
            raise InvalidArgumentError(
                f"workflow {a['workflow_type']!r} is not registered with this engine"
            )
        existing = await self._runs.latest(a["workflow_id"])
        if existing is not None and existing.record.run_id == a["run_id"]:
            return existing  # already here (a retry on the same engine)
        if existing is not None and existing.open:
            raise WorkflowAlreadyStartedError(
                a["workflow_id"], a["workflow_type"], run_id=existing.record.run_id
            )
        if await self._store.load_run(a["workflow_id"], a["run_id"]) is not None:
            raise WorkflowAlreadyStartedError(
                a["workflow_id"], a["workflow_type"], run_id=a["run_id"]
            )
        record = RunRecord(a["workflow_id"], a["run_id"], a["workflow_type"], events[0].timestamp)
        record.history.extend(
            Event(i + 1, ev.event_type, ev.timestamp, ev.attributes) for i, ev in enumerate(events)
        )
        record.refresh_visibility()
        last = record.history[-1]
        if last.event_type in CLOSE_EVENTS:
            record.status = CLOSE_STATUS[last.event_type]
            record.close_time = last.timestamp
        run = Run(record, defn)
        if a.get("parent"):
            p = a["parent"]
            run.parent = (p["workflow_id"], p["run_id"], p["initiated_event_id"])
        self._runs.put(run)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commit(run, list(record.history), waiter, [])
        if not waiter.done():
            await waiter
        if run.open:
            self.telemetry.suppress_replay(run)
            self.rebuild(run)
            self.arm_run_deadline(run)
        return run

    def arm_run_deadline(self, run: Run) -> None:
        """Re-arm a rebuilt run's execution/run timeout at its original deadline."""
        if not run.open or run.timeout_entry is not None:
            return
        first = run.record.history[0]
        deadline: float | None = first.attributes.get("execution_deadline")
        run_timeout = first.attributes.get("run_timeout")
        if run_timeout:
            backoff = float(first.attributes.get("first_task_backoff") or 0.0)
            end = first.timestamp + backoff + float(run_timeout)
            deadline = min(deadline, end) if deadline else end
        if deadline:
            run.timeout_entry = self._timers.call_at(deadline, self._timed_out, run)

    # ------------------------------------------------------------------ failed workflow tasks

    def block(self, run: Run, inst: WorkflowInstance, event: Event | None) -> None:
        """Record a workflow task failure; the run stays open, blocked, until a retry works."""
        err = inst.nondeterminism or inst.task_failure
        assert err is not None
        record = run.record
        if record.search_attributes != fold(record.history) or record.memo != fold_memo(
            record.history
        ):
            # an upsert of the failed task was dropped with its commands
            record.search_attributes = fold(record.history)
            record.memo = fold_memo(record.history)
            record.visibility_changed = True
        fail_types = run.defn.failure_exception_types + self._env.failure_exception_types
        if fail_types and isinstance(err, fail_types):
            # listed in failure_exception_types: the workflow fails instead
            inst.nondeterminism = None
            inst.task_failure = None
            ev = Event(
                len(record.history) + 1,
                EventType.WORKFLOW_EXECUTION_FAILED,
                self._clock.now(),
                {"failure": to_failure(err, self._converter)},
            )
            record.history.append(ev)
            record.status = WorkflowExecutionStatus.FAILED
            record.close_time = ev.timestamp
            inst.closed = True
            self._plan_next(run, ev)
            return
        record.history.append(
            Event(
                len(record.history) + 1,
                EventType.WORKFLOW_TASK_FAILED,
                self._clock.now(),
                {
                    "input_event_id": event.event_id if event is not None else None,
                    "failure": to_failure(err, self._converter),
                },
            )
        )
        if event is not None and (not inst.deferred or inst.deferred[0] is not event):
            inst.deferred.insert(0, event)
        inst.blocked = True
        workflow_task_failed(_logger_details(run), err)
        self.telemetry.workflow_task_failed(run, err)
        if run.retry_entry is None and not isinstance(err, NondeterminismError):
            self.schedule_retry(run)

    def schedule_retry(self, run: Run) -> None:
        """Retry the run's failed workflow task after a backoff that doubles per failure."""
        # exponential backoff over consecutive failures, capped at ten minutes
        run.task_attempts += 1
        # (the exponent is bounded: 2.0 ** 30 already passes the cap, and never overflows)
        delay = min(self.retry_interval * 2.0 ** min(run.task_attempts - 1, 30), 600.0)
        run.retry_entry = self._timers.call_later(delay, self.retry_task, run, run.task_attempts)

    def end_start_delay(self, run: Run) -> None:
        """Run the first workflow task now: a signal-with-start reached a run still waiting
        out its start delay (Temporal dispatches the task at once; a plain signal waits)."""
        inst = run.instance
        entry = run.retry_entry
        if entry is None or inst is None or not inst.waits_first_task():
            return
        entry.cancel()
        self.retry_task(run, 0)

    def retry_task(self, run: Run, attempt: int) -> None:
        """Retry a failed workflow task (or end a retry run's first-task backoff)."""
        run.retry_entry = None
        if not run.open:
            return
        del attempt  # the backoff counts run.task_attempts
        self.rebuild(run)
        inst = run.instance
        if inst is None:
            return
        if not inst.blocked:
            run.task_attempts = 0  # the task went through
        elif inst.task_failure is not None and run.retry_entry is None:
            self.schedule_retry(run)

    # ------------------------------------------------------------------ replay

    def rebuild(self, run: Run) -> None:
        """Replay the run's history into a fresh instance, then deliver held-back inputs live."""
        record = run.record
        inst = WorkflowInstance(env=self._env, run=record, defn=run.defn, converter=self._converter)
        run.instance = inst
        deferred = inst.replay()
        if inst.nondeterminism is not None or inst.task_failure is not None:
            # The code no longer fits the history: blocked, visible in describe().
            inst.blocked = True
            inst.deferred = deferred
            last = record.history[-1] if record.history else None
            if last is None or last.event_type is not EventType.WORKFLOW_TASK_FAILED:
                start = len(record.history)
                self.block(run, inst, None)
                new = record.history[start:]
                self._commit(run, new, None, new if inst.closed else [])
            else:
                err = inst.nondeterminism or inst.task_failure
                assert err is not None
                workflow_task_failed(_logger_details(run), err)
                self.telemetry.workflow_task_failed(run, err)
            return
        first = deferred[0] if deferred else None
        if first is not None and first.event_type is EventType.WORKFLOW_EXECUTION_STARTED:
            due = first.timestamp + float(first.attributes.get("first_task_backoff") or 0)
            if due > self._clock.now() and not any(
                e.attributes.get("ends_start_delay") for e in record.history
            ):
                # a retry run still in its first-task backoff (after a restart): wait for it
                inst.blocked = True
                inst.deferred = deferred
                if run.retry_entry is None:
                    run.retry_entry = self._timers.call_at(due, self.retry_task, run, 0)
                return
        if record.status is WorkflowExecutionStatus.RUNNING and inst.closed:
            close = record.history[-1]
            record.status = CLOSE_STATUS.get(close.event_type, WorkflowExecutionStatus.RUNNING)
            record.close_time = close.timestamp
        inst.deferred = []
        inst.blocked = False
        self._resume_pending(run, inst)
        while deferred and not inst.closed:
            x = deferred.pop(0)
            start = len(record.history)
            marker = Event(
                start + 1,
                EventType.WORKFLOW_TASK_RETRIED,
                self._clock.now(),
                {"input_event_id": x.event_id},
            )
            record.history.append(marker)
            if not self._activate(run, inst, x, marker.event_id, start, None):
                inst.deferred.extend(deferred)
                return

    def _resume_pending(self, run: Run, inst: WorkflowInstance) -> None:
        """After a replay: restart what the history says is in flight.

        Work whose outcome is already recorded (an input held back by a failed workflow task
        and not yet re-delivered) is not started again.
        """
        history = run.record.history
        resolved: set[int] = set()
        for ev in history:
            et = ev.event_type
            a = ev.attributes
            if et in _ACTIVITY_DONE:
                resolved.add(a["scheduled_event_id"])
            elif et is EventType.TIMER_FIRED or et is EventType.TIMER_CANCELED:
                resolved.add(a["started_event_id"])
            elif (
                et is EventType.CHILD_WORKFLOW_EXECUTION_STARTED
                or et is EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED
                or et in _EXTERNAL_RESOLVED
            ):
                resolved.add(a["initiated_event_id"])
        commands = inst.commands
        for seq in list(commands.activities):
            if seq not in run.activities and seq not in resolved:
                self._dispatcher.schedule_activity(run, history[seq - 1])
        for seq in list(commands.timers):
            if seq not in run.timers and seq not in resolved:
                self._dispatcher.arm_timer(run, seq, history[seq - 1].attributes)
        others = commands.others
        if others is not None:
            for seq, (started, _handle) in list(others.children.items()):
                if not started.done() and seq not in run.children and seq not in resolved:
                    self._children.start(run, history[seq - 1])
        if commands.local is not None:
            for _fut, spec in list(commands.local.pending.values()):
                self._dispatcher.start_local(run, spec)  # in flight at the crash
        for seq in list(others.externals) if others is not None else ():
            if seq not in resolved:
                if self._held is not None:
                    self._held.append((run, history[seq - 1]))
                else:
                    self._resend(run, history[seq - 1])

    def _resend(self, run: Run, ev: Event) -> None:
        """Send a request to another workflow whose answer the history does not have."""
        if not run.open:
            return
        if ev.event_type is EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            self._external.signal(run, ev, resend=True)
        else:
            self._external.request_cancel(run, ev)


def _logger_details(run: Run) -> dict[str, Any]:
    """The run's details as temporalio's ``workflow.Info._logger_details`` names them."""
    r = run.record
    started = r.history[0].attributes if r.history else {}
    return {
        "attempt": int(started.get("attempt") or 1),
        "namespace": "default",
        "run_id": r.run_id,
        "task_queue": started.get("task_queue") or "fastcore",
        "workflow_id": r.workflow_id,
        "workflow_type": r.workflow_type,
    }
