"""What ``describe()`` and ``list_workflows()`` return about a run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from ._converter import Payload
from .common import TypedSearchAttributes, WorkflowExecutionStatus

__all__ = ["PendingActivityInfo", "PendingActivityState", "WorkflowExecutionDescription"]


class PendingActivityState(IntEnum):
    """Where a pending activity is; Temporal's ``PendingActivityState`` values."""

    SCHEDULED = 1  # waiting for its next attempt (first, or after a retry's backoff)
    STARTED = 2  # an attempt runs (or awaits its asynchronous completion)
    CANCEL_REQUESTED = 3  # cancellation was requested and has not resolved yet


@dataclass(frozen=True)
class PendingActivityInfo:
    """An activity the run waits on, with Temporal's ``PendingActivityInfo`` field names.

    ``last_failure`` is the exception that failed the latest attempt (a ``FailureError``;
    its ``failure`` has the message and stack trace), None before any attempt failed.
    """

    activity_id: str
    activity_type: str
    state: PendingActivityState
    attempt: int
    maximum_attempts: int
    scheduled_time: datetime
    last_started_time: datetime | None = None
    last_heartbeat_time: datetime | None = None
    heartbeat_details: Sequence[Any] = ()
    last_failure: BaseException | None = None
    next_attempt_schedule_time: datetime | None = None
    expiration_time: datetime | None = None
    last_worker_identity: str = ""


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
    #: The activities the run waits on (Temporal's ``pending_activities``).
    pending_activities: Sequence[PendingActivityInfo] = field(default_factory=list)
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
