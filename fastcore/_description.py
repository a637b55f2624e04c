"""What ``describe()`` and ``list_workflows()`` return about a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._converter import Payload
from .common import TypedSearchAttributes, WorkflowExecutionStatus

__all__ = ["WorkflowExecutionDescription"]


@dataclass
class WorkflowExecutionDescription:
    """What ``describe()`` returns; the names of temporalio's ``WorkflowExecutionDescription``."""

    id: str
    run_id: str
    workflow_type: str
    status: WorkflowExecutionStatus
    start_time: datetime
    close_time: datetime | None
    history_length: int
    memo: Mapping[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    parent_run_id: str | None = None
    pending_activities: int = 0
    #: The error that failed the latest workflow task (the run stays open and retries), or
    #: a ``NondeterminismError``; None when the run is healthy.
    pending_task_failure: BaseException | None = None
    #: The run's current search attributes (its start's, with its upserts applied).
    typed_search_attributes: TypedSearchAttributes = TypedSearchAttributes.empty
    #: The task queue the start named (an engine runs every registered workflow).
    task_queue: str = "fastcore"
    #: When the run's code first ran or runs (after a cron or retry backoff).
    execution_time: datetime | None = None
    #: The memo as recorded (payloads, before decoding).
    raw_memo: Mapping[str, Payload] = field(default_factory=dict)

    @property
    def workflow_id(self) -> str:
        """Alias of ``id``."""
        return self.id

    @property
    def search_attributes(self) -> Mapping[str, list[Any]]:
        """The search attributes in the deprecated untyped form (name -> list of values)."""
        out: dict[str, list[Any]] = {}
        for pair in self.typed_search_attributes:
            value = pair.value
            out[pair.key.name] = list(value) if isinstance(value, list) else [value]
        return out
