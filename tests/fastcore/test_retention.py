"""Closed runs kept in memory: packed histories answer as before; ``max_closed_runs`` bounds them.

A closed run's history is packed into bytes once enough later runs have closed (so the
garbage collector does not walk its events); everything a handle reads from a closed run
must be the same before and after. The memory store keeps at most ``max_closed_runs`` closed
runs; a durable store keeps the rest on disk.
"""

from __future__ import annotations

import gc
import uuid

import pytest

from fastcore import Engine, WorkflowExecutionStatus, workflow
from fastcore._run_table import DURABLE_KEEP
from fastcore._store import RunRecord
from fastcore.errors import InvalidArgumentError, WorkflowNotFoundError
from fastcore.history import Event, EventType
from fastcore.integration import default_converter

from .wf_defs import T1, inc


@workflow.defn
class Counted:
    def __init__(self) -> None:
        self.seen = 0

    @workflow.run
    async def run(self, x: int) -> int:
        self.seen = await workflow.execute_activity(inc, x, start_to_close_timeout=T1)
        return self.seen

    @workflow.query
    def value(self) -> int:
        return self.seen


def wid() -> str:
    return f"ret-{uuid.uuid4().hex[:10]}"


async def test_a_packed_history_answers_as_before(store_url: str) -> None:
    """Memory store: the history is packed; a durable store: the run leaves the table."""
    durable = store_url != "memory"
    async with Engine(
        store_url, workflows=[Counted], activities=[inc], max_closed_runs=10 if durable else None
    ) as engine:
        first = await engine.start_workflow(Counted.run, 41, id=wid())
        assert await first.result() == 42
        before = await first.fetch_history()
        record = engine._runs[first.id].record
        assert not record.packed
        for i in range(300):  # enough closes after it for it to be packed, or dropped
            await engine.execute_workflow(Counted.run, i, id=wid())
        if durable:
            assert first.id not in engine._runs and not record.packed
        else:
            assert record.packed
            assert record._history is None and isinstance(record._packed, bytes)
        after = await first.fetch_history()
        assert after == before
        assert [type(e) for e in after] == [Event] * len(before)
        assert after[0].event_type is before[0].event_type
        assert await first.result() == 42
        assert await first.query(Counted.value) == 42
        desc = await first.describe()
        assert desc.status is WorkflowExecutionStatus.COMPLETED
        assert desc.history_length == len(before)
        assert record.length == len(before)


def test_pack_round_trips_a_record() -> None:
    payload = default_converter.encode_one({"a": [1, 2]})
    events = [
        Event(1, EventType.WORKFLOW_EXECUTION_STARTED, 1.5, {"input": [payload], "memo": {}}),
        Event(2, EventType.WORKFLOW_EXECUTION_COMPLETED, 2.5, {"result": payload}),
    ]
    record = RunRecord("w", "r", "T", 1.0, status=WorkflowExecutionStatus.COMPLETED)
    record.history.extend(events)
    record.pack()
    assert record.packed and record.length == 2
    assert record.history == events
    assert record.history is not record.history  # a fresh list each read
    assert default_converter.decode_one(record.history[1].attributes["result"]) == {"a": [1, 2]}
    record.history = [events[0]]  # setting a history unpacks for good
    assert not record.packed and record.length == 1


async def test_max_closed_runs_bounds_the_memory_store() -> None:
    async with Engine(workflows=[Counted], activities=[inc], max_closed_runs=10) as engine:
        ids = [wid() for _ in range(400)]
        for i, workflow_id in enumerate(ids):
            assert await engine.execute_workflow(Counted.run, i, id=workflow_id) == i + 1
        # the oldest are forgotten, by the engine and by the store
        with pytest.raises(WorkflowNotFoundError):
            await engine.get_workflow_handle(ids[0]).describe()
        assert await engine.store.load_run(ids[0]) is None
        # the latest are kept: the ten newest packed ones and those not packed yet
        assert await engine.get_workflow_handle(ids[-1]).result() == 400
        assert len(engine._runs) <= 10 + 2 * 64
        runs, _ = await engine.list_workflows(page_size=1000)
        assert len(runs) == len(engine._runs)


async def test_a_durable_store_keeps_what_memory_lets_go(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/kept.db"
    async with Engine(url, workflows=[Counted], activities=[inc], max_closed_runs=5) as engine:
        ids = [wid() for _ in range(300)]
        for i, workflow_id in enumerate(ids):
            await engine.execute_workflow(Counted.run, i, id=workflow_id)
        assert ids[0] not in engine._runs
        old = engine.get_workflow_handle(ids[0])
        assert await old.result() == 1
        assert (await old.describe()).status is WorkflowExecutionStatus.COMPLETED
        assert len(await old.fetch_history()) == 4  # started, scheduled, completed, closed


async def test_a_durable_store_keeps_a_bounded_window_in_memory(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/window.db?durability=batch"
    async with Engine(url, workflows=[Counted], activities=[inc], max_closed_runs=None) as engine:
        assert engine._table._max_closed == DURABLE_KEEP


@pytest.mark.parametrize("bad", [0, -1, 2.5, "10"])
def test_max_closed_runs_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="max_closed_runs"):
        Engine(max_closed_runs=bad)  # type: ignore[arg-type]


async def test_packed_histories_are_invisible_to_the_collector() -> None:
    async with Engine(workflows=[Counted], activities=[inc], max_closed_runs=None) as engine:
        for i in range(200):
            await engine.execute_workflow(Counted.run, i, id=wid())
        gc.collect()
        events = sum(1 for o in gc.get_objects() if type(o) is Event)
        # only the runs closed since the last packing keep their Event objects
        assert events <= 2 * 64 * 5
        packed = [r for r in engine._runs.values() if r.record.packed]
        assert len(packed) >= 64
        for run in packed:
            assert not gc.is_tracked(run.record._packed)
