"""The SQLite store: histories in one WAL-mode database file, written by group commit.

Each ``append`` (one activation of one run) serializes the activation's events at once and
queues them with a snapshot of the run's row (workflow_id, run_id, workflow_type, status,
start_time, close_time, history_length). One transaction writes everything queued, so an
activation is all in or all out and activations commit in the order they were appended:
after any crash, every run's stored history is a prefix of its activations.

Durability is chosen with ``durability=`` (URL: ``sqlite:///app.db?durability=batch``):

``sync`` (the default)
    ``append`` returns an ``asyncio.Future`` that completes once the transaction holding the
    events has committed. Appends made in the same event-loop iteration, and all appends
    made while the previous commit was in flight, share one commit (group commit). SQLite
    runs with ``journal_mode=WAL`` and ``synchronous=FULL`` (plus ``fullfsync`` on macOS,
    where a plain fsync stops at the drive's cache), so the WAL is fsynced before a commit
    returns. What an append acknowledged survives a process crash and an OS crash or power
    loss, as far as the disk honours fsync.

``batch``
    ``append`` returns ``None`` at once; events wait in memory and are committed
    ``batch_interval`` seconds (default 0.005) after the first pending append, or as soon as
    ``batch_size`` events (default 1000) are pending. SQLite runs with ``journal_mode=WAL``
    and ``synchronous=NORMAL``: a commit writes the WAL without fsync. A process crash loses
    the appends not yet committed, those of the last ``batch_interval`` (plus one commit's
    duration with the writer thread); committed transactions are in the OS page cache and
    survive it. An OS crash or power loss can also roll back transactions committed since
    the WAL was last fsynced (at each checkpoint, about every 1000 WAL pages, 4 MB), which
    is not bounded by ``batch_interval``. The file itself stays consistent either way.

Where commits run (``writer_thread=``): by default, for ``sync``, on one writer thread, so
the fsync never blocks the event loop and the appends made meanwhile form the next commit;
for ``batch``, on the loop thread in a ``call_later``/``call_soon`` callback (no fsync, tens
of microseconds a batch, and the loop's own pace bounds the buffer). A ``batch`` store with
the writer thread returns a future from an append that finds ``batch_size`` events pending
while a commit is in flight, so a slow disk pushes back instead of growing the buffer.

``load_run``, ``list_runs``, ``open_runs`` and ``purge_closed`` commit what is pending
first, so they see every append made before the call; ``close()`` commits everything.
After a failed commit the store refuses further appends with ``StoreError`` (the awaiting
appends get it too; ``close()`` raises it), since the histories on disk would have a gap.

``open()`` raises ``StoreError`` rather than start empty when the file is not an SQLite
database or fails ``PRAGMA quick_check`` (``check=quick|full|none``), when it is another
application's database, when its schema is newer than this code, or when another store
holds it: an exclusive ``flock`` on ``<path>.lock`` (the file is kept, never deleted; the
lock goes with ``close()`` or the process) admits one store per file, across processes and
within one. The schema version is ``PRAGMA user_version`` (``application_id`` marks the file
as ours); the steps of ``_sqlite_schema.MIGRATIONS`` are applied in order, in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from . import _sqlite_queries as _q
from . import _sqlite_visibility as _vis
from ._rows import dump_event, dump_value, load_event
from ._sqlite_schema import (
    SCHEMA_VERSION,
    SQLITE_HEADER,
    acquire_lock,
    connect,
    migrate,
    release_lock,
    schema_version,
)
from ._store import RecencyKey, RunRecord, Store
from ._visibility import Query
from .common import WorkflowExecutionStatus
from .errors import InvalidArgumentError, StoreError
from .history import Event

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

_log = logging.getLogger("fastcore.store")
_T = TypeVar("_T")

# The row codec lives in _rows (its reading side is where damage is found); these names stay
# here for the tests and tools that read them from this module.
_dump_event = dump_event
_load_event = load_event


_CACHE_KIB = 64 * 1024  # the page cache of the writing connection, at most

_UPSERT_RUN = """INSERT INTO runs
    (workflow_id, run_id, workflow_type, status, start_time, close_time, history_length)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (workflow_id, run_id) DO UPDATE SET status = excluded.status,
        close_time = excluded.close_time, history_length = excluded.history_length"""
_INSERT_EVENT = """INSERT INTO events (run, event_id, data)
    VALUES ((SELECT id FROM runs WHERE workflow_id = ? AND run_id = ?), ?, ?)"""
_RunRow = tuple[str, str, str, int, float, float | None, int]
_EventRow = tuple[str, str, int, str]


class _Batch:
    """What one transaction writes, and who waits for it."""

    __slots__ = ("events", "latest", "rows", "visibility", "waiters")

    def __init__(
        self,
        rows: list[_RunRow],
        events: list[_EventRow],
        waiters: list[asyncio.Future[None]],
        latest: dict[str, _RunRow] | None = None,
        visibility: list[_vis.VisibilityRow] | None = None,
    ) -> None:
        self.rows = rows
        self.events = events
        self.waiters = waiters
        self.latest = latest or {}
        self.visibility = visibility or []


class SqliteStore(Store):
    """A durable store in one SQLite file; see the module docstring for the guarantees.

    Args:
        path: The database file (created when missing); ``:memory:`` for a throwaway one.
        durability: ``sync`` (acknowledge after fsync) or ``batch`` (buffer, bounded loss).
        batch_interval: Seconds a ``batch`` append may wait before its commit.
        batch_size: Pending events that trigger a ``batch`` commit before the interval.
        writer_thread: Commit on a dedicated thread, or on the event loop; by default a
            thread for ``sync`` (the fsync never blocks the loop), the loop for ``batch``.
        check: Integrity check at open: ``quick`` (default), ``full`` or ``none``.
    """

    durable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: str = "sync",
        batch_interval: float | str = 0.005,
        batch_size: int | str = 1000,
        writer_thread: bool | str | None = None,
        check: str = "quick",
        **unknown: Any,
    ) -> None:
        if unknown:
            raise InvalidArgumentError(
                f"unknown sqlite store option(s) {sorted(unknown)}: known are durability, "
                "batch_interval, batch_size, writer_thread, check"
            )
        self.path = os.fspath(path)
        durability = str(durability).lower()
        if durability not in ("sync", "batch"):
            raise InvalidArgumentError(f"durability must be 'sync' or 'batch', not {durability!r}")
        self.durability = durability
        self.batch_interval = float(_positive(float, "batch_interval", batch_interval))
        self.batch_size = int(_positive(int, "batch_size", batch_size))
        self.writer_thread = (
            durability == "sync"
            if writer_thread is None
            else _boolean("writer_thread", writer_thread)
        )
        check = str(check).lower()
        if check not in ("quick", "full", "none"):
            raise InvalidArgumentError(f"check must be 'quick', 'full' or 'none', not {check!r}")
        self.check = check
        #: Append transactions committed so far (several appends share one under load).
        self.commits = 0
        self._sync = durability == "sync"
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._rows: dict[tuple[str, str], _RunRow] = {}
        self._visibility: dict[tuple[str, str], _vis.VisibilityRow] = {}
        self._pending_latest: dict[str, _RunRow] = {}  # newest pending row per workflow id
        self._reader: sqlite3.Connection | None = None  # lookups that need no flush
        self._events: list[_EventRow] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._shared: asyncio.Future[None] | None = None  # what sync appends return
        self._handle: asyncio.Handle | None = None
        self._handle_soon = False
        self._inflight: _Batch | None = None
        self._error: StoreError | None = None
        #: A fault-injection seam for crash tests (the deterministic simulator in
        #: tests/simulation): when set, called where each commit runs, at "begin", "rows"
        #: (the run rows are written, the events not), "events" (all written, not committed)
        #: and "committed" (durable, nobody told yet), with the commit's event rows
        #: ``(workflow_id, run_id, event_id, data)``. Raising stops the commit there, as a
        #: crash would; SQLite rolls back what was not committed.
        self.commit_hook: Callable[[str, Sequence[_EventRow]], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._conn is not None:
            raise StoreError(f"SQLite store {self.path} is already open")
        self._loop = asyncio.get_running_loop()
        memory = self.path == ":memory:"
        if not memory:
            self._lock_fd = acquire_lock(self.path + ".lock", self.path)
        try:
            self._conn = self._connect(memory)
        except BaseException:
            self._release_lock()
            raise
        if self.writer_thread:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="fastcore-sqlite")

    async def close(self) -> None:
        if self._conn is None:
            return
        try:
            if self._error is None:
                await self._flush()
        finally:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            # The reader first: the last connection to close must be one that can write the
            # WAL back into the database, so the .db file alone holds every commit.
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            self._checkpoint(self._conn)
            self._conn.close()
            self._conn = None
            self._release_lock()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Let go of the file as a crashed process would: nothing pending is committed and
        nobody waiting is told (crash tests; the next ``open`` recovers what was committed)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._rows, self._events, self._waiters, self._pending_latest = {}, [], [], {}
        self._error = StoreError(f"SQLite store {self.path} was abandoned")
        for conn in (self._reader, self._conn):
            if conn is not None:
                conn.close()  # an open transaction is rolled back, as after a crash
        self._reader = self._conn = None
        self._release_lock()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database and empty it (at close: the file stands alone)."""
        if self.path == ":memory:":
            return
        try:
            busy, _log_frames, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            _log.warning(
                "SQLite store %s: the WAL could not be checkpointed at close (%s); the "
                "database needs its -wal file until it is opened again",
                self.path,
                exc,
            )
            return
        if busy:
            _log.warning(
                "SQLite store %s: the WAL was not fully checkpointed at close because another "
                "connection (a backup or a reader in another process?) was reading it; the "
                "database needs its -wal file until it is opened again",
                self.path,
            )

    async def flush(self) -> None:
        """Commit everything appended so far (a backup's starting point)."""
        await self._flush()

    def run_on_connection(self, fn: Callable[..., _T], *args: Any) -> Awaitable[_T]:
        """Run ``fn(conn, *args)`` where the writing connection lives (its thread or the loop)."""
        conn = self._conn
        if conn is None:
            raise StoreError(f"SQLite store {self.path} is not open")
        if self._executor is None:
            fut: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
            fut.set_result(fn(conn, *args))
            return fut
        assert self._loop is not None
        return self._loop.run_in_executor(self._executor, fn, conn, *args)

    def _connect(self, memory: bool) -> sqlite3.Connection:
        path = self.path
        if not memory:
            if os.path.isdir(path):
                raise StoreError(f"SQLite store path {path} is a directory")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    head = f.read(len(SQLITE_HEADER))
                if head and head != SQLITE_HEADER:
                    raise StoreError(f"{path} is not an SQLite database (bad file header)")
        try:
            conn = connect(path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {path}: {exc}") from exc
        try:
            if self.check != "none":
                pragma = "quick_check" if self.check == "quick" else "integrity_check"
                problems = [r[0] for r in conn.execute(f"PRAGMA {pragma}(5)")]
                if problems != ["ok"]:
                    raise StoreError(f"{path} is corrupt ({pragma}): {'; '.join(problems)}")
            version = schema_version(conn, path)  # before changing anything in the file
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if not memory and str(mode).lower() != "wal":
                raise StoreError(f"{path}: cannot switch to WAL journal mode (got {mode})")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self._sync else 'NORMAL'}")
            # index pages of a store with many runs stay in memory (the default is 2 MB)
            conn.execute(f"PRAGMA cache_size = {-_CACHE_KIB}")
            if self._sync and sys.platform == "darwin":
                conn.execute("PRAGMA fullfsync = ON")
                conn.execute("PRAGMA checkpoint_fullfsync = ON")
            migrate(conn, version)
        except sqlite3.DatabaseError as exc:
            conn.close()
            name = getattr(exc, "sqlite_errorname", "")
            if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in str(exc):
                raise StoreError(f"{path} is not an SQLite database or is corrupt: {exc}") from exc
            raise StoreError(f"cannot open SQLite store {path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            release_lock(self._lock_fd)
            self._lock_fd = None

    # -- writing -----------------------------------------------------------------------------

    def append(self, run: RunRecord, events: Sequence[Event]) -> asyncio.Future[None] | None:
        if self._error is not None:
            raise self._error
        loop = self._loop
        if loop is None or self._conn is None:
            raise StoreError(f"SQLite store {self.path} is not open")
        wid, rid = run.workflow_id, run.run_id
        # Serialize now: a bad value fails this call, and later mutation cannot leak in.
        self._events.extend([(wid, rid, e.event_id, _dump_event(e)) for e in events])
        row = (
            wid,
            rid,
            run.workflow_type,
            int(run.status),
            run.start_time,
            run.close_time,
            len(run.history),
        )
        self._rows[(wid, rid)] = row
        if run.visibility_changed:
            run.visibility_changed = False
            if not (events and events[0].event_id == 1 and _vis.plain(run)):
                # a new run with nothing to show beyond the defaults writes no extra rows
                self._visibility[(wid, rid)] = _vis.visibility_row(run, dump_value)
        prev = self._pending_latest.get(wid)
        if prev is None or prev[1] == rid or prev[4] <= row[4]:
            self._pending_latest[wid] = row
        if self._sync:
            fut = self._shared
            if fut is None:  # one future for every append the next commit writes
                fut = self._shared = loop.create_future()
                self._waiters.append(fut)
            if self._handle is None:
                self._handle = loop.call_soon(self._kick)
                self._handle_soon = True
            return fut
        if self._inflight is not None and len(self._events) >= self.batch_size:
            # The writer thread is behind: make this caller wait for the commit, so the buffer
            # (the loss window) cannot grow without bound.
            fut = loop.create_future()
            self._waiters.append(fut)
            return fut
        if self._handle is None:
            if len(self._events) >= self.batch_size:
                self._handle = loop.call_soon(self._kick)
                self._handle_soon = True
            else:
                self._handle = loop.call_later(self.batch_interval, self._kick)
                self._handle_soon = False
        elif not self._handle_soon and len(self._events) >= self.batch_size:
            self._handle.cancel()
            self._handle = loop.call_soon(self._kick)
            self._handle_soon = True
        return None

    def _take(self) -> _Batch | None:
        if not self._rows and not self._waiters:
            return None
        batch = _Batch(
            list(self._rows.values()),
            self._events,
            self._waiters,
            self._pending_latest,
            list(self._visibility.values()),
        )
        self._rows, self._events, self._waiters, self._pending_latest = {}, [], [], {}
        self._visibility = {}
        self._shared = None
        return batch

    def _kick(self) -> None:
        """Start committing what is pending (a loop callback; one commit at a time)."""
        self._handle = None
        if self._inflight is not None:
            return  # _committed starts the next one
        batch = self._take()
        if batch is None:
            return
        if self._executor is None:
            try:
                self._write(batch)
            except Exception as exc:
                self._failed(batch, exc)
            else:
                self._succeeded(batch)
            return
        assert self._loop is not None
        self._inflight = batch
        fut = self._loop.run_in_executor(self._executor, self._write, batch)
        fut.add_done_callback(self._committed)

    def _committed(self, fut: asyncio.Future[None]) -> None:
        batch, self._inflight = self._inflight, None
        assert batch is not None
        exc = fut.exception() if not fut.cancelled() else asyncio.CancelledError()
        if exc is not None:
            self._failed(batch, exc)
            pending = self._take()
            if pending is not None:
                self._failed(pending, exc)
            return
        self._succeeded(batch)
        if self._handle is None and (self._rows or self._waiters):
            self._kick()

    def _write(self, batch: _Batch) -> None:
        """Commit one batch (on the writer thread, or the loop thread without one)."""
        conn = self._conn
        assert conn is not None
        hook = self.commit_hook
        if hook is not None:
            hook("begin", batch.events)
        conn.execute("BEGIN")
        try:
            conn.executemany(_UPSERT_RUN, batch.rows)
            if hook is not None:
                hook("rows", batch.events)
            conn.executemany(_INSERT_EVENT, batch.events)
            if batch.visibility:
                _vis.write_visibility(conn, batch.visibility)
            if hook is not None:
                hook("events", batch.events)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if hook is not None:
            hook("committed", batch.events)

    def _succeeded(self, batch: _Batch) -> None:
        if batch.rows:
            self.commits += 1
        for w in batch.waiters:
            if not w.done():
                w.set_result(None)

    def _failed(self, batch: _Batch, exc: BaseException) -> None:
        if self._error is None:
            self._error = StoreError(f"SQLite store {self.path}: commit failed: {exc}")
            self._error.__cause__ = exc
            _log.error("%s; the store accepts no more appends", self._error)
        for w in batch.waiters:
            if not w.done():
                w.set_exception(self._error)

    async def _flush(self) -> None:
        """Commit everything appended so far; return when it is committed."""
        if self._error is not None:
            raise self._error
        if self._rows:
            assert self._loop is not None
            fut: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(fut)
            if self._handle is not None:
                self._handle.cancel()
            self._kick()
            await fut
        elif self._inflight is not None:
            assert self._loop is not None
            fut = self._loop.create_future()
            self._inflight.waiters.append(fut)
            await fut

    # -- reading -----------------------------------------------------------------------------

    async def _read(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Flush, then run ``fn(conn, *args)`` where the connection lives."""
        await self._flush()
        conn = self._conn
        if conn is None:
            raise StoreError(f"SQLite store {self.path} is not open")
        try:
            if self._executor is None:
                return fn(conn, *args)
            assert self._loop is not None
            return await self._loop.run_in_executor(self._executor, fn, conn, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    async def load_run(self, workflow_id: str, run_id: str | None = None) -> RunRecord | None:
        return await self._read(_q.load_run, workflow_id, run_id)

    async def latest_run_info(self, workflow_id: str) -> RunRecord | None:
        """The newest run of ``workflow_id``, without its history and without a flush.

        Pending and in-flight appends are answered from memory; the rest from a second,
        read-only connection, so a start with a new id costs a lookup, not a commit.
        """
        row = self._pending_latest.get(workflow_id)
        if row is None and self._inflight is not None:
            row = self._inflight.latest.get(workflow_id)
        if row is not None:
            return RunRecord(
                workflow_id=row[0],
                run_id=row[1],
                workflow_type=row[2],
                status=WorkflowExecutionStatus(row[3]),
                start_time=row[4],
                close_time=row[5],
                history_length=row[6],
            )
        if self.path == ":memory:":
            return await self.load_run(workflow_id)
        reader = self._reader
        if reader is None:
            try:
                reader = self._reader = connect(
                    f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
                )
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: {exc}") from exc
        try:
            found = _q.latest_row(reader, workflow_id)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc
        return _q.run_record(found) if found is not None else None

    async def open_runs(self) -> list[RunRecord]:
        return await self._read(_q.open_runs)

    async def list_runs(
        self,
        *,
        status: WorkflowExecutionStatus | None = None,
        limit: int = 100,
        after: tuple[float, str, str] | None = None,
    ) -> list[RunRecord]:
        return await self._read(_q.list_runs, status, limit, after)

    async def query_runs(
        self, query: Query, *, limit: int = 100, after: RecencyKey | None = None
    ) -> list[RunRecord]:
        return await self._read(_vis.query_runs, _q.RUN_COLUMNS, query, limit, after, _q.run_record)

    async def count_runs(self, query: Query) -> dict[WorkflowExecutionStatus, int]:
        counts = await self._read(_vis.count_runs, query)
        return {WorkflowExecutionStatus(k): n for k, n in counts.items()}

    async def search_attribute_types(self) -> dict[str, str]:
        return await self._read(_vis.search_attribute_types)

    async def purge_closed(self, closed_before: float) -> int:
        return await self._read(_q.purge_closed, closed_before)


# -- options and the lock file ---------------------------------------------------------------


def _positive(kind: Callable[[Any], float], name: str, value: Any) -> float:
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a positive number, not {value!r}") from None
    if not converted > 0:  # also refuses NaN
        raise InvalidArgumentError(f"{name} must be a positive number, not {value!r}")
    return converted


def _boolean(name: str, value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidArgumentError(f"{name} must be true or false, not {value!r}")
