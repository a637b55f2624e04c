"""kill -9 in the middle of a mixed load, restart on the same file: nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

N = 30
WORKER = [sys.executable, "-m", "tests.fastcore._crash_worker"]
ROOT = Path(__file__).resolve().parents[2]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _completed_activities(db: Path) -> set[tuple[str, str]]:
    """(workflow id, activity id) of every activity whose completion was committed."""
    import asyncio

    from fastcore._sqlite_store import SqliteStore
    from fastcore.history import EventType

    done: set[tuple[str, str]] = set()

    async def load() -> None:
        store = SqliteStore(str(db))  # the killed process's lock died with it
        await store.open()
        try:
            for run in await store.list_runs(limit=100_000):
                full = await store.load_run(run.workflow_id, run.run_id)
                assert full is not None
                sched = {
                    e.event_id: e.attributes["activity_id"]
                    for e in full.history
                    if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED
                }
                for e in full.history:
                    if e.event_type is EventType.ACTIVITY_TASK_COMPLETED:
                        done.add((run.workflow_id, sched[e.attributes["scheduled_event_id"]]))
        finally:
            await store.close()

    asyncio.run(load())
    return done


def test_kill_9_mid_load_then_recover(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    errlog = open(tmp_path / "worker.err", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [*WORKER, "run", str(db), str(logs), str(N)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=errlog,
    )
    try:
        deadline = time.monotonic() + 60
        # wait for a mixed state: some activities done, signals accepted, work still running
        while True:
            assert proc.poll() is None, (tmp_path / "worker.err").read_text()
            execs = _lines(logs / "executions")
            accepted = _lines(logs / "accepted")
            if len(execs) >= N and len(accepted) >= N // 2:
                break
            assert time.monotonic() < deadline, "the load did not get going"
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        errlog.close()
    executions_at_kill = _lines(logs / "executions")
    accepted_at_kill = set(_lines(logs / "accepted"))
    committed = _completed_activities(db)
    # the kill landed mid-load: some activities were committed, not all of them
    assert 0 < len(committed) < 3 * N, len(committed)

    out = subprocess.run(
        [*WORKER, "recover", str(db), str(logs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    results = data["results"]

    # every workflow completed with the right result
    assert sorted(results) == sorted(f"wf-{i}" for i in range(N))
    for wid, r in results.items():
        assert r["steps"] == [f"{wid}-0", f"{wid}-1", f"{wid}-2"]
    # no completed activity ran twice: those committed before the kill never ran again
    all_execs = _lines(logs / "executions")
    after_restart = all_execs[len(executions_at_kill) :]
    rerun = [line for line in after_restart if tuple(line.split()) in committed]
    assert rerun == [], rerun
    for key in committed:
        assert executions_at_kill.count(" ".join(key)) >= 1
    # no accepted signal was lost
    received = {t for r in results.values() for t in r["tokens"]}
    accepted_all = accepted_at_kill | set(_lines(logs / "accepted"))
    assert accepted_at_kill <= received
    assert accepted_all <= received
    # timers were re-armed at their original deadlines
    for hist in data["histories"].values():
        fire_at = [e[2] for e in hist if e[0] == "TIMER_STARTED"]
        fired = [e[1] for e in hist if e[0] == "TIMER_FIRED"]
        assert len(fire_at) == len(fired) == 1
        assert fired[0] >= fire_at[0] - 1e-3
