"""Child workflows, continue-as-new, sagas and history retention."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from fastcore import Engine, EventType, ParentClosePolicy, WorkflowExecutionStatus
from fastcore.errors import ApplicationError, WorkflowFailureError
from fastcore.saga import CompensationError
from fastcore.testing import VirtualClock

from .durable_defs import (
    LOG,
    Booking,
    BookingBadCompensation,
    Child,
    Counter,
    LongChild,
    Parent,
    ParentOfLong,
    failing_step,
    step,
)

E = EventType
WFS = [Parent, Child, LongChild, ParentOfLong, Counter, Booking, BookingBadCompensation]
ACTS = [step, failing_step]


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


async def test_child_workflows_results_and_failures(store_url: str) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        i = wid()
        h = await engine.start_workflow(Parent.run, [1, -1, 3], id=i)
        assert await h.result() == [2, "ChildWorkflowError:ApplicationError:Negative: negative", 6]
        kinds = [e.event_type for e in await h.fetch_history()]
        assert kinds.count(E.START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 3
        assert kinds.count(E.CHILD_WORKFLOW_EXECUTION_COMPLETED) == 2
        assert kinds.count(E.CHILD_WORKFLOW_EXECUTION_FAILED) == 1
        child = await engine.get_workflow_handle(f"{i}-c1").describe()
        assert child.parent_id == i and child.status is WorkflowExecutionStatus.COMPLETED


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (ParentClosePolicy.TERMINATE, WorkflowExecutionStatus.TERMINATED),
        (ParentClosePolicy.REQUEST_CANCEL, WorkflowExecutionStatus.CANCELED),
        (ParentClosePolicy.ABANDON, WorkflowExecutionStatus.RUNNING),
    ],
)
async def test_parent_close_policy(
    store_url: str, policy: ParentClosePolicy, expected: WorkflowExecutionStatus
) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        i = wid()
        child_id = await engine.execute_workflow(ParentOfLong.run, int(policy), False, id=i)
        assert child_id == f"{i}-long"
        child = engine.get_workflow_handle(child_id)
        if expected is not WorkflowExecutionStatus.RUNNING:
            with pytest.raises(WorkflowFailureError):
                await child.result()
        assert (await child.describe()).status is expected


async def test_cancel_propagates_to_child(store_url: str) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        i = wid()
        assert (
            await engine.execute_workflow(ParentOfLong.run, 1, True, id=i)
            == "ChildWorkflowError:CancelledError"
        )
        assert "long-child-cleanup" in LOG
        assert (
            await engine.get_workflow_handle(f"{i}-long").describe()
        ).status is WorkflowExecutionStatus.CANCELED


async def test_continue_as_new_follows_the_chain_with_bounded_history(store_url: str) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        i = wid()
        h = await engine.start_workflow(Counter.run, 0, 10, id=i)
        assert await h.result() == 10
        # the first run ended in continue-as-new with a bounded history
        first = await engine.get_workflow_handle(i, run_id=h.result_run_id).describe()
        assert first.status is WorkflowExecutionStatus.CONTINUED_AS_NEW
        assert first.history_length == 8
        last = await engine.get_workflow_handle(i).describe()
        assert last.status is WorkflowExecutionStatus.COMPLETED and last.run_id != h.result_run_id
        assert last.history_length <= 8


async def test_saga_compensates_in_reverse_order(store_url: str) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        LOG.clear()
        with pytest.raises(WorkflowFailureError) as info:
            await engine.execute_workflow(Booking.run, "flight", False, id=wid())
        assert LOG == ["book-car", "book-hotel", "book-flight", "release-hotel", "release-car"]
        # the original failure is what the workflow reports
        cause = info.value.__cause__
        assert cause is not None and isinstance(cause.__cause__, ApplicationError)
        assert cause.__cause__.type == "StepFailed"


async def test_saga_parallel_compensation(store_url: str) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        LOG.clear()
        with pytest.raises(WorkflowFailureError):
            await engine.execute_workflow(Booking.run, "flight", True, id=wid())
        assert sorted(LOG[3:]) == ["release-car", "release-hotel"]


async def test_failed_compensation_does_not_hide_the_original_error(store_url: str) -> None:
    async with Engine(store_url, workflows=WFS, activities=ACTS) as engine:
        with pytest.raises(WorkflowFailureError) as info:
            await engine.execute_workflow(BookingBadCompensation.run, id=wid())
        err = info.value.__cause__
        assert isinstance(err, ApplicationError) and err.type == "CompensationError"
        assert "release-a" in str(err) or any("failing_step" in str(d) for d in err.details)
        # the original failure is still there, as the cause
        assert err.__cause__ is not None and "book-b failed" in repr(err.__cause__) + str(
            err.__cause__.__cause__
        )
    assert CompensationError.__mro__[1] is ApplicationError


async def test_retention_purges_closed_histories(store_url: str) -> None:
    clock = VirtualClock()
    async with Engine(
        store_url, workflows=WFS, activities=ACTS, clock=clock, retention=timedelta(hours=1)
    ) as engine:
        done = await engine.start_workflow(Child.run, 1, id=wid())
        await done.result()
        running = await engine.start_workflow(LongChild.run, id=wid())
        assert await engine.purge_closed() == 0  # too recent
        await clock.advance(timedelta(hours=2))
        # the periodic purge may already have run when the clock moved; either way it is gone
        assert await engine.purge_closed() in (0, 1)
        from fastcore.errors import WorkflowNotFoundError

        with pytest.raises(WorkflowNotFoundError):
            await done.describe()
        assert (await running.describe()).status is WorkflowExecutionStatus.RUNNING
        listed, _ = await engine.list_workflows()
        assert [d.id for d in listed] == [running.id]


async def test_saga_works_the_same_after_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A saga parked mid-way survives a restart; the failure after it compensates once each."""
    from .durable_defs import GatedBooking

    url = f"sqlite:///{tmp_path}/saga.db"
    LOG.clear()
    async with Engine(url, workflows=[GatedBooking], activities=ACTS) as engine:
        await engine.start_workflow(GatedBooking.run, id="saga")
    assert LOG == ["book-car", "book-hotel"]
    async with Engine(url, workflows=[GatedBooking], activities=ACTS) as engine:
        h = engine.get_workflow_handle("saga")
        await h.signal("go")
        with pytest.raises(WorkflowFailureError):
            await h.result()
    # booked steps did not run again; each compensation ran once, in reverse order
    assert LOG == ["book-car", "book-hotel", "book-flight", "release-hotel", "release-car"]
