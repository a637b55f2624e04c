"""temporalio.client's surface on the engine: update handles and stages, update dedupe by id
(both stores, and across a restart), update-with-start, and the rest of the handle."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from fastcore import Engine, EventType, WorkflowIDConflictPolicy, workflow
from fastcore.client import (
    WithStartWorkflowOperation,
    WorkflowHistoryEventFilterType,
    WorkflowUpdateStage,
)
from fastcore.common import QueryRejectCondition
from fastcore.errors import (
    ApplicationError,
    WorkflowAlreadyStartedError,
    WorkflowNotFoundError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from fastcore.testing import VirtualClock


@dataclass
class Added:
    item: str
    total: int


@workflow.defn
class Cart:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.handled = 0  # how many times an update handler ran
        self.order: list[str] = []
        self.gate_open = False
        self.done = False

    @workflow.run
    async def run(self) -> list[str]:
        self.order.append("run")
        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())
        return self.items

    @workflow.update
    async def add(self, item: str) -> Added:
        self.handled += 1
        self.order.append(f"add {item}")
        if item.startswith("slow"):
            await workflow.wait_condition(lambda: self.gate_open)
        self.items.append(item)
        return Added(item, len(self.items))

    @add.validator
    def check_add(self, item: str) -> None:
        if not item:
            raise ValueError("an item needs a name")

    @workflow.update
    def fail(self) -> None:
        self.handled += 1
        raise ApplicationError("nope", type="Refused")

    @workflow.signal
    def open_gate(self) -> None:
        self.gate_open = True

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def handled_count(self) -> int:
        return self.handled

    @workflow.query
    def what_ran(self) -> list[str]:
        return self.order


def wid() -> str:
    return f"cart-{uuid.uuid4().hex}"


def accepted_ids(events: list) -> list[str]:  # type: ignore[type-arg]
    return [
        e.attributes["update_id"]
        for e in events
        if e.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


# ---------------------------------------------------------------- start_update and stages


async def test_start_update_waits_for_the_stage_asked(store_url: str) -> None:
    async with Engine(store_url, workflows=[Cart]) as engine:
        h = await engine.start_workflow(Cart.run, id=wid())
        accepted = await h.start_update(
            Cart.add, "slow-1", wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="u1"
        )
        assert accepted.id == "u1" and accepted.workflow_id == h.id
        # accepted (and durable) but not completed: the handler waits for the gate
        events = await h.fetch_history()
        assert accepted_ids(events) == ["u1"]
        assert not any(
            e.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED for e in events
        )
        await h.signal(Cart.open_gate)
        assert await accepted.result() == Added("slow-1", 1)
        completed = await h.start_update(
            Cart.add, "b", wait_for_stage=WorkflowUpdateStage.COMPLETED
        )
        assert await completed.result() == Added("b", 2)
        with pytest.raises(ValueError, match="ADMITTED"):
            await h.start_update(Cart.add, "c", wait_for_stage=WorkflowUpdateStage.ADMITTED)
        await h.signal(Cart.finish)
        assert await h.result() == ["slow-1", "b"]


async def test_a_rejection_is_the_handles_outcome_and_is_not_recorded(store_url: str) -> None:
    async with Engine(store_url, workflows=[Cart]) as engine:
        h = await engine.start_workflow(Cart.run, id=wid())
        rejected = await h.start_update(
            Cart.add, "", wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="bad"
        )
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await rejected.result()
        assert info.value.rejected and "needs a name" in str(info.value.cause)
        assert accepted_ids(await h.fetch_history()) == []
        failing = await h.start_update(Cart.fail, wait_for_stage=WorkflowUpdateStage.COMPLETED)
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await failing.result()
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == "Refused"


# ---------------------------------------------------------------- dedupe by update id


async def test_a_repeated_update_id_returns_the_first_outcome(store_url: str) -> None:
    async with Engine(store_url, workflows=[Cart]) as engine:
        h = await engine.start_workflow(Cart.run, id=wid())
        first = await h.execute_update(Cart.add, "apple", id="once")
        again = await h.execute_update(Cart.add, "pear", id="once")  # other args: ignored
        assert first == again == Added("apple", 1)
        assert await h.query(Cart.handled_count) == 1
        # a failed update's failure is its outcome too
        for _ in range(2):
            with pytest.raises(WorkflowUpdateFailedError):
                await h.execute_update(Cart.fail, id="f")
        assert await h.query(Cart.handled_count) == 2
        assert accepted_ids(await h.fetch_history()) == ["once", "f"]


async def test_concurrent_calls_with_one_id_share_one_run_of_the_handler(store_url: str) -> None:
    async with Engine(store_url, workflows=[Cart]) as engine:
        h = await engine.start_workflow(Cart.run, id=wid())
        calls = [
            asyncio.ensure_future(h.execute_update(Cart.add, "slow-x", id="same")) for _ in range(3)
        ]
        accepted = await h.start_update(
            Cart.add, "slow-x", wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="same"
        )
        assert not any(c.done() for c in calls)
        calls[0].cancel()  # one caller gives up: the others still get the outcome
        await h.signal(Cart.open_gate)
        assert await asyncio.gather(*calls[1:]) == [Added("slow-x", 1)] * 2
        assert await accepted.result() == Added("slow-x", 1)
        assert await h.query(Cart.handled_count) == 1


async def test_update_ids_are_found_again_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cart.db"
    workflow_id = wid()
    async with Engine(url, workflows=[Cart]) as engine:
        h = await engine.start_workflow(Cart.run, id=workflow_id)
        assert await h.execute_update(Cart.add, "apple", id="u-1") == Added("apple", 1)
        slow = await h.start_update(
            Cart.add, "slow-2", wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="u-2"
        )
        assert slow.id == "u-2"
    async with Engine(url, workflows=[Cart]) as engine:
        h = engine.get_workflow_handle(workflow_id)
        # completed before the restart: the recorded outcome, the handler does not run again
        assert await h.execute_update(Cart.add, "other", id="u-1") == Added("apple", 1)
        assert await engine.get_workflow_update_handle("u-1", workflow_id).result() == Added(
            "apple", 1
        )
        # accepted before the restart, still running: a repeat joins it
        joined = asyncio.ensure_future(h.execute_update(Cart.add, "slow-2", id="u-2"))
        await h.signal(Cart.open_gate)
        assert await joined == Added("slow-2", 2)
        typed = h.get_update_handle_for(Cart.add, "u-2")
        assert await typed.result() == Added("slow-2", 2)
        # the handler ran once per update id across both engines: replay re-ran apple's
        # handler as part of rebuilding the run, and slow-2's once after the gate opened
        assert accepted_ids(await h.fetch_history()) == ["u-1", "u-2"]
        await h.signal(Cart.finish)
        assert await h.result() == ["apple", "slow-2"]
        # closed: a known id still answers; an unknown one is not found
        assert await h.execute_update(Cart.add, "x", id="u-1") == Added("apple", 1)
        with pytest.raises(WorkflowNotFoundError):
            await h.execute_update(Cart.add, "x", id="never-sent")
        with pytest.raises(WorkflowNotFoundError, match="update 'nope' not found"):
            await h.get_update_handle("nope").result()


# ---------------------------------------------------------------- update-with-start


async def test_update_with_start_starts_the_workflow_and_runs_the_update_first(
    store_url: str,
) -> None:
    async with Engine(store_url, workflows=[Cart]) as engine:
        workflow_id = wid()
        op = WithStartWorkflowOperation(
            Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )
        result = await engine.execute_update_with_start_workflow(
            Cart.add, "apple", start_workflow_operation=op, id="w1"
        )
        assert result == Added("apple", 1)
        handle = await op.workflow_handle()
        assert handle.id == workflow_id
        # the update's handler ran before the run method, as in Temporal's first task
        assert (await handle.query(Cart.what_ran))[:2] == ["add apple", "run"]
        # a second update-with-start reaches the running workflow (USE_EXISTING)
        op2 = WithStartWorkflowOperation(
            Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )
        second = await engine.start_update_with_start_workflow(
            Cart.add,
            "pear",
            start_workflow_operation=op2,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        assert await second.result() == Added("pear", 2)
        assert (await op2.workflow_handle()).result_run_id == handle.result_run_id
        # the same update id again: deduplicated, the first outcome
        op3 = WithStartWorkflowOperation(
            Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )
        assert await engine.execute_update_with_start_workflow(
            Cart.add, "fig", start_workflow_operation=op3, id="w1"
        ) == Added("apple", 1)
        assert await handle.query(Cart.handled_count) == 2
        with pytest.raises(RuntimeError, match="cannot be reused"):
            await engine.execute_update_with_start_workflow(
                Cart.add, "x", start_workflow_operation=op3
            )
        await handle.signal(Cart.finish)
        assert await handle.result() == ["apple", "pear"]
        events = await handle.fetch_history()
        assert events[1].event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        assert events[1].attributes.get("with_start") is True


async def test_update_with_start_conflicts_and_rejections(store_url: str) -> None:
    async with Engine(store_url, workflows=[Cart]) as engine:
        workflow_id = wid()
        running = await engine.start_workflow(Cart.run, id=workflow_id)
        op = WithStartWorkflowOperation(
            Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
        )
        with pytest.raises(WorkflowAlreadyStartedError):
            await engine.execute_update_with_start_workflow(
                Cart.add, "a", start_workflow_operation=op
            )
        with pytest.raises(WorkflowAlreadyStartedError):
            await op.workflow_handle()
        await running.terminate()
        # a new run whose update the validator rejects: the workflow runs, nothing recorded
        fresh = WithStartWorkflowOperation(
            Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
        )
        rejected = await engine.start_update_with_start_workflow(
            Cart.add,
            "",
            start_workflow_operation=fresh,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await rejected.result()
        assert info.value.rejected
        started = await fresh.workflow_handle()
        assert (await started.describe()).status.name == "RUNNING"
        assert accepted_ids(await started.fetch_history()) == []
        with pytest.raises(ValueError, match="WorkflowIDConflictPolicy is required"):
            WithStartWorkflowOperation(
                Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.UNSPECIFIED
            )


async def test_update_with_start_replays_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cart.db"
    workflow_id = wid()
    async with Engine(url, workflows=[Cart]) as engine:
        op = WithStartWorkflowOperation(
            Cart.run, id=workflow_id, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )
        handle = await engine.start_update_with_start_workflow(
            Cart.add,
            "slow-a",
            start_workflow_operation=op,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            id="s1",
        )
        assert handle.id == "s1"
    async with Engine(url, workflows=[Cart]) as engine:
        h = engine.get_workflow_handle(workflow_id)
        await h.signal(Cart.open_gate)
        assert await h.get_update_handle("s1").result() == Added("slow-a", 1)
        await h.signal(Cart.finish)
        assert await h.result() == ["slow-a"]


# ---------------------------------------------------------------- the rest of the handle


async def test_the_rest_of_the_handle(store_url: str) -> None:
    async with Engine(store_url, workflows=[Cart], clock=VirtualClock()) as engine:
        workflow_id = wid()
        h = await engine.start_workflow(
            Cart.run, id=workflow_id, task_queue="ignored", start_delay=timedelta(hours=1)
        )
        typed = engine.get_workflow_handle_for(Cart.run, workflow_id)
        live = typed.fetch_history_events(wait_new_event=True)
        await h.signal(Cart.finish)
        assert await typed.result() == []
        seen = [e.event_type async for e in live]
        assert seen[0] is EventType.WORKFLOW_EXECUTION_STARTED
        assert seen[-1] is EventType.WORKFLOW_EXECUTION_COMPLETED
        started = (await h.fetch_history())[0]
        assert started.attributes["first_task_backoff"] == 3600.0
        close = await h.fetch_history(event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT)
        assert [e.event_type for e in close] == [EventType.WORKFLOW_EXECUTION_COMPLETED]
        assert await h.query(
            Cart.what_ran, reject_condition=QueryRejectCondition.NOT_COMPLETED_CLEANLY
        ) == ["run"]
        with pytest.raises(WorkflowQueryRejectedError) as rejected:
            await h.query(Cart.what_ran, reject_condition=QueryRejectCondition.NOT_OPEN)
        assert rejected.value.status.name == "COMPLETED"
        other = await engine.start_workflow(Cart.run, id=wid())
        await other.cancel(reason="changed my mind")
        cancel = [
            e
            for e in await other.fetch_history()
            if e.event_type is EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED
        ]
        assert cancel[0].attributes["reason"] == "changed my mind"
        with pytest.raises(Exception, match="versioning_override"):
            await engine.start_workflow(Cart.run, id=wid(), versioning_override=object())
