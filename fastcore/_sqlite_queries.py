"""The SQLite store's reads: plain functions of a connection, run on the loop or the writer
thread (``SqliteStore._read``).

A run's row becomes a ``RunRecord``; a row that cannot be read raises ``StoreError`` naming
the run (``open_runs`` instead marks that run ``damage`` and goes on with the others).
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._rows import RowError, load_history, load_value
from ._store import RunRecord
from .common import WorkflowExecutionStatus
from .errors import StoreError

__all__ = [
    "RUN_COLUMNS",
    "latest_row",
    "list_runs",
    "load_run",
    "open_runs",
    "purge_closed",
    "run_record",
]

RUN_COLUMNS = (
    "id, workflow_id, run_id, workflow_type, status, start_time, close_time, history_length, "
    "task_queue, execution_time, memo, search_attributes, parent_workflow_id, parent_run_id"
)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while a bulk load allocates (it otherwise doubles the load time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_record(row: tuple[Any, ...]) -> RunRecord:
    """The run a ``runs`` row (``RUN_COLUMNS``) describes, without its history."""
    try:
        status = WorkflowExecutionStatus(row[4])
    except ValueError:
        raise _bad_row(row, f"status {row[4]!r}, which is not a workflow status") from None
    try:
        memo = load_value(row[10]) if row[10] else None
        search_attributes = load_value(row[11]) if row[11] else None
    except RowError as err:
        raise _bad_row(row, f"a memo or search attributes that are {err}") from None
    return RunRecord(
        workflow_id=row[1],
        run_id=row[2],
        workflow_type=row[3],
        status=status,
        start_time=row[5],
        close_time=row[6],
        history_length=row[7],
        task_queue=row[8],
        execution_time=row[9],
        memo=memo,
        search_attributes=search_attributes,
        parent=(row[12], row[13]) if row[12] else None,
        visibility_changed=False,
    )


def _bad_row(row: tuple[Any, ...], what: str) -> StoreError:
    return StoreError(
        f"workflow {row[1]!r} run {row[2]!r} cannot be read from the store: its runs row "
        f"has {what}",
        workflow_id=str(row[1]),
        run_id=str(row[2]),
    )


def latest_row(conn: sqlite3.Connection, workflow_id: str) -> tuple[Any, ...] | None:
    """The ``runs`` row of the newest run of ``workflow_id`` (None: no run)."""
    sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE workflow_id = ? "
    found: tuple[Any, ...] | None = conn.execute(
        sql + "ORDER BY start_time DESC, id DESC LIMIT 1", (workflow_id,)
    ).fetchone()
    return found


def load_run(conn: sqlite3.Connection, workflow_id: str, run_id: str | None) -> RunRecord | None:
    """A run (the newest of ``workflow_id`` when ``run_id`` is None) with its history."""
    if run_id is None:
        found = latest_row(conn, workflow_id)
    else:
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE workflow_id = ? AND run_id = ?"
        found = conn.execute(sql, (workflow_id, run_id)).fetchone()
    if found is None:
        return None
    record = run_record(found)
    rows = conn.execute(
        "SELECT event_id, data FROM events WHERE run = ? ORDER BY event_id", (found[0],)
    )
    with _no_gc():
        # a damaged run raises StoreError naming it and the row
        record.history = load_history(record.workflow_id, record.run_id, rows)
    return record


def open_runs(conn: sqlite3.Connection) -> list[RunRecord]:
    """Every RUNNING run with its history; a run whose rows cannot be read comes back with
    ``damage`` set (and no history) instead of failing the others."""
    running = int(WorkflowExecutionStatus.RUNNING)
    order = "ORDER BY r.start_time, r.workflow_id, r.run_id"
    runs = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs r WHERE r.status = ? {order}", (running,))
    by_id = {row[0]: run_record(row) for row in runs}
    rows_of: dict[int, list[tuple[int, Any]]] = {run: [] for run in by_id}
    # One query for every event, in the runs_by_status index order: no sort, no per-run query.
    rows = conn.execute(
        "SELECT e.run, e.event_id, e.data FROM runs r JOIN events e ON e.run = r.id "
        f"WHERE r.status = ? {order}, e.event_id",
        (running,),
    )
    with _no_gc():
        for run, event_id, data in rows:
            rows_of[run].append((event_id, data))
        for run, record in by_id.items():
            try:
                record.history = load_history(record.workflow_id, record.run_id, rows_of[run])
            except StoreError as err:
                record.damage = err
    return list(by_id.values())


def list_runs(
    conn: sqlite3.Connection,
    status: WorkflowExecutionStatus | None,
    limit: int,
    after: tuple[float, str, str] | None,
) -> list[RunRecord]:
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(int(status))
    if after is not None:
        where.append("(start_time, workflow_id, run_id) > (?, ?, ?)")
        params.extend(after)
    sql = f"SELECT {RUN_COLUMNS} FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start_time, workflow_id, run_id LIMIT ?"
    params.append(limit)
    return [run_record(row) for row in conn.execute(sql, params)]


def purge_closed(conn: sqlite3.Connection, closed_before: float) -> int:
    """Delete the runs closed before ``closed_before`` (epoch seconds), rows and all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "DELETE FROM events WHERE run IN (SELECT id FROM runs WHERE close_time < ?)",
            (closed_before,),
        )
        conn.execute(
            "DELETE FROM search_attributes WHERE run IN (SELECT id FROM runs WHERE close_time < ?)",
            (closed_before,),
        )
        count = conn.execute("DELETE FROM runs WHERE close_time < ?", (closed_before,)).rowcount
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return int(count)
