"""Signals, queries, updates, cancellation and termination, as Temporal has them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from fastcore import Engine, EventType, WorkflowExecutionStatus, WorkflowIDConflictPolicy
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    InvalidArgumentError,
    TerminatedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from fastcore.testing import VirtualClock

from .wf_defs import (
    CANCELLED,
    CLEANUPS,
    STARTED_EVENTS,
    CancelWithCleanup,
    SleepThenCleanup,
    Waiter,
    cleanup,
    wait_forever_async,
    wait_forever_sync,
)

E = EventType


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


async def test_signal_after_the_wait_began(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid())
        assert await h.query(Waiter.status) == "waiting"
        await h.signal(Waiter.approve, "ann")
        result = await h.result()
        assert result == {"approved_by": "ann", "items": [], "signals": ["ann"]}
        kinds = [e.event_type for e in await h.fetch_history()]
        assert kinds == [
            E.WORKFLOW_EXECUTION_STARTED,
            E.WORKFLOW_EXECUTION_SIGNALED,
            E.WORKFLOW_EXECUTION_COMPLETED,
        ]


async def test_signal_before_the_wait_with_start_signal(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(
            Waiter.run, id=wid(), start_signal="approve", start_signal_args=["early"]
        )
        assert (await h.result())["approved_by"] == "early"


async def test_signal_with_start_signals_a_running_workflow(store_url: str) -> None:
    """As temporalio's ``start_workflow(start_signal=...)``: a running workflow with the id is
    signalled (not refused as already started); a new id starts with the signal."""
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid())
        again = await engine.start_workflow(
            Waiter.run, id=h.id, start_signal="approve", start_signal_args=["sws"]
        )
        assert again.result_run_id == h.result_run_id
        assert (await h.result())["signals"] == ["sws"]
        running = await engine.start_workflow(Waiter.run, id=wid())
        with pytest.raises(InvalidArgumentError, match="FAIL is not supported"):
            await engine.start_workflow(
                Waiter.run,
                id=running.id,
                start_signal="approve",
                start_signal_args=["x"],
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        # TERMINATE_EXISTING: a new run starts with the signal, the old one is terminated
        fresh = await engine.start_workflow(
            Waiter.run,
            id=running.id,
            start_signal="approve",
            start_signal_args=["new"],
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        )
        assert fresh.result_run_id != running.result_run_id
        assert (await fresh.result())["approved_by"] == "new"
        old = engine.get_workflow_handle(running.id, run_id=running.result_run_id)
        assert (await old.describe()).status is WorkflowExecutionStatus.TERMINATED


async def test_signal_with_start_ends_a_start_delay_and_a_plain_signal_does_not(
    store_url: str,
) -> None:
    """Temporal's start delay: a signal-with-start runs the first workflow task at once; a
    plain signal waits with the run. After a restart the run stays started."""
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid(), start_delay=timedelta(hours=1))
        await h.signal("note", "plain")
        with pytest.raises(WorkflowQueryFailedError, match="not ready"):
            await h.query(Waiter.status)  # no workflow task has run
        await engine.start_workflow(
            Waiter.run, id=h.id, start_signal="note", start_signal_args=["with start"]
        )
        assert await h.query(Waiter.status) == "waiting"  # its code runs now
        signalled = [
            e.attributes.get("ends_start_delay")
            for e in await h.fetch_history()
            if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED
        ]
        assert signalled == [None, True]
    if store_url == "memory":
        return
    async with Engine(store_url, workflows=[Waiter]) as engine:
        again = engine.get_workflow_handle(h.id)
        assert await again.query(Waiter.status) == "waiting"  # not back in its delay
        await again.signal(Waiter.approve, "ann")
        assert (await asyncio.wait_for(again.result(), 60))["signals"] == [
            "plain",
            "with start",
            "ann",
        ]


async def test_signals_by_name_and_in_order(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid())
        await h.signal("note", "n1")
        await h.signal(Waiter.add_note, "n2")
        await h.signal("approve", "z")
        assert (await h.result())["signals"] == ["n1", "n2", "z"]


async def test_query_reads_live_state_and_closed_workflows(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid())
        await h.execute_update(Waiter.add_item, "a")
        assert await h.query(Waiter.item_count) == 1
        await h.signal(Waiter.approve, "x")
        await h.result()
        # a closed workflow still answers queries
        assert await h.query("status") == "approved"
        # but signals, updates and terminate to it are refused
        with pytest.raises(WorkflowNotFoundError):
            await h.signal(Waiter.approve, "again")
        with pytest.raises(WorkflowNotFoundError):
            await h.execute_update(Waiter.add_item, "late")
        with pytest.raises(WorkflowNotFoundError):
            await h.terminate()
        # and a cancel is a no-op
        await h.cancel()
        assert (await h.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_update_accepted_and_rejected_by_validator(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid())
        assert await h.execute_update(Waiter.add_item, "sku-1") == 1
        assert await h.execute_update("add_item", "sku-2") == 2
        before = await h.fetch_history()
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await h.execute_update(Waiter.add_item, "")
        assert isinstance(info.value.__cause__, ApplicationError)
        assert info.value.__cause__.message == "empty item"
        # a rejected update leaves no trace in the history
        assert len(await h.fetch_history()) == len(before)
        kinds = [e.event_type for e in before]
        assert kinds.count(E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 2
        assert kinds.count(E.WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 2
        # a handler that fails reports it, and the workflow goes on
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await h.execute_update(Waiter.fail_update, "nope")
        assert isinstance(info.value.__cause__, ApplicationError)
        assert info.value.__cause__.type == "UpdateFailed"
        await h.signal(Waiter.approve, "ok")
        assert (await h.result())["items"] == ["sku-1", "sku-2"]


async def test_cancel_runs_cleanup_activity(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[CancelWithCleanup], activities=[wait_forever_async, cleanup]
    ) as engine:
        k = uuid.uuid4().hex
        h = await engine.start_workflow(CancelWithCleanup.run, k, id=wid())
        await wait_until(lambda: len(engine._runs[h.id].activities) == 1)
        await h.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        assert isinstance(info.value.__cause__, CancelledError)
        assert k in CLEANUPS
        await wait_until(
            lambda: CANCELLED.get(k) == "async"
        )  # the activity received CancelledError
        d = await h.describe()
        assert d.status is WorkflowExecutionStatus.CANCELED
        kinds = [e.event_type for e in await h.fetch_history()]
        assert E.WORKFLOW_EXECUTION_CANCEL_REQUESTED in kinds
        assert E.ACTIVITY_TASK_CANCEL_REQUESTED in kinds
        assert kinds[-1] is E.WORKFLOW_EXECUTION_CANCELED


async def test_cancel_while_sleeping_raises_cancelled_error_at_the_await(store_url: str) -> None:
    async with Engine(store_url, workflows=[SleepThenCleanup], activities=[cleanup]) as engine:
        k = uuid.uuid4().hex
        h = await engine.start_workflow(SleepThenCleanup.run, k, id=wid())
        await h.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        assert isinstance(info.value.__cause__, CancelledError)
        assert k in CLEANUPS
        kinds = [e.event_type for e in await h.fetch_history()]
        assert E.TIMER_CANCELED in kinds


async def test_awaited_activity_cancel_surfaces_as_activity_error(store_url: str) -> None:
    from fastcore import workflow

    from .wf_defs import T1

    @workflow.defn
    class CancelAfterStart:
        @workflow.run
        async def run(self, key: str) -> str:
            handle = workflow.start_activity(wait_forever_sync, key, start_to_close_timeout=T1 * 10)
            await workflow.wait_condition(lambda: self.go)
            handle.cancel()
            try:
                await handle
            except ActivityError as err:
                return f"{type(err.__cause__).__name__}"
            return "not cancelled"

        def __init__(self) -> None:
            self.go = False

        @workflow.signal
        def go_now(self) -> None:
            self.go = True

    async with Engine(
        store_url, workflows=[CancelAfterStart], activities=[wait_forever_sync]
    ) as engine:
        k = uuid.uuid4().hex
        h = await engine.start_workflow(CancelAfterStart.run, k, id=wid())
        await wait_until(lambda: k in STARTED_EVENTS and STARTED_EVENTS[k].is_set())
        await h.signal("go_now")
        assert await h.result() == "CancelledError"
        # the plain def activity saw activity.is_cancelled() turn true
        await wait_until(lambda: CANCELLED.get(k) == "sync")


async def test_terminate(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter]) as engine:
        h = await engine.start_workflow(Waiter.run, id=wid())
        await h.terminate(reason="operator said so")
        with pytest.raises(WorkflowFailureError) as info:
            await h.result()
        assert isinstance(info.value.__cause__, TerminatedError)
        assert "operator said so" in str(info.value.__cause__)
        d = await h.describe()
        assert d.status is WorkflowExecutionStatus.TERMINATED
        assert (await h.fetch_history())[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED


async def test_wait_condition_timeout_raises_builtin_timeout_error(store_url: str) -> None:
    from fastcore import workflow

    @workflow.defn
    class TimesOut:
        @workflow.run
        async def run(self) -> str:
            try:
                await workflow.wait_condition(lambda: False, timeout=3600)
            except TimeoutError:
                waited = workflow.now() - workflow.info().start_time
                return f"timed out at +{waited.total_seconds():.0f}s"
            return "no"

    async with Engine(store_url, workflows=[TimesOut], clock=VirtualClock()) as engine:
        assert await engine.execute_workflow(TimesOut.run, id=wid()) == "timed out at +3600s"


async def wait_until(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)
