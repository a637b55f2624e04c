"""message_passing/waiting_for_handlers_and_compensation: task queue, ids, exit types, input.

Source: temporalio/samples-python
message_passing/waiting_for_handlers_and_compensation/__init__.py at
51e61a05d9e73d609153a7bc5ee1e17299d9fa01 (re-written, not copied).
"""

from dataclasses import dataclass
from enum import IntEnum

TASK_QUEUE = "my-task-queue"
WORKFLOW_ID = "my-workflow-id"


class WorkflowExitType(IntEnum):
    SUCCESS = 0
    FAILURE = 1
    CANCELLATION = 2
    CONTINUE_AS_NEW = 3


@dataclass
class WorkflowInput:
    exit_type: WorkflowExitType


@dataclass
class WorkflowResult:
    data: str
