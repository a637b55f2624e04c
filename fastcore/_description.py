"""What ``describe()`` and ``list_workflows()`` return about a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .common import WorkflowExecutionStatus

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

    @property
    def workflow_id(self) -> str:
        """Alias of ``id``."""
        return self.id
