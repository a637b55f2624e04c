"""Store files that stand alone: a clean shutdown leaves everything in the .db, and an online
backup (``Engine.backup``, ``fastcore-bridge store backup``) restores to the same workflows."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import fastcore
from fastcore import Engine
from fastcore.common import WorkflowExecutionStatus as Status
from fastcore.errors import InvalidArgumentError, StoreError

from .wf_defs import ThreeSteps, Waiter, inc

REPO_ROOT = str(Path(fastcore.__file__).resolve().parent.parent)


def _engine(url: str) -> Engine:
    return Engine(url, workflows=[ThreeSteps, Waiter], activities=[inc])


async def _some_workflows(engine: Engine, prefix: str) -> None:
    """Three completed runs, two waiting (one with an update applied), one terminated."""
    for i in range(3):
        assert await engine.execute_workflow(ThreeSteps.run, i, id=f"{prefix}done-{i}") == i + 3
    await engine.start_workflow(Waiter.run, id=f"{prefix}open-0")
    h = await engine.start_workflow(Waiter.run, id=f"{prefix}open-1")
    assert await h.execute_update(Waiter.add_item, "kept") == 1
    t = await engine.start_workflow(Waiter.run, id=f"{prefix}gone")
    await t.terminate(reason="test")


async def _listing(engine: Engine) -> list[tuple[str, str, Status, int]]:
    page, _ = await engine.list_workflows(page_size=1000)
    return sorted((d.id, d.run_id, d.status, d.history_length) for d in page)


async def _check_restored(engine: Engine, prefix: str) -> None:
    """The workflows _some_workflows made are all there, and the open ones go on."""
    for i in range(3):
        assert await engine.get_workflow_handle(f"{prefix}done-{i}").result() == i + 3
    gone = await engine.get_workflow_handle(f"{prefix}gone").describe()
    assert gone.status is Status.TERMINATED
    h = engine.get_workflow_handle(f"{prefix}open-1")
    assert await h.query(Waiter.item_count) == 1
    await h.signal(Waiter.approve, "after-restore")
    assert await h.result() == {
        "approved_by": "after-restore",
        "items": ["kept"],
        "signals": ["after-restore"],
    }


async def test_after_a_clean_shutdown_the_db_file_alone_has_every_workflow(
    tmp_path: Path,
) -> None:
    db = tmp_path / "live" / "fastcore.db"
    db.parent.mkdir()
    async with _engine(f"sqlite:///{db}") as engine:
        await _some_workflows(engine, "")
        before = await _listing(engine)
    assert not (tmp_path / "live" / "fastcore.db-wal").exists() or (
        (tmp_path / "live" / "fastcore.db-wal").stat().st_size == 0
    )
    copy = tmp_path / "copy" / "fastcore.db"
    copy.parent.mkdir()
    shutil.copyfile(db, copy)  # the .db alone: no -wal, no -shm
    async with _engine(f"sqlite:///{copy}") as engine:
        assert await _listing(engine) == before
        await _check_restored(engine, "")


@pytest.mark.parametrize("kind", ["sqlite", "sqlite-batch", "memory"])
async def test_online_backup_restores_the_same_workflows(tmp_path: Path, kind: str) -> None:
    url = {
        "sqlite": f"sqlite:///{tmp_path}/live.db",
        "sqlite-batch": f"sqlite:///{tmp_path}/live.db?durability=batch",
        "memory": "memory",
    }[kind]
    backup = tmp_path / "backup.db"
    async with _engine(url) as engine:
        await _some_workflows(engine, "")
        await engine.backup(backup)
        before = await _listing(engine)
        # the engine goes on after a backup; what it does next is not in the copy
        await engine.get_workflow_handle("open-0").signal(Waiter.approve, "later")
        await engine.execute_workflow(ThreeSteps.run, 10, id="after-backup")
    assert not Path(f"{backup}-wal").exists()
    async with _engine(f"sqlite:///{backup}") as restored:
        assert await _listing(restored) == before
        assert await restored.get_workflow_handle("open-0").query(Waiter.status) == "waiting"
        await _check_restored(restored, "")


async def test_backup_while_workflows_are_being_written(tmp_path: Path) -> None:
    """A backup taken during a stream of commits is one consistent state: every run in it
    has a history that replays (its length matches its row), and restores."""
    backup = tmp_path / "mid.db"
    async with _engine(f"sqlite:///{tmp_path}/live.db") as engine:

        async def churn() -> None:
            for i in range(60):
                await engine.execute_workflow(ThreeSteps.run, i, id=f"churn-{i}")

        writer = asyncio.create_task(churn())
        while not writer.done() and len(await _listing(engine)) < 20:
            await asyncio.sleep(0)
        await engine.backup(backup)
        await writer
    con = sqlite3.connect(backup)
    try:
        rows = con.execute(
            "SELECT r.history_length, count(e.event_id) FROM runs r "
            "JOIN events e ON e.run = r.id GROUP BY r.id"
        ).fetchall()
        (mode,) = con.execute("PRAGMA journal_mode").fetchone()
    finally:
        con.close()
    assert len(rows) >= 20
    assert all(length == count for length, count in rows)
    assert mode == "delete"  # one file, nothing beside it
    async with _engine(f"sqlite:///{backup}") as restored:
        page, _ = await restored.list_workflows(page_size=1000)
        for d in page:
            if d.status is Status.COMPLETED:
                n = int(d.id.split("-")[1])
                assert await restored.get_workflow_handle(d.id).result() == n + 3
            else:  # caught mid-way: it finishes after the restore
                n = int(d.id.split("-")[1])
                assert await restored.get_workflow_handle(d.id).result() == n + 3


async def test_backup_refuses_to_overwrite_a_store_in_use(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    other = tmp_path / "other.db"
    async with _engine(f"sqlite:///{live}") as engine, _engine(f"sqlite:///{other}") as second:
        await engine.execute_workflow(ThreeSteps.run, 1, id="w")
        await second.execute_workflow(ThreeSteps.run, 5, id="keep-me")
        with pytest.raises(InvalidArgumentError, match="the store itself"):
            await engine.backup(live)
        with pytest.raises(StoreError, match="locked"):
            await engine.backup(other)
        with pytest.raises(InvalidArgumentError, match="directory"):
            await engine.backup(tmp_path)
        with pytest.raises(InvalidArgumentError, match="does not exist"):
            await engine.backup(tmp_path / "missing" / "b.db")
        assert await second.get_workflow_handle("keep-me").result() == 8
    assert not list(tmp_path.glob("*.tmp-*"))  # nothing half-written left behind


def test_cli_backs_up_a_store_an_engine_is_running_on(tmp_path: Path) -> None:
    """`fastcore-bridge store backup SRC DEST` from another process, while the engine runs."""
    live = tmp_path / "live.db"
    dest = tmp_path / "cli-backup.db"

    async def scenario() -> list[tuple[str, str, Status, int]]:
        async with _engine(f"sqlite:///{live}") as engine:
            await _some_workflows(engine, "")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge",
                "store",
                "backup",
                str(live),
                str(dest),
                env={**os.environ, "PYTHONPATH": REPO_ROOT},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
            assert str(dest) in out.decode()
            return await _listing(engine)

    before = asyncio.run(scenario())

    async def restored() -> None:
        async with _engine(f"sqlite:///{dest}") as engine:
            assert await _listing(engine) == before
            await _check_restored(engine, "")

    asyncio.run(restored())


def test_cli_refuses_what_is_not_a_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "store", "backup", str(junk), str(tmp_path / "b.db")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": REPO_ROOT},
    )
    assert out.returncode == 1
    assert "junk.db" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "b.db").exists()
    assert junk.read_bytes() == b"not a database" * 100
