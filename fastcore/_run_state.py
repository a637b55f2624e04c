"""A run as the engine sees it, and the event-type tables the engine modules share."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

from ._activities import ActivityTask
from ._definitions import WorkflowDefinition
from ._instance import WorkflowInstance
from ._store import RunRecord
from .common import WorkflowExecutionStatus
from .history import Event, EventType

E = EventType
S = WorkflowExecutionStatus

_CLOSE_STATUS = {
    E.WORKFLOW_EXECUTION_COMPLETED: S.COMPLETED,
    E.WORKFLOW_EXECUTION_FAILED: S.FAILED,
    E.WORKFLOW_EXECUTION_CANCELED: S.CANCELED,
    E.WORKFLOW_EXECUTION_TERMINATED: S.TERMINATED,
    E.WORKFLOW_EXECUTION_TIMED_OUT: S.TIMED_OUT,
    E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: S.CONTINUED_AS_NEW,
}

_ACTIVITY_DONE = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)

_ACTIVITY_OUTCOME = {
    "completed": E.ACTIVITY_TASK_COMPLETED,
    "failed": E.ACTIVITY_TASK_FAILED,
    "timed_out": E.ACTIVITY_TASK_TIMED_OUT,
    "canceled": E.ACTIVITY_TASK_CANCELED,
}


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def etype_is_start(event: Event) -> bool:
    return event.event_type is E.WORKFLOW_EXECUTION_STARTED


_EMPTY_DICT: dict[Any, Any] = {}  # never written: replaced on first use
_EMPTY_LIST: list[Any] = []  # never written: replaced on first use


class _Run:
    """Engine-side state of one run: its record, code instance and what is in flight."""

    __slots__ = (
        "activities",
        "children",
        "children_closed",
        "close_waiters",
        "defn",
        "instance",
        "parent",
        "record",
        "retry_entry",
        "task_attempts",
        "timeout_entry",
        "timers",
        "update_waiters",
        "watchers",
    )

    def __init__(self, record: RunRecord, defn: WorkflowDefinition) -> None:
        self.record = record
        self.defn = defn
        self.instance: WorkflowInstance | None = None
        self.activities: dict[int, ActivityTask] = _EMPTY_DICT
        self.timers: dict[int, Any] = _EMPTY_DICT
        self.children: dict[int, tuple[str, str]] = _EMPTY_DICT
        self.children_closed: set[int] | None = None  # made when a child first closes
        self.close_waiters: list[asyncio.Future[None]] = []
        # shared empty containers until first used: a parked run stays small
        self.update_waiters: dict[str, asyncio.Future[Event]] = _EMPTY_DICT
        self.watchers: list[asyncio.Future[None]] = _EMPTY_LIST
        self.parent: tuple[str, str, int] | None = None
        self.retry_entry: Any = None
        self.task_attempts = 0  # consecutive failed workflow tasks (for the retry backoff)
        self.timeout_entry: Any = None

    @property
    def open(self) -> bool:
        return self.record.status is S.RUNNING


_ids = random.Random(os.urandom(16))


def new_id() -> str:
    """A random UUID4 string, without the uuid module's cost (run and update ids)."""
    n = _ids.getrandbits(128)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[(n >> 62) & 3]}{h[17:20]}-{h[20:]}"
