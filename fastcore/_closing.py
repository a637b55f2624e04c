"""Closing runs: from outside (terminate, timeout, cancel request) and what follows a close.

When a close event is committed, the run's activities and timers stop, its code is dropped
(a query replays the history), its children follow their parent close policy, its parent
hears how it ended, and a continue-as-new, a workflow retry or a cron schedule starts the
next run of the chain. Whether a retry or the next cron run follows is decided
(``plan_next``) before the close event is written, so the event names the next run.

As Temporal: a failed run is retried while its retry policy allows; after that, and after
a completed run or a run that hit its run timeout, a cron workflow's next run starts at the
next schedule time (``fastcore._cron``), with the same input, ``last_completion_result``
(the latest completed run's result) and ``continued_failure`` (the failure of the run
before, if it failed). A cancelled or terminated run, or the execution timeout, ends the
chain. Task queue, memo and search attributes carry over to every next run: a retry or cron
run gets its start's, a continue-as-new the current ones (or those it names).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ._children import Children
from ._clock import Clock
from ._cron import backoff, parse_cron
from ._definitions import WorkflowDefinition
from ._event_types import (
    ET_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    ET_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    ET_WORKFLOW_EXECUTION_FAILED,
    ET_WORKFLOW_EXECUTION_TERMINATED,
)
from ._pipeline import Pipeline
from ._run import CLOSE_STATUS, Run, new_id
from ._run_table import RunTable
from ._starting import RunStarter
from ._telemetry import Telemetry
from .common import ParentClosePolicy, RetryPolicy
from .errors import TimeoutType
from .history import Event, EventType

_CRON_CLOSES = frozenset(
    {
        EventType.WORKFLOW_EXECUTION_COMPLETED,
        EventType.WORKFLOW_EXECUTION_FAILED,
        EventType.WORKFLOW_EXECUTION_TIMED_OUT,
    }
)

__all__ = ["Closing"]

_NOTHING: dict[Any, Any] = {}
#: the start options a next run takes from the run it follows (unless changed)
_KEPT = (
    "execution_timeout",
    "run_timeout",
    "retry_policy",
    "memo",
    "parent",
    "first_run_id",
    "execution_deadline",
    "task_queue",
    "search_attributes",
    "cron_schedule",
)  # a closed run's activities and timers: never written


class Closing:
    """Closes runs from outside and carries out what a close implies."""

    def __init__(
        self,
        *,
        workflow_definition: Callable[[Any], WorkflowDefinition | None],
        clock: Clock,
        telemetry: Telemetry,
        runs: RunTable,
        pipeline: Pipeline,
        starter: RunStarter,
        children: Children,
        durable: bool,
    ) -> None:
        self._workflow_definition = workflow_definition
        self._clock = clock
        self.telemetry = telemetry
        self._runs = runs
        self._submit = pipeline.submit
        self._commit = pipeline.commit
        self._new_run = starter.new_run
        self._children = children
        self._durable = durable

    # ------------------------------------------------------------------ from outside

    def close_from_outside(
        self, run: Run, etype: EventType, attrs: dict[str, Any]
    ) -> asyncio.Future[None] | None:
        """Close an open run without its code (terminate, time out); a future until durable."""
        record = run.record
        ev = Event(len(record.history) + 1, etype, self._clock.now(), attrs)
        record.history.append(ev)
        record.status = CLOSE_STATUS[etype]
        record.close_time = ev.timestamp
        if run.instance is not None:
            run.instance.closed = True
        waiter = asyncio.get_running_loop().create_future()
        self._commit(run, [ev], waiter, [ev])
        return None if waiter.done() else waiter

    def workflow_timed_out(self, run: Run) -> None:
        """The run's execution or run timeout fired."""
        if not run.open:
            return
        attrs: dict[str, Any] = {"retry_state": 3}
        deadline = run.record.history[0].attributes.get("execution_deadline")
        if not deadline or self._clock.now() < deadline:
            # a run timeout: a cron workflow goes on with its next run
            self.plan_next(run, Event(0, EventType.WORKFLOW_EXECUTION_TIMED_OUT, 0.0, attrs))
        self.close_from_outside(run, EventType.WORKFLOW_EXECUTION_TIMED_OUT, attrs)

    def request_cancel(self, run: Run, reason: str = "") -> asyncio.Future[None] | None:
        """Ask the run to cancel (once); a future until the request is durable."""
        inst = run.instance
        if inst is not None and inst.cancel_requested:
            return None
        for ev in run.record.history:
            if ev.event_type is ET_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
                return None
        return self._submit(
            run,
            ET_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            {"reason": reason},
            wait=self._durable,
        )

    def cancel_child(self, run: Run, ev: Event) -> None:
        """A ``REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED``: cancel that child."""
        child = self._runs.by_workflow_id.get(ev.attributes["workflow_id"])
        if child is not None and child.open:
            self.request_cancel(child)

    # ------------------------------------------------------------------ after a close

    def closed(self, run: Run, ev: Event) -> None:
        """The close event ``ev`` of ``run`` was committed: stop its work, tell the others."""
        if run.activities:
            for act in list(run.activities.values()):
                act.abandon()
        run.activities = _NOTHING
        if run.timers:
            for entry in run.timers.values():
                entry.cancel()
        run.timers = _NOTHING
        if run.timeout_entry is not None:
            run.timeout_entry.cancel()
        if run.retry_entry is not None:
            run.retry_entry.cancel()
        if self.telemetry.enabled:
            self.telemetry.workflow_closed(run, ev)
        if run.instance is not None:
            # A closed run keeps its history only; a query rebuilds its state by replay.
            run.instance.dispose()
            run.instance = None
        # children, by their parent close policy
        for child, policy in self._children.open_children(run) if run.children else ():
            if policy in (ParentClosePolicy.TERMINATE, ParentClosePolicy.UNSPECIFIED):
                self.close_from_outside(
                    child,
                    ET_WORKFLOW_EXECUTION_TERMINATED,
                    {"reason": "by parent close policy", "details": []},
                )
            elif policy == ParentClosePolicy.REQUEST_CANCEL:
                self.request_cancel(child)
        # the parent learns how the child ended
        if run.parent is not None and ev.event_type is not ET_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self._children.notify_parent(run, ev)
        # a next run: continue-as-new, a workflow retry, or the next cron run
        et = ev.event_type
        if et is ET_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self._continue(run, ev)
        elif ev.attributes.get("new_execution_run_id") and et in _CRON_CLOSES:
            if et is ET_WORKFLOW_EXECUTION_FAILED and self._retries(run, ev):
                self._retry(run, ev)
            else:
                self._cron(run, ev)
        self._runs.closed(run)

    def _continue(self, run: Run, ev: Event) -> None:
        a = ev.attributes
        record = run.record
        defn = self._workflow_definition(a["workflow_type"]) or run.defn
        # the options continue_as_new set, else this run's
        given = {k: a[k] for k in ("run_timeout", "retry_policy", "memo", "task_queue") if k in a}
        self._follow(
            run,
            a["new_execution_run_id"],
            defn=defn,
            workflow_type=a["workflow_type"],
            payloads=a.get("input") or [],
            **given,
            # those continue_as_new names, else the run's current ones (upserts included)
            search_attributes=a.get("search_attributes", record.search_attributes),
            # continue_as_new(backoff_start_interval=): the next run's code starts later
            first_task_backoff=a.get("backoff_start_interval") or None,
        )

    def _follow(
        self,
        run: Run,
        run_id: str,
        *,
        defn: WorkflowDefinition | None = None,
        workflow_type: str | None = None,
        payloads: list[Any] | None = None,
        **changed: Any,
    ) -> None:
        """Start the run that follows ``run`` (continue-as-new, a retry, the next cron run):
        the same workflow id, parent and chain, this run's start options but ``changed``."""
        record = run.record
        started = record.history[0].attributes
        options: dict[str, Any] = {key: started.get(key) for key in _KEPT}
        options.update(changed)
        nxt, _ = self._new_run(
            defn or run.defn,
            workflow_type or record.workflow_type,
            record.workflow_id,
            (started.get("input") or []) if payloads is None else payloads,
            continued_run_id=record.run_id,
            run_id=run_id,
            **options,
        )
        nxt.parent = run.parent
        self._children.move_link(run, nxt)

    # ------------------------------------------------------------------ retries and cron

    def _retries(self, run: Run, ev: Event) -> bool:
        """Whether the failed run's retry policy retries the failure ``ev`` records."""
        started = run.record.history[0].attributes
        rp = started.get("retry_policy")
        if not rp:
            return False
        policy = RetryPolicy.from_dict(rp)
        attempt = int(started.get("attempt") or 1)
        failure = ev.attributes.get("failure") or {}
        info = failure.get("application_failure_info") or {}
        etype = info.get("type") or ""
        if info.get("non_retryable") or (
            policy.non_retryable_error_types and etype in policy.non_retryable_error_types
        ):
            return False
        return not (policy.maximum_attempts and attempt >= policy.maximum_attempts)

    def _cron_delay(self, run: Run, close_time: float) -> float | None:
        """Seconds from ``close_time`` to the next cron run; None: not a cron workflow, or
        its schedule has no next time."""
        schedule = run.record.history[0].attributes.get("cron_schedule")
        if not schedule:
            return None
        start = run.record.execution_time or run.record.start_time
        return backoff(parse_cron(schedule), start, close_time)

    def plan_next(self, run: Run, ev: Event) -> None:
        """Before a close event is written: name the run that follows it, if any (a retry
        of a failed run, or a cron workflow's next run)."""
        et = ev.event_type
        if et not in _CRON_CLOSES:
            return
        started = run.record.history[0].attributes
        if not started.get("retry_policy") and not started.get("cron_schedule"):
            return  # the common case: nothing follows
        if (et is EventType.WORKFLOW_EXECUTION_FAILED and self._retries(run, ev)) or (
            self._cron_delay(run, self._clock.now()) is not None
        ):
            ev.attributes["new_execution_run_id"] = new_id()

    def _retry(self, run: Run, ev: Event) -> None:
        """Start the retry run that ``plan_next`` named, after the policy's backoff."""
        started = run.record.history[0].attributes
        rp = started.get("retry_policy")
        assert rp is not None
        attempt = int(started.get("attempt") or 1)
        delay = RetryPolicy.from_dict(rp).backoff(attempt)
        self._follow(
            run,
            ev.attributes["new_execution_run_id"],
            attempt=attempt + 1,
            first_task_backoff=max(delay, 1e-6),
            last_completion_result=started.get("last_completion_result"),
            continued_failure=ev.attributes.get("failure"),
        )

    def _cron(self, run: Run, ev: Event) -> None:
        """Start a cron workflow's next run, waiting until its schedule time."""
        record = run.record
        started = record.history[0].attributes
        delay = self._cron_delay(run, ev.timestamp)
        if delay is None:
            return
        et = ev.event_type
        if et is EventType.WORKFLOW_EXECUTION_COMPLETED:
            last_result = ev.attributes.get("result")
            failure = None
        else:
            last_result = started.get("last_completion_result")
            failure = ev.attributes.get("failure") or _run_timed_out(record.workflow_type)
        self._follow(
            run,
            ev.attributes["new_execution_run_id"],
            first_task_backoff=max(delay, 1e-6),
            last_completion_result=last_result,
            continued_failure=failure,
            now=ev.timestamp,  # the backoff counts from the close, so it ends on the slot
        )


def _run_timed_out(workflow_type: str) -> dict[str, Any]:
    """The failure a run that hit its run timeout leaves for the next cron run."""
    return {
        "message": f"workflow {workflow_type!r} timed out",
        "source": "fastcore",
        "stack_trace": "",
        "cause": None,
        "timeout_failure_info": {
            "timeout_type": int(TimeoutType.START_TO_CLOSE),
            "last_heartbeat_details": [],
        },
    }
