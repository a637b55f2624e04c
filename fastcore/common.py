"""Shared option types, named and valued as in ``temporalio.common``/``temporalio.workflow``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import Any

from ._payload import RawValue

__all__ = [
    "ActivityCancellationType",
    "ChildWorkflowCancellationType",
    "ParentClosePolicy",
    "QueryRejectCondition",
    "RawValue",
    "RetryPolicy",
    "WorkflowExecutionStatus",
    "WorkflowIDConflictPolicy",
    "WorkflowIDReusePolicy",
]


@dataclass
class RetryPolicy:
    """How an activity (or workflow) is retried; Temporal's semantics.

    ``maximum_attempts=0`` means unlimited. ``maximum_interval`` defaults to 100x the
    initial interval. A failure whose ``ApplicationError.type`` or exception class name is in
    ``non_retryable_error_types`` is not retried.
    """

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta | None = None
    maximum_attempts: int = 0
    non_retryable_error_types: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.initial_interval < timedelta(0):
            raise ValueError("RetryPolicy.initial_interval must not be negative")
        if not self.backoff_coefficient >= 1:  # also refuses NaN, which would poison timers
            raise ValueError("RetryPolicy.backoff_coefficient must be at least 1")
        if self.maximum_attempts < 0:
            raise ValueError("RetryPolicy.maximum_attempts must not be negative")
        if self.maximum_interval is not None and self.maximum_interval < self.initial_interval:
            raise ValueError("RetryPolicy.maximum_interval must be >= initial_interval")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), for any attempt.

        ``initial_interval * backoff_coefficient ** (attempt - 1)``, capped at
        ``maximum_interval`` as Temporal caps it: the power is compared in log space first, so
        an attempt in the thousands (a retry loop without ``maximum_attempts``) gets the
        maximum instead of an ``OverflowError``.
        """
        initial = self.initial_interval.total_seconds()
        maximum = (
            self.maximum_interval.total_seconds()
            if self.maximum_interval is not None
            else initial * 100
        )
        coefficient = float(self.backoff_coefficient)
        exponent = max(attempt - 1, 0)
        if initial <= 0.0 or exponent == 0 or coefficient == 1.0:
            return min(initial, maximum)
        if exponent * math.log(coefficient) >= math.log(maximum / initial):
            return maximum
        return min(initial * coefficient**exponent, maximum)

    def to_dict(self) -> dict[str, Any]:
        """The form recorded in history events."""
        return {
            "initial_interval": self.initial_interval.total_seconds(),
            "backoff_coefficient": self.backoff_coefficient,
            "maximum_interval": (
                self.maximum_interval.total_seconds() if self.maximum_interval else None
            ),
            "maximum_attempts": self.maximum_attempts,
            "non_retryable_error_types": list(self.non_retryable_error_types or ()),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RetryPolicy:
        """Read the recorded form back."""
        mi = d.get("maximum_interval")
        return cls(
            initial_interval=timedelta(seconds=d.get("initial_interval", 1.0)),
            backoff_coefficient=d.get("backoff_coefficient", 2.0),
            maximum_interval=timedelta(seconds=mi) if mi is not None else None,
            maximum_attempts=d.get("maximum_attempts", 0),
            non_retryable_error_types=d.get("non_retryable_error_types") or None,
        )


class WorkflowExecutionStatus(IntEnum):
    """Status of a workflow run; Temporal's values."""

    RUNNING = 1
    COMPLETED = 2
    FAILED = 3
    CANCELED = 4
    TERMINATED = 5
    CONTINUED_AS_NEW = 6
    TIMED_OUT = 7


class WorkflowIDReusePolicy(IntEnum):
    """Whether a closed workflow's id may start a new run."""

    ALLOW_DUPLICATE = 1
    ALLOW_DUPLICATE_FAILED_ONLY = 2
    REJECT_DUPLICATE = 3
    TERMINATE_IF_RUNNING = 4


class WorkflowIDConflictPolicy(IntEnum):
    """What a start does when a workflow with the id is running."""

    UNSPECIFIED = 0
    FAIL = 1
    USE_EXISTING = 2
    TERMINATE_EXISTING = 3


class ParentClosePolicy(IntEnum):
    """What happens to a child when its parent closes."""

    UNSPECIFIED = 0
    TERMINATE = 1
    ABANDON = 2
    REQUEST_CANCEL = 3


class ActivityCancellationType(IntEnum):
    """How an activity cancellation is waited on."""

    TRY_CANCEL = 0
    WAIT_CANCELLATION_COMPLETED = 1
    ABANDON = 2


class ChildWorkflowCancellationType(IntEnum):
    """How a child workflow cancellation is waited on."""

    ABANDON = 0
    TRY_CANCEL = 1
    WAIT_CANCELLATION_COMPLETED = 2
    WAIT_CANCELLATION_REQUESTED = 3


class QueryRejectCondition(IntEnum):
    """Whether a query is refused for a closed workflow (``handle.query(reject_condition=)``)."""

    NONE = 1
    NOT_OPEN = 2
    NOT_COMPLETED_CLEANLY = 3
