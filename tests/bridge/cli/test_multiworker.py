"""Two ``fastcore-bridge worker`` processes on one task queue: they share the samples' load,
and when one is killed (SIGKILL) mid-run, the other finishes every workflow.

Each fastcore sub-workflow reports ``host:pid`` of the process whose engine ran it, so the
results say which worker did what. Every process a test starts, it stops.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from bridge._devserver import DevServer
from bridge.cli import READY_PREFIX
from samples.realtime_pipeline import make_events
from samples.temporal_workflows import (
    DataMigrationWorkflow,
    EventPipelineWorkflow,
    LoanApprovalWorkflow,
)

REPO = Path(__file__).resolve().parents[3]
WAIT = 60.0  # seconds a condition may take before a test fails (never a sleep)

pytestmark = pytest.mark.timeout(180)


class WorkerProcess:
    """``python -m bridge worker`` on a task queue, with its stdout read by a thread."""

    def __init__(self, target: str, task_queue: str, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bridge",
                "worker",
                "--workflows",
                "samples.worker",
                "--temporal-address",
                target,
                "--task-queue",
                task_queue,
                "--bridge-address",
                "127.0.0.1:0",
                "--store",
                "memory",
                "--identity",
                name,
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY_PREFIX):
                self._ready.set()

    def wait_ready(self, timeout: float = WAIT) -> None:
        if not self._ready.wait(timeout):
            raise AssertionError(f"worker {self.name} not ready in {timeout}s: {self.lines}")

    @property
    def marker(self) -> str:
        """The ``host:pid`` its fastcore results carry."""
        ready = next(line for line in self.lines if line.startswith(READY_PREFIX))
        match = re.search(r"\bpid=(\d+)", ready)
        assert match, ready
        return f"{socket.gethostname()}:{match.group(1)}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return self.proc.returncode


@pytest.fixture
def two_workers(temporal_server: DevServer) -> Iterator[tuple[str, WorkerProcess, WorkerProcess]]:
    task_queue = f"multi-{uuid.uuid4().hex[:10]}"
    a = WorkerProcess(temporal_server.target, task_queue, "worker-a")
    b = WorkerProcess(temporal_server.target, task_queue, "worker-b")
    try:
        a.wait_ready()
        b.wait_ready()
        yield task_queue, a, b
    finally:
        a.stop()
        b.stop()


async def _poll(check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)  # polling pace


async def test_two_workers_share_the_load(
    temporal_client: Client, two_workers: tuple[str, WorkerProcess, WorkerProcess], unique_id: str
) -> None:
    task_queue, a, b = two_workers
    seen: dict[str, int] = {}
    runs = 0

    async def both_seen() -> bool:
        nonlocal runs
        runs += 1
        result = await temporal_client.execute_workflow(
            EventPipelineWorkflow.run,
            {"events": make_events(40, seed=runs), "await_more": False},
            id=f"{unique_id}-{runs}",
            task_queue=task_queue,
        )
        assert result["processed"] == 40
        for worker, count in result["workers"].items():
            seen[worker] = seen.get(worker, 0) + count
        return a.marker in seen and b.marker in seen

    await _poll(both_seen, "both workers to run some of the events' sub-workflows")
    assert set(seen) == {a.marker, b.marker}
    assert a.stop() == 0 and b.stop() == 0  # SIGTERM is a clean shutdown


async def test_killing_a_worker_mid_run_loses_nothing(
    temporal_client: Client, two_workers: tuple[str, WorkerProcess, WorkerProcess], unique_id: str
) -> None:
    task_queue, a, b = two_workers
    client = temporal_client
    migrations: list[WorkflowHandle[Any, Any]] = []
    for i in range(6):
        migrations.append(
            await client.start_workflow(
                DataMigrationWorkflow.run,
                {
                    "migration_id": f"{unique_id}-m{i}",
                    "batches": 5,
                    "batch_size": 20,
                    "pause_seconds": 0.5,
                },
                id=f"{unique_id}-m{i}",
                task_queue=task_queue,
            )
        )
    pipelines: list[WorkflowHandle[Any, Any]] = []
    for i in range(2):
        pipelines.append(
            await client.start_workflow(
                EventPipelineWorkflow.run,
                {"events": make_events(20, seed=i), "await_more": True},
                id=f"{unique_id}-p{i}",
                task_queue=task_queue,
            )
        )
    loans: list[WorkflowHandle[Any, Any]] = []
    for i in range(3):
        loans.append(
            await client.start_workflow(
                LoanApprovalWorkflow.run,
                {"application_id": f"{unique_id}-l{i}", "applicant": "erin", "amount": 20_000},
                id=f"{unique_id}-l{i}",
                task_queue=task_queue,
            )
        )

    async def under_way() -> bool:
        done = [(await h.query(DataMigrationWorkflow.progress))["batches_done"] for h in migrations]
        first = [(await h.query(EventPipelineWorkflow.progress))["processed"] for h in pipelines]
        stages = [(await h.query(LoanApprovalWorkflow.status))["stage"] for h in loans]
        return (
            sum(done) >= 6
            and all(n == 20 for n in first)
            and all(s == "awaiting_approval" for s in stages)
        )

    await _poll(under_way, "the workflows to be under way on both workers")
    open_at_kill = {h.id for h in migrations if (await h.describe()).close_time is None}
    assert open_at_kill, "every migration finished before the kill: the test proves nothing"

    a.proc.send_signal(signal.SIGKILL)
    assert a.proc.wait(10) == -signal.SIGKILL

    # After the kill: more events, decisions, and the migrations' remaining batches, all on B.
    for i, h in enumerate(pipelines):
        await h.signal(EventPipelineWorkflow.ingest, make_events(10, seed=100 + i, start=20))
        await h.signal(EventPipelineWorkflow.close)
    for h in loans:
        await h.signal(LoanApprovalWorkflow.approve, "underwriter-9")

    migrated = await asyncio.wait_for(asyncio.gather(*(h.result() for h in migrations)), 120)
    streamed = await asyncio.wait_for(asyncio.gather(*(h.result() for h in pipelines)), 120)
    decided = await asyncio.wait_for(asyncio.gather(*(h.result() for h in loans)), 120)

    for handle, result in zip(migrations, migrated, strict=True):
        assert result["batches"] == 5
        assert result["rows_loaded"] + result["rows_rejected"] == 100
        assert len(result["checksums"]) == 5
        assert set(result["batch_workers"]) <= {a.marker, b.marker}
        if handle.id in open_at_kill:
            assert result["batch_workers"][-1] == b.marker  # finished after the kill
    assert a.marker in {w for r in migrated for w in r["batch_workers"]}
    for result in streamed:
        assert result["processed"] == 30
        assert len({r["event_id"] for r in result["results"]}) == 30
        late = [r for r in result["results"] if int(r["event_id"].split("-")[1]) >= 20]
        assert len(late) == 10 and {r["worker"] for r in late} == {b.marker}
    for result in decided:
        assert result["decision"] == "approved" and result["decided_by"] == "underwriter-9"
    assert b.stop() == 0
