"""Async activity completion: ``activity.raise_complete_async()`` and the engine's
``AsyncActivityHandle`` (complete, fail, heartbeat, report_cancellation), durable across a
restart on SQLite.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from fastcore import ActivityCancellationType, Engine, EventType, RetryPolicy, activity, workflow
from fastcore.errors import (
    ActivityError,
    ActivityNotFoundError,
    ApplicationError,
    AsyncActivityCancelledError,
    InvalidArgumentError,
)

TOKENS: dict[str, list[bytes]] = {}
READY: dict[str, asyncio.Event] = {}


@activity.defn
async def ask_a_human(key: str) -> str:
    info = activity.info()
    TOKENS.setdefault(key, []).append(info.task_token)
    READY.setdefault(key, asyncio.Event()).set()
    activity.raise_complete_async()


@activity.defn
def ask_from_a_thread(key: str) -> str:
    TOKENS.setdefault(key, []).append(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class NeedsApproval:
    def __init__(self) -> None:
        self.cancel = False

    @workflow.run
    async def run(self, name: str, key: str, wait_cancel: bool = False) -> str:
        handle = workflow.start_activity(
            name,
            key,
            start_to_close_timeout=timedelta(hours=1),
            retry_policy=RetryPolicy(maximum_attempts=2),
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
            if wait_cancel
            else ActivityCancellationType.TRY_CANCEL,
        )
        await workflow.wait(
            [handle, asyncio.ensure_future(self._cancel_wanted())],
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self.cancel and not handle.done():
            handle.cancel()
        try:
            result: str = await handle
        except ActivityError as err:
            cause = err.cause
            details = list(getattr(cause, "details", ()))
            return f"{type(cause).__name__}: {getattr(cause, 'message', cause)} {details}"
        return result

    async def _cancel_wanted(self) -> None:
        await workflow.wait_condition(lambda: self.cancel)

    @workflow.signal
    def cancel_it(self) -> None:
        self.cancel = True


async def token_of(key: str, n: int = 1) -> bytes:
    for _ in range(2000):
        if len(TOKENS.get(key, [])) >= n:
            return TOKENS[key][n - 1]
        await asyncio.sleep(0.005)
    raise AssertionError(f"no task token from {key}")


def engine(store: str = "memory") -> Engine:
    return Engine(store, workflows=[NeedsApproval], activities=[ask_a_human, ask_from_a_thread])


@pytest.mark.parametrize("name", ["ask_a_human", "ask_from_a_thread"])
async def test_complete_by_task_token(name: str) -> None:
    key = uuid.uuid4().hex
    async with engine() as e:
        h = await e.start_workflow(NeedsApproval.run, name, key, id=f"wf-{key}")
        token = await token_of(key)
        handle = e.get_async_activity_handle(task_token=token)
        await handle.heartbeat("halfway")
        desc = await h.describe()
        (pending,) = desc.pending_activities
        assert pending.heartbeat_details == ("halfway",)
        assert pending.state.name == "STARTED"  # awaiting its completion
        await handle.complete("approved")
        assert await h.result() == "approved"
        with pytest.raises(ActivityNotFoundError, match="not pending"):
            await handle.complete("again")
    assert len(TOKENS[key]) == 1  # the activity ran once


async def test_complete_by_workflow_and_activity_id() -> None:
    key = uuid.uuid4().hex
    async with engine() as e:
        h = await e.start_workflow(NeedsApproval.run, "ask_a_human", key, id=f"wf-{key}")
        await token_of(key)
        await e.get_async_activity_handle(workflow_id=h.id, activity_id="1").complete("by id")
        assert await h.result() == "by id"


async def test_fail_retries_then_fails_the_activity() -> None:
    key = uuid.uuid4().hex
    async with engine() as e:
        h = await e.start_workflow(NeedsApproval.run, "ask_a_human", key, id=f"wf-{key}")
        first = e.get_async_activity_handle(task_token=await token_of(key))
        await first.fail(ApplicationError("rejected once", type="Rejected"))
        # the retry policy runs attempt 2, which completes asynchronously again
        second = e.get_async_activity_handle(task_token=await token_of(key, 2))
        await second.fail(ApplicationError("rejected again", type="Rejected"))
        assert await h.result() == "ApplicationError: rejected again []"


async def test_report_cancellation_and_heartbeat_after_a_cancel() -> None:
    key = uuid.uuid4().hex
    async with engine() as e:
        h = await e.start_workflow(NeedsApproval.run, "ask_a_human", key, id=f"wf-{key}")
        handle = e.get_async_activity_handle(task_token=await token_of(key))
        await handle.report_cancellation("no longer needed")
        assert await h.result() == "CancelledError: Activity cancelled ['no longer needed']"
    key = uuid.uuid4().hex
    async with engine() as e:
        h = await e.start_workflow(NeedsApproval.run, "ask_a_human", key, True, id=f"wf-{key}")
        handle = e.get_async_activity_handle(task_token=await token_of(key))
        await h.signal(NeedsApproval.cancel_it)
        # the completer hears of the cancellation at its heartbeat, and reports it
        with pytest.raises(AsyncActivityCancelledError):
            await handle.heartbeat()
        await handle.report_cancellation("as asked")
        assert await h.result() == "CancelledError: Activity cancelled ['as asked']"


async def test_a_completion_after_a_restart_reaches_the_workflow(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/f.db"
    key = uuid.uuid4().hex
    wf = f"wf-{key}"
    async with engine(store) as e:
        await e.start_workflow(NeedsApproval.run, "ask_a_human", key, id=wf)
        token = await token_of(key)
    async with engine(store) as e:
        # the restarted engine runs the pending activity again (at least once), which hands
        # out its token again; the token from before the restart still names it
        await token_of(key, 2)
        await e.get_async_activity_handle(task_token=token).complete("after the restart")
    async with engine(store) as e:
        h = e.get_workflow_handle(wf)
        assert await h.result() == "after the restart"
        kinds = [ev.event_type for ev in await h.fetch_history()]
        assert kinds.count(EventType.ACTIVITY_TASK_COMPLETED) == 1


async def test_bad_handles_fail_at_the_call() -> None:
    async with engine() as e:
        with pytest.raises(InvalidArgumentError, match="task_token"):
            e.get_async_activity_handle(workflow_id="x")
        with pytest.raises(InvalidArgumentError, match="not a fastcore activity task token"):
            e.get_async_activity_handle(task_token=b"garbage")
        with pytest.raises(ActivityNotFoundError):
            await e.get_async_activity_handle(workflow_id="nope", activity_id="1").complete(1)
