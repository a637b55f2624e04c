"""One run's fault stays that run's: the engine goes on when its own handling of a run raises.

An unexpected exception inside the engine while it handles one run (a user's converter or
codec raising where the engine calls it, an attempt whose outcome cannot be recorded, an
effect that cannot be applied) fails that run's workflow task, as a bug in workflow code
does: logged at WARNING with the run and the traceback, visible in ``describe()`` as the
pending task failure, retried with backoff by rebuilding the run from its history (in-flight
activities it broke are dispatched again). Every other run goes on; the timer service and
the activation pipeline never stop on one run's exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._activities import ActivityTask
from ._instance import WorkflowInstance
from ._run import Run
from ._timers import log_callback_error
from .errors import StoreError
from .history import Event

__all__ = ["Faults"]

_log = logging.getLogger("fastcore.engine")


class Faults:
    """Turns the engine's own exceptions while handling a run into that run's task failure."""

    def __init__(
        self,
        *,
        block: Callable[[Run, WorkflowInstance, Event | None], None],
        commit: Callable[[Run, list[Event], Any, list[Event]], None],
        schedule_retry: Callable[[Run], None],
    ) -> None:
        self._block = block
        self._commit = commit
        self._schedule_retry = schedule_retry

    def run_failed(self, run: Run, err: BaseException, where: str) -> None:
        """The engine raised ``err`` while ``where`` for ``run``: fail the run's workflow task."""
        rec = run.record
        _log.warning(
            "fastcore engine error while %s (workflow %r, run %s): %s: %s; the run's workflow "
            "task fails and is retried, other runs go on",
            where,
            rec.workflow_id,
            rec.run_id,
            type(err).__name__,
            err,
            exc_info=err,
        )
        if isinstance(err, StoreError) or not run.open:
            return  # the store refuses every append (it logged why), or the run is over
        inst = run.instance
        if inst is None:
            return
        if inst.blocked or inst.closed:
            # its task failed already, or its close was not recorded: a retry rebuilds the
            # run from its recorded history
            inst.blocked = True
            if run.retry_entry is None:
                self._schedule_retry(run)
            return
        inst.task_failure = err
        start = len(rec.history)
        try:
            self._block(run, inst, None)
            new = rec.history[start:]
            self._commit(run, new, None, new if inst.closed else [])
        except Exception as again:  # nothing more can be done for this run now
            _log.error(
                "fastcore could not record the task failure of workflow %r (run %s): %s: %s",
                rec.workflow_id,
                rec.run_id,
                type(again).__name__,
                again,
            )

    def activity_failed(self, task: ActivityTask[Run], err: BaseException) -> None:
        """Handling an activity attempt raised: drop the attempt, fail the run's task (the
        retry dispatches the activity again)."""
        run = task.run
        try:
            task.abandon()
        except Exception:
            pass  # it is being dropped either way
        seq = task.event.event_id
        if run.activities.get(seq) is task:
            del run.activities[seq]
        name = task.event.attributes.get("activity_type")
        self.run_failed(run, err, f"handling activity {name!r} (attempt {task.attempt})")

    def timer_failed(
        self, callback: Callable[..., Any], args: tuple[Any, ...], err: Exception
    ) -> None:
        """A timer callback raised: fail the task of the run it belonged to."""
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, ActivityTask):
            self.activity_failed(owner, err)
            return
        run = next((a for a in args if isinstance(a, Run)), None)
        if run is None:
            log_callback_error(callback, args, err)
            return
        self.run_failed(run, err, f"running {getattr(callback, '__name__', 'a timer callback')}")
