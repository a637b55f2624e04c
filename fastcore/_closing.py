"""Closing runs: parent close policies, parents, continue-as-new, retries, children."""

# mypy: disable-error-code="misc"
# (the methods are typed with self: Engine; mypy calls that self type "not a supertype")
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ._run_state import (
    _CLOSE_STATUS,
    E,
    _Run,
    new_id,
)
from .common import (
    ParentClosePolicy,
    RetryPolicy,
)
from .errors import (
    ApplicationError,
    WorkflowUpdateFailedError,
)
from .history import CLOSE_EVENTS, Event, EventType

if TYPE_CHECKING:
    from ._engine import Engine


class _Closing:
    """Engine methods: closing runs, parent close policies, continue-as-new, retries, children."""

    # ------------------------------------------------------------------ closing

    def _close_from_outside(
        self: Engine, run: _Run, etype: EventType, attrs: dict[str, Any]
    ) -> asyncio.Future[None] | None:
        record = run.record
        ev = Event(len(record.history) + 1, etype, self.clock.now(), attrs)
        record.history.append(ev)
        record.status = _CLOSE_STATUS[etype]
        record.close_time = ev.timestamp
        if run.instance is not None:
            run.instance.closed = True
        waiter = asyncio.get_running_loop().create_future()
        self._commit(run, [ev], waiter, [ev])
        return None if waiter.done() else waiter

    def _closed_run(self: Engine, run: _Run, ev: Event) -> None:
        record = run.record
        for act in list(run.activities.values()):
            act.abandon()
        run.activities.clear()
        for entry in run.timers.values():
            entry.cancel()
        run.timers.clear()
        if run.timeout_entry is not None:
            run.timeout_entry.cancel()
        if run.retry_entry is not None:
            run.retry_entry.cancel()
        self.telemetry.workflow_closed(run, ev)
        if run.instance is not None:
            # A closed run keeps its history only; a query rebuilds its state by replay.
            run.instance.dispose()
            run.instance = None
        # children, by their parent close policy
        for initiated_id, (_child_id, child_run_id) in list(run.children.items()):
            child = self._by_run_id.get(child_run_id)
            if child is None or not child.open:
                continue
            policy = run.record.history[initiated_id - 1].attributes.get("parent_close_policy")
            if policy in (ParentClosePolicy.TERMINATE, ParentClosePolicy.UNSPECIFIED):
                self._close_from_outside(
                    child,
                    E.WORKFLOW_EXECUTION_TERMINATED,
                    {"reason": "by parent close policy", "details": []},
                )
            elif policy == ParentClosePolicy.REQUEST_CANCEL:
                self._request_cancel(child)
        # the parent learns how the child ended
        if run.parent is not None and ev.event_type is not E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self._notify_parent(run, ev)
        # a next run: continue-as-new, or a workflow retry
        nxt = None
        if ev.event_type is E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            nxt = self._continue(run, ev)
        elif ev.event_type is E.WORKFLOW_EXECUTION_FAILED:
            nxt = self._maybe_retry(run, ev)
        del nxt, record

    def _acknowledge(self: Engine, run: _Run, events: list[Event]) -> None:
        """Tell waiting callers what these (now durable) events mean."""
        if not run.update_waiters and not run.close_waiters:
            return
        for ev in events:
            et = ev.event_type
            if et is E.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                w = run.update_waiters.pop(ev.attributes["update_id"], None)
                if w is not None and not w.done():
                    w.set_result(ev)
            elif et in CLOSE_EVENTS:
                for w in list(run.update_waiters.values()):
                    if not w.done():
                        w.set_exception(
                            WorkflowUpdateFailedError(
                                ApplicationError(
                                    "the workflow closed before the update completed",
                                    type="WorkflowClosed",
                                )
                            )
                        )
                run.update_waiters.clear()
                for cw in run.close_waiters:
                    if not cw.done():
                        cw.set_result(None)
                run.close_waiters.clear()

    def _notify_parent(self: Engine, run: _Run, ev: Event) -> None:
        assert run.parent is not None
        _parent_id, parent_run_id, initiated = run.parent
        parent = self._by_run_id.get(parent_run_id)
        if parent is None or not parent.open:
            return
        if parent.children_closed is None:
            parent.children_closed = set()
        elif initiated in parent.children_closed:
            return
        parent.children_closed.add(initiated)
        started_id = 0
        for pe in parent.record.history:
            if (
                pe.event_type is E.CHILD_WORKFLOW_EXECUTION_STARTED
                and pe.attributes.get("initiated_event_id") == initiated
            ):
                started_id = pe.event_id
        base = {
            "initiated_event_id": initiated,
            "started_event_id": started_id,
            "workflow_id": run.record.workflow_id,
            "run_id": run.record.run_id,
        }
        et = ev.event_type
        a = ev.attributes
        if et is E.WORKFLOW_EXECUTION_COMPLETED:
            self._submit(
                parent, E.CHILD_WORKFLOW_EXECUTION_COMPLETED, {**base, "result": a.get("result")}
            )
        elif et is E.WORKFLOW_EXECUTION_FAILED:
            self._submit(
                parent,
                E.CHILD_WORKFLOW_EXECUTION_FAILED,
                {**base, "failure": a.get("failure"), "retry_state": 2},
            )
        elif et is E.WORKFLOW_EXECUTION_CANCELED:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_CANCELED, {**base, "details": []})
        elif et is E.WORKFLOW_EXECUTION_TERMINATED:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_TERMINATED, base)
        elif et is E.WORKFLOW_EXECUTION_TIMED_OUT:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT, {**base, "retry_state": 3})

    def _continue(self: Engine, run: _Run, ev: Event) -> _Run | None:
        a = ev.attributes
        started = run.record.history[0].attributes
        defn = self.workflow_definition(a["workflow_type"]) or run.defn
        nxt, _ = self._new_run(
            defn,
            a["workflow_type"],
            run.record.workflow_id,
            a.get("input") or [],
            execution_timeout=started.get("execution_timeout"),
            run_timeout=started.get("run_timeout"),
            retry_policy=started.get("retry_policy"),
            memo=started.get("memo"),
            parent=started.get("parent"),
            continued_run_id=run.record.run_id,
            first_run_id=started.get("first_run_id"),
            run_id=a["new_execution_run_id"],
            execution_deadline=started.get("execution_deadline"),
        )
        nxt.parent = run.parent
        self._move_children_link(run, nxt)
        return nxt

    def _move_children_link(self: Engine, old: _Run, new: _Run) -> None:
        if old.parent is None:
            return
        parent = self._by_run_id.get(old.parent[1])
        if parent is not None:
            for k, (cid, crid) in list(parent.children.items()):
                if crid == old.record.run_id:
                    parent.children[k] = (cid, new.record.run_id)

    def _plan_retry(self: Engine, run: _Run, ev: Event) -> None:
        """Before a failed run's close event is written: name its retry run, if any."""
        started = run.record.history[0].attributes
        rp = started.get("retry_policy")
        if not rp:
            return
        policy = RetryPolicy.from_dict(rp)
        attempt = int(started.get("attempt") or 1)
        failure = ev.attributes.get("failure") or {}
        info = failure.get("application_failure_info") or {}
        etype = info.get("type") or ""
        if info.get("non_retryable") or (
            policy.non_retryable_error_types and etype in policy.non_retryable_error_types
        ):
            return
        if policy.maximum_attempts and attempt >= policy.maximum_attempts:
            return
        ev.attributes["new_execution_run_id"] = new_id()

    def _maybe_retry(self: Engine, run: _Run, ev: Event) -> _Run | None:
        """Start the retry run that ``_plan_retry`` named, after the policy's backoff."""
        new_run_id = ev.attributes.get("new_execution_run_id")
        if not new_run_id:
            return None
        started = run.record.history[0].attributes
        rp = started.get("retry_policy")
        assert rp is not None
        attempt = int(started.get("attempt") or 1)
        delay = RetryPolicy.from_dict(rp).backoff(attempt)

        nxt, _ = self._new_run(
            run.defn,
            run.record.workflow_type,
            run.record.workflow_id,
            started.get("input") or [],
            execution_timeout=started.get("execution_timeout"),
            run_timeout=started.get("run_timeout"),
            retry_policy=rp,
            memo=started.get("memo"),
            parent=started.get("parent"),
            continued_run_id=run.record.run_id,
            first_run_id=started.get("first_run_id"),
            attempt=attempt + 1,
            run_id=new_run_id,
            execution_deadline=started.get("execution_deadline"),
            first_task_backoff=max(delay, 1e-6),
        )
        nxt.parent = run.parent
        self._move_children_link(run, nxt)
        return nxt

    # ------------------------------------------------------------------ children

    def _start_child(self: Engine, parent: _Run, ev: Event) -> None:
        a = ev.attributes
        defn = self.workflow_definition(a["workflow_type"])
        existing = self._runs.get(a["workflow_id"])
        if defn is None or (existing is not None and existing.open):
            if existing is not None and existing.parent == (
                parent.record.workflow_id,
                parent.record.run_id,
                ev.event_id,
            ):
                child = existing  # recovered: it was started before the crash
            else:
                self._submit(
                    parent,
                    E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
                    {
                        "initiated_event_id": ev.event_id,
                        "workflow_id": a["workflow_id"],
                        "workflow_type": a["workflow_type"],
                        "cause": "WORKFLOW_ALREADY_EXISTS"
                        if defn is not None
                        else "WORKFLOW_TYPE_NOT_REGISTERED",
                    },
                )
                return
        else:
            ex = a.get("execution_timeout")
            child, _ = self._new_run(
                defn,
                a["workflow_type"],
                a["workflow_id"],
                a.get("input") or [],
                execution_timeout=ex,
                run_timeout=a.get("run_timeout"),
                retry_policy=a.get("retry_policy"),
                memo=a.get("memo"),
                parent={
                    "workflow_id": parent.record.workflow_id,
                    "run_id": parent.record.run_id,
                    "initiated_event_id": ev.event_id,
                },
            )
        if not parent.children:
            parent.children = {}
        parent.children[ev.event_id] = (child.record.workflow_id, child.record.run_id)
        self._submit(
            parent,
            E.CHILD_WORKFLOW_EXECUTION_STARTED,
            {
                "initiated_event_id": ev.event_id,
                "workflow_id": child.record.workflow_id,
                "run_id": child.record.run_id,
                "workflow_type": child.record.workflow_type,
            },
        )
        if not child.open:
            # it finished before its parent heard that it started (instant child)
            close = child.record.history[-1]
            self._notify_parent(child, close)
