"""fastcore's exceptions, named and shaped as in ``temporalio.exceptions``.

The tree::

    FastcoreError (alias TemporalError)
    ├── FailureError                       a failure that travels in a history (``.failure``)
    │   ├── ApplicationError               raised by user code (type, details, non_retryable,
    │   │                                  category)
    │   ├── CancelledError                 cancellation reached workflow or activity
    │   ├── TerminatedError                the workflow was terminated
    │   ├── TimeoutError                   a timeout; ``type`` is a ``TimeoutType``
    │   ├── ActivityError                  an activity's failure (``__cause__``), ``retry_state``
    │   ├── ChildWorkflowError             a child workflow's failure (``__cause__``)
    │   └── WorkflowAlreadyStartedError    a start with the id of a running workflow
    ├── WorkflowFailureError               ``result()`` of a failed workflow; see ``__cause__``
    ├── WorkflowNotFoundError              unknown id; or signal/update/terminate to a closed one
    ├── WorkflowUpdateFailedError          an update whose validator or handler failed
    ├── WorkflowQueryFailedError           a query whose handler raised
    ├── WorkflowQueryRejectedError         a query refused by its ``reject_condition``
    ├── ActivityNotFoundError              an async activity handle's activity is not pending
    ├── AsyncActivityCancelledError        an async activity handle's activity was cancelled
    ├── NondeterminismError                the code no longer matches its history
    ├── InvalidArgumentError               bad input at a call (unknown name, wrong arguments, ...)
    ├── ReadOnlyContextError               a query or update validator tried to change state
    └── StoreError                         the store is unusable (corrupt, newer schema, locked)

``fastcore.errors.CancelledError`` is not ``asyncio.CancelledError``: workflow code sees
the asyncio one at the await it is parked on (as in temporalio); the fastcore one is the
failure that describes a cancellation afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from enum import IntEnum
from typing import Any

from ._failure_view import Failure

__all__ = [
    "ActivityError",
    "ActivityNotFoundError",
    "ApplicationError",
    "ApplicationErrorCategory",
    "AsyncActivityCancelledError",
    "CancelledError",
    "ChildWorkflowError",
    "Failure",
    "FailureError",
    "FastcoreError",
    "InvalidArgumentError",
    "NondeterminismError",
    "ReadOnlyContextError",
    "RetryState",
    "StoreError",
    "TemporalError",
    "TerminatedError",
    "TimeoutError",
    "TimeoutType",
    "WorkflowAlreadyStartedError",
    "WorkflowFailureError",
    "WorkflowNotFoundError",
    "WorkflowQueryFailedError",
    "WorkflowQueryRejectedError",
    "WorkflowUpdateFailedError",
    "is_cancelled_exception",
]


class FastcoreError(Exception):
    """Base of every fastcore exception."""

    @property
    def cause(self) -> BaseException | None:
        """The cause of this exception (``__cause__``), as temporalio exposes it."""
        return self.__cause__


TemporalError = FastcoreError
"""temporalio's name for the base of every error: ``except TemporalError`` catches them all."""


class FailureError(FastcoreError):
    """Base of failures that are recorded in a workflow's history."""

    def __init__(
        self,
        message: str,
        *,
        failure: Failure | None = None,
        exc_args: tuple[Any, ...] | None = None,
    ) -> None:
        super().__init__(*(exc_args if exc_args is not None else (message,)))
        self._message = message
        self._failure = failure

    @property
    def message(self) -> str:
        """The failure's message."""
        return self._message

    @property
    def failure(self) -> Failure | None:
        """The recorded failure this error was read from (message, stack trace, cause),
        as temporalio's ``FailureError.failure``; None for an error raised in this process.

        temporalio gives its ``temporalio.api.failure.v1.Failure`` proto; fastcore gives
        ``fastcore.errors.Failure``, an object with the same field names.
        """
        f = self._failure
        if f is None:
            recorded = getattr(self, "_fastcore_failure", None)  # set by from_failure
            if recorded is not None:
                f = self._failure = Failure.from_dict(recorded)
        return f


class ApplicationErrorCategory(IntEnum):
    """Severity of an ``ApplicationError``, as temporalio's (the values are Temporal's).

    A ``BENIGN`` failure is logged at DEBUG instead of WARNING and is not counted (nor marked
    as an error on its span) as a failure in telemetry.
    """

    UNSPECIFIED = 0
    BENIGN = 1


class ApplicationError(FailureError):
    """An error raised by user code; fails the workflow, or the activity attempt."""

    def __init__(
        self,
        message: str,
        *details: Any,
        type: str | None = None,
        non_retryable: bool = False,
        next_retry_delay: timedelta | None = None,
        category: ApplicationErrorCategory = ApplicationErrorCategory.UNSPECIFIED,
    ) -> None:
        super().__init__(message, exc_args=(message if not type else f"{type}: {message}",))
        self._details = details
        self._type = type
        self._non_retryable = non_retryable
        self._next_retry_delay = next_retry_delay
        self._category = category

    @property
    def details(self) -> Sequence[Any]:
        """User details given at creation."""
        return self._details

    @property
    def type(self) -> str | None:
        """The error type, matched by ``RetryPolicy.non_retryable_error_types``."""
        return self._type

    @property
    def non_retryable(self) -> bool:
        """Whether the creator marked this error as never to be retried."""
        return self._non_retryable

    @property
    def next_retry_delay(self) -> timedelta | None:
        """A delay before the next activity retry that overrides the policy's backoff."""
        return self._next_retry_delay

    @property
    def category(self) -> ApplicationErrorCategory:
        """How severe the error is (``BENIGN``: logged at DEBUG, not counted as a failure)."""
        return self._category


class CancelledError(FailureError):
    """A cancellation, as a failure (not ``asyncio.CancelledError``)."""

    def __init__(self, message: str = "Cancelled", *details: Any) -> None:
        super().__init__(message)
        self._details = details

    @property
    def details(self) -> Sequence[Any]:
        """Details given with the cancellation."""
        return self._details


class TerminatedError(FailureError):
    """The workflow was terminated."""

    def __init__(self, message: str, *details: Any) -> None:
        super().__init__(message)
        self._details = details

    @property
    def details(self) -> Sequence[Any]:
        """Details given with the termination."""
        return self._details


class TimeoutType(IntEnum):
    """Which timeout fired; the values are Temporal's."""

    START_TO_CLOSE = 1
    SCHEDULE_TO_START = 2
    SCHEDULE_TO_CLOSE = 3
    HEARTBEAT = 4


class TimeoutError(FailureError):
    """A timeout; ``type`` says which, ``last_heartbeat_details`` what was last reported."""

    def __init__(
        self,
        message: str,
        *,
        type: TimeoutType | None,
        last_heartbeat_details: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self._type = type
        self._last_heartbeat_details = last_heartbeat_details

    @property
    def type(self) -> TimeoutType | None:
        """The kind of timeout."""
        return self._type

    @property
    def last_heartbeat_details(self) -> Sequence[Any]:
        """The details of the last heartbeat before the timeout."""
        return self._last_heartbeat_details


class RetryState(IntEnum):
    """Why retrying stopped; the values are Temporal's."""

    IN_PROGRESS = 1
    NON_RETRYABLE_FAILURE = 2
    TIMEOUT = 3
    MAXIMUM_ATTEMPTS_REACHED = 4
    RETRY_POLICY_NOT_SET = 5
    INTERNAL_SERVER_ERROR = 6
    CANCEL_REQUESTED = 7


class ActivityError(FailureError):
    """An activity failed for good; the reason is ``__cause__``."""

    def __init__(
        self,
        message: str,
        *,
        scheduled_event_id: int = 0,
        started_event_id: int = 0,
        identity: str = "",
        activity_type: str,
        activity_id: str,
        retry_state: RetryState | None,
    ) -> None:
        super().__init__(message)
        self._scheduled_event_id = scheduled_event_id
        self._started_event_id = started_event_id
        self._identity = identity
        self._activity_type = activity_type
        self._activity_id = activity_id
        self._retry_state = retry_state

    @property
    def scheduled_event_id(self) -> int:
        """Id of the activity's scheduled event."""
        return self._scheduled_event_id

    @property
    def started_event_id(self) -> int:
        """Id of the activity's started event (fastcore: same as scheduled)."""
        return self._started_event_id

    @property
    def identity(self) -> str:
        """Identity of the engine that ran the activity."""
        return self._identity

    @property
    def activity_type(self) -> str:
        """The activity's registered name."""
        return self._activity_type

    @property
    def activity_id(self) -> str:
        """The activity's id within its workflow."""
        return self._activity_id

    @property
    def retry_state(self) -> RetryState | None:
        """Why retrying stopped."""
        return self._retry_state


class ChildWorkflowError(FailureError):
    """A child workflow failed; the reason is ``__cause__``."""

    def __init__(
        self,
        message: str,
        *,
        namespace: str = "default",
        workflow_id: str,
        run_id: str,
        workflow_type: str,
        initiated_event_id: int = 0,
        started_event_id: int = 0,
        retry_state: RetryState | None = None,
    ) -> None:
        super().__init__(message)
        self._namespace = namespace
        self._workflow_id = workflow_id
        self._run_id = run_id
        self._workflow_type = workflow_type
        self._initiated_event_id = initiated_event_id
        self._started_event_id = started_event_id
        self._retry_state = retry_state

    @property
    def namespace(self) -> str:
        """Namespace of the child (fastcore has one, ``default``)."""
        return self._namespace

    @property
    def workflow_id(self) -> str:
        """The child's workflow id."""
        return self._workflow_id

    @property
    def run_id(self) -> str:
        """The child's run id."""
        return self._run_id

    @property
    def workflow_type(self) -> str:
        """The child's workflow type."""
        return self._workflow_type

    @property
    def initiated_event_id(self) -> int:
        """Id of the parent's initiated event."""
        return self._initiated_event_id

    @property
    def started_event_id(self) -> int:
        """Id of the parent's child-started event."""
        return self._started_event_id

    @property
    def retry_state(self) -> RetryState | None:
        """Why retrying stopped."""
        return self._retry_state


class WorkflowFailureError(FastcoreError):
    """Raised by ``handle.result()`` when the workflow did not complete; see ``__cause__``."""

    def __init__(self, *, cause: BaseException) -> None:
        super().__init__("Workflow execution failed")
        self.__cause__ = cause


class WorkflowAlreadyStartedError(FailureError):
    """A workflow with this id is already running (or its id policy refuses reuse).

    A ``FailureError``, as temporalio's: raised in workflow code (a child's start), it fails
    the workflow rather than its task.
    """

    def __init__(
        self,
        workflow_id: str,
        workflow_type: str,
        *,
        run_id: str | None = None,
        first_run_id: str | None = None,
    ) -> None:
        super().__init__(f"Workflow execution already started: {workflow_id}")
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type
        self.run_id = run_id
        self.first_run_id = first_run_id


class WorkflowNotFoundError(FastcoreError):
    """No workflow with this id (or, for signal/update/terminate, no open one).

    ``closed_status`` is set when the workflow exists but is closed (a
    ``WorkflowExecutionStatus``), None when the id is unknown.
    """

    def __init__(
        self, message: str, *, workflow_id: str | None = None, closed_status: Any = None
    ) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.closed_status = closed_status


class WorkflowUpdateFailedError(FastcoreError):
    """An update was rejected by its validator or its handler failed; see ``__cause__``.

    ``rejected`` is True when the validator refused it (nothing was recorded).
    """

    def __init__(self, cause: BaseException, *, rejected: bool = False) -> None:
        super().__init__("Workflow update failed")
        self.__cause__ = cause
        self.rejected = rejected


class WorkflowQueryFailedError(FastcoreError):
    """A query handler raised."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkflowQueryRejectedError(FastcoreError):
    """A query refused by its ``reject_condition``: ``status`` is the workflow's status."""

    def __init__(self, status: Any) -> None:
        super().__init__(f"Query rejected, status: {status}")
        self.status = status


class ActivityNotFoundError(FastcoreError, LookupError):
    """An ``AsyncActivityHandle`` names an activity that is not pending (it finished, its run
    closed, or it never was); Temporal answers such a call with ``NOT_FOUND``."""


class AsyncActivityCancelledError(FastcoreError):
    """``AsyncActivityHandle.heartbeat`` on an activity whose cancellation was requested, as
    ``temporalio.client.AsyncActivityCancelledError``."""

    def __init__(self, details: Any = None) -> None:
        super().__init__("Activity cancelled")
        self.details = details


class NondeterminismError(FastcoreError):
    """Workflow code issued commands that do not match its recorded history."""

    def __init__(
        self,
        message: str,
        *,
        workflow_id: str = "",
        workflow_type: str = "",
        event_index: int | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type
        self.event_index = event_index
        self.expected = expected
        self.found = found


class ReadOnlyContextError(FastcoreError, RuntimeError):
    """A query handler or an update validator tried to change workflow state (issue a
    command), as temporalio's ``workflow.ReadOnlyContextError``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgumentError(FastcoreError, ValueError):
    """Bad input at a call: an unknown name, arguments that do not fit, an unconvertible value."""


class StoreError(FastcoreError):
    """The store cannot be opened or written (corrupt, newer schema, locked), or one run in it
    cannot be read: then ``workflow_id``, ``run_id`` and ``event_id`` name the run and row."""

    def __init__(
        self,
        message: str,
        *,
        workflow_id: str | None = None,
        run_id: str | None = None,
        event_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.event_id = event_id


def is_cancelled_exception(exception: BaseException) -> bool:
    """Whether ``exception`` is a cancellation, or a failure caused by one (temporalio's).

    True for ``asyncio.CancelledError``, ``CancelledError``, and an ``ActivityError`` or
    ``ChildWorkflowError`` whose cause is a ``CancelledError``.
    """
    if isinstance(exception, asyncio.CancelledError | CancelledError):
        return True
    return isinstance(exception, ActivityError | ChildWorkflowError) and isinstance(
        exception.__cause__, CancelledError
    )
