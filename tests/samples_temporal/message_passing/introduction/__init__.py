"""message_passing/introduction: a query, a signal and two updates on a greeting workflow.

Source: temporalio/samples-python message_passing/introduction/__init__.py at
1ed6b30af316b88d4827dc7768b97d9cf1509843 (re-written, not copied).
"""

from enum import IntEnum

TASK_QUEUE = "message-passing-introduction-task-queue"


class Language(IntEnum):
    ARABIC = 1
    CHINESE = 2
    ENGLISH = 3
    FRENCH = 4
    HINDI = 5
    PORTUGUESE = 6
    SPANISH = 7
