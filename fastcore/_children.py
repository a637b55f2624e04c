"""Child workflows: starting them for their parent, and telling the parent how they ended.

A ``START_CHILD_WORKFLOW_EXECUTION_INITIATED`` event starts a run (or finds the one started
before a crash) and answers the parent with ``CHILD_WORKFLOW_EXECUTION_STARTED`` or
``START_CHILD_WORKFLOW_EXECUTION_FAILED``; a child's close becomes the parent's
``CHILD_WORKFLOW_EXECUTION_*`` input. A parent keeps its children's ids (``Run.children``),
which follow a child's continue-as-new and retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ._definitions import WorkflowDefinition
from ._pipeline import Pipeline
from ._run import Run
from ._run_table import RunTable
from ._starting import RunStarter
from ._store import RunRecord
from .history import Event, EventType

__all__ = ["Children"]


class Children:
    """Starts child runs and reports their outcome to their parent."""

    def __init__(
        self,
        *,
        workflow_definition: Callable[[Any], WorkflowDefinition | None],
        runs: RunTable,
        pipeline: Pipeline,
        starter: RunStarter,
    ) -> None:
        self._workflow_definition = workflow_definition
        self._runs = runs
        self._submit = pipeline.submit
        self._new_run = starter.new_run

    def start(self, parent: Run, ev: Event) -> None:
        """Start the child a ``START_CHILD_WORKFLOW_EXECUTION_INITIATED`` event asks for."""
        a = ev.attributes
        defn = self._workflow_definition(a["workflow_type"])
        existing = self._runs.by_workflow_id.get(a["workflow_id"])
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
                    EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED,
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
            child, _ = self._new_run(
                defn,
                a["workflow_type"],
                a["workflow_id"],
                a.get("input") or [],
                execution_timeout=a.get("execution_timeout"),
                run_timeout=a.get("run_timeout"),
                retry_policy=a.get("retry_policy"),
                memo=a.get("memo"),
                parent={
                    "workflow_id": parent.record.workflow_id,
                    "run_id": parent.record.run_id,
                    "initiated_event_id": ev.event_id,
                    # the root of the parent's chain of parents (Temporal's root execution)
                    "root": _root_of(parent.record),
                },
                # a child runs on its parent's task queue unless its start names one
                task_queue=a.get("task_queue") or _started(parent.record).get("task_queue"),
                search_attributes=a.get("search_attributes"),
                cron_schedule=a.get("cron_schedule"),
            )
        if not parent.children:
            parent.children = {}
        parent.children[ev.event_id] = (child.record.workflow_id, child.record.run_id)
        self._submit(
            parent,
            EventType.CHILD_WORKFLOW_EXECUTION_STARTED,
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
            self.notify_parent(child, close)

    def notify_parent(self, run: Run, ev: Event) -> None:
        """The child ``run`` closed with ``ev``: its parent gets the matching input."""
        assert run.parent is not None
        _parent_id, parent_run_id, initiated = run.parent
        parent = self._runs.by_run_id.get(parent_run_id)
        if parent is None or not parent.open:
            return
        if initiated not in parent.children:
            # The child ended inside its own start (instant work, started outside a drain:
            # a retry or a recovery): the parent has not heard that it started. ``start``
            # tells the parent it started, then how it ended, in that order.
            return
        if parent.children_closed is None:
            parent.children_closed = set()
        elif initiated in parent.children_closed:
            return
        parent.children_closed.add(initiated)
        started_id = 0
        for pe in parent.record.history:
            if (
                pe.event_type is EventType.CHILD_WORKFLOW_EXECUTION_STARTED
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
        if et is EventType.WORKFLOW_EXECUTION_COMPLETED:
            self._submit(
                parent,
                EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
                {**base, "result": a.get("result")},
            )
        elif et is EventType.WORKFLOW_EXECUTION_FAILED:
            self._submit(
                parent,
                EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
                {**base, "failure": a.get("failure"), "retry_state": 2},
            )
        elif et is EventType.WORKFLOW_EXECUTION_CANCELED:
            self._submit(
                parent, EventType.CHILD_WORKFLOW_EXECUTION_CANCELED, {**base, "details": []}
            )
        elif et is EventType.WORKFLOW_EXECUTION_TERMINATED:
            self._submit(parent, EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED, base)
        elif et is EventType.WORKFLOW_EXECUTION_TIMED_OUT:
            self._submit(
                parent, EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT, {**base, "retry_state": 3}
            )

    def move_link(self, old: Run, new: Run) -> None:
        """The child ``old`` goes on as ``new`` (continue-as-new, retry): its parent follows."""
        if old.parent is None:
            return
        parent = self._runs.by_run_id.get(old.parent[1])
        if parent is not None:
            for k, (cid, crid) in list(parent.children.items()):
                if crid == old.record.run_id:
                    parent.children[k] = (cid, new.record.run_id)

    def open_children(self, parent: Run) -> Iterator[tuple[Run, Any]]:
        """The parent's children that are open when reached, each with its close policy."""
        for initiated_id, (_child_id, child_run_id) in list(parent.children.items()):
            child = self._runs.by_run_id.get(child_run_id)
            if child is None or not child.open:
                continue
            policy = parent.record.history[initiated_id - 1].attributes.get("parent_close_policy")
            yield child, policy


def _started(record: RunRecord) -> dict[str, Any]:
    history = record.history
    return history[0].attributes if history else {}


def _root_of(record: RunRecord) -> dict[str, str]:
    """The root workflow of ``record``'s run: its parent's root, or itself at the top."""
    parent = _started(record).get("parent") or {}
    root = parent.get("root")
    if root:
        return {"workflow_id": root["workflow_id"], "run_id": root["run_id"]}
    return {"workflow_id": record.workflow_id, "run_id": record.run_id}
