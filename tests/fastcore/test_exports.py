"""The public names are pinned: a change here is a change of the contract."""

from __future__ import annotations

import fastcore
import fastcore.errors
import fastcore.saga
import fastcore.testing


def test_fastcore_exports() -> None:
    assert sorted(fastcore.__all__) == sorted(
        [
            "ActivityCancellationType",
            "AsyncActivityHandle",
            "DataConverter",
            "Engine",
            "Event",
            "EventType",
            "ParentClosePolicy",
            "Payload",
            "PendingActivityInfo",
            "PendingActivityState",
            "Replayer",
            "RetryPolicy",
            "WorkflowExecutionAsyncIterator",
            "WorkflowExecutionCount",
            "WorkflowExecutionCountAggregationGroup",
            "WorkflowExecutionDescription",
            "WorkflowExecutionStatus",
            "WorkflowHandle",
            "WorkflowIDConflictPolicy",
            "WorkflowIDReusePolicy",
            "WorkflowReplayResult",
            "activity",
            "workflow",
        ]
    )
    for name in fastcore.__all__:
        assert getattr(fastcore, name) is not None


def test_error_names_of_the_design() -> None:
    for name in (
        "ApplicationError",
        "ActivityError",
        "ChildWorkflowError",
        "CancelledError",
        "TerminatedError",
        "TimeoutError",
        "NondeterminismError",
        "WorkflowAlreadyStartedError",
        "WorkflowNotFoundError",
        "WorkflowFailureError",
        "WorkflowUpdateFailedError",
        "WorkflowQueryFailedError",
        "RetryState",
        "TimeoutType",
    ):
        assert name in fastcore.errors.__all__, name
        assert hasattr(fastcore.errors, name)


def test_workflow_and_activity_api_names() -> None:
    for name in (
        "defn",
        "run",
        "init",
        "signal",
        "query",
        "update",
        "execute_activity",
        "start_activity",
        "execute_local_activity",
        "start_local_activity",
        "sleep",
        "wait_condition",
        "execute_child_workflow",
        "start_child_workflow",
        "patched",
        "deprecate_patch",
        "continue_as_new",
        "now",
        "random",
        "uuid4",
        "info",
        "logger",
        "ParentClosePolicy",
        "ActivityCancellationType",
        "unsafe",
    ):
        assert hasattr(fastcore.workflow, name), name
    for name in ("defn", "heartbeat", "info", "is_cancelled"):
        assert hasattr(fastcore.activity, name), name
    assert fastcore.saga.__all__ == ["CompensationError", "Saga"]
    assert fastcore.testing.__all__ == ["VirtualClock"]
