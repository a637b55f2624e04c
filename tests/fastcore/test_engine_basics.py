"""Workflows run, record their history, and refuse bad input without harm."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from fastcore import Engine, EventType, WorkflowExecutionStatus
from fastcore.errors import (
    ApplicationError,
    InvalidArgumentError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from fastcore.testing import VirtualClock

from .wf_defs import Order, Returns, SyncSteps, ThreeSteps, Waiter, inc, inc_sync

E = EventType


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


async def test_three_activities_result_and_history(store_url: str) -> None:
    async with Engine(store_url, workflows=[ThreeSteps], activities=[inc]) as engine:
        h = await engine.start_workflow(ThreeSteps.run, 1, id=wid())
        assert await h.result() == 4
        kinds = [e.event_type for e in await h.fetch_history()]
        assert kinds == [
            E.WORKFLOW_EXECUTION_STARTED,
            E.ACTIVITY_TASK_SCHEDULED,
            E.ACTIVITY_TASK_COMPLETED,
            E.ACTIVITY_TASK_SCHEDULED,
            E.ACTIVITY_TASK_COMPLETED,
            E.ACTIVITY_TASK_SCHEDULED,
            E.ACTIVITY_TASK_COMPLETED,
            E.WORKFLOW_EXECUTION_COMPLETED,
        ]
        d = await h.describe()
        assert d.status is WorkflowExecutionStatus.COMPLETED
        assert d.workflow_type == "ThreeSteps"
        assert d.history_length == 8
        assert d.close_time is not None and d.start_time <= d.close_time
        assert d.run_id == h.result_run_id


async def test_plain_def_activity_runs_in_thread_pool(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[SyncSteps], activities=[inc_sync], max_activity_threads=2
    ) as engine:
        assert await engine.execute_workflow(SyncSteps.run, 5, id=wid()) == 7


async def test_start_by_type_name_and_handle_by_id(store_url: str) -> None:
    async with Engine(store_url, workflows=[ThreeSteps], activities=[inc]) as engine:
        i = wid()
        await engine.start_workflow("ThreeSteps", 10, id=i)
        assert await engine.get_workflow_handle(i).result() == 13


async def test_dataclass_arguments_round_trip(store_url: str) -> None:
    async with Engine(store_url, workflows=[Returns]) as engine:
        assert await engine.execute_workflow(Returns.run, {"a": [1, 2]}, id=wid()) == {"a": [1, 2]}
        h = await engine.start_workflow(Returns.run, Order("x", 2), id=wid())
        assert await h.result() == {"sku": "x", "qty": 2}
        assert await h.result(result_type=Order) == Order("x", 2)


async def test_duplicate_id_while_running(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter], clock=VirtualClock()) as engine:
        i = wid()
        await engine.start_workflow(Waiter.run, id=i)
        with pytest.raises(WorkflowAlreadyStartedError):
            await engine.start_workflow(Waiter.run, id=i)
        # a closed workflow's id can be reused (ALLOW_DUPLICATE, as Temporal)
        await engine.get_workflow_handle(i).signal(Waiter.approve, "ann")
        await engine.get_workflow_handle(i).result()
        h2 = await engine.start_workflow(Waiter.run, id=i)
        assert (await h2.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_unknown_id_raises_not_found(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = engine.get_workflow_handle("no-such-workflow")
        for call in (
            h.describe(),
            h.result(),
            h.signal("approve", "x"),
            h.query("status"),
            h.fetch_history(),
            h.cancel(),
            h.terminate(),
        ):
            with pytest.raises(WorkflowNotFoundError):
                await call


async def test_bad_input_is_refused_and_changes_nothing(store_url: str) -> None:
    async with Engine(store_url, workflows=[ThreeSteps, Waiter], activities=[inc]) as engine:
        other = await engine.start_workflow(Waiter.run, id=wid())

        class NotRegistered:
            pass

        with pytest.raises(InvalidArgumentError, match="not registered"):
            await engine.start_workflow("Nope", id=wid())
        with pytest.raises(InvalidArgumentError):
            await engine.start_workflow(NotRegistered, id=wid())
        with pytest.raises(InvalidArgumentError, match="argument"):
            await engine.start_workflow(ThreeSteps.run, 1, 2, id=wid())
        with pytest.raises(InvalidArgumentError, match="JSON"):
            await engine.start_workflow(ThreeSteps.run, object(), id="never")
        with pytest.raises(WorkflowNotFoundError):
            await engine.get_workflow_handle("never").describe()
        with pytest.raises(InvalidArgumentError, match="no signal"):
            await other.signal("nope", 1)
        with pytest.raises(InvalidArgumentError, match="argument"):
            await other.signal(Waiter.approve, "a", "b")
        with pytest.raises(InvalidArgumentError, match="JSON"):
            await other.signal(Waiter.approve, {1, object()})
        # an unknown query or update fails at the call with temporalio's words
        with pytest.raises(WorkflowQueryFailedError, match="Query handler for 'nope' expected"):
            await other.query("nope")
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await other.execute_update("nope", 1)
        assert rejected.value.rejected
        cause = rejected.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "RuntimeError"
        assert "Update handler for 'nope' expected but not found" in cause.message
        # nothing was recorded by the refused calls, and the workflow still works
        assert [e.event_type for e in await other.fetch_history()] == [E.WORKFLOW_EXECUTION_STARTED]
        await other.signal(Waiter.approve, "bob")
        assert (await other.result())["approved_by"] == "bob"


async def test_unregistered_activity_fails_the_task_not_the_engine(store_url: str) -> None:
    from fastcore import workflow

    from .wf_defs import T1

    async with Engine(store_url, workflows=[ThreeSteps], activities=[]) as engine:
        h = await engine.start_workflow(ThreeSteps.run, 1, id=wid())
        d = await h.describe()
        assert d.status is WorkflowExecutionStatus.RUNNING
        assert isinstance(d.pending_task_failure, InvalidArgumentError)
        assert "not registered" in str(d.pending_task_failure)
    del workflow, T1


async def test_workflow_failure_carries_application_error(store_url: str) -> None:
    from fastcore.errors import ApplicationError

    from .wf_defs import FailsWithApplicationError

    async with Engine(store_url, workflows=[FailsWithApplicationError]) as engine:
        h = await engine.start_workflow(FailsWithApplicationError.run, id=wid())
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        cause = info.value.__cause__
        assert isinstance(cause, ApplicationError)
        assert cause.type == "Rejected" and cause.non_retryable and cause.message == "business rule"
        assert list(cause.details) == [{"code": 7}]
        assert (await h.describe()).status is WorkflowExecutionStatus.FAILED


async def test_many_concurrent_workflows(store_url: str) -> None:
    async with Engine(store_url, workflows=[ThreeSteps], activities=[inc]) as engine:
        handles = await asyncio.gather(
            *(engine.start_workflow(ThreeSteps.run, i, id=wid()) for i in range(200))
        )
        results = await asyncio.gather(*(h.result() for h in handles))
        assert results == [i + 3 for i in range(200)]


async def test_query_on_a_closed_run_of_an_unregistered_class_says_why(tmp_path: object) -> None:
    """A closed run is queried by replaying it with its class: without the class the error
    names the class, not an empty list of queries."""
    url = f"sqlite:///{tmp_path}/q.db"
    async with Engine(url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id="closed")
        await h.signal(Waiter.approve, "ann")
        await h.result()
    async with Engine(url, workflows=[Returns]) as engine:
        handle = engine.get_workflow_handle("closed")
        assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
        with pytest.raises(WorkflowQueryFailedError, match="class Waiter is not registered"):
            await handle.query("status")
