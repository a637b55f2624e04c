"""The client side, as ``temporalio.client``: handles, update handles, update-with-start.

``Engine`` is the client (and the worker): ``start_workflow``, ``execute_workflow``,
``get_workflow_handle``/``_for``, ``start_update_with_start_workflow``,
``execute_update_with_start_workflow``, ``list_workflows`` and ``count_workflows`` take
temporalio's arguments.
The names a Temporal user imports from ``temporalio.client`` are here::

    from fastcore.client import WithStartWorkflowOperation, WorkflowUpdateStage
"""

from __future__ import annotations

from ._async_activity import AsyncActivityHandle
from ._description import WorkflowExecutionDescription
from ._handles import WorkflowHandle, WorkflowHistoryEventFilterType
from ._listing import (
    WorkflowExecutionAsyncIterator,
    WorkflowExecutionCount,
    WorkflowExecutionCountAggregationGroup,
)
from ._update_handle import WorkflowUpdateHandle
from ._updates import WorkflowUpdateStage
from ._with_start import WithStartWorkflowOperation
from .common import WorkflowExecutionStatus
from .errors import (
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)

__all__ = [
    "AsyncActivityHandle",
    "WithStartWorkflowOperation",
    "WorkflowExecutionAsyncIterator",
    "WorkflowExecutionCount",
    "WorkflowExecutionCountAggregationGroup",
    "WorkflowExecutionDescription",
    "WorkflowExecutionStatus",
    "WorkflowFailureError",
    "WorkflowHandle",
    "WorkflowHistoryEventFilterType",
    "WorkflowQueryFailedError",
    "WorkflowQueryRejectedError",
    "WorkflowUpdateFailedError",
    "WorkflowUpdateHandle",
    "WorkflowUpdateStage",
]
