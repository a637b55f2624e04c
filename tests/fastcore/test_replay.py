"""Replay against changed code: nondeterminism is caught, ``patched`` makes changes safe."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from fastcore import Engine, Replayer, WorkflowExecutionStatus, activity, workflow
from fastcore.errors import NondeterminismError

T = timedelta(seconds=5)


@activity.defn
async def a(x: int) -> int:
    return x + 1


@activity.defn
async def b(x: int) -> int:
    return x * 10


@workflow.defn(name="Versioned")
class V1:
    @workflow.run
    async def run(self) -> int:
        x = await workflow.execute_activity(a, 1, start_to_close_timeout=T)
        await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


@workflow.defn(name="Versioned")
class ChangedActivity:
    @workflow.run
    async def run(self) -> int:
        x = await workflow.execute_activity(b, 1, start_to_close_timeout=T)  # was a
        await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


@workflow.defn(name="Versioned")
class RemovedTimer:
    @workflow.run
    async def run(self) -> int:
        x = await workflow.execute_activity(a, 1, start_to_close_timeout=T)
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


@workflow.defn(name="Versioned")
class Reordered:
    @workflow.run
    async def run(self) -> int:
        await workflow.sleep(timedelta(seconds=1))
        x = await workflow.execute_activity(a, 1, start_to_close_timeout=T)
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


@workflow.defn(name="Versioned")
class ArgsAndDurationsChanged:
    """Different arguments and durations are not nondeterminism (as Temporal)."""

    @workflow.run
    async def run(self) -> int:
        x = await workflow.execute_activity(a, 100, start_to_close_timeout=T * 2)
        await workflow.sleep(timedelta(seconds=30))
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


@workflow.defn(name="Versioned")
class PatchedAll:
    """The three changes above, each behind workflow.patched."""

    @workflow.run
    async def run(self) -> int:
        if workflow.patched("reorder"):
            await workflow.sleep(timedelta(seconds=1))
        if workflow.patched("use-b"):
            x = await workflow.execute_activity(b, 1, start_to_close_timeout=T)
        else:
            x = await workflow.execute_activity(a, 1, start_to_close_timeout=T)
        if not workflow.patched("reorder") and not workflow.patched("drop-timer"):
            await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


@workflow.defn(name="Versioned")
class DeprecatedPatch:
    """After every old run is gone: the new branch only, the marker kept via deprecate_patch."""

    @workflow.run
    async def run(self) -> int:
        workflow.deprecate_patch("use-b")
        x = await workflow.execute_activity(b, 1, start_to_close_timeout=T)
        await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(b, x, start_to_close_timeout=T)


async def record(cls: type, store: str = "memory") -> list:  # type: ignore[type-arg]
    from fastcore.testing import VirtualClock

    async with Engine(store, workflows=[cls], activities=[a, b], clock=VirtualClock()) as engine:
        h = await engine.start_workflow(cls.run, id=f"v-{uuid.uuid4().hex[:8]}")  # type: ignore[attr-defined]
        await h.result()
        return await h.fetch_history()


async def test_same_code_replays() -> None:
    await Replayer(workflows=[V1]).replay_workflow(await record(V1))


async def test_arguments_and_durations_may_change() -> None:
    await Replayer(workflows=[ArgsAndDurationsChanged]).replay_workflow(await record(V1))


@pytest.mark.parametrize(
    ("changed", "index", "expected", "found"),
    [
        (ChangedActivity, 2, "ACTIVITY_TASK_SCHEDULED(a)", "ACTIVITY_TASK_SCHEDULED(b)"),
        (RemovedTimer, 4, "TIMER_STARTED", "ACTIVITY_TASK_SCHEDULED(b)"),
        (Reordered, 2, "ACTIVITY_TASK_SCHEDULED(a)", "TIMER_STARTED"),
    ],
)
async def test_changed_code_raises_nondeterminism(
    changed: type, index: int, expected: str, found: str
) -> None:
    history = await record(V1)
    with pytest.raises(NondeterminismError) as info:
        await Replayer(workflows=[changed]).replay_workflow(history)
    err = info.value
    assert err.workflow_type == "Versioned"
    assert err.event_index == index
    assert err.expected == expected and err.found == found
    assert "Versioned" in str(err) and f"event {index}" in str(err)


async def test_patched_code_replays_old_histories_and_takes_new_branch_for_new_runs() -> None:
    old = await record(V1)
    await Replayer(workflows=[PatchedAll]).replay_workflow(old)
    new = await record(PatchedAll)
    markers = [
        e.attributes["details"]["patch_id"] for e in new if e.event_type.value == "MARKER_RECORDED"
    ]
    assert markers == ["reorder", "use-b"]
    kinds = [e.event_type.value for e in new]
    assert kinds[1:4] == ["MARKER_RECORDED", "TIMER_STARTED", "TIMER_FIRED"]
    await Replayer(workflows=[PatchedAll]).replay_workflow(new)
    # the old code cannot replay the new history
    with pytest.raises(NondeterminismError):
        await Replayer(workflows=[V1]).replay_workflow(new)


async def test_deprecate_patch_replays_histories_with_the_marker() -> None:
    with_marker = await record(PatchedAll)
    del with_marker  # PatchedAll's new branch has a different timer order; use a use-b-only run
    history = await record(DeprecatedPatch)
    await Replayer(workflows=[DeprecatedPatch]).replay_workflow(history)


async def test_nondeterminism_on_recovery_blocks_the_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/v.db"

    @workflow.defn(name="Gate")
    class Gate:
        def __init__(self) -> None:
            self.go = False

        @workflow.run
        async def run(self) -> int:
            x = await workflow.execute_activity(a, 1, start_to_close_timeout=T)
            await workflow.wait_condition(lambda: self.go)
            return x

        @workflow.signal
        def proceed(self) -> None:
            self.go = True

    @workflow.defn(name="Gate")
    class GateChanged(Gate):
        @workflow.run
        async def run(self) -> int:
            x = await workflow.execute_activity(b, 1, start_to_close_timeout=T)
            await workflow.wait_condition(lambda: self.go)
            return x

    async with Engine(url, workflows=[Gate], activities=[a, b]) as engine:
        h = await engine.start_workflow(Gate.run, id="gate")
        assert (await h.describe()).status is WorkflowExecutionStatus.RUNNING
    async with Engine(url, workflows=[GateChanged], activities=[a, b]) as engine:
        h = engine.get_workflow_handle("gate")
        d = await h.describe()
        assert d.status is WorkflowExecutionStatus.RUNNING
        assert isinstance(d.pending_task_failure, NondeterminismError)
        # a signal is kept while the run is blocked
        await h.signal("proceed")
    # with the code fixed again, the run resumes and the held-back signal is delivered
    async with Engine(url, workflows=[Gate], activities=[a, b]) as engine:
        assert await engine.get_workflow_handle("gate").result() == 2


async def test_nondeterminism_listed_in_failure_types_fails_the_workflow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/v.db"
    async with Engine(url, workflows=[V1], activities=[a, b]) as engine:
        await engine.start_workflow(V1.run, id="v")
    async with Engine(
        url,
        workflows=[ChangedActivity],
        activities=[a, b],
        failure_exception_types=[NondeterminismError],
    ) as engine:
        h = engine.get_workflow_handle("v")
        from fastcore.errors import WorkflowFailureError

        with pytest.raises(WorkflowFailureError):
            await h.result()
        assert (await h.describe()).status is WorkflowExecutionStatus.FAILED
