"""An engine on a bad store file refuses to start, loudly: never a silent empty engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fastcore import Engine
from fastcore.errors import StoreError

from .wf_defs import Waiter


async def test_corrupt_file(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    db.write_bytes(b"this is not an sqlite database at all" * 100)
    with pytest.raises(StoreError):
        async with Engine(f"sqlite:///{db}", workflows=[Waiter]):
            pass
    assert db.read_bytes().startswith(b"this is not")  # untouched


async def test_newer_schema(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    async with Engine(f"sqlite:///{db}", workflows=[Waiter]) as engine:
        await engine.start_workflow(Waiter.run, id="w")
    con = sqlite3.connect(db)
    (version,) = con.execute("pragma user_version").fetchone()
    con.execute(f"pragma user_version = {version + 100}")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"newer|schema"):
        async with Engine(f"sqlite:///{db}", workflows=[Waiter]):
            pass


async def test_locked_by_another_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/locked.db"
    async with Engine(url, workflows=[Waiter]) as first:
        h = await first.start_workflow(Waiter.run, id="w")
        with pytest.raises(StoreError, match="lock"):
            async with Engine(url, workflows=[Waiter]):
                pass
        # the first engine is unharmed
        await h.signal(Waiter.approve, "ok")
        assert (await h.result())["approved_by"] == "ok"
    # and once it is closed, the file opens again with everything in it
    async with Engine(url, workflows=[Waiter]) as again:
        assert (await again.get_workflow_handle("w").result())["approved_by"] == "ok"


def test_unknown_store_url() -> None:
    from fastcore.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="unknown store"):
        Engine("postgres://nope")
