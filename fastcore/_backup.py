"""Online backups: a consistent copy of a store in one SQLite file that opens as a store.

An SQLite store is copied with SQLite's backup API from a read connection of its own, in one
step, so the copy is one committed state of the file (WAL mode lets the engine keep writing
meanwhile). A memory store is copied from a snapshot of its runs taken at one instant. Either
way the copy is written next to its destination, checked (``PRAGMA quick_check`` and the
schema), made durable (fsync) and then renamed over the destination, so a crash mid-backup
never leaves a half-written file where a good backup was. The copy is in rollback-journal
mode: a single file, nothing beside it. To restore, stop the engine and put the copy where
its store URL points (or point the URL at the copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._sqlite_schema import acquire_lock, connect, release_lock, schema_version
from .errors import InvalidArgumentError, StoreError

__all__ = ["backup_file", "backup_from_connection", "backup_records", "backup_store"]


async def backup_store(store: Any, dest: str | os.PathLike[str]) -> None:
    """Back up an engine's store (``memory`` or ``sqlite``) to ``dest``, consistently, while
    the engine runs; everything appended before the call is in the copy."""
    from ._sqlite_store import SqliteStore
    from ._store import MemoryStore

    if isinstance(store, MemoryStore):
        await backup_records(store.snapshot(), dest)  # taken at one instant: no await before
        return
    if not isinstance(store, SqliteStore):
        raise InvalidArgumentError(f"a {type(store).__name__} cannot be backed up")
    await store.flush()
    if store.path == ":memory:":
        await store.run_on_connection(backup_from_connection, dest)
        return
    # From a read connection of its own, in a thread: the engine keeps running and writing.
    await asyncio.to_thread(backup_file, store.path, dest)


def _check_destination(source: str | None, dest: str) -> None:
    if os.path.isdir(dest):
        raise InvalidArgumentError(f"backup destination {dest} is a directory; name a file")
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise InvalidArgumentError(f"backup destination's directory {parent} does not exist")
    if source is not None and os.path.exists(dest) and os.path.samefile(source, dest):
        raise InvalidArgumentError(f"backup destination {dest} is the store itself")


def _fsync_path(path: str, directory: bool = False) -> None:
    if directory and sys.platform == "win32":  # pragma: no cover - no directory fsync there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finish(tmp: str, dest: str) -> None:
    """Check the copy at ``tmp``, make it durable and rename it over ``dest``."""
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # one file, nothing beside it
        problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StoreError(f"the backup copy failed its check: {'; '.join(problems)}")
        schema_version(conn, tmp)
    finally:
        conn.close()
    _fsync_path(tmp)
    # Never replace the file of a store an engine has open: take its lock for the rename.
    lock = acquire_lock(dest + ".lock", dest)
    try:
        for leftover in (dest + "-wal", dest + "-shm"):  # an old WAL would corrupt the copy
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
        os.replace(tmp, dest)
    finally:
        release_lock(lock)
    _fsync_path(os.path.dirname(os.path.abspath(dest)), directory=True)


def _temporary(dest: str) -> str:
    tmp = f"{dest}.tmp-{os.getpid()}"
    for path in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return tmp


def backup_from_connection(conn: sqlite3.Connection, dest: str | os.PathLike[str]) -> None:
    """Copy the database of an open connection to ``dest`` (see the module docstring)."""
    target = os.fspath(dest)
    _check_destination(None, target)
    tmp = _temporary(target)
    try:
        out = sqlite3.connect(tmp)
        try:
            conn.backup(out)
        finally:
            out.close()
        _finish(tmp, target)
    except sqlite3.Error as err:
        raise StoreError(f"backup to {target} failed: {err}") from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def backup_file(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy the SQLite store file ``source`` to ``dest``, consistently, while it may be in use.

    Raises:
        StoreError: ``source`` is not a readable store, or the copy failed its check, or
            ``dest`` is the file of a store an engine has open.
        InvalidArgumentError: ``dest`` is a directory, in a missing directory, or ``source``.
    """
    src_path = os.fspath(source)
    target = os.fspath(dest)
    if not os.path.isfile(src_path):
        raise StoreError(f"no store file at {src_path}")
    _check_destination(src_path, target)
    uri = Path(src_path).absolute().as_uri() + "?mode=ro"
    try:
        src = connect(uri, uri=True)
    except sqlite3.Error as err:
        raise StoreError(f"cannot open {src_path} to back it up: {err}") from err
    try:
        schema_version(src, src_path)  # a store of ours, not some other database
        backup_from_connection(src, target)
    except sqlite3.DatabaseError as err:
        raise StoreError(f"cannot back up {src_path}: {err}") from err
    finally:
        src.close()


async def backup_records(records: Sequence[Any], dest: str | os.PathLike[str]) -> None:
    """Write ``records`` (``RunRecord`` snapshots with their histories) as a store at ``dest``."""
    from ._sqlite_store import SqliteStore

    target = os.fspath(dest)
    _check_destination(None, target)
    tmp = _temporary(target)
    store = SqliteStore(tmp, durability="batch", writer_thread=False, check="none")
    try:
        await store.open()
        try:
            for record in records:
                store.append(record, record.history)
        finally:
            await store.close()
        _finish(tmp, target)
    finally:
        for path in (tmp, tmp + ".lock", tmp + "-wal", tmp + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
