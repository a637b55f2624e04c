"""Bad input at the engine's calls: ``InvalidArgumentError`` naming the field, the same on
both stores, and nothing changes (Temporal's limits: ids and names up to 1000 UTF-8 bytes,
valid UTF-8 only, no negative timeouts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from fastcore import Engine, workflow
from fastcore.errors import InvalidArgumentError

from .wf_defs import Waiter

LONE = "\ud800"  # a lone surrogate: a Python str, but not UTF-8


@workflow.defn
class AnyHandler:
    """Takes any signal (a dynamic handler), so only the name's own checks apply."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "stop" in self.seen)
        return self.seen

    @workflow.signal(dynamic=True)
    def anything(self, name: str, *args: Any) -> None:
        self.seen.append(name)


async def _expect(call: Callable[[], Awaitable[Any]], *needles: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await call()
    for needle in needles:
        assert needle in str(info.value), str(info.value)


async def test_bad_ids_names_and_timeouts_are_refused_naming_the_field(store_url: str) -> None:
    async with Engine(store_url, workflows=[Waiter, AnyHandler]) as engine:
        start = engine.start_workflow
        await _expect(lambda: start(Waiter.run, id=LONE), "workflow_id", "UTF-8", "index 0")
        await _expect(lambda: start(Waiter.run, id="x" * 1001), "workflow_id", "1001 bytes")
        await _expect(lambda: start(Waiter.run, id="\u00e9" * 501), "workflow_id", "1002 bytes")
        await _expect(lambda: start(Waiter.run, id=""), "workflow_id", "empty")
        await _expect(
            lambda: start(Waiter.run, id="t", execution_timeout=timedelta(seconds=-1)),
            "execution_timeout",
            "negative",
        )
        await _expect(
            lambda: start(Waiter.run, id="t", run_timeout=timedelta(microseconds=-1)),
            "run_timeout",
        )
        await _expect(lambda: start(Waiter.run, id="t", task_queue="q" * 1001), "task_queue")
        await _expect(lambda: start(Waiter.run, id="t", memo={LONE: 1}), "memo key")
        await _expect(lambda: start(Waiter.run, LONE, id="t"), "cannot")  # an argument

        # the limits are Temporal's: 1000 bytes is fine, so is non-ASCII within it
        ok = await start(Waiter.run, id="\u00e9" * 500)
        h = await start(AnyHandler.run, id="x" * 1000)
        await _expect(lambda: h.signal(LONE), "signal_name", "UTF-8")
        await _expect(lambda: h.signal("s" * 1001), "signal_name", "1001 bytes")
        await _expect(lambda: ok.query("q" * 1001), "query_type")
        await _expect(lambda: ok.execute_update("u" * 1001), "update_name")
        await _expect(lambda: ok.execute_update(Waiter.add_item, "x", id=LONE), "update_id")
        await _expect(lambda: ok.terminate(reason=LONE), "reason", "UTF-8")

        # looking up an id no store could hold is the same error on every store
        for call in (
            lambda: engine.get_workflow_handle(LONE).signal(Waiter.approve, "x"),
            lambda: engine.get_workflow_handle(LONE).describe(),
            lambda: engine.get_workflow_handle("x" * 1001).result(),
            lambda: engine.get_workflow_handle("t", run_id=LONE).describe(),
        ):
            await _expect(call, "_id")

        # nothing changed: only the two good starts exist, and they work
        page, _ = await engine.list_workflows()
        assert sorted(d.id for d in page) == sorted(["\u00e9" * 500, "x" * 1000])
        await h.signal("stop")
        assert await h.result() == ["stop"]
        assert await ok.execute_update(Waiter.add_item, "fine", id="u" * 1000) == 1


async def test_bad_timeouts_in_workflow_code_fail_the_task_not_the_engine(store_url: str) -> None:
    """As Temporal refuses a command with a negative timeout (a workflow task failure, the
    run stays open), so does fastcore; the engine and other runs are untouched."""

    @workflow.defn(name="NegativeTimeout")
    class NegativeTimeout:
        @workflow.run
        async def run(self) -> None:
            await workflow.execute_activity(
                "anything", start_to_close_timeout=timedelta(seconds=-5)
            )

    async with Engine(store_url, workflows=[NegativeTimeout, Waiter]) as engine:
        h = await engine.start_workflow(NegativeTimeout.run, id="neg")
        desc = await h.describe()
        assert desc.status.name == "RUNNING"
        assert desc.pending_task_failure is not None
        assert "start_to_close_timeout" in str(desc.pending_task_failure)
        w = await engine.start_workflow(Waiter.run, id="fine")
        await w.signal(Waiter.approve, "ok")
        assert (await w.result())["approved_by"] == "ok"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("retention", timedelta(0)),
        ("retention", timedelta(days=-1)),
        ("retention", 7),
        ("workflow_task_retry_interval", timedelta(0)),
        ("max_activity_threads", 0),
        ("max_activity_threads", True),
    ],
)
def test_engine_settings_fail_where_they_are_made(option: str, value: Any) -> None:
    with pytest.raises(InvalidArgumentError, match=option):
        Engine(**{option: value})
