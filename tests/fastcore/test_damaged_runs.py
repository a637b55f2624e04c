"""A run whose rows cannot be read is set aside, loudly; the engine and every other run go on.

Its rows stay exactly as they are on disk, every call on it raises ``StoreError`` naming the
workflow id, the run id and the row, and a warning says so at start.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fastcore import Engine
from fastcore.common import WorkflowExecutionStatus as Status
from fastcore.errors import StoreError

from .wf_defs import ThreeSteps, Waiter, inc

Rows = list[tuple[Any, ...]]


def _engine(db: Path) -> Engine:
    return Engine(f"sqlite:///{db}", workflows=[ThreeSteps, Waiter], activities=[inc])


def _sql(db: Path, sql: str, *params: Any) -> Rows:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(sql, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def _run_rows(db: Path, workflow_id: str) -> tuple[Rows, Rows]:
    runs = _sql(db, "SELECT * FROM runs WHERE workflow_id = ? ORDER BY id", workflow_id)
    events = _sql(
        db,
        "SELECT e.* FROM events e JOIN runs r ON e.run = r.id WHERE r.workflow_id = ? "
        "ORDER BY e.run, e.event_id",
        workflow_id,
    )
    return runs, events


def _damage_json(db: Path, run: int) -> int:
    broken = '{"event_id": 2, nope'
    _sql(db, "UPDATE events SET data = ? WHERE run = ? AND event_id = 2", broken, run)
    return 2


def _damage_type(db: Path, run: int) -> int:
    _sql(
        db,
        "UPDATE events SET data = json_set(data, '$.event_type', 'NOPE') "
        "WHERE run = ? AND event_id = 2",
        run,
    )
    return 2


def _damage_first_missing(db: Path, run: int) -> int:
    _sql(db, "DELETE FROM events WHERE run = ? AND event_id = 1", run)
    return 1


def _damage_attributes(db: Path, run: int) -> int | None:
    # valid JSON of a known type, but without what the event must carry: found by replay
    _sql(
        db,
        "UPDATE events SET data = json_set(data, '$.attributes', json('{}')) "
        "WHERE run = ? AND event_id = 2",
        run,
    )
    return None


DAMAGE: dict[str, Callable[[Path, int], int | None]] = {
    "corrupt-json": _damage_json,
    "unknown-event-type": _damage_type,
    "first-event-missing": _damage_first_missing,
    "signal-without-attributes": _damage_attributes,
}


async def _setup(db: Path) -> None:
    async with _engine(db) as engine:
        for wid in ("a", "b", "c"):
            await engine.start_workflow(Waiter.run, id=wid)
        await engine.get_workflow_handle("b").signal(Waiter.add_note, "before")
        assert await engine.execute_workflow(ThreeSteps.run, 1, id="done") == 4


@pytest.mark.parametrize("damage", list(DAMAGE))
async def test_a_damaged_open_run_is_set_aside_and_the_others_recover(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "store.db"
    await _setup(db)
    (row_id, run_id), *_ = _sql(db, "SELECT id, run_id FROM runs WHERE workflow_id = 'b'")
    event_id = DAMAGE[damage](db, row_id)
    on_disk = _run_rows(db, "b")

    caplog.set_level(logging.WARNING, logger="fastcore")
    async with _engine(db) as engine:
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
        text = warnings[0].getMessage()
        assert "'b'" in text and run_id in text
        if damage != "signal-without-attributes":
            assert f"event row {event_id}" in text

        # every other run recovered and runs; new work starts
        for wid in ("a", "c"):
            h = engine.get_workflow_handle(wid)
            await h.signal(Waiter.approve, wid)
            assert (await h.result())["approved_by"] == wid
        assert await engine.get_workflow_handle("done").result() == 4
        assert await engine.execute_workflow(ThreeSteps.run, 10, id="new") == 13

        # every call on the damaged run names it
        h = engine.get_workflow_handle("b")
        calls: dict[str, Callable[[], Any]] = {
            "result": h.result,
            "describe": h.describe,
            "signal": lambda: h.signal(Waiter.approve, "x"),
            "query": lambda: h.query(Waiter.status),
            "update": lambda: h.execute_update(Waiter.add_item, "x"),
            "cancel": h.cancel,
            "terminate": h.terminate,
            "history": h.fetch_history,
            "start again": lambda: engine.start_workflow(Waiter.run, id="b"),
        }
        for what, call in calls.items():
            with pytest.raises(StoreError) as info:
                await call()
            err = info.value
            assert (err.workflow_id, err.run_id) == ("b", run_id), what
            assert "'b'" in str(err) and run_id in str(err), what
            if damage != "signal-without-attributes":
                assert err.event_id == event_id, what
        listed, _ = await engine.list_workflows(status=Status.RUNNING)
        assert [d.id for d in listed] == ["b"]  # still listed: an operator can find it
    assert _run_rows(db, "b") == on_disk  # untouched on disk, also after shutdown

    # and the same at the next start: still set aside, still there
    async with _engine(db) as engine:
        with pytest.raises(StoreError):
            await engine.get_workflow_handle("b").describe()
    assert _run_rows(db, "b") == on_disk


async def test_a_damaged_closed_run_raises_when_read(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await _setup(db)
    (row_id, run_id), *_ = _sql(db, "SELECT id, run_id FROM runs WHERE workflow_id = 'done'")
    _damage_type(db, row_id)
    on_disk = _run_rows(db, "done")
    async with _engine(db) as engine:
        h = engine.get_workflow_handle("done")
        for call in (h.result, h.describe, h.fetch_history):
            with pytest.raises(StoreError, match=r"'done'.*event row 2") as info:
                await call()
            assert (info.value.workflow_id, info.value.run_id, info.value.event_id) == (
                "done",
                run_id,
                2,
            )
        h = engine.get_workflow_handle("a")
        await h.signal(Waiter.approve, "ok")
        assert (await h.result())["approved_by"] == "ok"
    assert _run_rows(db, "done") == on_disk


async def test_a_runs_row_with_an_impossible_status_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await _setup(db)
    _sql(db, "UPDATE runs SET status = 99 WHERE workflow_id = 'done'")
    async with _engine(db) as engine:
        with pytest.raises(StoreError, match=r"'done'.*status 99"):
            await engine.get_workflow_handle("done").describe()
        h = engine.get_workflow_handle("a")
        await h.signal(Waiter.approve, "ok")
        assert (await h.result())["approved_by"] == "ok"
