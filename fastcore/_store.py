"""The store seam: a handful of methods (``open_store`` picks one by URL), and the memory store.

The engine keeps every open run in memory and calls ``append`` once per activation with the
events that activation produced. ``append`` returns ``None`` when the events are as durable
as the store will make them (memory; sqlite in ``batch`` mode), or an awaitable that
completes when they are committed (sqlite in ``sync`` mode, many runs sharing one commit).
The engine holds back the activation's effects (dispatching activities, answering waiters)
until then, so nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import math
import pickle
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from typing import Any

from ._payload import Payload
from ._search_attributes import Encoded, fold, row_values
from ._visibility import Query, evaluate
from .common import WorkflowExecutionStatus
from .errors import StoreError
from .history import Event, EventType

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "MemoryStore",
    "RecencyKey",
    "RunRecord",
    "Store",
    "fold_memo",
    "pack_history",
    "recency_key",
    "unpack_history",
    "visibility_row",
]

#: Where a run sorts in a list: (close time, or infinity while open; start time; run id).
RecencyKey = tuple[float, float, str]

DEFAULT_TASK_QUEUE = "fastcore"
"""The task queue a run shows when its start named none (an engine runs every workflow)."""


_RUNNING = WorkflowExecutionStatus.RUNNING
_EVENT_TYPES = tuple(EventType)
_EVENT_CODES = {t: i for i, t in enumerate(_EVENT_TYPES)}


def pack_history(events: Sequence[Event]) -> bytes:
    """A closed history as bytes: nothing in it for the cyclic garbage collector to traverse.

    Pickle, because the bytes never leave the process (the stores own them) and it is the
    fastest codec for nested dicts with payloads (about 7 us for a 3-activity history).
    """
    codes = _EVENT_CODES
    return pickle.dumps(
        [(e.event_id, codes[e.event_type], e.timestamp, e.attributes) for e in events],
        protocol=pickle.HIGHEST_PROTOCOL,
    )


def unpack_history(data: bytes) -> list[Event]:
    """The events ``pack_history`` packed (new objects each time)."""
    types = _EVENT_TYPES
    return [Event(i, types[t], ts, a) for i, t, ts, a in pickle.loads(data)]


def _newest_first(rows: list[RunRecord], after: RecencyKey | None, limit: int) -> list[RunRecord]:
    """One page of ``rows``: in ``recency_key`` order, descending, after ``after``."""
    rows.sort(key=recency_key, reverse=True)
    if after is not None:
        rows = [r for r in rows if recency_key(r) < after]
    return rows[:limit]


class RunRecord:
    """One workflow run: identity, status and its full history (shared, not copied).

    A closed run's history can be packed (``pack``) into bytes the garbage collector does not
    traverse, which is how the engine keeps thousands of closed runs without every full
    collection walking their events. Reading ``history`` of a packed record unpacks a new
    list each time: read it once and keep the list; a change to that list is not kept.

    The visibility fields (task queue, execution time, memo, search attributes, parent) are
    what a list row shows and a list filter reads; whoever changes them sets
    ``visibility_changed`` so a store that indexes them writes them again.
    """

    __slots__ = (
        "_history",
        "_last",
        "_packed",
        "close_time",
        "damage",
        "execution_time",
        "history_length",
        "memo",
        "parent",
        "run_id",
        "search_attributes",
        "start_time",
        "status",
        "task_queue",
        "visibility_changed",
        "workflow_id",
        "workflow_type",
    )

    def __init__(
        self,
        workflow_id: str,
        run_id: str,
        workflow_type: str,
        start_time: float,
        status: WorkflowExecutionStatus = _RUNNING,
        close_time: float | None = None,
        history: list[Event] | None = None,
        history_length: int = 0,
        damage: StoreError | None = None,
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        execution_time: float | None = None,
        memo: dict[str, Payload] | None = None,
        search_attributes: Encoded | None = None,
        parent: tuple[str, str] | None = None,
        visibility_changed: bool = True,
    ) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_type = workflow_type
        self.start_time = start_time
        self.status = status
        self.close_time = close_time
        self._history: list[Event] | None = [] if history is None else history
        self._packed: bytes | None = None
        self._last: Event | None = None  # the last event, while ``hold_packed`` holds the rest
        #: Events in the run; set by stores that return runs without their history.
        self.history_length = history_length
        #: The task queue the start named.
        self.task_queue = task_queue
        #: When the run's code first runs (after a cron or retry backoff); None: the start.
        self.execution_time = execution_time
        #: The memo, as recorded and changed by ``upsert_memo`` (payloads); None when empty.
        self.memo = memo
        #: The current search attributes (the JSON form of ``fastcore._search_attributes``).
        self.search_attributes = search_attributes
        #: The parent's (workflow id, run id), for a child workflow.
        self.parent = parent
        #: Set when a visibility field changed since the store last wrote them.
        self.visibility_changed = visibility_changed
        #: Why this run's rows cannot be read (set by ``open_runs`` instead of failing the rest).
        self.damage = damage

    @property
    def history(self) -> list[Event]:
        """The run's events, in order (a fresh list each time once packed; held packed by
        ``hold_packed``, unpacked for good)."""
        h = self._history
        if h is None:
            assert self._packed is not None
            h = unpack_history(self._packed)
            last = self._last
            if last is not None:
                h.append(last)
                self.history = h
        return h

    @history.setter
    def history(self, value: list[Event]) -> None:
        self._history = value
        self._packed = None
        self._last = None

    def last_event(self) -> Event:
        """The history's last event (the close, once closed), without unpacking it whole."""
        h = self._history
        if h is not None:
            return h[-1]
        last = self._last
        return last if last is not None else self.history[-1]

    @property
    def packed(self) -> bool:
        """Whether the history is held packed (``pack``)."""
        return self._history is None

    def pack(self) -> None:
        """Hold the (closed, final) history as bytes from now on."""
        h = self._history if self._last is None else self.history
        if h is not None:
            self.history_length = len(h)
            self._packed = pack_history(h)
            self._history = None

    def hold_packed(self) -> None:
        """Hold the closed history as bytes until ``history`` is next read, the last event
        (the close) as it is: while a run's callers wait for a durable store's commit, its
        events are serialized already, and as objects they would be what every full
        collection walks until then (a burst of runs closing together holds thousands)."""
        h = self._history
        if h:
            self.history_length = len(h)
            self._last = h[-1]
            self._packed = pack_history(h[:-1])
            self._history = None

    @property
    def length(self) -> int:
        """Events in the run, whether or not ``history`` was loaded."""
        h = self._history
        return (len(h) if h is not None else 0) or self.history_length

    def __repr__(self) -> str:
        return (
            f"RunRecord({self.workflow_id!r}, {self.run_id!r}, {self.workflow_type!r}, "
            f"{self.status.name}, events={self.length})"
        )

    def copy(self) -> RunRecord:
        """A record of this run as it is now, with its own copy of the history (the visibility
        fields left at their defaults): what a replay or a backup reads while the run goes on.
        """
        return RunRecord(
            self.workflow_id,
            self.run_id,
            self.workflow_type,
            self.start_time,
            self.status,
            self.close_time,
            list(self.history),
        )

    def refresh_visibility(self) -> None:
        """Set the visibility fields from the history (an imported or rebuilt run)."""
        history = self.history
        if not history:
            return
        first = history[0]
        a = first.attributes
        self.task_queue = a.get("task_queue") or DEFAULT_TASK_QUEUE
        backoff = a.get("first_task_backoff")
        self.execution_time = first.timestamp + float(backoff) if backoff else None
        self.memo = fold_memo(history)
        self.search_attributes = fold(history)
        parent = a.get("parent")
        self.parent = (parent["workflow_id"], parent["run_id"]) if parent else None
        self.visibility_changed = True


def fold_memo(history: Sequence[Event]) -> dict[str, Payload] | None:
    """A run's current memo: its start's, with every ``upsert_memo`` applied (a null
    payload removes a key)."""
    if not history:
        return None
    memo = dict(history[0].attributes.get("memo") or {})
    for ev in history:
        if ev.event_type is EventType.WORKFLOW_PROPERTIES_MODIFIED:
            for key, value in (ev.attributes.get("upserted_memo") or {}).items():
                if value.metadata.get("encoding") == b"binary/null":
                    memo.pop(key, None)
                else:
                    memo[key] = value
    return memo or None


def recency_key(record: RunRecord) -> RecencyKey:
    """The key runs are listed by, descending (Temporal's order): open runs first, newest
    first, then closed runs by close time, newest first."""
    close = record.close_time
    return (math.inf if close is None else close, record.start_time, record.run_id)


def visibility_row(record: RunRecord) -> dict[str, Any]:
    """The values a list filter reads of a run: built-in attributes and search attributes."""
    row = row_values(record.search_attributes)
    row["WorkflowId"] = record.workflow_id
    row["WorkflowType"] = record.workflow_type
    row["RunId"] = record.run_id
    row["ExecutionStatus"] = int(record.status)
    row["StartTime"] = record.start_time
    row["CloseTime"] = record.close_time
    row["ExecutionTime"] = record.execution_time or record.start_time
    row["TaskQueue"] = record.task_queue
    row["HistoryLength"] = record.length
    return row


class Store(ABC):
    """Where histories live. Implementations: ``MemoryStore``, ``SqliteStore``."""

    #: Whether runs survive the process (the engine recovers open runs on start when True).
    durable: bool = False
    #: Whether ``append`` only registers a run the first time it is called for it (a store
    #: that holds the records themselves): the engine then calls it once per run.
    registers_only: bool = False

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Open files, check the schema, take locks. Raise ``StoreError`` when unusable."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Flush what is pending and release everything."""

    @abstractmethod
    def append(self, run: RunRecord, events: Sequence[Event]) -> Awaitable[None] | None:
        """Record ``events`` (already appended to ``run.history``) and ``run``'s status.

        Called once per activation, in order, for each run. Returns ``None`` when done, or an
        awaitable that completes when the events are committed.
        """

    @abstractmethod
    async def load_run(self, workflow_id: str, run_id: str | None = None) -> RunRecord | None:
        """A run with its history; the latest run of ``workflow_id`` when ``run_id`` is None."""

    async def latest_run_info(self, workflow_id: str) -> RunRecord | None:
        """The newest run of ``workflow_id`` (its history may be left empty); cheap if it can."""
        return await self.load_run(workflow_id)

    @abstractmethod
    async def open_runs(self) -> list[RunRecord]:
        """Every run whose status is RUNNING, with its history (for recovery).

        A run whose rows cannot be read comes back without its history and with ``damage``
        set to the ``StoreError`` that names it, so one damaged run does not stop the others.
        """

    @abstractmethod
    async def list_runs(
        self,
        *,
        status: WorkflowExecutionStatus | None = None,
        limit: int = 100,
        after: tuple[float, str, str] | None = None,
    ) -> list[RunRecord]:
        """Runs ordered by (start_time, workflow_id, run_id), after the ``after`` key.

        Histories may be left empty here: callers that need one use ``load_run``.
        """

    async def query_runs(
        self, query: Query, *, limit: int = 100, after: RecencyKey | None = None
    ) -> list[RunRecord]:
        """Runs matching ``query``, in ``recency_key`` order, descending, after ``after``.

        Histories may be left empty. This default reads every run (``list_runs``) and
        evaluates the filter in Python; stores that can index do better.
        """
        rows: list[RunRecord] = []
        page_after: tuple[float, str, str] | None = None
        while True:
            page = await self.list_runs(limit=1000, after=page_after)
            rows.extend(r for r in page if evaluate(query, visibility_row(r)))
            if len(page) < 1000:
                break
            last = page[-1]
            page_after = (last.start_time, last.workflow_id, last.run_id)
        return _newest_first(rows, after, limit)

    async def count_runs(self, query: Query) -> dict[WorkflowExecutionStatus, int]:
        """How many runs match ``query``, per status (statuses with none are left out)."""
        counts: dict[WorkflowExecutionStatus, int] = {}
        after: RecencyKey | None = None
        while True:
            page = await self.query_runs(query, limit=1000, after=after)
            for r in page:
                counts[r.status] = counts.get(r.status, 0) + 1
            if len(page) < 1000:
                return counts
            after = recency_key(page[-1])

    async def search_attribute_types(self) -> dict[str, str]:
        """The custom search attributes the store has recorded, and their type names."""
        return {}

    @abstractmethod
    async def purge_closed(self, closed_before: float) -> int:
        """Delete closed runs whose close time is before ``closed_before``; return how many."""

    def evict(self, run: RunRecord) -> None:  # noqa: B027 - optional hook
        """The engine keeps closed ``run`` in memory no longer (``Engine(max_closed_runs=)``).

        A store that holds runs only in memory forgets it; a durable store keeps it.
        """


class MemoryStore(Store):
    """Keeps runs in a dict: fast, and gone with the process."""

    durable = False
    registers_only = True  # the record is the history: append only has to know the run

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], RunRecord] = {}
        self._latest: dict[str, RunRecord] = {}

    def append(self, run: RunRecord, events: Sequence[Event]) -> None:
        latest = self._latest.get(run.workflow_id)
        if latest is not run:
            self._runs[(run.workflow_id, run.run_id)] = run
            if latest is None or latest.start_time <= run.start_time:
                self._latest[run.workflow_id] = run
        return None

    async def load_run(self, workflow_id: str, run_id: str | None = None) -> RunRecord | None:
        if run_id is None:
            return self._latest.get(workflow_id)
        return self._runs.get((workflow_id, run_id))

    async def open_runs(self) -> list[RunRecord]:
        return [r for r in self._runs.values() if r.status == WorkflowExecutionStatus.RUNNING]

    async def list_runs(
        self,
        *,
        status: WorkflowExecutionStatus | None = None,
        limit: int = 100,
        after: tuple[float, str, str] | None = None,
    ) -> list[RunRecord]:
        rows = sorted(
            (r for r in self._runs.values() if status is None or r.status == status),
            key=lambda r: (r.start_time, r.workflow_id, r.run_id),
        )
        if after is not None:
            rows = [r for r in rows if (r.start_time, r.workflow_id, r.run_id) > after]
        return rows[:limit]

    async def query_runs(
        self, query: Query, *, limit: int = 100, after: RecencyKey | None = None
    ) -> list[RunRecord]:
        rows = [r for r in self._runs.values() if evaluate(query, visibility_row(r))]
        return _newest_first(rows, after, limit)

    async def count_runs(self, query: Query) -> dict[WorkflowExecutionStatus, int]:
        counts: dict[WorkflowExecutionStatus, int] = {}
        for r in self._runs.values():
            if evaluate(query, visibility_row(r)):
                counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def snapshot(self) -> list[RunRecord]:
        """Copies of every run as it is now (histories only grow: each is a committed prefix)."""
        return [r.copy() for r in self._runs.values()]

    def evict(self, run: RunRecord) -> None:
        key = (run.workflow_id, run.run_id)
        if self._runs.get(key) is run:
            del self._runs[key]
        if self._latest.get(run.workflow_id) is run:
            del self._latest[run.workflow_id]

    async def purge_closed(self, closed_before: float) -> int:
        doomed = [
            k
            for k, r in self._runs.items()
            if r.close_time is not None and r.close_time < closed_before
        ]
        for k in doomed:
            run = self._runs.pop(k)
            if self._latest.get(run.workflow_id) is run:
                del self._latest[run.workflow_id]
        return len(doomed)
