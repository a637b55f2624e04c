"""Local activities recorded as Temporal records them: one ``core_local_activity`` marker each.

No event when one starts; its outcome (result, or failure after its retries) is a marker the
workflow's next activation reads, and replay reads it back without running it again. One in
flight when the engine stops runs again after the restart; a finished one does not.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from fastcore import Engine, EventType, Replayer, RetryPolicy, activity, workflow
from fastcore.errors import ActivityError, NondeterminismError, TimeoutError

T = timedelta(seconds=10)
RUNS: dict[str, list[str]] = {}
GATES: dict[str, threading.Event] = {}


@activity.defn
async def record(key: str, step: str) -> str:
    RUNS.setdefault(key, []).append(step)
    return f"{step} done"


@activity.defn
def blocks(key: str) -> str:
    RUNS.setdefault(key, []).append("blocks started")
    GATES.setdefault(key, threading.Event()).wait(30)
    return "unblocked"


@activity.defn
async def times_out(key: str) -> str:
    await asyncio.sleep(30)
    return "never"


@workflow.defn
class Locals:
    @workflow.run
    async def run(self, key: str, block: bool) -> list[str]:
        out = [
            await workflow.execute_local_activity(
                record, args=[key, "one"], start_to_close_timeout=T
            )
        ]
        if block:
            out.append(await workflow.execute_local_activity(blocks, key, start_to_close_timeout=T))
        out.append(
            await workflow.execute_local_activity(
                record, args=[key, "two"], start_to_close_timeout=T
            )
        )
        return out


@workflow.defn
class LocalFailures:
    @workflow.run
    async def run(self, key: str) -> list[str]:
        out: list[str] = []
        try:
            await workflow.execute_local_activity(
                times_out,
                key,
                start_to_close_timeout=timedelta(milliseconds=50),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except TimeoutError as err:
            out.append(f"TimeoutError {err.type.name if err.type else None}")
        handle = workflow.start_local_activity(times_out, key, start_to_close_timeout=T)
        await workflow.sleep(0.01)
        handle.cancel()
        try:
            await handle
        except ActivityError as err:
            out.append(f"ActivityError caused by {type(err.cause).__name__}")
        return out


def markers(events: list[object]) -> list[dict[str, object]]:
    return [
        e.attributes  # type: ignore[attr-defined]
        for e in events
        if e.event_type is EventType.MARKER_RECORDED  # type: ignore[attr-defined]
    ]


async def test_outcomes_are_markers_and_replay_reads_them(store_url: str) -> None:
    key = uuid.uuid4().hex
    async with Engine(store_url, workflows=[Locals], activities=[record, blocks]) as engine:
        h = await engine.start_workflow(Locals.run, key, False, id=f"wf-{key}")
        assert await h.result() == ["one done", "two done"]
        events = await h.fetch_history()
    kinds = [e.event_type for e in events]
    assert EventType.ACTIVITY_TASK_SCHEDULED not in kinds
    first, _ = markers(events)
    assert first["marker_name"] == "core_local_activity" and first["failure"] is None
    details = first["details"]
    assert isinstance(details, dict)
    assert (details["seq"], details["activity_id"], details["activity_type"]) == (1, "1", "record")
    RUNS.pop(key)
    result = await Replayer(workflows=[Locals]).replay_workflow(events)
    assert result.replay_failure is None
    assert key not in RUNS  # replay read the results; nothing ran


async def test_an_unfinished_local_activity_runs_again_after_a_restart(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/f.db"
    key = uuid.uuid4().hex
    GATES[key] = threading.Event()
    async with Engine(store, workflows=[Locals], activities=[record, blocks]) as engine:
        await engine.start_workflow(Locals.run, key, True, id=f"wf-{key}")
        for _ in range(2000):
            if "blocks started" in RUNS.get(key, []):
                break
            await asyncio.sleep(0.005)
    GATES[key].set()  # the first engine's thread finishes; its result was abandoned
    async with Engine(store, workflows=[Locals], activities=[record, blocks]) as engine:
        h = engine.get_workflow_handle(f"wf-{key}")
        assert await h.result() == ["one done", "unblocked", "two done"]
        events = await h.fetch_history()
    # "one" was recorded before the restart and did not run again; "blocks" did
    assert RUNS[key] == ["one", "blocks started", "blocks started", "two"]
    assert len(markers(events)) == 3


async def test_timeouts_and_cancellation() -> None:
    key = uuid.uuid4().hex
    async with Engine(workflows=[LocalFailures], activities=[times_out]) as engine:
        h = await engine.start_workflow(LocalFailures.run, key, id=f"wf-{key}")
        assert await h.result() == [
            "TimeoutError START_TO_CLOSE",
            "ActivityError caused by CancelledError",
        ]
        events = await h.fetch_history()
    timed_out, cancelled = markers(events)
    assert timed_out["failure"]["timeout_failure_info"]["timeout_type"] == 1  # type: ignore[index]
    assert cancelled["failure"]["canceled_failure_info"] is not None  # type: ignore[index]
    assert (
        await Replayer(workflows=[LocalFailures]).replay_workflow(events)
    ).replay_failure is None


@workflow.defn(name="Locals")
class ReorderedLocals:
    @workflow.run
    async def run(self, key: str, block: bool) -> list[str]:
        del block
        first = await workflow.execute_local_activity(
            blocks, key, start_to_close_timeout=T
        )  # another activity where the history has "record"
        return [first]


async def test_a_changed_local_activity_is_nondeterministic() -> None:
    key = uuid.uuid4().hex
    async with Engine(workflows=[Locals], activities=[record]) as engine:
        h = await engine.start_workflow(Locals.run, key, False, id=f"wf-{key}")
        await h.result()
        events = await h.fetch_history()
    with pytest.raises(NondeterminismError, match="Nondeterminism"):
        await Replayer(workflows=[ReorderedLocals]).replay_workflow(events)
