"""Tests for fastcore._sqlite_store: the SQLite store, driven directly with hand-made runs."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import fastcore
from fastcore._converter import Payload
from fastcore._open_store import open_store
from fastcore._sqlite_store import SCHEMA_VERSION, SqliteStore, _dump_event, _load_event
from fastcore._store import RunRecord
from fastcore.common import WorkflowExecutionStatus as Status
from fastcore.errors import InvalidArgumentError, StoreError
from fastcore.history import Event, EventType, event_from_json, event_to_json

REPO_ROOT = str(Path(fastcore.__file__).resolve().parent.parent)
JSON_P = Payload({"encoding": b"json/plain"}, b'{"order": "o-1", "items": ["a", "\xc3\xa9"]}')
BINARY_P = Payload({"encoding": b"binary/plain", "x-meta": b"\xff\x00"}, b"\x00\xff\xfe raw")

# (durability, writer_thread): every combination the store supports
CONFIGS = [("sync", True), ("sync", False), ("batch", False), ("batch", True)]
CONFIG_IDS = [f"{d}-{'thread' if t else 'loop'}" for d, t in CONFIGS]


@asynccontextmanager
async def opened(path: Path | str, **options: Any) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(path, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def commit(store: SqliteStore, run: RunRecord, events: list[Event]) -> None:
    """Append events the way the engine does: into run.history first, then the store."""
    run.history.extend(events)
    pending = store.append(run, events)
    if pending is not None:
        await pending


def started(run: RunRecord, t: float = 0.0) -> Event:
    attrs = {
        "workflow_type": run.workflow_type,
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "input": [JSON_P, BINARY_P],
        "attempt": 1,
        "parent": None,
        "memo": {"note": JSON_P},
        "retry_policy": None,
        "seed": 42,
    }
    return Event(1, EventType.WORKFLOW_EXECUTION_STARTED, run.start_time + t, attrs)


def scheduled(event_id: int, t: float = 1.0) -> Event:
    attrs = {
        "activity_id": str(event_id),
        "activity_type": "reserve",
        "input": [JSON_P],
        "start_to_close_timeout": 1.5,
        "retry_policy": {"initial_interval": 1.0, "non_retryable_error_types": ["Invalid"]},
        "cancellation_type": 0,
    }
    return Event(event_id, EventType.ACTIVITY_TASK_SCHEDULED, t, attrs)


def completed(event_id: int, scheduled_id: int, t: float = 2.0) -> Event:
    attrs = {"scheduled_event_id": scheduled_id, "result": BINARY_P, "attempt": 1}
    return Event(event_id, EventType.ACTIVITY_TASK_COMPLETED, t, attrs)


def failed_wf(event_id: int, t: float = 3.0) -> Event:
    failure = {"message": "boom", "details": [JSON_P], "cause": {"message": "inner"}}
    return Event(event_id, EventType.WORKFLOW_EXECUTION_FAILED, t, {"failure": failure})


def new_run(workflow_id: str, run_id: str = "r1", start_time: float = 1000.0) -> RunRecord:
    return RunRecord(workflow_id, run_id, "Checkout", start_time)


async def full_run(store: SqliteStore, workflow_id: str, start_time: float = 1000.0) -> RunRecord:
    """A run of three activations that ends FAILED."""
    run = new_run(workflow_id, f"{workflow_id}-run", start_time)
    await commit(store, run, [started(run), scheduled(2)])
    await commit(store, run, [completed(3, 2), scheduled(4)])
    run.status, run.close_time = Status.FAILED, start_time + 10
    await commit(store, run, [completed(5, 4), failed_wf(6)])
    return run


def raw(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize(("durability", "thread"), CONFIGS, ids=CONFIG_IDS)
async def test_events_round_trip_with_payloads(
    tmp_path: Path, durability: str, thread: bool
) -> None:
    path = tmp_path / "s.db"
    async with opened(path, durability=durability, writer_thread=thread) as store:
        run = await full_run(store, "wf-1")
        loaded = await store.load_run("wf-1", "wf-1-run")
        assert loaded is not None
        assert loaded is not run and loaded.history == run.history
        assert loaded.history[0].attributes["input"] == [JSON_P, BINARY_P]
        assert loaded.history[0].attributes["memo"] == {"note": JSON_P}
        assert loaded.history[-1].attributes["failure"]["details"] == [JSON_P]
        assert (loaded.status, loaded.close_time) == (Status.FAILED, 1010.0)
    async with opened(path, durability=durability, writer_thread=thread) as store:
        again = await store.load_run("wf-1")
        assert again is not None and again.history == run.history


def test_stored_json_is_event_to_json() -> None:
    """The fast codec writes and reads exactly what history.event_to_json/from_json do."""
    run = new_run("wf")
    nested = {"a": [[JSON_P], {"b": (BINARY_P, 1)}], "_payload": "not one", "n": None}
    events = [
        started(run),
        scheduled(2),
        completed(3, 2),
        failed_wf(4),
        Event(5, EventType.MARKER_RECORDED, 7, {"marker_name": "x", "details": nested}),
    ]
    for event in events:
        text = _dump_event(event)
        assert json.loads(text) == json.loads(json.dumps(event_to_json(event)))
        assert _load_event(text) == event_from_json(json.loads(text))


async def test_status_and_run_row_follow_the_last_activation(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path) as store:
        run = new_run("wf-s")
        await commit(store, run, [started(run), scheduled(2)])
        open_row = raw(path, "SELECT status, close_time, history_length FROM runs")
        assert open_row == [(int(Status.RUNNING), None, 2)]
        run.status, run.close_time = Status.COMPLETED, 1005.0
        done = Event(4, EventType.WORKFLOW_EXECUTION_COMPLETED, 5, {"result": JSON_P})
        await commit(store, run, [completed(3, 2), done])
        closed_row = raw(path, "SELECT status, close_time, history_length FROM runs")
        assert closed_row == [(int(Status.COMPLETED), 1005.0, 4)]
        loaded = await store.load_run("wf-s")
        assert loaded is not None and loaded.status == Status.COMPLETED
        assert [e.event_id for e in loaded.history] == [1, 2, 3, 4]


async def test_load_run_latest_by_start_time(tmp_path: Path) -> None:
    async with opened(tmp_path / "s.db") as store:
        first, second = new_run("wf", "r1", 100.0), new_run("wf", "r2", 200.0)
        await commit(store, second, [started(second)])
        await commit(store, first, [started(first)])  # appended later, started earlier
        latest = await store.load_run("wf")
        assert latest is not None and latest.run_id == "r2"
        older = await store.load_run("wf", "r1")
        assert older is not None and older.run_id == "r1" and len(older.history) == 1
        # the same start time (a virtual clock): the run appended last wins, as in memory
        third = new_run("wf", "r3", 200.0)
        await commit(store, third, [started(third)])
        latest = await store.load_run("wf")
        assert latest is not None and latest.run_id == "r3"
        assert await store.load_run("nope") is None
        assert await store.load_run("wf", "nope") is None


@pytest.mark.parametrize(("durability", "thread"), CONFIGS, ids=CONFIG_IDS)
async def test_open_runs_returns_running_runs_with_histories(
    tmp_path: Path, durability: str, thread: bool
) -> None:
    async with opened(tmp_path / "s.db", durability=durability, writer_thread=thread) as store:
        runs = []
        for i in range(5):
            run = new_run(f"open-{i}", "r", 500.0 - i)
            await commit(store, run, [started(run), scheduled(2)])
            await commit(store, run, [completed(3, 2), scheduled(4)])
            runs.append(run)
        await full_run(store, "closed")
        found = await store.open_runs()
        assert [r.workflow_id for r in found] == [f"open-{i}" for i in reversed(range(5))]
        by_id = {r.workflow_id: r for r in runs}
        for r in found:
            assert r.status == Status.RUNNING
            assert r.history == by_id[r.workflow_id].history


async def test_list_runs_pages_by_start_time_then_ids(tmp_path: Path) -> None:
    async with opened(tmp_path / "s.db") as store:
        expected = []
        for i in range(25):
            run = new_run(f"wf-{i:02d}", f"r-{i % 3}", 100.0 + i // 2)  # start times collide
            if i % 4 == 0:
                run.status, run.close_time = Status.COMPLETED, 300.0
            await commit(store, run, [started(run)])
            expected.append((run.start_time, run.workflow_id, run.run_id))
        expected.sort()
        seen: list[tuple[float, str, str]] = []
        after = None
        while True:
            page = await store.list_runs(limit=10, after=after)
            if not page:
                break
            assert len(page) <= 10 and all(not r.history for r in page)
            seen += [(r.start_time, r.workflow_id, r.run_id) for r in page]
            after = seen[-1]
        assert seen == expected
        done = await store.list_runs(status=Status.COMPLETED)
        assert [r.workflow_id for r in done] == [f"wf-{i:02d}" for i in range(0, 25, 4)]
        running = [k for k in expected if int(k[1][3:]) % 4 != 0]
        tail = await store.list_runs(status=Status.RUNNING, after=running[-3], limit=5)
        assert [(r.start_time, r.workflow_id, r.run_id) for r in tail] == running[-2:]


async def test_purge_closed_deletes_runs_and_events(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path, durability="batch") as store:
        old = await full_run(store, "old", 100.0)  # closes at 110
        await full_run(store, "new", 200.0)  # closes at 210
        running = new_run("running", "r", 50.0)
        await commit(store, running, [started(running)])
        assert await store.purge_closed(150.0) == 1  # the appends are still pending: flushed
        assert await store.load_run("old") is None
        assert await store.load_run("new") is not None
        assert [r.workflow_id for r in await store.open_runs()] == ["running"]
        events = raw(path, "SELECT count(*) FROM events")[0][0]
        assert events == 6 + 1 and len(old.history) == 6
        assert await store.purge_closed(1e12) == 1
        assert await store.purge_closed(1e12) == 0


# -- group commit and batching -------------------------------------------------------------------


@pytest.mark.parametrize("thread", [True, False], ids=["thread", "loop"])
async def test_sync_appends_share_commits(tmp_path: Path, thread: bool) -> None:
    async with opened(tmp_path / "s.db", durability="sync", writer_thread=thread) as store:
        runs = [new_run(f"wf-{i}", "r") for i in range(100)]

        async def activation(run: RunRecord) -> None:
            await commit(store, run, [started(run), scheduled(2)])

        await asyncio.gather(*(activation(r) for r in runs))
        assert store.commits == 1 if not thread else store.commits <= 2
        assert len(await store.open_runs()) == 100


async def test_sync_append_completes_only_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path, durability="sync", writer_thread=False) as store:
        run = new_run("wf")
        run.history.append(started(run))
        pending = store.append(run, run.history[:])
        assert pending is not None and not pending.done()
        assert raw(path, "SELECT count(*) FROM events") == [(0,)]
        await pending
        assert raw(path, "SELECT count(*) FROM events") == [(1,)]


async def test_batch_append_returns_none_and_commits_on_interval(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path, durability="batch", batch_interval=0.02) as store:
        run = new_run("wf")
        run.history.append(started(run))
        assert store.append(run, run.history[:]) is None
        assert raw(path, "SELECT count(*) FROM events") == [(0,)]
        for _ in range(100):
            await asyncio.sleep(0.01)
            if store.commits:
                break
        assert store.commits == 1
        assert raw(path, "SELECT count(*) FROM events") == [(1,)]


async def test_batch_size_triggers_an_early_commit(tmp_path: Path) -> None:
    async with opened(
        tmp_path / "s.db", durability="batch", batch_interval=60, batch_size=10
    ) as st:
        for i in range(5):
            run = new_run(f"wf-{i}")
            await commit(st, run, [started(run), scheduled(2)])
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert st.commits == 1


@pytest.mark.parametrize("thread", [False, True], ids=["loop", "thread"])
async def test_batch_pending_appends_are_visible_and_flushed_on_close(
    tmp_path: Path, thread: bool
) -> None:
    path = tmp_path / "s.db"
    async with opened(path, durability="batch", batch_interval=60, writer_thread=thread) as st:
        run = new_run("wf")
        await commit(st, run, [started(run), scheduled(2)])
        assert st.commits == 0
        loaded = await st.load_run("wf")
        assert loaded is not None and loaded.history == run.history
        await commit(st, run, [completed(3, 2)])
        assert [r.workflow_id for r in await st.list_runs()] == ["wf"]
        other = new_run("other")
        await commit(st, other, [started(other)])
    async with opened(path) as store:
        assert {r.workflow_id for r in await store.open_runs()} == {"wf", "other"}
        loaded = await store.load_run("wf")
        assert loaded is not None and len(loaded.history) == 3


async def test_reopened_store_returns_everything(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    runs = {}
    async with opened(path) as store:
        for i in range(10):
            run = await full_run(store, f"closed-{i}", 100.0 + i)
            runs[run.workflow_id] = run
        for i in range(10):
            run = new_run(f"open-{i}", "r", 300.0 + i)
            await commit(store, run, [started(run), scheduled(2)])
            runs[run.workflow_id] = run
    async with opened(path, durability="batch") as store:
        assert len(await store.list_runs(limit=1000)) == 20
        assert {r.workflow_id for r in await store.open_runs()} == {f"open-{i}" for i in range(10)}
        for wid, run in runs.items():
            loaded = await store.load_run(wid)
            assert loaded is not None
            assert (loaded.status, loaded.close_time) == (run.status, run.close_time)
            assert loaded.history == run.history


async def test_failed_commit_poisons_the_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db", durability="sync")
    await store.open()
    run = new_run("wf")
    await commit(store, run, [started(run)])
    with pytest.raises(StoreError, match="commit failed"):
        await commit(store, run, [started(run)])  # the same event id twice
    with pytest.raises(StoreError, match="commit failed"):
        store.append(run, [])
    with pytest.raises(StoreError, match="commit failed"):
        await store.close()
    async with opened(tmp_path / "s.db") as again:  # the lock went with close()
        loaded = await again.load_run("wf")
        assert loaded is not None and len(loaded.history) == 1


# -- options -----------------------------------------------------------------------------------


def test_options_from_url_strings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db?durability=batch&batch_interval=0.25&batch_size=7"
    store = open_store(url + "&writer_thread=yes&check=none")
    assert isinstance(store, SqliteStore)
    assert store.path == f"{tmp_path}/s.db"
    assert (store.durability, store.batch_interval, store.batch_size) == ("batch", 0.25, 7)
    assert (store.writer_thread, store.check) == (True, "none")
    defaults = open_store(f"sqlite:///{tmp_path}/s.db")
    assert isinstance(defaults, SqliteStore) and defaults.durable
    assert (defaults.durability, defaults.writer_thread, defaults.check) == ("sync", True, "quick")
    for bad in (
        "durability=fast",
        "batch_size=0",
        "batch_interval=x",
        "writer_thread=maybe",
        "x=1",
    ):
        with pytest.raises(InvalidArgumentError):
            open_store(f"sqlite:///{tmp_path}/s.db?{bad}")


async def test_in_memory_database(tmp_path: Path) -> None:
    async with opened(":memory:") as store:
        run = await full_run(store, "wf")
        loaded = await store.load_run("wf")
        assert loaded is not None and loaded.history == run.history


# -- refusing to open --------------------------------------------------------------------------


async def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database at all\n" * 200)
    with pytest.raises(StoreError, match="not an SQLite database"):
        await SqliteStore(path).open()
    assert path.read_bytes() == b"this is not a database at all\n" * 200
    async with opened(tmp_path / "other.db"):
        pass  # and the failed open released its lock on the way out
    async with opened(path.with_name("third.db")):
        pass


async def test_garbage_after_a_valid_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xab" * 8192)
    with pytest.raises(StoreError, match="corrupt"):
        await SqliteStore(path).open()


async def test_corrupt_pages_are_found_by_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path) as store:
        for i in range(30):
            await full_run(store, f"wf-{i}", 100.0 + i)
    page = raw(path, "PRAGMA page_size")[0][0]
    assert os.path.getsize(path) > 6 * page
    with open(path, "r+b") as f:  # clobber everything after the schema page
        f.seek(page)
        f.write(b"\x0d" * (os.path.getsize(path) - page))
    with pytest.raises(StoreError, match="corrupt"):
        await SqliteStore(path).open()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path) as store:
        await full_run(store, "wf")
    assert raw(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this fastcore"):
        await SqliteStore(path).open()


async def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a fastcore store"):
        await SqliteStore(path).open()
    assert raw(path, "PRAGMA journal_mode") == [("delete",)]  # left as it was


async def test_second_store_in_the_same_process_is_locked_out(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path):
        with pytest.raises(StoreError, match="locked by another process"):
            await SqliteStore(path).open()
        with pytest.raises(StoreError, match="locked by another process"):
            await open_store(f"sqlite:///{path}?durability=batch").open()
    async with opened(path):  # free again once closed
        pass


_CHILD = """
import asyncio, sys
from fastcore._sqlite_store import SqliteStore
from fastcore.errors import StoreError

async def main() -> None:
    store = SqliteStore(sys.argv[1])
    try:
        await store.open()
    except StoreError as exc:
        print("StoreError:", exc, flush=True)
        return
    print("opened", flush=True)
    sys.stdin.readline()
    await store.close()

asyncio.run(main())
"""


def _child(path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


async def test_store_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path):
        child = _child(path)
        out, _ = child.communicate(timeout=60)
        assert "StoreError:" in out and "locked by another process" in out
        assert f"pid {os.getpid()}" in out
    child = _child(path)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "opened"
        with pytest.raises(StoreError, match="locked by another process"):
            await SqliteStore(path).open()
    finally:
        child.communicate("\n", timeout=60)
    assert child.returncode == 0
    async with opened(path):
        pass


async def test_corruption_found_later_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path) as store:
        for i in range(30):
            await full_run(store, f"wf-{i}", 100.0 + i)
    page = raw(path, "PRAGMA page_size")[0][0]
    with open(path, "r+b") as f:
        f.seek(page)
        f.write(b"\x0d" * (os.path.getsize(path) - page))
    async with opened(path, check="none") as store:  # no check at open: the read finds it
        with pytest.raises(StoreError, match="malformed"):
            await store.open_runs()


def _slow_writes(store: SqliteStore, seconds: float) -> None:
    """Make every commit of ``store`` take at least ``seconds`` (on the writer thread)."""
    write = store._write

    def slow(batch: Any) -> None:
        time.sleep(seconds)
        write(batch)

    store._write = slow  # type: ignore[method-assign]


async def test_appends_during_a_commit_form_the_next_one(tmp_path: Path) -> None:
    async with opened(tmp_path / "s.db", durability="sync", writer_thread=True) as store:
        _slow_writes(store, 0.2)
        first = new_run("first")
        first_done = asyncio.ensure_future(commit(store, first, [started(first)]))
        await asyncio.sleep(0.01)  # the first commit is in flight now
        runs = [new_run(f"wf-{i}") for i in range(50)]
        await asyncio.gather(*(commit(store, r, [started(r)]) for r in runs))
        await first_done
        assert store.commits == 2


async def test_batch_appends_push_back_when_the_writer_is_behind(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with opened(path, durability="batch", batch_size=2, writer_thread=True) as store:
        _slow_writes(store, 0.2)
        a, b = new_run("a"), new_run("b")
        a.history += [started(a), scheduled(2)]
        assert store.append(a, a.history[:]) is None  # reaches batch_size: commit starts
        await asyncio.sleep(0.01)
        b.history += [started(b), scheduled(2)]
        pending = store.append(b, b.history[:])  # batch_size more while that one runs
        assert pending is not None
        await pending
        assert store.commits == 2
        assert raw(path, "SELECT count(*) FROM events") == [(4,)]


def test_round_trip_without_orjson(tmp_path: Path) -> None:
    """The stdlib json codec writes the same documents, and reads the orjson ones."""
    path = tmp_path / "s.db"

    async def write() -> None:
        async with opened(path) as store:
            await full_run(store, "with-orjson")

    asyncio.run(write())
    script = """
import asyncio, sys
sys.modules["orjson"] = None  # import orjson now raises ImportError
from fastcore import _rows, _sqlite_store
from fastcore._store import RunRecord
from fastcore.history import Event, EventType
from fastcore._converter import Payload

assert _rows._orjson is None

async def main() -> None:
    store = _sqlite_store.SqliteStore(sys.argv[1])
    await store.open()
    old = await store.load_run("with-orjson")
    run = RunRecord("without", "r", "T", 1.0)
    event = Event(1, EventType.WORKFLOW_EXECUTION_STARTED, 1.0,
                  {"workflow_type": "T", "workflow_id": "without", "run_id": "r",
                   "input": [Payload({"encoding": b"binary/plain"}, b"\\xff")]})
    run.history.append(event)
    await store.append(run, [event])
    new = await store.load_run("without")
    await store.close()
    assert new.history == run.history, new.history
    print(len(old.history), repr(old.history[0].attributes["input"][1].data))

asyncio.run(main())
"""
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"6 {BINARY_P.data!r}"
    texts = raw(path, "SELECT data FROM events ORDER BY run, event_id")
    assert json.loads(texts[-1][0])["attributes"]["input"][0]["_payload"]["data_b64"] == "/w=="
