"""fastcore: an embedded, durable workflow engine with Temporal's programming model.

Workflows, activities, signals, queries, updates, durable timers, child workflows, sagas,
versioning and deterministic replay, in-process, in microseconds. The names mirror the
Temporal Python SDK so code and habits move between the two.

fastcore inside: ``Engine`` is a facade over parts that each own their state and are handed
what they need (the registry, the run table, the activation pipeline, activity and timer
dispatch, children, closing, recovery, notification, virtual time, the handle operations;
see ``fastcore._engine``). Each run's code lives in a ``WorkflowInstance``, the replay
machine, composed of its commands, its handlers and a private event loop (see
``fastcore._instance``). No module imports another that imports it back (a test checks).
"""

from __future__ import annotations

from . import activity, workflow
from ._async_activity import AsyncActivityHandle
from ._converter import DataConverter, Payload
from ._description import PendingActivityInfo, PendingActivityState, WorkflowExecutionDescription
from ._engine import Engine
from ._handles import WorkflowHandle
from ._listing import (
    WorkflowExecutionAsyncIterator,
    WorkflowExecutionCount,
    WorkflowExecutionCountAggregationGroup,
)
from ._replayer import Replayer, WorkflowReplayResult
from .common import (
    ActivityCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from .history import Event, EventType

__all__ = [
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
