"""The activation pipeline: queue an input, activate, commit, apply effects; task failures."""

# mypy: disable-error-code="misc"
# (the methods are typed with self: Engine; mypy calls that self type "not a supertype")
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ._activities import ActivityTask
from ._failure import to_failure
from ._instance import WorkflowInstance
from ._run_state import (
    _ACTIVITY_DONE,
    _ACTIVITY_OUTCOME,
    _CLOSE_STATUS,
    E,
    S,
    _Run,
    etype_is_start,
)
from .errors import (
    ApplicationError,
)
from .history import CLOSE_EVENTS, Event, EventType

if TYPE_CHECKING:
    from ._engine import Engine


class _Pipeline:
    """Engine methods: queue an input, activate, commit, apply effects; task failures."""

    # ------------------------------------------------------------------ the activation loop

    def _submit(
        self: Engine, run: _Run, etype: EventType, attrs: dict[str, Any], wait: bool = False
    ) -> asyncio.Future[None] | None:
        waiter = asyncio.get_running_loop().create_future() if wait else None
        self._queue.append((run, etype, attrs, waiter))
        if not self._draining:
            self._drain()
        if waiter is not None and waiter.done():
            return None
        return waiter

    def _drain(self: Engine) -> None:
        if self._draining:
            return
        self._draining = True
        queue = self._queue
        try:
            while queue:
                run, etype, attrs, waiter = queue.popleft()
                try:
                    self._process(run, etype, attrs, waiter)
                except BaseException as err:  # an engine bug must not wedge every workflow
                    if waiter is not None and not waiter.done():
                        waiter.set_exception(err)
                    else:
                        raise
        finally:
            self._draining = False

    def _process(
        self: Engine,
        run: _Run,
        etype: EventType,
        attrs: dict[str, Any],
        waiter: asyncio.Future[None] | None,
    ) -> None:
        record = run.record
        history = record.history
        if etype is E.WORKFLOW_EXECUTION_STARTED:
            start = 0
            event = history[0]
        else:
            if not run.open:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                return
            start = len(history)
            event = Event(start + 1, etype, self.clock.now(), attrs)
            history.append(event)
        inst = run.instance
        assert inst is not None
        if inst.blocked:
            # A failed workflow task holds inputs back; the retry delivers them in order.
            inst.deferred.append(event)
            self._commit(run, history[start:], waiter, [])
            return
        self._activate(run, inst, event, None, start, waiter)

    def _activate(
        self: Engine,
        run: _Run,
        inst: WorkflowInstance,
        event: Event,
        after: int | None,
        start: int,
        waiter: asyncio.Future[None] | None,
    ) -> bool:
        """Run one activation live and commit it; False when the workflow task failed."""
        record = run.record
        history = record.history
        inst.activate(event, after)
        if inst.nondeterminism is not None or inst.task_failure is not None:
            # Drop the activation's commands, keep its input, mark the failure (Temporal).
            keep = after if after is not None else event.event_id
            if etype_is_start(event):
                while (
                    keep < len(history)
                    and history[keep].event_type is E.WORKFLOW_EXECUTION_SIGNALED
                    and history[keep].attributes.get("with_start")
                ):
                    keep += 1
            del history[keep:]
            self._block(run, inst, event)
            new = history[start:]
            # a failure type listed in failure_exception_types closed the run instead
            self._commit(run, new, waiter, new if inst.closed else [])
            return False
        new = history[start:]
        if inst.closed:
            close = new[-1]
            record.status = _CLOSE_STATUS[close.event_type]
            record.close_time = close.timestamp
            if close.event_type is E.WORKFLOW_EXECUTION_FAILED:
                self._plan_retry(run, close)
        self._commit(run, new, waiter, new)
        return True

    def _block(self: Engine, run: _Run, inst: WorkflowInstance, event: Event | None) -> None:
        """Record a workflow task failure; the run stays open, blocked, until a retry works."""
        from .errors import NondeterminismError

        err = inst.nondeterminism or inst.task_failure
        assert err is not None
        record = run.record
        fail_types = run.defn.failure_exception_types + self.failure_exception_types
        if fail_types and isinstance(err, fail_types):
            # listed in failure_exception_types: the workflow fails instead
            inst.nondeterminism = None
            inst.task_failure = None
            ev = Event(
                len(record.history) + 1,
                E.WORKFLOW_EXECUTION_FAILED,
                self.clock.now(),
                {"failure": to_failure(err, self.converter)},
            )
            record.history.append(ev)
            record.status = S.FAILED
            record.close_time = ev.timestamp
            inst.closed = True
            self._plan_retry(run, ev)
            return
        record.history.append(
            Event(
                len(record.history) + 1,
                E.WORKFLOW_TASK_FAILED,
                self.clock.now(),
                {
                    "input_event_id": event.event_id if event is not None else None,
                    "failure": to_failure(err, self.converter),
                },
            )
        )
        if event is not None and (not inst.deferred or inst.deferred[0] is not event):
            inst.deferred.insert(0, event)
        inst.blocked = True
        self.telemetry.workflow_task_failed(run, err)
        if run.retry_entry is None and not isinstance(err, NondeterminismError):
            # exponential backoff over consecutive failures, capped at ten minutes
            run.task_attempts += 1
            delay = min(self.workflow_task_retry_interval * 2 ** (run.task_attempts - 1), 600.0)
            run.retry_entry = self.timers.call_later(
                delay, self._retry_task, run, run.task_attempts
            )

    def _commit(
        self: Engine,
        run: _Run,
        new: list[Event],
        waiter: asyncio.Future[None] | None,
        effects: list[Event],
    ) -> None:
        fut = self.store.append(run.record, new)
        # Internal effects (start activities, arm timers, start children) need not wait for
        # the commit: activities are at-least-once, and a crash before the commit replays
        # and issues them again. What a caller is told (start, signal and update acks,
        # results, watched events) waits until the events are durable.
        self._effects(run, effects)
        if fut is None:
            self._acknowledge(run, effects)
            self._notify_watchers(run)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        self._pending_commits += 1
        commit_started = self.telemetry.journal_commit_started()

        def committed(_: Any) -> None:
            self._pending_commits -= 1
            self.telemetry.journal_committed(commit_started)
            exc = None
            try:
                _.result()
            except BaseException as err:
                exc = err
            if exc is None:
                self._acknowledge(run, effects)
                self._notify_watchers(run)
                self._drain()
            if waiter is not None and not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)
            self._schedule_skip_check()

        asyncio.ensure_future(fut).add_done_callback(committed)

    def _effects(self: Engine, run: _Run, events: list[Event]) -> None:
        for ev in events:
            et = ev.event_type
            if et is E.ACTIVITY_TASK_SCHEDULED:
                self._dispatch_activity(run, ev)
            elif et is E.TIMER_STARTED:
                if not run.timers:
                    run.timers = {}
                run.timers[ev.event_id] = self.timers.call_at(
                    ev.attributes["fire_at"],
                    self._timer_fired,
                    run,
                    ev.event_id,
                    ev.attributes["timer_id"],
                )
            elif et is E.TIMER_CANCELED:
                entry = run.timers.pop(ev.attributes["started_event_id"], None)
                if entry is not None:
                    entry.cancel()
            elif et is E.ACTIVITY_TASK_CANCEL_REQUESTED:
                act = run.activities.get(ev.attributes["scheduled_event_id"])
                if act is not None:
                    act.cancel()
            elif et is E.START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                self._start_child(run, ev)
            elif et is E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
                child = self._runs.get(ev.attributes["workflow_id"])
                if child is not None and child.open:
                    self._request_cancel(child)
            elif et in CLOSE_EVENTS:
                self._closed_run(run, ev)

    # ------------------------------------------------------------------ activities

    def _dispatch_activity(self: Engine, run: _Run, ev: Event) -> None:
        name = ev.attributes["activity_type"]
        defn = self.activity_definition(name)
        if defn is None:
            # Registered when the history was written, not now: fail it without retrying.
            err = ApplicationError(
                f"activity {name!r} is not registered with this engine",
                type="NotFoundError",
                non_retryable=True,
            )
            self._submit(
                run,
                E.ACTIVITY_TASK_FAILED,
                {
                    "scheduled_event_id": ev.event_id,
                    "failure": to_failure(err, self.converter),
                    "attempt": 1,
                    "retry_state": 2,
                },
            )
            return
        task = ActivityTask(self, run, ev, defn)
        if not run.activities:
            run.activities = {}
        run.activities[ev.event_id] = task
        task.start()

    def _activity_started(self: Engine, task: ActivityTask) -> None:
        self._inflight += 1
        self.telemetry.activity_attempt_started(task)

    def _activity_ended(self: Engine, task: ActivityTask, err: BaseException | None = None) -> None:
        self._inflight -= 1
        self.telemetry.activity_attempt_ended(task, err)
        if self._inflight == 0:
            self._schedule_skip_check()

    def _activity_resolved(
        self: Engine, task: ActivityTask, outcome: str, attrs: dict[str, Any]
    ) -> None:
        run = task.run
        sched = task.event.event_id
        if run.activities.pop(sched, None) is None or not run.open:
            return
        attrs["scheduled_event_id"] = sched
        self._submit(run, _ACTIVITY_OUTCOME[outcome], attrs)

    # ------------------------------------------------------------------ timers

    def _timer_fired(self: Engine, run: _Run, started_id: int, timer_id: str) -> None:
        if run.timers.pop(started_id, None) is None or not run.open:
            return
        self._submit(run, E.TIMER_FIRED, {"timer_id": timer_id, "started_event_id": started_id})
        self._schedule_skip_check()

    def _workflow_timed_out(self: Engine, run: _Run) -> None:
        if not run.open:
            return
        self._close_from_outside(run, E.WORKFLOW_EXECUTION_TIMED_OUT, {"retry_state": 3})

    # ------------------------------------------------------------------ task failures

    def _retry_task(self: Engine, run: _Run, attempt: int) -> None:
        run.retry_entry = None
        if not run.open:
            return
        del attempt  # the backoff counts run.task_attempts
        self._rebuild(run)
        inst = run.instance
        if inst is None:
            return
        if not inst.blocked:
            run.task_attempts = 0  # the task went through
        elif inst.task_failure is not None and run.retry_entry is None:
            run.task_attempts += 1
            delay = min(self.workflow_task_retry_interval * 2 ** (run.task_attempts - 1), 600.0)
            run.retry_entry = self.timers.call_later(
                delay, self._retry_task, run, run.task_attempts
            )

    def _rebuild(self: Engine, run: _Run) -> None:
        """Replay the run's history into a fresh instance, then deliver held-back inputs live."""
        record = run.record
        inst = WorkflowInstance(engine=self, run=record, defn=run.defn, converter=self.converter)
        run.instance = inst
        deferred = inst.replay()
        if inst.nondeterminism is not None or inst.task_failure is not None:
            # The code no longer fits the history: blocked, visible in describe().
            inst.blocked = True
            inst.deferred = deferred
            last = record.history[-1] if record.history else None
            if last is None or last.event_type is not E.WORKFLOW_TASK_FAILED:
                start = len(record.history)
                self._block(run, inst, None)
                new = record.history[start:]
                self._commit(run, new, None, new if inst.closed else [])
            else:
                self.telemetry.workflow_task_failed(run, inst.nondeterminism or inst.task_failure)
            return
        first = deferred[0] if deferred else None
        if first is not None and first.event_type is E.WORKFLOW_EXECUTION_STARTED:
            due = first.timestamp + float(first.attributes.get("first_task_backoff") or 0)
            if due > self.clock.now():
                # a retry run still in its first-task backoff (after a restart): wait for it
                inst.blocked = True
                inst.deferred = deferred
                if run.retry_entry is None:
                    run.retry_entry = self.timers.call_at(due, self._retry_task, run, 0)
                return
        if record.status is S.RUNNING and inst.closed:
            close = record.history[-1]
            record.status = _CLOSE_STATUS.get(close.event_type, S.RUNNING)
            record.close_time = close.timestamp
        inst.deferred = []
        inst.blocked = False
        self._resume_pending(run)
        while deferred and not inst.closed:
            x = deferred.pop(0)
            start = len(record.history)
            marker = Event(
                start + 1, E.WORKFLOW_TASK_RETRIED, self.clock.now(), {"input_event_id": x.event_id}
            )
            record.history.append(marker)
            if not self._activate(run, inst, x, marker.event_id, start, None):
                inst.deferred.extend(deferred)
                return

    def _resume_pending(self: Engine, run: _Run) -> None:
        """After a replay: restart what the history says is in flight.

        Work whose outcome is already recorded (an input held back by a failed workflow task
        and not yet re-delivered) is not started again.
        """
        inst = run.instance
        if inst is None:
            return
        history = run.record.history
        resolved: set[int] = set()
        for ev in history:
            et = ev.event_type
            a = ev.attributes
            if et in _ACTIVITY_DONE:
                resolved.add(a["scheduled_event_id"])
            elif et is E.TIMER_FIRED or et is E.TIMER_CANCELED:
                resolved.add(a["started_event_id"])
            elif (
                et is E.CHILD_WORKFLOW_EXECUTION_STARTED
                or et is E.START_CHILD_WORKFLOW_EXECUTION_FAILED
            ):
                resolved.add(a["initiated_event_id"])
        for seq in list(inst._activities):
            if seq not in run.activities and seq not in resolved:
                self._dispatch_activity(run, history[seq - 1])
        for seq in list(inst._timers):
            if seq not in run.timers and seq not in resolved:
                a = history[seq - 1].attributes
                if not run.timers:
                    run.timers = {}
                run.timers[seq] = self.timers.call_at(
                    a["fire_at"], self._timer_fired, run, seq, a["timer_id"]
                )
        for seq, (started, _handle) in list(inst._children.items()):
            if not started.done() and seq not in run.children and seq not in resolved:
                self._start_child(run, history[seq - 1])
