"""Replays a recorded history against workflow code: the check before deploying a change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._converter import DataConverter, default_converter
from ._definitions import WorkflowDefinition
from ._environment import WorkflowEnvironment
from ._instance import WorkflowInstance
from ._store import RunRecord
from .errors import InvalidArgumentError, NondeterminismError
from .history import Event, EventType

__all__ = ["Replayer", "WorkflowReplayResult"]


@dataclass
class WorkflowReplayResult:
    """The outcome of one replay: ``replay_failure`` is None when the code fits the history."""

    history: Sequence[Event]
    replay_failure: BaseException | None


class _ReplayRegistry:
    """The little a replayed run asks of its host: the replayer's workflows, no activities."""

    def __init__(self, workflows: dict[str, WorkflowDefinition]) -> None:
        self._workflows = workflows

    def workflow_definition(self, ref: Any) -> WorkflowDefinition | None:
        if isinstance(ref, str):
            return self._workflows.get(ref)
        cls = ref if isinstance(ref, type) else None
        if cls is None:
            for d in self._workflows.values():
                if d.run_fn is ref:
                    return d
            return None
        try:
            return WorkflowDefinition.from_class(cls)
        except InvalidArgumentError:
            return None


def _no_activity(name: str) -> None:
    del name  # a replay runs no activity: none is looked up
    return None


def _epoch() -> float:
    return 0.0


class Replayer:
    """``Replayer(workflows=[...]).replay_workflow(history)``, the shape of temporalio's."""

    def __init__(
        self,
        *,
        workflows: Sequence[type],
        data_converter: DataConverter | None = None,
        converter: DataConverter | None = None,
        failure_exception_types: Sequence[type[BaseException]] = (),
    ) -> None:
        self._workflows: dict[str, WorkflowDefinition] = {}
        for cls in workflows:
            d = WorkflowDefinition.from_class(cls)
            if d.name:
                self._workflows[d.name] = d
        self._converter = data_converter or converter or default_converter
        self._env = WorkflowEnvironment(
            clock_now=_epoch,
            activity_definition=_no_activity,
            workflow_definition=_ReplayRegistry(self._workflows).workflow_definition,
            failure_exception_types=tuple(failure_exception_types),
            strict_registry=False,
        )

    async def replay_workflow(
        self, history: Sequence[Event] | Any, *, raise_on_replay_failure: bool = True
    ) -> WorkflowReplayResult:
        """Replay one run's history; raises ``NondeterminismError`` when the code diverges."""
        events = list(getattr(history, "events", history))
        if not events or events[0].event_type is not EventType.WORKFLOW_EXECUTION_STARTED:
            raise InvalidArgumentError("a history starts with WORKFLOW_EXECUTION_STARTED")
        a = events[0].attributes
        wf_type = a["workflow_type"]
        defn = self._workflows.get(wf_type)
        if defn is None:
            raise InvalidArgumentError(
                f"workflow type {wf_type!r} is not among the replayer's workflows "
                f"({sorted(self._workflows)})"
            )
        record = RunRecord(
            a.get("workflow_id", ""),
            a.get("run_id", ""),
            wf_type,
            events[0].timestamp,
            history=list(events),
        )
        inst = WorkflowInstance(env=self._env, run=record, defn=defn, converter=self._converter)
        inst.replay()
        failure: BaseException | None = inst.nondeterminism or inst.task_failure
        if failure is None and len(record.history) != len(events):
            failure = NondeterminismError(
                f"workflow {wf_type!r}: replay issued commands past the end of the history",
                workflow_id=record.workflow_id,
                workflow_type=wf_type,
                event_index=len(events) + 1,
                expected="nothing",
                found=record.history[len(events)].event_type.value,
            )
        if failure is not None and raise_on_replay_failure:
            raise failure
        return WorkflowReplayResult(events, failure)
