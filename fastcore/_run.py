"""A run as the engine sees it: its record, its code and what is in flight for it."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

from ._activities import ActivityTask
from ._definitions import WorkflowDefinition
from ._instance import WorkflowInstance
from ._store import RunRecord
from ._timers import TimerEntry
from .common import WorkflowExecutionStatus
from .errors import WorkflowNotFoundError
from .history import Event, EventType

__all__ = ["CLOSE_STATUS", "Run", "closed_error", "new_id", "seed_ids"]

#: The status a run has once its close event is written.
CLOSE_STATUS = {
    EventType.WORKFLOW_EXECUTION_COMPLETED: WorkflowExecutionStatus.COMPLETED,
    EventType.WORKFLOW_EXECUTION_FAILED: WorkflowExecutionStatus.FAILED,
    EventType.WORKFLOW_EXECUTION_CANCELED: WorkflowExecutionStatus.CANCELED,
    EventType.WORKFLOW_EXECUTION_TERMINATED: WorkflowExecutionStatus.TERMINATED,
    EventType.WORKFLOW_EXECUTION_TIMED_OUT: WorkflowExecutionStatus.TIMED_OUT,
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: WorkflowExecutionStatus.CONTINUED_AS_NEW,
}

_RUNNING = WorkflowExecutionStatus.RUNNING
_EMPTY_DICT: dict[Any, Any] = {}  # never written: replaced on first use
_EMPTY_LIST: list[Any] = []  # never written: replaced on first use


class Run:
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
        "stored",
        "task_attempts",
        "timeout_entry",
        "timers",
        "update_index",
        "update_waiters",
        "watchers",
    )

    def __init__(self, record: RunRecord, defn: WorkflowDefinition) -> None:
        self.record = record
        self.defn = defn
        self.instance: WorkflowInstance | None = None
        # shared empty containers until first used: a parked run stays small
        self.activities: dict[int, ActivityTask[Run]] = _EMPTY_DICT
        self.timers: dict[int, TimerEntry] = _EMPTY_DICT
        self.children: dict[int, tuple[str, str]] = _EMPTY_DICT
        self.children_closed: set[int] | None = None  # made when a child first closes
        self.close_waiters: list[asyncio.Future[None]] = _EMPTY_LIST
        self.update_waiters: dict[str, asyncio.Future[Event]] = _EMPTY_DICT
        #: the run's updates by id, read from its history when first asked (``_updates``)
        self.update_index: Any = None
        self.watchers: list[asyncio.Future[None]] = _EMPTY_LIST
        self.parent: tuple[str, str, int] | None = None  # (workflow id, run id, initiated id)
        self.retry_entry: TimerEntry | None = None  # the next workflow task retry
        self.task_attempts = 0  # consecutive failed workflow tasks (for the retry backoff)
        self.timeout_entry: TimerEntry | None = None  # the execution/run timeout
        #: the store was told of the run, and needs no more appends (``Store.registers_only``)
        self.stored = False

    @property
    def open(self) -> bool:
        return self.record.status is _RUNNING


_ids = random.Random(os.urandom(16))


def seed_ids(seed: int) -> None:
    """Draw run ids, update ids and workflow seeds from ``seed`` from now on (engines made
    after the call): the deterministic simulator replays a seed exactly with it."""
    _ids.seed(seed)


_bits = _ids.getrandbits
# a UUID4's version (4) and variant (RFC 4122) bits, set on 128 random ones
_UUID4_KEEP = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def new_id() -> str:
    """A random UUID4 string, without the uuid module's cost (run and update ids)."""
    h = "%032x" % (_bits(128) & _UUID4_KEEP | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def closed_error(run: Run, what: str) -> WorkflowNotFoundError:
    """The error for a call that needs the run open and found it closed (``what``: the call,
    as ``"terminate"`` or ``"signal 'x' to"``), as Temporal answers it: not found."""
    record = run.record
    err = WorkflowNotFoundError(
        f"cannot {what} workflow {record.workflow_id!r}: it is closed ({record.status.name})",
        workflow_id=record.workflow_id,
    )
    err.closed_status = record.status
    return err
