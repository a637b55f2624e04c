"""A recorded failure as an object with the field names of Temporal's ``Failure`` proto.

``FailureError.failure`` gives one (temporalio gives a ``temporalio.api.failure.v1.Failure``
message; fastcore imports no protobuf, so this is a plain frozen object with the same field
names): ``message``, ``source``, ``stack_trace``, ``cause`` and the one ``*_failure_info``
that says what kind of failure it is. Unlike a proto message, an absent sub-message is
``None`` (``HasField`` and ``WhichOneof("failure_info")`` answer as the proto's do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = [
    "INFO_KEYS",
    "ActivityFailureInfo",
    "ApplicationFailureInfo",
    "CanceledFailureInfo",
    "ChildWorkflowFailureInfo",
    "Failure",
    "TerminatedFailureInfo",
    "TimeoutFailureInfo",
]


INFO_KEYS = (
    "application_failure_info",
    "timeout_failure_info",
    "canceled_failure_info",
    "terminated_failure_info",
    "activity_failure_info",
    "child_workflow_failure_info",
)
"""The failure-info keys; a failure dict holds exactly one of them."""


@dataclass(frozen=True)
class ApplicationFailureInfo:
    """``ApplicationFailureInfo``: an error raised by user code."""

    type: str
    non_retryable: bool
    details: Sequence[Any]
    next_retry_delay: timedelta | None
    category: int


@dataclass(frozen=True)
class TimeoutFailureInfo:
    """``TimeoutFailureInfo``: which timeout fired (a ``TimeoutType`` value)."""

    timeout_type: int
    last_heartbeat_details: Sequence[Any]


@dataclass(frozen=True)
class CanceledFailureInfo:
    """``CanceledFailureInfo``: a cancellation."""

    details: Sequence[Any]


@dataclass(frozen=True)
class TerminatedFailureInfo:
    """``TerminatedFailureInfo``: the workflow was terminated."""


@dataclass(frozen=True)
class ActivityFailureInfo:
    """``ActivityFailureInfo``: an activity failed for good (the cause says why)."""

    activity_type: str
    activity_id: str
    retry_state: int
    scheduled_event_id: int
    started_event_id: int
    identity: str


@dataclass(frozen=True)
class ChildWorkflowFailureInfo:
    """``ChildWorkflowExecutionFailureInfo``: a child workflow failed (the cause says why)."""

    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    retry_state: int
    initiated_event_id: int
    started_event_id: int


@dataclass(frozen=True)
class Failure:
    """A failure as recorded in a history, with the field names of Temporal's proto."""

    message: str
    source: str
    stack_trace: str
    cause: Failure | None = None
    application_failure_info: ApplicationFailureInfo | None = None
    timeout_failure_info: TimeoutFailureInfo | None = None
    canceled_failure_info: CanceledFailureInfo | None = None
    terminated_failure_info: TerminatedFailureInfo | None = None
    activity_failure_info: ActivityFailureInfo | None = None
    child_workflow_failure_info: ChildWorkflowFailureInfo | None = None

    def HasField(self, name: str) -> bool:
        """Whether the sub-message ``name`` is set (``cause`` or a ``*_failure_info``)."""
        return getattr(self, name, None) is not None

    def WhichOneof(self, group: str) -> str | None:
        """The name of the ``failure_info`` that is set, as the proto's oneof answers."""
        if group != "failure_info":
            raise ValueError(f"Failure has no oneof {group!r}")
        return next((n for n in INFO_KEYS if getattr(self, n) is not None), None)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Failure:
        """The view of a failure dict (``fastcore._failure``'s format)."""
        cause = d.get("cause")
        kw: dict[str, Any] = {}
        if (i := d.get("application_failure_info")) is not None:
            delay = i.get("next_retry_delay")
            kw["application_failure_info"] = ApplicationFailureInfo(
                type=i.get("type") or "",
                non_retryable=bool(i.get("non_retryable")),
                details=tuple(i.get("details") or ()),
                next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
                category=int(i.get("category") or 0),
            )
        elif (i := d.get("timeout_failure_info")) is not None:
            kw["timeout_failure_info"] = TimeoutFailureInfo(
                timeout_type=int(i.get("timeout_type") or 0),
                last_heartbeat_details=tuple(i.get("last_heartbeat_details") or ()),
            )
        elif (i := d.get("canceled_failure_info")) is not None:
            kw["canceled_failure_info"] = CanceledFailureInfo(tuple(i.get("details") or ()))
        elif d.get("terminated_failure_info") is not None:
            kw["terminated_failure_info"] = TerminatedFailureInfo()
        elif (i := d.get("activity_failure_info")) is not None:
            sched = int(i.get("scheduled_event_id") or 0)
            kw["activity_failure_info"] = ActivityFailureInfo(
                activity_type=i.get("activity_type") or "",
                activity_id=i.get("activity_id") or "",
                retry_state=int(i.get("retry_state") or 0),
                scheduled_event_id=sched,
                started_event_id=int(i.get("started_event_id") or sched),
                identity=i.get("identity") or "",
            )
        elif (i := d.get("child_workflow_failure_info")) is not None:
            kw["child_workflow_failure_info"] = ChildWorkflowFailureInfo(
                namespace=i.get("namespace") or "default",
                workflow_id=i.get("workflow_id") or "",
                run_id=i.get("run_id") or "",
                workflow_type=i.get("workflow_type") or "",
                retry_state=int(i.get("retry_state") or 0),
                initiated_event_id=int(i.get("initiated_event_id") or 0),
                started_event_id=int(i.get("started_event_id") or 0),
            )
        return Failure(
            message=d.get("message") or "",
            source=d.get("source") or "",
            stack_trace=d.get("stack_trace") or "",
            cause=Failure.from_dict(cause) if cause else None,
            **kw,
        )
