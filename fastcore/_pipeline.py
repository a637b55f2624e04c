"""The one path every change to a run takes: queue an input, activate, commit, apply effects.

An input event is queued (``submit``); ``drain`` appends it to the run's history, lets the
run's code react (``WorkflowInstance.activate``), hands the new events to the store in one
append and applies the commands' effects (start activities, arm timers, start children) at
once. What callers are told (acknowledgments, results, watched events) waits until the store
says the events are durable. Work that completes without real I/O is queued and processed in
the same pass, so a workflow of instant activities finishes inside one call.

The effects belong to other parts (activities and timers, children, closing); the engine
connects them once, as bound methods, so an effect costs one call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from ._clock import Clock
from ._event_types import (
    ET_ACTIVITY_TASK_CANCEL_REQUESTED,
    ET_ACTIVITY_TASK_SCHEDULED,
    ET_MARKER_RECORDED,
    ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ET_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    ET_TIMER_CANCELED,
    ET_TIMER_STARTED,
    ET_WORKFLOW_EXECUTION_COMPLETED,
    ET_WORKFLOW_EXECUTION_FAILED,
    ET_WORKFLOW_EXECUTION_SIGNALED,
    ET_WORKFLOW_EXECUTION_STARTED,
    ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
)
from ._instance import WorkflowInstance, is_with_start
from ._notify import Notifier
from ._run import CLOSE_STATUS, Run
from ._run_table import damage_of
from ._store import Store
from ._telemetry import Telemetry
from ._time_skip import TimeSkipper
from .common import WorkflowExecutionStatus
from .history import CLOSE_EVENTS, Event, EventType

__all__ = ["Pipeline", "RunEffect", "RunFault"]

_log = logging.getLogger("fastcore.engine")
_new_event = object.__new__

_STARTED = ET_WORKFLOW_EXECUTION_STARTED
#: the events whose commit asks for more than a scheduled activity does (``_effect``)
_WITH_EFFECTS = CLOSE_EVENTS | {
    ET_TIMER_STARTED,
    ET_TIMER_CANCELED,
    ET_ACTIVITY_TASK_CANCEL_REQUESTED,
    ET_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ET_MARKER_RECORDED,
}
_RUNNING = WorkflowExecutionStatus.RUNNING
_ACKNOWLEDGED = CLOSE_EVENTS | {ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED}
_NO_EVENTS: list[Event] = []  # never written
_NEXT_RUN_CLOSES = (ET_WORKFLOW_EXECUTION_FAILED, ET_WORKFLOW_EXECUTION_COMPLETED)

#: What an effect does with the event that asks for it.
RunEffect = Callable[[Run, Event], None]
#: Records a failed workflow task (the run stays open, blocked): run, instance, its input.
BlockTask = Callable[[Run, WorkflowInstance, Event | None], None]
#: The engine raised while handling a run: fail that run's workflow task (run, error, where).
RunFault = Callable[[Run, BaseException, str], None]

_Input = tuple[Run, EventType, dict[str, Any], asyncio.Future[None] | None]


def _with_start_so_far(inst: WorkflowInstance, end: int) -> bool:
    """Whether a run waiting out its first-task backoff holds nothing but its start and what
    arrived with it (the first ``end`` events of its history): a signal joins them."""
    if len(inst.deferred) != 1 or not inst.waits_first_task():
        return False
    history = inst.history
    return all(is_with_start(history[k]) for k in range(1, end))


def _unconnected(*_: Any) -> None:
    raise RuntimeError("the engine's pipeline was used before its parts were connected")


class Pipeline:
    """Queues inputs to runs and processes them: activation, commit, effects."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        telemetry: Telemetry,
        notifier: Notifier,
        skipper: TimeSkipper,
    ) -> None:
        self.queue: deque[_Input] = deque()
        self.draining = False
        #: appends waiting for a store commit, by the awaitable the store returned (one per
        #: group commit: a store may hand the same one to every append it commits together);
        #: each append's (run, events to acknowledge, waiter, commit start) laid out flat, one
        #: list per group and no tuple per append for the collector to walk until the commit
        self._groups: dict[Any, list[Any]] = {}
        self._append = store.append
        self._registers_only = store.registers_only
        self._clock = clock
        self._now = clock.now
        self.telemetry = telemetry
        self._acknowledge = notifier.acknowledge
        self._notify_watchers = notifier.notify_watchers
        self._skipper = skipper
        skipper.watch_inputs(self.queue)
        # the other parts, set by connect()
        self._block: BlockTask = _unconnected
        self._plan_next: RunEffect = _unconnected
        self._schedule_activity: RunEffect = _unconnected
        self._cancel_activity: RunEffect = _unconnected
        self._start_timer: RunEffect = _unconnected
        self._cancel_timer: RunEffect = _unconnected
        self._start_child: RunEffect = _unconnected
        self._cancel_child: RunEffect = _unconnected
        self._signal_external: RunEffect = _unconnected
        self._start_local: Callable[[Run, dict[str, Any]], None] = _unconnected
        self._cancel_local: RunEffect = _unconnected
        self._closed: RunEffect = _unconnected
        self._fault: RunFault = _unconnected

    def connect(
        self,
        *,
        block: BlockTask,
        plan_next: RunEffect,
        schedule_activity: RunEffect,
        cancel_activity: RunEffect,
        start_timer: RunEffect,
        cancel_timer: RunEffect,
        start_child: RunEffect,
        cancel_child: RunEffect,
        signal_external: RunEffect,
        start_local: Callable[[Run, dict[str, Any]], None],
        cancel_local: RunEffect,
        closed: RunEffect,
        fault: RunFault,
    ) -> None:
        """Hand the pipeline the parts that act on what an activation produced."""
        self._block = block
        self._plan_next = plan_next
        self._schedule_activity = schedule_activity
        self._cancel_activity = cancel_activity
        self._start_timer = start_timer
        self._cancel_timer = cancel_timer
        self._start_child = start_child
        self._cancel_child = cancel_child
        self._signal_external = signal_external
        self._start_local = start_local
        self._cancel_local = cancel_local
        self._closed = closed
        self._fault = fault

    # ------------------------------------------------------------------ the activation loop

    def submit(
        self, run: Run, etype: EventType, attrs: dict[str, Any], wait: bool = False
    ) -> asyncio.Future[None] | None:
        """Queue an input for ``run``; with ``wait``, a future that completes once it is
        durable (None when it already is)."""
        waiter = asyncio.get_running_loop().create_future() if wait else None
        self.queue.append((run, etype, attrs, waiter))
        if not self.draining:
            self.drain()
        if waiter is not None and waiter.done():
            return None
        return waiter

    def drain(self) -> None:
        """Process queued inputs until none is left (re-entrant calls return at once)."""
        if self.draining:
            return
        self.draining = True
        queue = self.queue
        try:
            while queue:
                run, etype, attrs, waiter = queue.popleft()
                try:
                    self._process(run, etype, attrs, waiter)
                except Exception as err:  # one run's fault must not wedge every workflow
                    if waiter is not None and not waiter.done():
                        waiter.set_exception(err)
                    self._fault(run, err, f"processing {etype.value}")
        finally:
            self.draining = False

    def _process(
        self,
        run: Run,
        etype: EventType,
        attrs: dict[str, Any],
        waiter: asyncio.Future[None] | None,
    ) -> None:
        inst = run.instance
        if etype is _STARTED:
            assert inst is not None
            history = inst.history
            start = 0
            event = history[0]
        else:
            if run.record.status is not _RUNNING:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                return
            if inst is None:
                # a run whose rows cannot be read: nothing is ever appended to it
                if waiter is not None and not waiter.done():
                    waiter.set_exception(damage_of(run))
                return
            history = inst.history  # the record's (an open run's history is never packed)
            start = len(history)
            event = _new_event(Event)  # (no __init__ frame: every input makes one)
            event.event_id = start + 1
            event.event_type = etype
            event.timestamp = self._now()
            event.attributes = attrs
            history.append(event)
        if inst.blocked:
            if etype is ET_WORKFLOW_EXECUTION_SIGNALED and _with_start_so_far(inst, start):
                # A run waiting out its start delay (or a retry or cron backoff): as Temporal,
                # the signal arrives with the first workflow task, recorded with the start.
                attrs["with_start"] = True
            else:
                # A failed workflow task holds inputs back; the retry delivers them in order.
                inst.deferred.append(event)
            self.commit(run, history[start:], waiter, [])
            return
        self.activate(run, inst, event, None, start, waiter)

    def activate(
        self,
        run: Run,
        inst: WorkflowInstance,
        event: Event,
        after: int | None,
        start: int,
        waiter: asyncio.Future[None] | None,
    ) -> bool:
        """Run one activation live and commit it; False when the workflow task failed."""
        history = inst.history
        try:
            inst.activate(event, after)
        except Exception as err:  # the engine's own handling raised: the task fails
            _log.warning(
                "fastcore engine error while delivering %s to workflow %r (run %s): %s: %s; "
                "the run's workflow task fails and is retried",
                event.event_type.value,
                run.record.workflow_id,
                run.record.run_id,
                type(err).__name__,
                err,
                exc_info=err,
            )
            inst.fail_task(err)
        local = inst.commands.local
        requests = None
        if local is not None and local.requests:
            requests, local.requests = local.requests, []
        if inst.nondeterminism is not None or inst.task_failure is not None:
            # Drop the activation's commands, keep its input, mark the failure (Temporal).
            keep = after if after is not None else event.event_id
            if event.event_type is _STARTED:
                while keep < len(history) and is_with_start(history[keep]):
                    keep += 1
            del history[keep:]
            self._block(run, inst, event)
            new = history[start:]
            # a failure type listed in failure_exception_types closed the run instead
            self.commit(run, new, waiter, new if inst.closed else [])
            return False
        new = history[start:]
        if inst.closed:
            record = run.record
            close = new[-1]
            record.status = CLOSE_STATUS[close.event_type]
            record.close_time = close.timestamp
            if close.event_type in _NEXT_RUN_CLOSES:
                self._plan_next(run, close)  # a retry or cron run names itself in the event
        self.commit(run, new, waiter, new)
        if requests and local is not None and not inst.closed:
            # local activities asked for by this activation (their outcome is its next input)
            for seq in requests:
                entry = local.pending.get(seq)
                if entry is not None:
                    self._start_local(run, entry[1])
        return True

    def commit(
        self,
        run: Run,
        new: list[Event],
        waiter: asyncio.Future[None] | None,
        effects: list[Event],
    ) -> None:
        """Append ``new`` to the store, apply ``effects``; tell callers once it is durable."""
        if run.stored:
            fut = None
        else:
            try:
                fut = self._append(run.record, new)
            except Exception:
                self._unrecorded(run, new)
                raise
            run.stored = self._registers_only
        # Internal effects (start activities, arm timers, start children) need not wait for
        # the commit: activities are at-least-once, and a crash before the commit replays
        # and issues them again. What a caller is told (start, signal and update acks,
        # results, watched events) waits until the events are durable.
        if effects:
            try:
                for ev in effects:  # (``_effects``, inline: every activation has some)
                    et = ev.event_type
                    if et is ET_ACTIVITY_TASK_SCHEDULED:
                        self._schedule_activity(run, ev)
                    elif et in _WITH_EFFECTS:
                        self._effect(run, ev)
            except Exception as err:  # the retry rebuilds the run and applies them again
                self._fault(run, err, "applying the effects of an activation")
        if fut is None:
            if run.close_waiters or run.update_waiters:
                self._acknowledge(run, effects)
            if run.watchers:
                self._notify_watchers(run)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        self._skipper.pending_commits += 1
        if effects:
            # Hold only what the acknowledgement reads: the rest of the activation's events
            # are serialized already, and kept alive they are what full collections walk.
            effects = [e for e in effects if e.event_type in _ACKNOWLEDGED] or _NO_EVENTS
            if run.record.status is not _RUNNING:
                run.record.hold_packed()
        started = self.telemetry.journal_commit_started()
        group = self._groups.get(fut)
        if group is not None:  # a store's group commit: one callback for all its appends
            group += (run, effects, waiter, started)
            return
        self._groups[fut] = [run, effects, waiter, started]
        asyncio.ensure_future(fut).add_done_callback(functools.partial(self._committed, fut))

    def _committed(self, key: Any, fut: asyncio.Future[None]) -> None:
        """The commit ``key`` stands for is done: tell its appends' callers, in order."""
        group = self._groups.pop(key)
        exc: BaseException | None = None
        try:
            fut.result()
        except BaseException as err:
            exc = err
        skipper = self._skipper
        for i in range(0, len(group), 4):
            run: Run = group[i]
            effects: list[Event] = group[i + 1]
            waiter: asyncio.Future[None] | None = group[i + 2]
            commit_started = group[i + 3]
            try:
                skipper.pending_commits -= 1
                self.telemetry.journal_committed(commit_started)
                if exc is None:
                    self._acknowledge(run, effects)
                    self._notify_watchers(run)
                    self.drain()
                if waiter is not None and not waiter.done():
                    if exc is None:
                        waiter.set_result(None)
                    else:
                        waiter.set_exception(exc)
            except Exception as err:  # as asyncio reports a failing callback; go on
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "telling callers about a commit failed", "exception": err}
                )
        skipper.schedule()

    @staticmethod
    def _unrecorded(run: Run, new: list[Event]) -> None:
        """The store refused ``new``: take them off the in-memory history too, so the history
        a retry rebuilds from is the one recorded (the run reopens if they closed it)."""
        record = run.record
        history = record.history
        if not new or not history or history[-1] is not new[-1]:
            return
        del history[len(history) - len(new) :]
        if any(e.event_type in CLOSE_EVENTS for e in new):
            record.status = WorkflowExecutionStatus.RUNNING
            record.close_time = None

    def _effect(self, run: Run, ev: Event) -> None:
        """Apply what one event of an activation (other than a scheduled activity) asks for."""
        et = ev.event_type
        if et is ET_TIMER_STARTED:
            self._start_timer(run, ev)
        elif et is ET_TIMER_CANCELED:
            self._cancel_timer(run, ev)
        elif et is ET_ACTIVITY_TASK_CANCEL_REQUESTED:
            self._cancel_activity(run, ev)
        elif et is ET_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            self._start_child(run, ev)
        elif et is ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            self._cancel_child(run, ev)
        elif et is ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            self._signal_external(run, ev)
        elif et is ET_MARKER_RECORDED and ev.attributes.get("failure") is not None:
            self._cancel_local(run, ev)  # a local activity the workflow cancelled
        elif et in CLOSE_EVENTS:
            self._closed(run, ev)
