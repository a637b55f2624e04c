"""fastcore workflows as Temporal activities, against a real Temporal dev server.

Workers run Temporal's default (sandboxed) workflow runner, so ``execute_fastcore_workflow``
is exercised where user workflow code runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity as tactivity
from temporalio.api.enums.v1 import EventType as TEventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutError,
    TimeoutType,
)
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

import bridge
from bridge._devserver import DevServer
from fastcore import Engine, EventType
from fastcore.errors import ActivityError as FcActivityError
from fastcore.errors import ApplicationError as FcApplicationError
from fastcore.errors import CancelledError as FcCancelledError
from fastcore.errors import TimeoutError as FcTimeoutError
from fastcore.errors import TimeoutType as FcTimeoutType
from tests.bridge.subworkflow import _worker_proc as defs

REPO = Path(__file__).resolve().parents[3]


@asynccontextmanager
async def hosting(client: Client, queue: str, **kw: Any) -> AsyncIterator[Engine]:
    """An engine with the test workflows and a Temporal worker that hosts them."""
    async with (
        Engine(workflows=defs.FASTCORE_WORKFLOWS, activities=defs.FASTCORE_ACTIVITIES) as engine,
        Worker(
            client,
            task_queue=queue,
            workflows=defs.TEMPORAL_WORKFLOWS,
            activities=bridge.fastcore_activities(engine, **kw),
        ),
    ):
        yield engine


async def run_sub(client: Client, queue: str, spec: dict[str, Any]) -> Any:
    return await client.execute_workflow(
        defs.RunSub.run, spec, id=f"{queue}-{len(defs.CALLS)}", task_queue=queue
    )


async def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- results


@pytest.mark.parametrize("local", [False, True])
async def test_result_by_run_method(temporal_client: Client, unique_id: str, local: bool) -> None:
    async with hosting(temporal_client, unique_id, workflows=[defs.ThreeInc]):
        result = await temporal_client.execute_workflow(
            defs.RunThreeInc.run, args=[10, local], id=unique_id, task_queue=unique_id
        )
    assert result == 13


async def test_result_by_name_and_fastcore_run_recorded(
    temporal_client: Client, unique_id: str
) -> None:
    async with hosting(temporal_client, unique_id) as engine:
        result = await run_sub(temporal_client, unique_id, {"workflow": "ThreeInc", "args": [1]})
        assert result == 4
        runs, _ = await engine.list_workflows()
    (run,) = runs
    assert run.workflow_type == "ThreeInc"
    assert run.id.startswith(f"{unique_id}-")  # <temporal workflow id>/<run id>/<activity id>


async def test_unhosted_workflow_is_a_retryable_not_found(
    temporal_client: Client, unique_id: str
) -> None:
    async with hosting(temporal_client, unique_id, workflows=[defs.ThreeInc]):
        with pytest.raises(WorkflowFailureError) as info:
            await run_sub(temporal_client, unique_id, {"workflow": "Fails", "args": [{}]})
    err = info.value.cause
    assert isinstance(err, ActivityError)
    assert isinstance(err.cause, ApplicationError)
    assert err.cause.type == "NotFoundError"
    assert not err.cause.non_retryable


def test_fastcore_activities_refuses_unregistered_workflows() -> None:
    engine = Engine(workflows=[defs.ThreeInc])
    with pytest.raises(ValueError, match="Fails"):
        bridge.fastcore_activities(engine, workflows=[defs.Fails])


def test_workflow_name_resolution() -> None:
    assert bridge.fastcore_workflow_name(defs.ThreeInc.run) == "ThreeInc"
    assert bridge.fastcore_workflow_name(defs.ThreeInc) == "ThreeInc"
    assert bridge.fastcore_workflow_name("Anything") == "Anything"
    with pytest.raises(TypeError):
        bridge.fastcore_workflow_name(defs.RunSub.run)


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("local", [False, True])
async def test_non_retryable_application_error_keeps_its_fields(
    temporal_client: Client, unique_id: str, local: bool
) -> None:
    spec = {
        "message": "order rejected",
        "details": [{"sku": "a-1"}, 7],
        "type": "InvalidOrder",
        "non_retryable": True,
    }
    async with hosting(temporal_client, unique_id) as engine:
        with pytest.raises(WorkflowFailureError) as info:
            await run_sub(
                temporal_client,
                unique_id,
                {"workflow": "Fails", "args": [spec], "attempts": 5, "local": local},
            )
        runs, _ = await engine.list_workflows()
    assert len(runs) == 1  # not retried
    err = info.value.cause
    # A local activity's failure reaches the workflow unwrapped (temporalio 1.35 does so for
    # every local activity); a normal one arrives wrapped in ActivityError.
    assert isinstance(err, ApplicationError if local else ActivityError)
    cause = err if local else err.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message, cause.non_retryable) == (
        "InvalidOrder",
        "order rejected",
        True,
    )
    assert list(cause.details) == [{"sku": "a-1"}, 7]


async def test_retryable_error_is_retried_by_temporal(
    temporal_client: Client, unique_id: str
) -> None:
    async with hosting(temporal_client, unique_id) as engine:
        result = await run_sub(
            temporal_client,
            unique_id,
            {"workflow": "Flaky", "args": [unique_id, 2], "attempts": 5},
        )
        runs, _ = await engine.list_workflows()
    assert result == 3  # the third call succeeded
    assert defs.CALLS[unique_id] == ["flaky"] * 3
    assert len(runs) == 3  # each Temporal attempt ran a fresh sub-workflow


async def test_activity_failure_inside_maps_to_innermost_error_with_chain(
    temporal_client: Client, unique_id: str
) -> None:
    async with hosting(temporal_client, unique_id):
        with pytest.raises(WorkflowFailureError) as info:
            await run_sub(
                temporal_client,
                unique_id,
                {"workflow": "Flaky", "args": [unique_id, 5], "attempts": 2},
            )
    assert defs.CALLS[unique_id] == ["flaky"] * 2
    err = info.value.cause
    assert isinstance(err, ActivityError)
    top = err.cause
    assert isinstance(top, ApplicationError)
    assert (top.type, top.message, top.non_retryable) == ("Flaky", "call 2 failed", False)
    assert list(top.details) == [2]
    inner = top.cause  # the fastcore chain: ActivityError(flaky_step) <- ApplicationError
    assert isinstance(inner, ActivityError)
    assert inner.activity_type == "flaky_step"
    assert isinstance(inner.cause, ApplicationError)
    assert inner.cause.type == "Flaky"


async def test_activity_timeout_inside_stays_a_timeout(
    temporal_client: Client, unique_id: str
) -> None:
    async with hosting(temporal_client, unique_id):
        with pytest.raises(WorkflowFailureError) as info:
            await run_sub(temporal_client, unique_id, {"workflow": "TimesOut", "args": [5.0]})
    err = info.value.cause
    assert isinstance(err, ActivityError)
    top = err.cause  # Temporal takes only an ApplicationError from an activity
    assert isinstance(top, ApplicationError)
    assert (top.type, top.non_retryable) == ("TemporalTimeout:StartToClose", False)
    wrapper = top.cause
    assert isinstance(wrapper, ActivityError) and wrapper.activity_type == "sleepy"
    assert isinstance(wrapper.cause, TimeoutError)
    assert wrapper.cause.type is TimeoutType.START_TO_CLOSE


async def test_execution_timeout_stays_a_timeout(temporal_client: Client, unique_id: str) -> None:
    async with hosting(temporal_client, unique_id):
        with pytest.raises(WorkflowFailureError) as info:
            await run_sub(
                temporal_client,
                unique_id,
                {"workflow": "WaitsForever", "args": [unique_id], "execution_timeout": 0.2},
            )
    err = info.value.cause
    assert isinstance(err, ActivityError)
    assert isinstance(err.cause, ApplicationError)
    assert err.cause.type == "TemporalTimeout:StartToClose"
    assert isinstance(err.cause.cause, TimeoutError)
    assert err.cause.cause.type is TimeoutType.START_TO_CLOSE


def test_error_mapping_without_a_server() -> None:
    inner = FcApplicationError("declined", {"code": 5}, type="Card", non_retryable=True)
    wrapper = FcActivityError(
        "Activity task failed", activity_type="charge", activity_id="3", retry_state=None
    )
    wrapper.__cause__ = inner
    mapped = bridge.to_temporal_error(wrapper)
    assert isinstance(mapped, ApplicationError)
    assert (mapped.type, mapped.message, mapped.non_retryable) == ("Card", "declined", True)
    assert list(mapped.details) == [{"code": 5}]
    assert isinstance(mapped.cause, ActivityError) and mapped.cause.activity_id == "3"
    assert isinstance(mapped.cause.cause, ApplicationError)
    bare = bridge.to_temporal_error(FcApplicationError("plain", type="P"))
    assert (bare.type, bare.message, bare.cause) == ("P", "plain", None)
    timeout = bridge.to_temporal_error(FcTimeoutError("slow", type=FcTimeoutType.SCHEDULE_TO_CLOSE))
    assert (timeout.type, timeout.non_retryable) == ("TemporalTimeout:ScheduleToClose", True)
    assert isinstance(timeout.cause, TimeoutError)
    assert timeout.cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    cancelled = bridge.to_temporal_error(FcCancelledError("Workflow cancelled"))
    assert (cancelled.type, cancelled.non_retryable) == ("CancelledError", True)
    assert isinstance(cancelled.cause, CancelledError)


# ---------------------------------------------------------------- cancellation


async def test_temporal_cancellation_runs_fastcore_cleanup(
    temporal_client: Client, unique_id: str
) -> None:
    async with hosting(temporal_client, unique_id):
        handle = await temporal_client.start_workflow(
            defs.CancelSub.run, unique_id, id=unique_id, task_queue=unique_id
        )
        await eventually(lambda: defs.CALLS.get(unique_id), "the sub-workflow to start")
        await handle.signal(defs.CancelSub.cancel)
        result = await handle.result()
        history = await handle.fetch_history()
    assert result == "ActivityError: CancelledError"
    assert defs.CALLS[unique_id] == ["started", "cleanup"]
    types = [e.event_type for e in history.events]
    assert TEventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in types  # reported as cancelled


# ---------------------------------------------------------------- checkpoints


async def test_heartbeat_checkpoint_is_readable(temporal_client: Client, unique_id: str) -> None:
    async with hosting(temporal_client, unique_id, bridge_address="127.0.0.1:7777") as engine:
        handle = await temporal_client.start_workflow(
            defs.CancelSub.run, unique_id, id=unique_id, task_queue=unique_id
        )

        async def checkpoint() -> bridge.FastcoreCheckpoint | None:
            desc = await handle.describe()
            pending = desc.raw_description.pending_activities
            if not pending or not pending[0].heartbeat_details.payloads:
                return None
            details = await temporal_client.data_converter.decode(
                pending[0].heartbeat_details.payloads
            )
            cp = bridge.FastcoreCheckpoint.from_heartbeat_details(details)
            return cp if cp is not None and _step_done(cp) else None

        cp = await eventually(checkpoint, "a checkpoint in the heartbeat details")
        await handle.signal(defs.CancelSub.cancel)
        await handle.result()
    assert cp.workflow_type == "WaitsForever"
    assert cp.bridge_address == "127.0.0.1:7777"
    assert cp.identity == engine.identity
    assert cp.pid == os.getpid()
    assert cp.workflow_id.startswith(f"{unique_id}/")
    assert cp.events[0].event_type is EventType.WORKFLOW_EXECUTION_STARTED
    assert EventType.ACTIVITY_TASK_COMPLETED in [e.event_type for e in cp.events]
    assert bridge.FastcoreCheckpoint.from_json(cp.to_json()) == cp


async def test_retry_resumes_from_checkpoint_without_rerunning_steps() -> None:
    """A retried attempt imports the checkpoint: completed steps are not run again."""
    key = f"resume-{time.monotonic_ns()}"
    cp_details: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *d: cp_details.append(d)
    async with Engine(
        workflows=defs.FASTCORE_WORKFLOWS, activities=defs.FASTCORE_ACTIVITIES
    ) as engine:
        (act,) = bridge.fastcore_activities(engine)
        inp = bridge.FastcoreWorkflowInput("WaitsForever", [key], id=key)
        first = asyncio.ensure_future(env.run(act, inp))
        await eventually(
            lambda: cp_details and _step_done(_checkpoint(cp_details[-1])),
            "a checkpoint after the first step",
        )
        first.cancel()  # the attempt is gone (no Temporal cancellation: the run stays)
        with pytest.raises(asyncio.CancelledError):
            await first
    assert defs.CALLS[key] == ["started"]
    last: Any = cp_details[-1]
    async with Engine(
        workflows=defs.FASTCORE_WORKFLOWS, activities=defs.FASTCORE_ACTIVITIES
    ) as other:
        (act,) = bridge.fastcore_activities(other)
        env2 = ActivityEnvironment()
        env2.info = _retry_info(env2.info, last)
        second = asyncio.ensure_future(env2.run(act, inp))

        async def imported() -> bool:
            return bool((await other.list_workflows())[0])

        await eventually(imported, "the imported run")
        await other.get_workflow_handle(key).cancel()
        with pytest.raises(ApplicationError) as info:  # cancelled by fastcore, not Temporal
            await second
    assert info.value.type == "CancelledError"
    assert defs.CALLS[key] == ["started", "cleanup"]  # "started" ran once in total


async def test_retry_on_the_same_worker_reuses_the_open_run() -> None:
    """An attempt that finds its run still open in this engine waits for it; no restart."""
    key = f"reuse-{time.monotonic_ns()}"
    async with Engine(
        workflows=defs.FASTCORE_WORKFLOWS, activities=defs.FASTCORE_ACTIVITIES
    ) as engine:
        (act,) = bridge.fastcore_activities(engine)
        inp = bridge.FastcoreWorkflowInput("WaitsForever", [key])
        first = asyncio.ensure_future(ActivityEnvironment().run(act, inp))
        await eventually(lambda: defs.CALLS.get(key), "the first attempt to start")
        first.cancel()  # the attempt is lost (e.g. its heartbeat timed out); the run stays
        with pytest.raises(asyncio.CancelledError):
            await first
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=2)
        second = asyncio.ensure_future(env.run(act, inp))
        runs, _ = await engine.list_workflows()
        assert len(runs) == 1
        for _ in range(5):  # let the attempt reach its wait on the run (no I/O on the way)
            await asyncio.sleep(0)
        env.cancel()  # now Temporal cancels: the fastcore cleanup runs
        with pytest.raises(asyncio.CancelledError):
            await second
    assert defs.CALLS[key] == ["started", "cleanup"]


async def test_worker_shutdown_leaves_the_run_for_a_retry() -> None:
    key = f"shutdown-{time.monotonic_ns()}"
    async with Engine(
        workflows=defs.FASTCORE_WORKFLOWS, activities=defs.FASTCORE_ACTIVITIES
    ) as engine:
        (act,) = bridge.fastcore_activities(engine)
        env = ActivityEnvironment()
        attempt = asyncio.ensure_future(
            env.run(act, bridge.FastcoreWorkflowInput("WaitsForever", [key], id=key))
        )
        await eventually(lambda: defs.CALLS.get(key), "the sub-workflow to start")
        env.cancel(tactivity.ActivityCancellationDetails(worker_shutdown=True))
        with pytest.raises(ApplicationError) as info:
            await attempt
        desc = await engine.get_workflow_handle(key).describe()
    assert info.value.type == "WorkerShutdown" and not info.value.non_retryable
    assert desc.status.name == "RUNNING"  # not cancelled: the retry resumes it
    assert defs.CALLS[key] == ["started"]


def _checkpoint(details: Any) -> bridge.FastcoreCheckpoint:
    cp = bridge.FastcoreCheckpoint.from_heartbeat_details(details)
    assert cp is not None
    return cp


def _step_done(cp: bridge.FastcoreCheckpoint) -> bool:
    return any(e.event_type is EventType.ACTIVITY_TASK_COMPLETED for e in cp.events)


def _retry_info(info: tactivity.Info, details: Any) -> tactivity.Info:
    return dataclasses.replace(info, attempt=2, heartbeat_details=list(details))


# ---------------------------------------------------------------- the crash test


def _spawn(server: DevServer, queue: str, marker_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bridge.subworkflow._worker_proc",
            server.target,
            queue,
            str(marker_dir),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _markers(marker_dir: Path, prefix: str) -> list[Path]:
    return [p for p in marker_dir.iterdir() if p.name.startswith(prefix)]


@pytest.mark.timeout(90)
async def test_worker_killed_mid_workflow_resumes_on_another_worker(
    temporal_server: DevServer, temporal_client: Client, unique_id: str, tmp_path: Path
) -> None:
    """SIGKILL the worker after step 1 was checkpointed; a second worker finishes the job."""
    first = _spawn(temporal_server, unique_id, tmp_path)
    second: subprocess.Popen[bytes] | None = None
    try:
        await eventually(lambda: _markers(tmp_path, "ready-"), "the first worker", 30)
        handle = await temporal_client.start_workflow(
            defs.RunFileSteps.run, args=[str(tmp_path), 0], id=unique_id, task_queue=unique_id
        )

        async def step1_checkpointed() -> bool:
            desc = await handle.describe()
            pending = desc.raw_description.pending_activities
            if not pending or not pending[0].heartbeat_details.payloads:
                return False
            details = await temporal_client.data_converter.decode(
                pending[0].heartbeat_details.payloads
            )
            cp = bridge.FastcoreCheckpoint.from_heartbeat_details(details)
            return cp is not None and _step_done(cp)

        await eventually(lambda: _markers(tmp_path, "step2-"), "step 2 to start", 30)
        await eventually(step1_checkpointed, "step 1 in the checkpoint", 30)
        first.kill()  # SIGKILL: no cleanup, no last heartbeat
        first.wait(timeout=10)
        assert len(_markers(tmp_path, "step1-")) == 1

        second = _spawn(temporal_server, unique_id, tmp_path)
        (tmp_path / "release").touch()
        result = await asyncio.wait_for(handle.result(), timeout=60)
        assert result == 3
        assert len(_markers(tmp_path, "step1-")) == 1  # not run again after the crash
        assert len(_markers(tmp_path, "step2-")) == 2  # in flight at the crash: run again
        assert len(_markers(tmp_path, "step3-")) == 1
        desc = await handle.describe()
        history = await handle.fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.event_type == TEventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert attempts == [2]  # the second attempt completed it
        assert desc.status is not None
    finally:
        for proc in (first, second):
            if proc is not None:
                _stop(proc)
