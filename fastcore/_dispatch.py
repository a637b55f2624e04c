"""Running what runs schedule: activity attempts and durable timers, reported back as inputs.

An ``ACTIVITY_TASK_SCHEDULED`` event becomes an ``ActivityTask`` (attempts, retries,
timeouts); a ``TIMER_STARTED`` event becomes a deadline on the engine's clock. Their outcomes
(``ACTIVITY_TASK_COMPLETED`` and the like, ``TIMER_FIRED``) go back to the run through the
pipeline. Plain ``def`` activities run in a thread pool this part owns (unless the user gave
one).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ._activities import ActivityTask
from ._clock import Clock
from ._commands import LOCAL_ACTIVITY_MARKER
from ._converter import DataConverter, default_converter
from ._definitions import ActivityDefinition
from ._event_types import (
    ET_ACTIVITY_TASK_CANCELED,
    ET_ACTIVITY_TASK_COMPLETED,
    ET_ACTIVITY_TASK_FAILED,
    ET_ACTIVITY_TASK_SCHEDULED,
    ET_ACTIVITY_TASK_TIMED_OUT,
    ET_MARKER_RECORDED,
    ET_TIMER_FIRED,
)
from ._failure import to_failure
from ._pipeline import Pipeline
from ._run import Run
from ._signal import Signal
from ._telemetry import Telemetry
from ._time_skip import TimeSkipper
from ._timers import TimerService
from .common import WorkflowExecutionStatus
from .errors import ApplicationError
from .history import Event

__all__ = ["Dispatcher", "local_key", "local_marker"]

_log = logging.getLogger("fastcore.worker")
_CANCEL_WAIT = 1.0  # seconds shutdown waits for cancelled activities to unwind
_LOCAL_KEYS = 1 << 40  # local activities sit in Run.activities above every event id


def local_key(seq: int) -> int:
    """Where local activity ``seq`` sits in ``Run.activities`` (apart from event ids)."""
    return _LOCAL_KEYS + seq


def local_marker(
    spec: dict[str, Any],
    attempt: int,
    *,
    outcome: str = "failed",
    attrs: dict[str, Any] | None = None,
    err: BaseException | None = None,
    complete_time: float | None = None,
) -> dict[str, Any]:
    """The ``core_local_activity`` marker recording a local activity's outcome."""
    attrs = attrs or {}
    failure = attrs.get("failure")
    if err is not None:
        failure = to_failure(err, default_converter)
    elif outcome == "canceled":
        failure = {
            "message": "Activity cancelled",
            "source": "fastcore",
            "stack_trace": "",
            "cause": None,
            "canceled_failure_info": {"details": attrs.get("details") or []},
        }
    return {
        "marker_name": LOCAL_ACTIVITY_MARKER,
        "details": {
            "seq": spec["seq"],
            "attempt": attempt,
            "activity_id": spec["activity_id"],
            "activity_type": spec["activity_type"],
            "complete_time": complete_time,
            "original_schedule_time": spec["scheduled_at"],
            "result": attrs.get("result") if outcome == "completed" else None,
        },
        "failure": failure if outcome != "completed" else None,
    }


_ACTIVITY_OUTCOME = {
    "completed": ET_ACTIVITY_TASK_COMPLETED,
    "failed": ET_ACTIVITY_TASK_FAILED,
    "timed_out": ET_ACTIVITY_TASK_TIMED_OUT,
    "canceled": ET_ACTIVITY_TASK_CANCELED,
}


_RUNNING = WorkflowExecutionStatus.RUNNING


def _reraise(task: ActivityTask[Run], err: BaseException) -> None:
    raise err


class Dispatcher:
    """Starts the activities and timers runs schedule; their outcomes become inputs."""

    def __init__(
        self,
        *,
        activity_definition: Callable[[str], ActivityDefinition | None],
        clock: Clock,
        timers: TimerService,
        converter: DataConverter,
        telemetry: Telemetry,
        skipper: TimeSkipper,
        pipeline: Pipeline,
        executor: concurrent.futures.Executor | None,
        max_threads: int | None,
    ) -> None:
        self._activity_definition = activity_definition
        #: activity definitions by name, as found (the registry is fixed): one dict lookup
        self._by_name: dict[str, ActivityDefinition] = {}
        self.clock = clock
        self.timers = timers
        self.converter = converter
        self.telemetry = telemetry
        self._skipper = skipper
        self._submit = pipeline.submit
        self._pipeline = pipeline
        self._queue = pipeline.queue
        self._own_executor = executor is None
        self._executor_size = max_threads
        self._executor = executor
        #: what a fault while handling an activity does (the engine connects ``Faults``)
        self.fault: Callable[[ActivityTask[Run], BaseException], None] = _reraise
        #: set when the engine begins to shut down: no new activity or attempt starts
        self.shutdown_signal = Signal()
        #: the same as a plain flag (``begin_shutdown``): read on every activity's path
        self.shutting_down = False
        #: what ``activity.client()`` answers: the engine (it sets itself here)
        self.client: Any = None

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The pool plain ``def`` activities run in."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._executor_size, thread_name_prefix="fastcore-activity"
            )
        return self._executor

    def begin_shutdown(self) -> None:
        """The engine shuts down: no new activity or attempt starts from now on."""
        self.shutting_down = True
        self.shutdown_signal.set()

    # ------------------------------------------------------------------ activities

    def schedule_activity(self, run: Run, ev: Event) -> None:
        """Start the activity an ``ACTIVITY_TASK_SCHEDULED`` event asks for."""
        if self.shutting_down:
            return  # shutting down: a recovery starts it (the event is in the history)
        name = ev.attributes["activity_type"]
        defn = self._by_name.get(name) or self._activity_definition(name)
        if defn is None:
            # Registered when the history was written, not now: fail it without retrying.
            err = ApplicationError(
                f"activity {name!r} is not registered with this engine",
                type="NotFoundError",
                non_retryable=True,
            )
            self._submit(
                run,
                ET_ACTIVITY_TASK_FAILED,
                {
                    "scheduled_event_id": ev.event_id,
                    "failure": to_failure(err, self.converter),
                    "attempt": 1,
                    "retry_state": 2,
                },
            )
            return
        self._by_name[name] = defn
        task = ActivityTask(self, run, ev, defn)
        if not run.activities:
            run.activities = {}
        run.activities[ev.event_id] = task
        try:
            if task.schedule_deadline is None:
                task._run_attempt()  # (``start`` with no schedule-to-close deadline to arm)
            else:
                task.start()
        except Exception as err:  # the engine's handling raised, not the activity
            self.fault(task, err)

    def start_local(self, run: Run, spec: dict[str, Any]) -> None:
        """Start a local activity (asked for by an activation, or pending after a replay)."""
        if self.shutting_down:
            return
        key = local_key(spec["seq"])
        if key in run.activities:
            return  # already running
        name = spec["activity_type"]
        defn = self._activity_definition(name)
        event = Event(key, ET_ACTIVITY_TASK_SCHEDULED, spec["scheduled_at"], spec)
        if defn is None:
            err = ApplicationError(
                f"activity {name!r} is not registered with this engine",
                type="NotFoundError",
                non_retryable=True,
            )
            marker = local_marker(spec, 1, err=err, complete_time=self.clock.now())
            self._submit(run, ET_MARKER_RECORDED, marker)
            return
        task = ActivityTask(self, run, event, defn)
        task.local = spec["seq"]
        if not run.activities:
            run.activities = {}
        run.activities[key] = task
        try:
            task.start()
        except Exception as err:  # the engine's handling raised, not the activity
            self.fault(task, err)

    def cancel_local(self, run: Run, ev: Event) -> None:
        """The workflow cancelled a local activity (its marker is recorded): stop it."""
        d = ev.attributes.get("details") or {}
        if ev.attributes.get("marker_name") != LOCAL_ACTIVITY_MARKER:
            return
        act = run.activities.pop(local_key(int(d.get("seq") or 0)), None)
        if act is not None:
            act.abandon()

    def cancel_activity(self, run: Run, ev: Event) -> None:
        """Deliver an ``ACTIVITY_TASK_CANCEL_REQUESTED`` to the running activity."""
        act = run.activities.get(ev.attributes["scheduled_event_id"])
        if act is not None:
            act.cancel()

    def activity_started(self, task: ActivityTask[Run], noted: bool = False) -> None:
        """An attempt is in flight: time cannot skip, telemetry starts its span (unless
        ``noted``: it did when the attempt began)."""
        self._skipper.inflight += 1
        if not noted:
            self.telemetry.activity_attempt_started(task)

    def activity_ended(self, task: ActivityTask[Run], err: BaseException | None = None) -> None:
        """An attempt that was in flight ended (``err`` if it failed)."""
        skipper = self._skipper
        skipper.inflight -= 1
        self.telemetry.activity_attempt_ended(task, err)
        if skipper.inflight == 0:
            skipper.schedule()

    def activity_fault(self, task: ActivityTask[Run], err: BaseException) -> None:
        """Handling an attempt raised inside the engine: the run's task fails (``fault``)."""
        self.fault(task, err)

    def activity_resolved(
        self, task: ActivityTask[Run], outcome: str, attrs: dict[str, Any]
    ) -> None:
        """The activity is done: its outcome becomes the run's next input."""
        run = task.run
        sched = task.event.event_id
        if run.activities.pop(sched, None) is None or run.record.status is not _RUNNING:
            return
        if task.local:
            # a local activity's outcome: its marker, as Temporal records it
            self._submit(
                run,
                ET_MARKER_RECORDED,
                local_marker(
                    task.event.attributes,
                    task.attempt,
                    outcome=outcome,
                    attrs=attrs,
                    complete_time=self.clock.now(),
                ),
            )
            return
        attrs["scheduled_event_id"] = sched
        if self._pipeline.draining and not task.wait_durable:
            # the common case, an outcome inside an activation's effects: queued (``submit``)
            self._queue.append((run, _ACTIVITY_OUTCOME[outcome], attrs, None))
            task.external_waiter = None
            return
        # an outcome reported through an AsyncActivityHandle returns once it is durable
        task.external_waiter = self._submit(
            run, _ACTIVITY_OUTCOME[outcome], attrs, wait=task.wait_durable
        )

    async def let_finish(self, runs: Iterable[Run], grace: float) -> None:
        """Wait up to ``grace`` seconds for the attempts in flight (a graceful shutdown: their
        outcomes are recorded)."""
        running = []
        for run in runs:
            for act in run.activities.values():
                t = act._task
                if isinstance(t, asyncio.Future) and not t.done():
                    running.append(t)
        if running:
            await asyncio.wait(running, timeout=grace)

    async def abandon_all(self, runs: Iterable[Run]) -> None:
        """Cancel every running activity (the engine shuts down; nothing is reported, the
        runs stay open) and wait a moment for each to unwind; name in a WARNING each one that
        did not (a thread cannot be killed)."""
        running: dict[asyncio.Future[Any], ActivityTask[Run]] = {}
        for run in runs:
            for act in list(run.activities.values()):
                t = act.abandon(shutdown=True)
                if isinstance(t, asyncio.Future):
                    running[t] = act
        if not running:
            return
        _, stuck = await asyncio.wait(running, timeout=_CANCEL_WAIT)
        for fut in stuck:
            act = running[fut]
            a = act.event.attributes
            _log.warning(
                "activity %r (id %r of workflow %r) did not stop within %.1f s of its "
                "cancellation at engine shutdown%s",
                a["activity_type"],
                a["activity_id"],
                act.run.record.workflow_id,
                _CANCEL_WAIT,
                ""
                if act.defn.is_async
                else (
                    "; its thread still runs and delays interpreter exit "
                    "(no_thread_cancel_exception=True, or a blocking call)"
                ),
            )

    def shutdown_executor(self) -> None:
        """Shut the thread pool down if this part made it."""
        if self._executor is not None and self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ timers

    def start_timer(self, run: Run, ev: Event) -> None:
        """Arm the durable timer a ``TIMER_STARTED`` event records."""
        self.arm_timer(run, ev.event_id, ev.attributes)

    def arm_timer(self, run: Run, started_id: int, attrs: dict[str, Any]) -> None:
        """Arm timer ``started_id`` at its ``fire_at`` (also after a replay)."""
        if not run.timers:
            run.timers = {}
        run.timers[started_id] = self.timers.call_at(
            attrs["fire_at"], self._timer_fired, run, started_id, attrs["timer_id"]
        )

    def cancel_timer(self, run: Run, ev: Event) -> None:
        """Disarm the timer a ``TIMER_CANCELED`` event names."""
        entry = run.timers.pop(ev.attributes["started_event_id"], None)
        if entry is not None:
            entry.cancel()

    def _timer_fired(self, run: Run, started_id: int, timer_id: str) -> None:
        if run.timers.pop(started_id, None) is None or not run.open:
            return
        self._submit(run, ET_TIMER_FIRED, {"timer_id": timer_id, "started_event_id": started_id})
        self._skipper.schedule()
