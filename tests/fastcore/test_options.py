"""Start options (timeouts, retry, id policies, memo) and activity options, as Temporal has them."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest

from fastcore import (
    ActivityCancellationType,
    Engine,
    EventType,
    RetryPolicy,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
    activity,
    workflow,
)
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    TimeoutError,
    TimeoutType,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
)
from fastcore.testing import VirtualClock

from .wf_defs import Sleeper, Waiter

ATTEMPTS: dict[str, int] = {}


@workflow.defn
class FlakyWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        info = workflow.info()
        ATTEMPTS[key] = info.attempt
        if info.attempt < 3:
            raise ApplicationError(f"attempt {info.attempt} failed", type="Flaky")
        return f"ok on attempt {info.attempt}"


@workflow.defn
class MemoReader:
    @workflow.run
    async def run(self) -> dict[str, object]:
        return dict(workflow.memo())


RELEASED: dict[str, str] = {}
TOLD_AT: dict[str, float] = {}  # when each activity was told to cancel (wall clock)


@activity.defn
async def slow_cleanup(key: str) -> str:
    try:
        await asyncio.sleep(30)
        return "finished"
    except asyncio.CancelledError:
        TOLD_AT[key] = time.time()
        await asyncio.sleep(0.01)  # cleanup takes a moment
        RELEASED[key] = "cleaned"
        raise


@workflow.defn
class CancelKinds:
    @workflow.run
    async def run(self, key: str, kind: int) -> list[str]:
        h = workflow.start_activity(
            slow_cleanup,
            key,
            activity_id=f"custom-{key}",
            start_to_close_timeout=timedelta(seconds=60),
            cancellation_type=ActivityCancellationType(kind),
        )
        await workflow.sleep(0.05)
        h.cancel()
        seen = []
        try:
            await h
        except ActivityError as err:
            seen.append(type(err.__cause__).__name__)
            seen.append(err.activity_id)
        seen.append(RELEASED.get(key, "not cleaned yet"))
        return seen


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


async def test_execution_timeout_times_the_workflow_out(store_url: str) -> None:
    async with Engine(store_url, workflows=[Sleeper], clock=VirtualClock()) as engine:
        h = await engine.start_workflow(
            Sleeper.run, 2.0, id=wid(), execution_timeout=timedelta(hours=1)
        )
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        assert isinstance(info.value.__cause__, TimeoutError)
        assert info.value.__cause__.type is TimeoutType.START_TO_CLOSE
        d = await h.describe()
        assert d.status is WorkflowExecutionStatus.TIMED_OUT
        assert (await h.fetch_history())[-1].event_type is EventType.WORKFLOW_EXECUTION_TIMED_OUT


async def test_workflow_retry_policy_retries_the_run(store_url: str) -> None:
    async with Engine(store_url, workflows=[FlakyWorkflow], clock=VirtualClock()) as engine:
        key = wid()
        h = await engine.start_workflow(
            FlakyWorkflow.run,
            key,
            id=key,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=5),
        )
        assert await h.result() == "ok on attempt 3"
        first = await engine.get_workflow_handle(key, run_id=h.result_run_id).describe()
        assert first.status is WorkflowExecutionStatus.FAILED
        last = await engine.get_workflow_handle(key).describe()
        assert last.status is WorkflowExecutionStatus.COMPLETED and last.run_id != h.result_run_id


async def test_id_reuse_and_conflict_policies(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        i = wid()
        h1 = await engine.start_workflow(Waiter.run, id=i)
        same = await engine.start_workflow(
            Waiter.run, id=i, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )
        assert same.result_run_id == h1.result_run_id
        h2 = await engine.start_workflow(
            Waiter.run, id=i, id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING
        )
        assert h2.result_run_id != h1.result_run_id
        assert (await engine.get_workflow_handle(i, run_id=h1.result_run_id).describe()).status is (
            WorkflowExecutionStatus.TERMINATED
        )
        await h2.signal(Waiter.approve, "x")
        await h2.result()
        with pytest.raises(WorkflowAlreadyStartedError):
            await engine.start_workflow(
                Waiter.run, id=i, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
            )
        with pytest.raises(WorkflowAlreadyStartedError):
            await engine.start_workflow(
                Waiter.run, id=i, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
            )
        h3 = await engine.start_workflow(Waiter.run, id=i)  # ALLOW_DUPLICATE, the default
        assert h3.result_run_id not in (h1.result_run_id, h2.result_run_id)


async def test_memo_is_seen_by_the_workflow_and_describe(store_url: str) -> None:
    async with Engine(store_url, workflows=[MemoReader]) as engine:
        h = await engine.start_workflow(MemoReader.run, id=wid(), memo={"team": "payments", "n": 3})
        assert await h.result() == {"team": "payments", "n": 3}
        assert (await h.describe()).memo == {"team": "payments", "n": 3}


@pytest.mark.parametrize(
    ("kind", "expect_cleaned"),
    [
        (ActivityCancellationType.TRY_CANCEL, False),
        (ActivityCancellationType.WAIT_CANCELLATION_COMPLETED, True),
        (ActivityCancellationType.ABANDON, False),
    ],
)
async def test_activity_cancellation_types(
    store_url: str, kind: ActivityCancellationType, expect_cleaned: bool
) -> None:
    async with Engine(store_url, workflows=[CancelKinds], activities=[slow_cleanup]) as engine:
        key = uuid.uuid4().hex
        wf_id = wid()
        seen = await engine.execute_workflow(CancelKinds.run, key, int(kind), id=wf_id)
        assert seen[0] == "CancelledError" and seen[1] == f"custom-{key}"
        # WAIT_CANCELLATION_COMPLETED waits for the activity's own cleanup; the others do not
        assert (seen[2] == "cleaned") is expect_cleaned
        if kind is ActivityCancellationType.ABANDON:
            # an abandoned activity is not told while its run is open; once the run has
            # closed, the engine stops what the run left behind
            told = TOLD_AT.get(key)
            if told is not None:
                closed = (await engine.get_workflow_handle(wf_id).describe()).close_time
                assert closed is not None and told >= closed.timestamp()


async def test_workflow_retry_survives_a_restart_during_its_backoff(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/retry.db"
    key = wid()
    policy = RetryPolicy(initial_interval=timedelta(hours=1), maximum_attempts=5)
    async with Engine(url, workflows=[FlakyWorkflow], clock=VirtualClock()) as engine:
        h = await engine.start_workflow(FlakyWorkflow.run, key, id=key, retry_policy=policy)
        # attempt 1 failed; attempt 2 is recorded, waiting out its one-hour backoff
        assert ATTEMPTS[key] == 1
        d = await engine.get_workflow_handle(key).describe()
        assert d.status is WorkflowExecutionStatus.RUNNING and d.run_id != h.result_run_id
    async with Engine(url, workflows=[FlakyWorkflow], clock=VirtualClock()) as engine:
        # the new engine re-arms the backoff and the chain runs to its end
        assert (
            await engine.get_workflow_handle(key, run_id=h.result_run_id).result()
            == "ok on attempt 3"
        )
        assert ATTEMPTS[key] == 3


async def test_run_timeout_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/timeout.db"
    i = wid()
    async with Engine(url, workflows=[Sleeper], clock=VirtualClock()) as engine:
        await engine.start_workflow(Sleeper.run, 2.0, id=i, run_timeout=timedelta(hours=1))
    async with Engine(url, workflows=[Sleeper], clock=VirtualClock()) as engine:
        h = engine.get_workflow_handle(i)
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        assert isinstance(info.value.__cause__, TimeoutError)
        assert (await h.describe()).status is WorkflowExecutionStatus.TIMED_OUT
