"""Making new runs: a client's start, a child, a continue-as-new, a workflow retry.

A new run gets its record, its ``WORKFLOW_EXECUTION_STARTED`` event (and a signal sent with
the start), its execution/run deadline and its code instance, and is queued for its first
activation. A retry run waits out its backoff first, blocked, as Temporal's first workflow
task backoff does.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable
from typing import Any

from ._converter import DataConverter
from ._definitions import WorkflowDefinition
from ._environment import WorkflowEnvironment
from ._event_types import (
    ET_WORKFLOW_EXECUTION_SIGNALED,
    ET_WORKFLOW_EXECUTION_STARTED,
)
from ._instance import WorkflowInstance
from ._pipeline import Pipeline
from ._run import Run, _ids, new_id
from ._run_table import RunTable
from ._search_attributes import Encoded
from ._store import DEFAULT_TASK_QUEUE, RunRecord
from ._telemetry import Telemetry
from ._timers import TimerService
from .history import Event

__all__ = ["RunStarter"]


def _unconnected(*_: Any) -> None:
    raise RuntimeError("the engine's run starter was used before its parts were connected")


class RunStarter:
    """Creates runs and queues their first activation."""

    def __init__(
        self,
        *,
        runs: RunTable,
        env: WorkflowEnvironment,
        converter: DataConverter,
        timers: TimerService,
        telemetry: Telemetry,
        pipeline: Pipeline,
        durable: bool,
    ) -> None:
        self._runs = runs
        self._env = env
        self._converter = converter
        self._timers = timers
        self.telemetry = telemetry
        self._submit = pipeline.submit
        self._commit = pipeline.commit
        self._durable = durable
        self._rng = _random.Random(_ids.getrandbits(64))  # workflow seeds; see seed_ids
        # set by connect()
        self._timed_out: Callable[[Run], None] = _unconnected
        self._retry_task: Callable[[Run, int], None] = _unconnected

    def connect(
        self, *, timed_out: Callable[[Run], None], retry_task: Callable[[Run, int], None]
    ) -> None:
        """Hand over what a run's deadline and its first-task backoff call when due."""
        self._timed_out = timed_out
        self._retry_task = retry_task

    def new_run(
        self,
        defn: WorkflowDefinition,
        name: str,
        workflow_id: str,
        payloads: list[Any],
        *,
        execution_timeout: float | None = None,
        run_timeout: float | None = None,
        retry_policy: dict[str, Any] | None = None,
        memo: dict[str, Any] | None = None,
        signal: tuple[str, Any, list[Any]] | None = None,
        parent: dict[str, Any] | None = None,
        continued_run_id: str | None = None,
        first_run_id: str | None = None,
        attempt: int = 1,
        run_id: str | None = None,
        execution_deadline: float | None = None,
        first_task_backoff: float | None = None,
        start_updates: Any = None,
        start_args: list[Any] | None = None,
        request_id: str | None = None,
        task_queue: str | None = None,
        search_attributes: Encoded | None = None,
        cron_schedule: str | None = None,
        last_completion_result: Any = None,
        continued_failure: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> tuple[Run, asyncio.Future[None] | None]:
        """Make a run and queue its first activation.

        A run whose code must wait (a retry's backoff, a cron run until its schedule time)
        has ``first_task_backoff`` seconds (counted from ``now``, the clock's time by
        default, which a cron run's start takes from its predecessor's close). Returns the
        run and, when the store is durable, a future that completes once its start is
        durable (None when it already is).
        """
        if now is None:
            now = self._env.clock_now()
        run_id = run_id or new_id()
        history: list[Event] = []
        record = RunRecord(workflow_id, run_id, name, now, history=history)
        if task_queue == DEFAULT_TASK_QUEUE:
            task_queue = None  # the default is not recorded
        if task_queue:
            record.task_queue = task_queue
        if memo:
            record.memo = memo
        if search_attributes:
            record.search_attributes = search_attributes
        run = Run(record, defn)
        if parent is not None:
            run.parent = (parent["workflow_id"], parent["run_id"], parent["initiated_event_id"])
            record.parent = (parent["workflow_id"], parent["run_id"])
        # the run's clocks start when its code may first run (Temporal adds the first
        # workflow task backoff to the run and execution expirations)
        begins = now + (first_task_backoff or 0.0)
        if not execution_deadline and execution_timeout:
            execution_deadline = begins + execution_timeout
        attrs: dict[str, Any] = {
            "workflow_type": name,
            "workflow_id": workflow_id,
            "run_id": run_id,
            "input": payloads,
            "attempt": attempt,
            "parent": parent,
            "continued_run_id": continued_run_id,
            "first_run_id": first_run_id or run_id,
            "execution_timeout": execution_timeout,
            "run_timeout": run_timeout,
            "execution_deadline": execution_deadline or None,
            "memo": memo or {},
            "retry_policy": retry_policy,
            "seed": self._rng.getrandbits(63),
        }
        if first_task_backoff:
            attrs["first_task_backoff"] = first_task_backoff
            record.execution_time = now + first_task_backoff
        if request_id:
            attrs["request_id"] = request_id
        # recorded only when given, so a plain start's event stays as small as it was
        if task_queue:
            attrs["task_queue"] = task_queue
        if search_attributes:
            attrs["search_attributes"] = search_attributes
        if cron_schedule:
            attrs["cron_schedule"] = cron_schedule
        if last_completion_result is not None:
            attrs["last_completion_result"] = last_completion_result
        if continued_failure is not None:
            attrs["continued_failure"] = continued_failure
        self._runs.add(run)
        started = Event(1, ET_WORKFLOW_EXECUTION_STARTED, now, attrs)
        history.append(started)
        if signal is not None:
            history.append(
                Event(
                    2,
                    ET_WORKFLOW_EXECUTION_SIGNALED,
                    now,
                    {"signal_name": signal[0], "input": signal[1], "with_start": True},
                )
            )
        if self.telemetry.enabled:
            self.telemetry.workflow_started(run)
        deadline = execution_deadline or None
        if run_timeout:
            deadline = min(deadline or begins + run_timeout, begins + run_timeout)
        if deadline:
            run.timeout_entry = self._timers.call_at(deadline, self._timed_out, run)
        run.instance = WorkflowInstance(
            env=self._env, run=record, defn=defn, converter=self._converter
        )
        # updates sent with the start: validated and accepted by the first activation
        run.instance.start_updates = start_updates
        # the arguments as the start decoded them (the first activation uses them as they are)
        run.instance.start_args = start_args
        if signal is not None and signal[2]:
            run.instance.make_handlers().pending_signals[id(signal[1])] = (signal[1], signal[2])
        if first_task_backoff:
            # A retry or cron run: recorded now (durable), its code first runs after the
            # backoff; inputs meanwhile wait, as for a blocked run (Temporal's first
            # workflow task backoff).
            run.instance.blocked = True
            run.instance.deferred = [started]
            waiter = asyncio.get_running_loop().create_future() if self._durable else None
            self._commit(run, list(record.history), waiter, [])
            run.retry_entry = self._timers.call_at(
                now + first_task_backoff, self._retry_task, run, 0
            )
            return run, None if waiter is None or waiter.done() else waiter
        return run, self._submit(run, ET_WORKFLOW_EXECUTION_STARTED, {}, self._durable)
