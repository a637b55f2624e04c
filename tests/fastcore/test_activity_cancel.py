"""Cancelling plain ``def`` activities in their thread, and shutting down, as temporalio does.

A cancellation raises ``CancelledError`` in the activity's thread (at ``heartbeat()`` or any
Python code) unless the activity opted out with ``no_thread_cancel_exception=True``;
``shield_thread_cancel_exception()`` delays it; ``cancellation_details()`` says why. Engine
shutdown gives running activities ``graceful_shutdown_timeout``, then cancels them, so no
activity thread is left running (one that cannot stop is named in a WARNING).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fastcore import Engine, EventType, RetryPolicy, activity, workflow
from fastcore.errors import ActivityError, CancelledError, InvalidArgumentError

SEEN: dict[str, list[Any]] = {}
STARTED: dict[str, threading.Event] = {}
RELEASE: dict[str, threading.Event] = {}


def _started(key: str) -> None:
    STARTED.setdefault(key, threading.Event()).set()


@activity.defn
def heartbeats_until_cancelled(key: str) -> str:
    _started(key)
    try:
        while True:
            activity.heartbeat()
            threading.Event().wait(0.005)
    except CancelledError:
        details = activity.cancellation_details()
        SEEN.setdefault(key, []).append(("cancelled", details, activity.is_cancelled()))
        raise
    finally:
        SEEN.setdefault(key, []).append("thread ended")


@activity.defn
def shielded_step(key: str) -> str:
    _started(key)
    steps = SEEN.setdefault(key, [])
    try:
        with activity.shield_thread_cancel_exception():
            RELEASE[key].wait(10)  # cancelled meanwhile: delayed until the block ends
            steps.append("finished the shielded step")
        steps.append("after the block")  # never reached: the cancellation is raised first
    except CancelledError:
        steps.append("cancelled after the block")
        raise
    return "not cancelled"


@activity.defn
async def waits_for_cancel(key: str) -> str:
    _started(key)
    try:
        await activity.wait_for_cancelled()  # the task is cancelled too, as in temporalio
    except asyncio.CancelledError:
        SEEN.setdefault(key, []).append(activity.cancellation_details())
        raise
    return "not cancelled"


@workflow.defn
class CancelsIt:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, name: str, key: str) -> str:
        handle = workflow.start_activity(
            name, key, start_to_close_timeout=timedelta(seconds=60), heartbeat_timeout=None
        )
        await workflow.wait_condition(lambda: self.go)
        handle.cancel()
        try:
            await handle
        except ActivityError as err:
            return type(err.cause).__name__
        return "not cancelled"

    @workflow.signal
    def cancel_now(self) -> None:
        self.go = True


@workflow.defn
class RunsIt:
    @workflow.run
    async def run(self, name: str, key: str, seconds: float) -> str:
        result: str = await workflow.execute_activity(
            name,
            key,
            start_to_close_timeout=timedelta(seconds=seconds),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result


async def started(key: str) -> None:
    event = STARTED.setdefault(key, threading.Event())
    await asyncio.get_running_loop().run_in_executor(None, event.wait, 10)
    assert event.is_set()


async def thread_ended(key: str) -> None:
    for _ in range(2000):
        if "thread ended" in SEEN.get(key, []):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the activity thread of {key} did not end: {SEEN.get(key)}")


ACTS = [heartbeats_until_cancelled, shielded_step, waits_for_cancel]


async def test_a_cancelled_def_activity_gets_cancelled_error_in_its_thread() -> None:
    async with Engine(workflows=[CancelsIt], activities=ACTS) as engine:
        key = uuid.uuid4().hex
        h = await engine.start_workflow(
            CancelsIt.run, "heartbeats_until_cancelled", key, id=f"wf-{key}"
        )
        await started(key)
        await h.signal(CancelsIt.cancel_now)
        assert await h.result() == "CancelledError"
        await thread_ended(key)
    kind, details, is_cancelled = SEEN[key][0]
    assert kind == "cancelled" and is_cancelled is True
    assert details == activity.ActivityCancellationDetails(cancel_requested=True)


async def test_shield_delays_the_cancellation_until_the_block_ends() -> None:
    async with Engine(workflows=[CancelsIt], activities=ACTS) as engine:
        key = uuid.uuid4().hex
        RELEASE[key] = threading.Event()
        h = await engine.start_workflow(CancelsIt.run, "shielded_step", key, id=f"wf-{key}")
        await started(key)
        await h.signal(CancelsIt.cancel_now)
        # the workflow's TRY_CANCEL resolves at once; the thread is still in its shield
        assert await h.result() == "CancelledError"
        RELEASE[key].set()
        for _ in range(2000):
            if "cancelled after the block" in SEEN.get(key, []):
                break
            await asyncio.sleep(0.005)
    assert SEEN[key] == ["finished the shielded step", "cancelled after the block"]


async def test_an_async_activity_can_wait_for_its_cancellation() -> None:
    async with Engine(workflows=[CancelsIt], activities=ACTS) as engine:
        key = uuid.uuid4().hex
        h = await engine.start_workflow(CancelsIt.run, "waits_for_cancel", key, id=f"wf-{key}")
        await started(key)
        await h.signal(CancelsIt.cancel_now)
        assert await h.result() == "CancelledError"
        for _ in range(2000):
            if SEEN.get(key):
                break
            await asyncio.sleep(0.005)
    assert SEEN[key] == [activity.ActivityCancellationDetails(cancel_requested=True)]


async def test_a_timed_out_def_activity_is_cancelled_in_its_thread() -> None:
    async with Engine(workflows=[RunsIt], activities=ACTS) as engine:
        key = uuid.uuid4().hex
        h = await engine.start_workflow(
            RunsIt.run, "heartbeats_until_cancelled", key, 0.2, id=f"wf-{key}"
        )
        with pytest.raises(Exception, match="Workflow execution failed"):
            await h.result()
        await thread_ended(key)
    kind, details, is_cancelled = SEEN[key][0]
    assert kind == "cancelled" and details.timed_out and not details.cancel_requested
    assert is_cancelled is False  # a timeout is not a cancellation request


async def test_shutdown_cancels_running_def_activities(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/f.db"
    key = uuid.uuid4().hex
    async with Engine(store, workflows=[RunsIt], activities=ACTS) as engine:
        await engine.start_workflow(
            RunsIt.run, "heartbeats_until_cancelled", key, 60, id=f"wf-{key}"
        )
        await started(key)
    # shutdown returned with the thread stopped, not left running
    assert "thread ended" in SEEN[key]
    kind, details, _ = SEEN[key][0]
    assert kind == "cancelled" and details.worker_shutdown


GRACEFUL: dict[str, list[str]] = {}


@activity.defn
def finishes_on_shutdown(key: str) -> str:
    _started(key)
    activity.wait_for_worker_shutdown_sync(10)
    GRACEFUL.setdefault(key, []).append(f"shutdown seen: {activity.is_worker_shutdown()}")
    return "finished in the grace period"


async def test_graceful_shutdown_lets_activities_finish_and_records_them(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/f.db"
    key = uuid.uuid4().hex
    wf = f"wf-{key}"
    async with Engine(
        store,
        workflows=[RunsIt],
        activities=[finishes_on_shutdown],
        graceful_shutdown_timeout=timedelta(seconds=10),
    ) as engine:
        await engine.start_workflow(RunsIt.run, "finishes_on_shutdown", key, 60, id=wf)
        await started(key)
    assert GRACEFUL[key] == ["shutdown seen: True"]
    async with Engine(store, workflows=[RunsIt], activities=[finishes_on_shutdown]) as engine:
        h = engine.get_workflow_handle(wf)
        # recorded before the engine closed: the recovered run completes without rerunning it
        assert await h.result() == "finished in the grace period"
        kinds = [e.event_type for e in await h.fetch_history()]
        assert kinds.count(EventType.ACTIVITY_TASK_COMPLETED) == 1
    assert GRACEFUL[key] == ["shutdown seen: True"]


STUCK = threading.Event()


@activity.defn(no_thread_cancel_exception=True)
def ignores_cancellation(key: str) -> str:
    _started(key)
    STUCK.wait(30)
    return "done"


async def test_an_activity_that_cannot_stop_is_named_at_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="fastcore.worker")
    key = uuid.uuid4().hex
    try:
        async with Engine(workflows=[RunsIt], activities=[ignores_cancellation]) as engine:
            await engine.start_workflow(RunsIt.run, "ignores_cancellation", key, 60, id="stuck")
            await started(key)
    finally:
        STUCK.set()
    (record,) = [r for r in caplog.records if "did not stop" in r.getMessage()]
    assert "'ignores_cancellation'" in record.getMessage()
    assert "'stuck'" in record.getMessage() and "its thread still runs" in record.getMessage()


def test_a_process_pool_is_refused_at_construction() -> None:
    import concurrent.futures

    with (
        concurrent.futures.ProcessPoolExecutor(1) as pool,
        pytest.raises(InvalidArgumentError, match="ProcessPoolExecutor"),
    ):
        Engine(activities=ACTS, activity_executor=pool)
