"""Regression tests for what the deterministic simulator (tests/simulation) found.

- ``wait_condition(workflow.all_handlers_finished)`` (temporalio's idiom before a run ends)
  failed every workflow task with "Not in workflow code": conditions were checked outside the
  run's loop (seeds 266, 268).
- A query to a retry run still waiting out its backoff called the handler on no workflow
  object ("'NoneType' object has no attribute ..."); Temporal answers WorkflowNotReady
  (seeds 180, 197).
- An update to such a run ran its validator on no workflow object and was rejected; as in
  Temporal, it now waits for the run's first workflow task (found reading the query fix).
- A child that finished inside its own start, started outside a drain (a retry run's first
  task), told its parent it completed before the parent heard it started: the parent hung
  (seed 2079).
- Workflow code woken by an activity that returned at once ran inside the engine's
  ``except StopIteration``: a failure it raised next carried a ``StopIteration`` as its cause
  (seed 2079).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from fastcore import Engine, RetryPolicy, activity, workflow
from fastcore.errors import ApplicationError, WorkflowFailureError, WorkflowQueryFailedError
from fastcore.history import EventType
from fastcore.testing import VirtualClock

GATE: dict[str, asyncio.Event] = {}


@activity.defn
async def gated(key: str) -> str:
    await GATE[key].wait()
    return f"done {key}"


@workflow.defn
class FinishesHandlersFirst:
    def __init__(self) -> None:
        self.done = False
        self.items: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.items

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.update
    async def add(self, key: str) -> str:
        result = str(
            await workflow.execute_activity(gated, key, start_to_close_timeout=timedelta(hours=1))
        )
        self.items.append(result)
        return result


async def test_waiting_for_all_handlers_to_finish_works(store_url: str, unique_id: str) -> None:
    GATE[unique_id] = asyncio.Event()
    async with Engine(store_url, workflows=[FinishesHandlersFirst], activities=[gated]) as engine:
        h = await engine.start_workflow(FinishesHandlersFirst.run, id=unique_id)
        update = asyncio.create_task(h.execute_update(FinishesHandlersFirst.add, unique_id))
        while not (await h.describe()).pending_activities:
            await asyncio.sleep(0)  # the update's activity is running
        await h.signal(FinishesHandlersFirst.finish)
        desc = await h.describe()
        assert desc.pending_task_failure is None, desc.pending_task_failure
        assert desc.status.name == "RUNNING"  # still waiting for the update's handler
        GATE[unique_id].set()
        assert await update == f"done {unique_id}"
        assert await h.result() == [f"done {unique_id}"]


@workflow.defn
class FailsFirstRun:
    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        if workflow.info().attempt == 1:
            raise ApplicationError("first run fails", type="FirstRun")
        await workflow.wait_condition(lambda: len(self.notes) >= 1)
        return self.notes

    @workflow.query
    def seen(self) -> list[str]:
        return self.notes

    @workflow.update
    def note(self, text: str) -> int:
        self.notes.append(text)
        return len(self.notes)

    @note.validator  # type: ignore[untyped-decorator]
    def _check(self, text: str) -> None:
        if not text:
            raise ApplicationError("empty", type="Invalid")


async def _in_backoff(engine: Engine, workflow_id: str) -> None:
    await engine.start_workflow(
        FailsFirstRun.run,
        id=workflow_id,
        retry_policy=RetryPolicy(initial_interval=timedelta(minutes=5), maximum_attempts=2),
    )
    h = engine.get_workflow_handle(workflow_id)
    while (await h.describe()).history_length != 1:  # the retry run exists, not yet run
        await asyncio.sleep(0)


async def test_a_query_before_the_first_workflow_task_is_not_ready(
    store_url: str, unique_id: str
) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[FailsFirstRun], clock=clock) as engine:
        await _in_backoff(engine, unique_id)
        h = engine.get_workflow_handle(unique_id)
        with pytest.raises(WorkflowQueryFailedError, match="not ready for queries"):
            await h.query(FailsFirstRun.seen)
        await clock.advance(timedelta(minutes=5))
        assert await h.query(FailsFirstRun.seen) == []


async def test_an_update_before_the_first_workflow_task_waits_for_it(
    store_url: str, unique_id: str
) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[FailsFirstRun], clock=clock) as engine:
        await _in_backoff(engine, unique_id)
        h = engine.get_workflow_handle(unique_id)
        update = asyncio.create_task(h.execute_update(FailsFirstRun.note, "hello"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not update.done()  # waiting for the run's first task, not rejected
        await clock.advance(timedelta(minutes=5))
        assert await update == 1  # validated and applied against the run's real state
        assert await h.result() == ["hello"]


@activity.defn
async def instant(key: str) -> str:
    return f"did {key}"


@workflow.defn
class InstantChild:
    @workflow.run
    async def run(self, key: str) -> str:
        return str(
            await workflow.execute_activity(
                instant, key, start_to_close_timeout=timedelta(seconds=5)
            )
        )


@workflow.defn
class RetriedParent:
    @workflow.run
    async def run(self) -> str:
        if workflow.info().attempt == 1:
            raise ApplicationError("first run fails", type="FirstRun")
        return str(await workflow.execute_child_workflow(InstantChild.run, "x", id="instant-child"))


async def test_an_instant_child_of_a_retry_run_reaches_its_parent_in_order(
    store_url: str, unique_id: str
) -> None:
    clock = VirtualClock()
    async with Engine(
        store_url, workflows=[RetriedParent, InstantChild], activities=[instant], clock=clock
    ) as engine:
        h = await engine.start_workflow(
            RetriedParent.run,
            id=unique_id,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=30), maximum_attempts=2),
        )
        assert await h.result() == "did x"  # hung before: the parent never heard it started
        latest = engine.get_workflow_handle(unique_id)
        kinds = [e.event_type for e in await latest.fetch_history()]
        started = kinds.index(EventType.CHILD_WORKFLOW_EXECUTION_STARTED)
        assert started < kinds.index(EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED)


ATTEMPTS: dict[str, int] = {}


@activity.defn
async def second_time_lucky(key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] == 1:
        raise ApplicationError("not yet", type="NotYet")
    return f"did {key}"


@workflow.defn
class FailsAfterARetriedActivity:
    @workflow.run
    async def run(self, key: str) -> None:
        # the retry runs from a timer, outside any activation: it returns at once
        await workflow.execute_activity(
            second_time_lucky,
            key,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=10)),
        )
        raise ApplicationError("fails on its own", type="Own")


async def test_a_failure_after_an_instant_activity_has_no_stray_cause(
    store_url: str, unique_id: str
) -> None:
    clock = VirtualClock()
    async with Engine(
        store_url,
        workflows=[FailsAfterARetriedActivity],
        activities=[second_time_lucky],
        clock=clock,
    ) as engine:
        h = await engine.start_workflow(FailsAfterARetriedActivity.run, unique_id, id=unique_id)
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        failure = info.value.cause
        assert isinstance(failure, ApplicationError) and failure.type == "Own"
        assert failure.cause is None  # was a StopIteration from inside the engine
