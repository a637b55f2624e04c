"""The SQLite store's file: its schema and ordered migrations, and how a file is opened.

The schema version is ``PRAGMA user_version`` (``application_id`` marks the file as a
fastcore store); ``MIGRATIONS[n]`` takes a file from version ``n`` to ``n + 1`` and
``migrate`` applies the missing steps in order, in one transaction. ``schema_version`` refuses
a file that is another application's database or newer than this code. An exclusive
``flock`` on ``<path>.lock`` (``acquire_lock``) admits one store per file, across processes
and within one. The store and online backups open files through here.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from .errors import StoreError

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "RECENCY",
    "SCHEMA_VERSION",
    "SQLITE_HEADER",
    "acquire_lock",
    "connect",
    "migrate",
    "release_lock",
    "schema_version",
]

SQLITE_HEADER = b"SQLite format 3\x00"
APPLICATION_ID = 0x46435354  # "FCST": marks the file as a fastcore store

RECENCY = "coalesce(close_time, 9e999)"
"""The list order's key (Temporal lists newest first): open runs (no close time) first."""

VISIBILITY_MIGRATION: tuple[str, ...] = (
    "ALTER TABLE runs ADD COLUMN task_queue TEXT NOT NULL DEFAULT 'fastcore'",
    "ALTER TABLE runs ADD COLUMN execution_time REAL",
    "ALTER TABLE runs ADD COLUMN memo TEXT",
    "ALTER TABLE runs ADD COLUMN search_attributes TEXT",
    "ALTER TABLE runs ADD COLUMN parent_workflow_id TEXT",
    "ALTER TABLE runs ADD COLUMN parent_run_id TEXT",
    # runs written before this version: memo and execution time from their started event
    """UPDATE runs SET
        memo = (SELECT nullif(json_extract(e.data, '$.attributes.memo'), '{}')
                FROM events e WHERE e.run = runs.id AND e.event_id = 1),
        execution_time = start_time + (
            SELECT json_extract(e.data, '$.attributes.first_task_backoff')
            FROM events e WHERE e.run = runs.id AND e.event_id = 1),
        parent_workflow_id = (SELECT json_extract(e.data, '$.attributes.parent.workflow_id')
            FROM events e WHERE e.run = runs.id AND e.event_id = 1),
        parent_run_id = (SELECT json_extract(e.data, '$.attributes.parent.run_id')
            FROM events e WHERE e.run = runs.id AND e.event_id = 1)""",
    """CREATE TABLE search_attributes (
        run INTEGER NOT NULL,
        name TEXT NOT NULL,
        value NOT NULL
    )""",
    "CREATE INDEX search_attributes_by_value ON search_attributes (name, value, run)",
    "CREATE INDEX search_attributes_by_run ON search_attributes (run)",
    """CREATE TABLE search_attribute_types (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL
    ) WITHOUT ROWID""",
    f"CREATE INDEX runs_by_recency ON runs ({RECENCY}, start_time, run_id)",
    "CREATE INDEX runs_by_type ON runs (workflow_type, start_time)",
)
"""Schema step 1 -> 2: visibility columns, the search attribute index, the list order."""

# Ordered schema migrations: MIGRATIONS[n] takes the schema from version n to n + 1.
# Append new steps; never edit a released one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            workflow_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            workflow_type TEXT NOT NULL,
            status INTEGER NOT NULL,
            start_time REAL NOT NULL,
            close_time REAL,
            history_length INTEGER NOT NULL,
            UNIQUE (workflow_id, run_id)
        )""",
        "CREATE INDEX runs_by_start ON runs (start_time, workflow_id, run_id)",
        "CREATE INDEX runs_by_status ON runs (status, start_time, workflow_id, run_id)",
        "CREATE INDEX runs_by_close ON runs (close_time) WHERE close_time IS NOT NULL",
        # data is event_to_json's dict as JSON text, readable with sqlite3's json functions.
        # A rowid table: rows go to the end of the table in commit order (~2 us an event);
        # clustered by (run, event_id), WITHOUT ROWID, inserts land all over the tree (~15 us).
        """CREATE TABLE events (
            run INTEGER NOT NULL,
            event_id INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (run, event_id)
        )""",
    ),
    VISIBILITY_MIGRATION,
)
SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes; a file with a higher one is refused."""


def schema_version(conn: sqlite3.Connection, path: str) -> int:
    """The file's schema version; StoreError when it is not ours or newer than this code."""
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(f"{path} is an SQLite database of another application, not a store")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, newer than this fastcore understands "
            f"({SCHEMA_VERSION}); upgrade fastcore to open it"
        )
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise StoreError(f"{path} is an SQLite database but not a fastcore store")
    return int(version)


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Apply the migrations after ``version`` in order, in one transaction."""
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def connect(
    database: str, *, uri: bool = False, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly) that waits up to
    5 s for another connection's lock; ``sqlite3.Error`` when it cannot be made."""
    conn = sqlite3.connect(
        database, uri=uri, isolation_level=None, check_same_thread=check_same_thread
    )
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
    except BaseException:
        conn.close()
        raise
    return conn


def acquire_lock(lock_path: str, db_path: str) -> int:
    """Take an exclusive, non-blocking lock on ``lock_path``; StoreError when held."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create lock file for SQLite store {db_path}: {exc}") from exc
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = ""
        try:
            pid = os.pread(fd, 32, 0).decode().strip() if sys.platform != "win32" else ""
            holder = f" (pid {pid})" if pid.isdigit() else ""
        except OSError:
            pass
        os.close(fd)
        raise StoreError(
            f"SQLite store {db_path} is locked by another process or engine{holder}; "
            "one store may have the file open at a time"
        ) from None
    if sys.platform != "win32":
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def release_lock(fd: int) -> None:
    """Let go of a lock ``acquire_lock`` took."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
