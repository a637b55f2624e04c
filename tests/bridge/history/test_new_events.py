"""Local activities, external signals and cancels, and memo upserts, on both runtimes.

Each workflow below runs on a fastcore ``Engine`` and, as ``bridge.as_temporal_workflow``,
on a real Temporal worker. Both give the same result; fastcore's history, translated with
``bridge.history.to_temporal``, replays in Temporal's ``Replayer``; Temporal's history, read
with ``bridge.history.from_temporal``, replays in ``fastcore.Replayer``. Local activities
are recorded as Temporal records them: a ``core_local_activity`` marker carrying the
activity id, type, attempt and result (or failure), with no activity events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType as TEventType
from temporalio.client import Client
from temporalio.worker import Replayer as TemporalReplayer
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bridge.history import from_temporal, to_temporal
from bridge.on_temporal import as_temporal_activities, as_temporal_workflow
from fastcore import Engine, EventType, Replayer, RetryPolicy, activity, workflow
from fastcore.errors import ApplicationError

T = timedelta(seconds=10)
pytestmark = pytest.mark.timeout(120)


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@activity.defn
async def flaky_local(key: str) -> str:
    attempt = activity.info().attempt
    if attempt < 2:
        raise ApplicationError("first attempt fails", type="Flaky")
    return f"{key} on attempt {attempt}"


@activity.defn
async def broken(key: str) -> str:
    raise ApplicationError(f"always broken: {key}", type="Broken", non_retryable=True)


@workflow.defn
class LocalSteps:
    @workflow.run
    async def run(self, key: str) -> list[str]:
        out = [await workflow.execute_local_activity(shout, key, start_to_close_timeout=T)]
        out.append(
            await workflow.execute_local_activity(
                flaky_local,
                key,
                start_to_close_timeout=T,
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=1)),
            )
        )
        try:
            await workflow.execute_local_activity(broken, key, start_to_close_timeout=T)
        except ApplicationError as err:  # a local activity's own error, as temporalio raises
            out.append(f"{type(err).__name__}: {err.type}")
        out.append(await workflow.execute_activity(shout, "remote", start_to_close_timeout=T))
        out.append(await workflow.execute_local_activity(shout, "last", start_to_close_timeout=T))
        return out


@workflow.defn
class Mailbox:
    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        try:
            await workflow.wait_condition(lambda: "stop" in self.got)
        except asyncio.CancelledError:
            return [*self.got, "cancelled"]
        return self.got

    @workflow.signal
    def post(self, text: str) -> None:
        self.got.append(text)


@workflow.defn
class Postman:
    @workflow.run
    async def run(self, box: str, doomed: str) -> dict[str, Any]:
        workflow.upsert_memo({"stage": "posting"})
        handle = workflow.get_external_workflow_handle(box)
        await handle.signal(Mailbox.post, "hello")
        await handle.signal(Mailbox.post, "stop")
        await workflow.get_external_workflow_handle(doomed).cancel()
        workflow.upsert_memo({"stage": "done"})
        return {"memo": dict(workflow.memo())}


WORKFLOWS = [LocalSteps, Mailbox, Postman]
ACTIVITIES = [shout, flaky_local, broken]

Scenario = Callable[[Callable[..., Awaitable[Any]], str], Awaitable[tuple[Any, str]]]


async def _local_steps(start: Callable[..., Awaitable[Any]], prefix: str) -> tuple[Any, str]:
    h = await start(LocalSteps.run, "k", id=f"{prefix}-local")
    return await h.result(), h.id


async def _postman(start: Callable[..., Awaitable[Any]], prefix: str) -> tuple[Any, str]:
    box = await start(Mailbox.run, id=f"{prefix}-box")
    doomed = await start(Mailbox.run, id=f"{prefix}-doomed")
    h = await start(Postman.run, box.id, doomed.id, id=f"{prefix}-postman")
    result = await h.result()
    assert await box.result() == ["hello", "stop"]
    assert await doomed.result() == ["cancelled"]
    return result, h.id


SCENARIOS: dict[str, Scenario] = {"local_activities": _local_steps, "external": _postman}
EXPECTED = {
    "local_activities": ["K", "k on attempt 2", "ApplicationError: Broken", "REMOTE", "LAST"],
    "external": {"memo": {"stage": "done"}},
}


async def run_on_fastcore(name: str) -> tuple[Any, list[Any]]:
    async with Engine(workflows=WORKFLOWS, activities=ACTIVITIES) as engine:

        async def start(wf: Any, *args: Any, id: str) -> Any:
            return await engine.start_workflow(wf, *args, id=id)

        result, wid = await SCENARIOS[name](start, f"fc-{uuid.uuid4().hex[:8]}")
        return result, await engine.get_workflow_handle(wid).fetch_history()


async def run_on_temporal(client: Client, name: str) -> tuple[Any, Any]:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[as_temporal_workflow(c) for c in WORKFLOWS],
        activities=as_temporal_activities(ACTIVITIES),
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):

        async def start(wf: Any, *args: Any, id: str) -> Any:
            return await client.start_workflow(wf, args=list(args), id=id, task_queue=queue)

        result, wid = await SCENARIOS[name](start, f"tm-{uuid.uuid4().hex[:8]}")
        return result, await client.get_workflow_handle(wid).fetch_history()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_fastcore_history_replays_in_temporal(name: str) -> None:
    result, events = await run_on_fastcore(name)
    assert result == EXPECTED[name]
    history = to_temporal(events)
    replayer = TemporalReplayer(
        workflows=[as_temporal_workflow(c) for c in WORKFLOWS],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    replay = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None
    assert from_temporal(history) == events
    if name == "local_activities":
        kinds = [e.event_type for e in events]
        markers = [
            e.attributes
            for e in events
            if e.event_type is EventType.MARKER_RECORDED
            and e.attributes["marker_name"] == "core_local_activity"
        ]
        assert [m["details"]["activity_type"] for m in markers] == [
            "shout",
            "flaky_local",
            "broken",
            "shout",
        ]
        assert [m["details"]["attempt"] for m in markers] == [1, 2, 1, 1]
        assert [m["details"]["activity_id"] for m in markers] == ["1", "2", "3", "5"]
        assert kinds.count(EventType.ACTIVITY_TASK_SCHEDULED) == 1  # only the remote one


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_temporal_history_replays_in_fastcore(temporal_client: Client, name: str) -> None:
    result, history = await run_on_temporal(temporal_client, name)
    assert result == EXPECTED[name]
    if name == "local_activities":
        markers = [
            e
            for e in history.events
            if e.event_type == TEventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ]
        assert len(markers) == 4
    events = from_temporal(history)
    replay = await Replayer(workflows=WORKFLOWS).replay_workflow(
        events, raise_on_replay_failure=False
    )
    assert replay.replay_failure is None, [e.event_type.value for e in events]


async def test_a_local_activity_that_changed_type_is_nondeterministic() -> None:
    _, events = await run_on_fastcore("local_activities")
    for e in events:
        if e.event_type is EventType.MARKER_RECORDED:
            e.attributes["details"]["activity_type"] = "something_else"
            break
    replay = await Replayer(workflows=WORKFLOWS).replay_workflow(
        events, raise_on_replay_failure=False
    )
    assert replay.replay_failure is not None
