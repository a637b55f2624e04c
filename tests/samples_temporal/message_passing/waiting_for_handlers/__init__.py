"""message_passing/waiting_for_handlers: task queue, ids, exit types, input.

Source: temporalio/samples-python message_passing/waiting_for_handlers/__init__.py at
ef8155032417bec8c550f6ac9f0c9f44e38f32bb (re-written, not copied).
"""

from dataclasses import dataclass
from enum import IntEnum

TASK_QUEUE = "my-task-queue"
WORKFLOW_ID = "my-workflow-id"


class WorkflowExitType(IntEnum):
    SUCCESS = 0
    FAILURE = 1
    CANCELLATION = 2


@dataclass
class WorkflowInput:
    exit_type: WorkflowExitType


@dataclass
class WorkflowResult:
    data: str
