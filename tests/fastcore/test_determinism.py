"""Deterministic workflow APIs, the virtual clock, asyncio inside workflows, task failures."""

from __future__ import annotations

import time
import uuid

import pytest

from fastcore import Engine, EventType, Replayer, WorkflowExecutionStatus
from fastcore.errors import WorkflowFailureError
from fastcore.testing import VirtualClock

from .wf_defs import AsyncioFeatures, Buggy, Deterministic, FailsOnKeyError, Sleeper, inc

E = EventType


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


async def test_now_random_uuid4_are_the_same_on_replay(store_url: str) -> None:
    async with Engine(store_url, workflows=[Deterministic], activities=[inc]) as engine:
        h = await engine.start_workflow(Deterministic.run, id=wid())
        first = await h.result()
        # a second run draws different values (seeded per run)
        other = await engine.execute_workflow(Deterministic.run, id=wid())
        assert other["uuid"] != first["uuid"]
        history = await h.fetch_history()
    # replaying the history gives exactly the same values
    replayer = Replayer(workflows=[Deterministic])
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
    # and a query on the closed workflow (rebuilt by replay in a new engine) sees them too
    async with Engine("memory", workflows=[Deterministic], activities=[inc]) as e2:
        h2 = await e2.import_history(history)
        assert await h2.query(Deterministic.snapshot) == first


async def test_virtual_clock_skips_a_one_hour_timer(store_url: str) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[Sleeper], clock=clock) as engine:
        before = clock.now()
        assert await engine.execute_workflow(Sleeper.run, 1.0, id=wid()) == "1:00:00"
        assert clock.now() - before >= 3600


async def test_virtual_clock_advance_by_hand(store_url: str) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[Sleeper], clock=clock) as engine:
        h = await engine.start_workflow(Sleeper.run, 2.0, id=wid())
        await clock.advance(3600)
        assert (await h.describe()).status is WorkflowExecutionStatus.RUNNING
        await clock.advance(3600)
        assert await h.result() == "2:00:00"


async def test_asyncio_primitives_work_in_workflows(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[AsyncioFeatures], activities=[inc], clock=VirtualClock()
    ) as engine:
        h = await engine.start_workflow(AsyncioFeatures.run, id=wid())
        out = await h.result()
        assert out == {
            "gather": [2, 11],
            "queue": [0, 1, 2],
            "wait_for": "timeout",
            "shield": 42,
            "order": ["producer"],
        }
        history = await h.fetch_history()
        kinds = [e.event_type for e in history]
        assert E.TIMER_STARTED in kinds and E.TIMER_FIRED in kinds and E.TIMER_CANCELED in kinds
    await Replayer(workflows=[AsyncioFeatures]).replay_workflow(history)


async def test_a_bug_fails_the_task_not_the_workflow(store_url: str) -> None:
    from datetime import timedelta

    async with Engine(
        store_url,
        workflows=[Buggy],
        activities=[inc],
        workflow_task_retry_interval=timedelta(milliseconds=20),
    ) as engine:
        h = await engine.start_workflow(Buggy.run, id=wid())
        d = None
        for _ in range(500):
            d = await h.describe()
            if d.pending_task_failure is not None:
                break
            await _tick()
        assert d is not None and d.status is WorkflowExecutionStatus.RUNNING
        assert isinstance(d.pending_task_failure, RuntimeError)
        kinds = [e.event_type for e in await h.fetch_history()]
        assert E.WORKFLOW_TASK_FAILED in kinds
        # the retry did not run the activity again
        assert kinds.count(E.ACTIVITY_TASK_SCHEDULED) == 1
        # retries back off exponentially: 3 more failures take at least 20 + 40 + 80 ms
        run = engine._runs[h.id]
        start, first = time.monotonic(), run.task_attempts
        for _ in range(2000):
            if run.task_attempts >= first + 3:
                break
            await _tick()
        assert run.task_attempts >= first + 3
        assert time.monotonic() - start >= 0.02 * (2**first) * 0.9


async def test_failure_exception_types_fail_the_workflow(store_url: str) -> None:
    async with Engine(store_url, workflows=[FailsOnKeyError]) as engine:
        h = await engine.start_workflow(FailsOnKeyError.run, id=wid())
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        assert "KeyError" in repr(info.value.__cause__) or "missing" in str(info.value.__cause__)
        assert (await h.describe()).status is WorkflowExecutionStatus.FAILED


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.005)
