"""Workflows for the activity-bridge tests, and a worker process for the crash test.

The module is imported by Temporal's workflow sandbox (the Temporal workflows live here), so
it imports only the standard library, temporalio, fastcore and bridge.

Run as a program it is one worker: ``python -m tests.bridge.subworkflow._worker_proc TARGET
TASK_QUEUE MARKER_DIR`` hosts ``FileSteps`` behind ``RunFileSteps`` on the queue, writes
``ready-<pid>`` into MARKER_DIR once it polls, and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow as tworkflow
from temporalio.common import RetryPolicy as TRetryPolicy
from temporalio.exceptions import ActivityError as TActivityError

import bridge
from fastcore import RetryPolicy, activity, workflow
from fastcore.errors import ApplicationError

T5 = timedelta(seconds=5)
ONCE = RetryPolicy(maximum_attempts=1)

# ---------------------------------------------------------------- fastcore side

CALLS: dict[str, list[str]] = {}
"""What fastcore activities did, per test key (in-process tests only)."""


def _note(key: str, what: str) -> int:
    CALLS.setdefault(key, []).append(what)
    return CALLS[key].count(what)


@activity.defn
async def inc(x: int) -> int:
    return x + 1


@activity.defn
async def flaky_step(key: str, fail_times: int) -> int:
    n = _note(key, "flaky")
    if n <= fail_times:
        raise ApplicationError(f"call {n} failed", n, type="Flaky")
    return n


@activity.defn
async def sleepy(seconds: float) -> None:
    await asyncio.sleep(seconds)


@activity.defn
async def note(key: str, what: str) -> None:
    _note(key, what)


@activity.defn
async def file_step(marker_dir: str, name: str, x: int) -> int:
    """Leaves a ``<name>-<uuid>`` file in ``marker_dir`` (one per run) and returns x + 1."""
    (Path(marker_dir) / f"{name}-{uuid.uuid4().hex}").touch()
    return x + 1


@activity.defn
async def wait_for_release(marker_dir: str, x: int) -> int:
    """Leaves a ``step2-<uuid>`` file, then returns x + 1 once ``release`` exists."""
    d = Path(marker_dir)
    (d / f"step2-{uuid.uuid4().hex}").touch()
    while not (d / "release").exists():
        await asyncio.sleep(0.02)
    return x + 1


@workflow.defn
class ThreeInc:
    """Three steps, each returning its input plus one."""

    @workflow.run
    async def run(self, x: int) -> int:
        for _ in range(3):
            x = await workflow.execute_activity(inc, x, start_to_close_timeout=T5)
        return x


@workflow.defn
class Fails:
    """Fails with the ApplicationError its argument describes."""

    @workflow.run
    async def run(self, spec: dict[str, Any]) -> None:
        raise ApplicationError(
            spec["message"],
            *spec.get("details", []),
            type=spec.get("type"),
            non_retryable=bool(spec.get("non_retryable")),
        )


@workflow.defn
class Flaky:
    """Its one step fails ``fail_times`` times in total; fastcore does not retry it."""

    @workflow.run
    async def run(self, key: str, fail_times: int) -> int:
        return await workflow.execute_activity(
            flaky_step, key, fail_times, start_to_close_timeout=T5, retry_policy=ONCE
        )


@workflow.defn
class TimesOut:
    """Its one step outlives its start-to-close timeout."""

    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.execute_activity(
            sleepy,
            seconds,
            start_to_close_timeout=timedelta(milliseconds=50),
            retry_policy=ONCE,
        )


@workflow.defn
class WaitsForever:
    """Parks until cancelled, then runs its cleanup activity."""

    @workflow.run
    async def run(self, key: str) -> str:
        await workflow.execute_activity(note, key, "started", start_to_close_timeout=T5)
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            await workflow.execute_activity(note, key, "cleanup", start_to_close_timeout=T5)
            raise
        return "never"


@workflow.defn
class FileSteps:
    """Step 1 leaves a marker, step 2 waits for ``release``, step 3 leaves a marker."""

    @workflow.run
    async def run(self, marker_dir: str, x: int) -> int:
        x = await workflow.execute_activity(
            file_step, marker_dir, "step1", x, start_to_close_timeout=timedelta(seconds=60)
        )
        x = await workflow.execute_activity(
            wait_for_release, marker_dir, x, start_to_close_timeout=timedelta(seconds=60)
        )
        return await workflow.execute_activity(
            file_step, marker_dir, "step3", x, start_to_close_timeout=timedelta(seconds=60)
        )


FASTCORE_WORKFLOWS = [ThreeInc, Fails, Flaky, TimesOut, WaitsForever, FileSteps]
FASTCORE_ACTIVITIES = [inc, flaky_step, sleepy, note, file_step, wait_for_release]

# ---------------------------------------------------------------- Temporal side


@tworkflow.defn
class RunSub:
    """Runs the fastcore workflow ``spec`` names and returns its result."""

    @tworkflow.run
    async def run(self, spec: dict[str, Any]) -> Any:
        local = bool(spec.get("local"))
        return await bridge.execute_fastcore_workflow(
            spec["workflow"],
            args=spec.get("args", []),
            local=local,
            execution_timeout=(
                timedelta(seconds=spec["execution_timeout"])
                if "execution_timeout" in spec
                else None
            ),
            start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=None if local else timedelta(seconds=2),
            retry_policy=TRetryPolicy(
                initial_interval=timedelta(milliseconds=50),
                maximum_attempts=int(spec.get("attempts", 1)),
            ),
        )


@tworkflow.defn
class RunThreeInc:
    """Names the fastcore workflow by its run method, as user code does."""

    @tworkflow.run
    async def run(self, x: int, local: bool) -> int:
        result: int = await bridge.execute_fastcore_workflow(
            ThreeInc.run,
            x,
            local=local,
            start_to_close_timeout=timedelta(seconds=10),
        )
        return result


@tworkflow.defn
class CancelSub:
    """Starts ``WaitsForever``, cancels it on the ``cancel`` signal, reports what came back."""

    def __init__(self) -> None:
        self.cancel_requested = False

    @tworkflow.signal
    def cancel(self) -> None:
        self.cancel_requested = True

    @tworkflow.run
    async def run(self, key: str) -> str:
        handle = bridge.start_fastcore_workflow(
            WaitsForever.run,
            key,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            cancellation_type=tworkflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await tworkflow.wait_condition(lambda: self.cancel_requested)
        handle.cancel()
        try:
            await handle
        except TActivityError as err:
            return f"{type(err).__name__}: {type(err.cause).__name__}"
        return "completed"


@tworkflow.defn
class RunFileSteps:
    """The crash test's Temporal workflow: ``FileSteps`` with a 2 s heartbeat timeout."""

    @tworkflow.run
    async def run(self, marker_dir: str, x: int) -> int:
        result: int = await bridge.execute_fastcore_workflow(
            FileSteps.run,
            args=[marker_dir, x],
            start_to_close_timeout=timedelta(seconds=120),
            heartbeat_timeout=timedelta(seconds=2),
            retry_policy=TRetryPolicy(
                initial_interval=timedelta(milliseconds=100),
                maximum_interval=timedelta(milliseconds=500),
            ),
        )
        return result


TEMPORAL_WORKFLOWS = [RunSub, RunThreeInc, CancelSub, RunFileSteps]

# ---------------------------------------------------------------- the worker process


async def _serve(target: str, task_queue: str, marker_dir: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from fastcore import Engine

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    client = await Client.connect(target)
    async with (
        Engine(workflows=FASTCORE_WORKFLOWS, activities=FASTCORE_ACTIVITIES) as engine,
        Worker(
            client,
            task_queue=task_queue,
            workflows=TEMPORAL_WORKFLOWS,
            activities=bridge.fastcore_activities(engine, workflows=[FileSteps]),
            graceful_shutdown_timeout=timedelta(seconds=1),
        ),
    ):
        (Path(marker_dir) / f"ready-{os.getpid()}").touch()
        await stop.wait()


def main(argv: list[str]) -> None:
    """``TARGET TASK_QUEUE MARKER_DIR``: run one worker until SIGTERM."""
    target, task_queue, marker_dir = argv
    asyncio.run(_serve(target, task_queue, marker_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
