"""The SQLite store's visibility: list rows and list filters answered from indexes.

Each run's row in ``runs`` carries what a list shows (task queue, execution time, memo and
search attributes as JSON); its custom search attributes are also rows of
``search_attributes`` (``run``, ``name``, ``value``; a KeywordList has a row per item;
Datetimes are epoch seconds, Bools 0/1), indexed on ``(name, value, run)``. A visibility
query compiles to one SQL statement (``fastcore._visibility.to_sql``): built-in attributes
are columns of ``runs`` (indexed by id, type, status, start and close time), a predicate on a
custom attribute is ``id IN (SELECT run FROM search_attributes WHERE name = ? AND ...)``.
Runs are listed as Temporal lists them, newest first (``runs_by_recency``), a page at a
time by keyset. Nothing is filtered in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from ._search_attributes import Encoded, datetime_value
from ._sqlite_schema import RECENCY
from ._store import DEFAULT_TASK_QUEUE, RecencyKey, RunRecord
from ._visibility import Query, to_sql

__all__ = [
    "attribute_rows",
    "count_runs",
    "plain",
    "query_runs",
    "search_attribute_types",
    "visibility_row",
    "write_visibility",
]

_RECENCY = RECENCY

_COLUMNS = {
    "WorkflowId": "workflow_id",
    "WorkflowType": "workflow_type",
    "RunId": "run_id",
    "ExecutionStatus": "status",
    "StartTime": "start_time",
    "CloseTime": "close_time",
    "ExecutionTime": "coalesce(execution_time, start_time)",
    "TaskQueue": "task_queue",
    "HistoryLength": "history_length",
}


def attribute_rows(encoded: Encoded | None) -> list[tuple[str, Any]]:
    """The ``(name, value)`` rows of a run's search attributes, in their indexed form."""
    rows: list[tuple[str, Any]] = []
    for name, entry in (encoded or {}).items():
        kind, value = entry.get("type"), entry.get("value")
        if value is None:
            continue
        if kind == "KeywordList":
            rows.extend((name, item) for item in value)
        elif kind == "Datetime":
            rows.append((name, datetime_value(value)))
        elif kind == "Bool":
            rows.append((name, 1 if value else 0))
        elif kind == "Double":
            rows.append((name, float(value)))
        else:
            rows.append((name, value))
    return rows


#: (workflow id, run id, task queue, execution time, memo JSON, search attributes JSON,
#: parent workflow id, parent run id, attribute rows, attribute types)
VisibilityRow = tuple[
    str,
    str,
    str,
    float | None,
    str | None,
    str | None,
    str | None,
    str | None,
    list[tuple[str, Any]],
    list[tuple[str, str]],
]


def plain(run: RunRecord) -> bool:
    """Whether a run's visibility fields all hold what a new row has by default."""
    return (
        run.task_queue == DEFAULT_TASK_QUEUE
        and run.execution_time is None
        and not run.memo
        and not run.search_attributes
        and run.parent is None
    )


def visibility_row(run: RunRecord, dumps: Callable[[Any], str]) -> VisibilityRow:
    """What ``write_visibility`` writes for a run (``dumps``: JSON of a value with Payloads)."""
    sa = run.search_attributes
    return (
        run.workflow_id,
        run.run_id,
        run.task_queue,
        run.execution_time,
        dumps(run.memo) if run.memo else None,
        dumps(sa) if sa else None,
        run.parent[0] if run.parent else None,
        run.parent[1] if run.parent else None,
        attribute_rows(sa),
        [(name, str(entry["type"])) for name, entry in (sa or {}).items()],
    )


def write_visibility(conn: sqlite3.Connection, rows: list[VisibilityRow]) -> None:
    """Write changed visibility (inside the caller's transaction, after the runs' rows)."""
    for row in rows:
        wid, rid, task_queue, execution_time, memo, search_attributes = row[:6]
        parent_id, parent_run_id, attrs, types = row[6:]
        found = conn.execute(
            "SELECT id FROM runs WHERE workflow_id = ? AND run_id = ?", (wid, rid)
        ).fetchone()
        if found is None:
            continue
        run = found[0]
        conn.execute(
            "UPDATE runs SET task_queue = ?, execution_time = ?, memo = ?, "
            "search_attributes = ?, parent_workflow_id = ?, parent_run_id = ? WHERE id = ?",
            (task_queue, execution_time, memo, search_attributes, parent_id, parent_run_id, run),
        )
        conn.execute("DELETE FROM search_attributes WHERE run = ?", (run,))
        if attrs:
            conn.executemany(
                "INSERT INTO search_attributes (run, name, value) VALUES (?, ?, ?)",
                [(run, name, value) for name, value in attrs],
            )
        if types:
            conn.executemany(
                "INSERT OR IGNORE INTO search_attribute_types (name, type) VALUES (?, ?)", types
            )


def _where(query: Query) -> tuple[str, list[Any]]:
    return to_sql(query, _COLUMNS.__getitem__, attribute_table="search_attributes")


def query_runs(
    conn: sqlite3.Connection,
    columns: str,
    query: Query,
    limit: int,
    after: RecencyKey | None,
    make: Callable[[tuple[Any, ...]], Any],
) -> list[Any]:
    """One page of runs matching ``query``, newest first, after the key ``after``."""
    where, params = _where(query)
    sql = f"SELECT {columns} FROM runs WHERE ({where})"
    if after is not None:
        sql += f" AND ({_RECENCY}, start_time, run_id) < (?, ?, ?)"
        params.extend(after)
    sql += f" ORDER BY {_RECENCY} DESC, start_time DESC, run_id DESC LIMIT ?"
    params.append(limit)
    return [make(row) for row in conn.execute(sql, params)]


def count_runs(conn: sqlite3.Connection, query: Query) -> dict[int, int]:
    """How many runs match ``query``, per status value."""
    where, params = _where(query)
    sql = f"SELECT status, count(*) FROM runs WHERE ({where}) GROUP BY status"
    return {int(status): int(n) for status, n in conn.execute(sql, params)}


def search_attribute_types(conn: sqlite3.Connection) -> dict[str, str]:
    """The recorded custom search attributes and their type names."""
    return {
        str(n): str(t) for n, t in conn.execute("SELECT name, type FROM search_attribute_types")
    }
