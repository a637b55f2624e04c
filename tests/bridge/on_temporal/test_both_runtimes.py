"""One definition, both runtimes: the same fastcore classes on an Engine and on a Temporal worker.

Each scenario drives a workflow on a fastcore ``Engine`` (virtual clock) and, through
``bridge.as_temporal_workflow`` / ``as_temporal_activities``, on a real Temporal worker
with the sandboxed runner (per-workflow time skipping for the hour-long timers), with the
same client calls, and asserts the same results, query answers, update results and
rejections, and failures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import temporalio.client
import temporalio.exceptions
import temporalio.workflow
from temporalio.api.enums.v1 import EventType as TEventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import TimeSkipper, TimeSkippingConfig
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bridge._failures import fastcore_error, temporal_error
from bridge.on_temporal import (
    as_temporal_activities,
    as_temporal_activity,
    as_temporal_workflow,
    sandbox_restrictions,
)
from fastcore import Engine
from fastcore import workflow as fc_workflow
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    InvalidArgumentError,
    RetryState,
    TimeoutError,
    TimeoutType,
)
from fastcore.integration import ActivityDefinition
from fastcore.testing import VirtualClock
from tests.bridge.on_temporal import both_defs as d

WORKFLOWS: list[type] = [
    d.Checkout,
    d.Receipt,
    d.FailsInChild,
    d.ReadsTheClock,
    d.Countdown,
    d.Semantics,
    d.Generations,
    d.SandboxProbe,
    d.UsesInventory,
    d.ParityCalls,
    d.ParityChild,
]
ACTIVITIES: list[Callable[..., Any]] = [
    d.reserve,
    d.charge,
    d.pack,
    d.out_of_stock,
    d.wait_for_cancel,
    d.render,
    d.INVENTORY.count,
    d.INVENTORY.take,
]

Runner = Callable[[], Any]
RUNNERS: dict[str, Runner] = {
    "default-sandbox": lambda: None,  # the Worker's own default: SandboxedWorkflowRunner()
    "passthrough-sandbox": lambda: SandboxedWorkflowRunner(restrictions=sandbox_restrictions()),
}


# ---------------------------------------------------------------- the two runtimes


def error_chain(exc: BaseException | None) -> list[dict[str, Any]]:
    """An exception and its causes as plain data, the same shape for both SDKs."""
    out: list[dict[str, Any]] = []
    while exc is not None:
        entry: dict[str, Any] = {"class": type(exc).__name__}
        for attr in ("type", "non_retryable", "activity_type", "workflow_type"):
            if hasattr(exc, attr):
                value = getattr(exc, attr)
                entry[attr] = getattr(value, "name", value)
        if hasattr(exc, "message") and type(exc).__name__ not in (
            "WorkflowFailureError",
            "WorkflowUpdateFailedError",
        ):
            entry["message"] = exc.message
        if hasattr(exc, "details"):
            entry["details"] = list(exc.details)
        if hasattr(exc, "retry_state"):
            rs = exc.retry_state
            entry["retry_state"] = rs.name if rs is not None else None
        out.append(entry)
        exc = exc.__cause__
    return out


class Side:
    """One runtime: start a workflow, then drive it with the shared client calls."""

    name: str

    async def start(self, workflow: Any, arg: Any, *, id: str) -> Any:
        raise NotImplementedError

    async def result(self, handle: Any) -> Any:
        raise NotImplementedError


class FastcoreSide(Side):
    name = "fastcore"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def start(self, workflow: Any, arg: Any, *, id: str) -> Any:
        args = arg if isinstance(arg, tuple) else [] if arg is None else [arg]
        return await self.engine.start_workflow(workflow, *args, id=id)

    async def result(self, handle: Any) -> Any:
        return await handle.result()


class TemporalSide(Side):
    name = "temporal"

    def __init__(self, skipper: TimeSkipper, task_queue: str) -> None:
        self.skipper = skipper
        self.task_queue = task_queue
        self.handles: list[temporalio.client.WorkflowHandle[Any, Any]] = []

    async def start(self, workflow: Any, arg: Any, *, id: str) -> Any:
        args = arg if isinstance(arg, tuple) else [] if arg is None else [arg]
        handle = await self.skipper.client.start_workflow(
            workflow, args=list(args), id=id, task_queue=self.task_queue
        )
        self.handles.append(handle)
        return handle

    async def result(self, handle: Any) -> Any:
        # Skip time until the workflow closes, as the VirtualClock does while awaiting.
        try:
            await self.skipper.fast_forward(handle)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it has closed already
                raise
        return await handle.result()


@asynccontextmanager
async def fastcore_side() -> AsyncIterator[FastcoreSide]:
    async with Engine(workflows=WORKFLOWS, activities=ACTIVITIES, clock=VirtualClock()) as engine:
        yield FastcoreSide(engine)


@asynccontextmanager
async def temporal_side(
    client: Client, task_queue: str, runner: Any = None
) -> AsyncIterator[TemporalSide]:
    # Workflows start with skipping off, so signals and updates land before the long
    # waits; ``TemporalSide.result`` turns it on.
    skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
    kwargs: dict[str, Any] = {} if runner is None else {"workflow_runner": runner}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[as_temporal_workflow(c) for c in WORKFLOWS],
            activities=as_temporal_activities(ACTIVITIES),
            activity_executor=pool,
            **kwargs,
        )
        assert isinstance(worker._workflow_worker._workflow_runner, SandboxedWorkflowRunner)  # type: ignore[union-attr]
        async with worker:
            yield TemporalSide(skipper, task_queue)


async def eventually(fn: Callable[[], Awaitable[Any]], want: Any, timeout: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await fn()
        if got == want or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- scenarios


async def checkout_transcript(side: Side, wf_id: str) -> dict[str, Any]:
    """Everything a client sees of one Checkout run, as plain data."""
    t: dict[str, Any] = {}
    order = d.Order(id="o-1", sku="sku-9", qty=2, fail_times=1)
    h = await side.start(d.Checkout.run, order, id=wf_id)
    t["status_waiting"] = await eventually(
        lambda: h.query(d.Checkout.get_status), "awaiting-approval"
    )
    t["update_1"] = await h.execute_update(d.Checkout.add_item, "apple")
    for bad in ("", "apple"):
        with pytest.raises(Exception) as rejected:
            await h.execute_update(d.Checkout.add_item, bad)
        t[f"rejected_{bad or 'empty'}"] = error_chain(rejected.value)
    t["update_2"] = await h.execute_update("add_item", "pear")
    with pytest.raises(Exception) as failed:
        await h.execute_update(d.Checkout.fail_update, "no reason")
    t["update_failed"] = error_chain(failed.value)
    t["summary"] = await h.query("summary", "before")
    await h.signal(d.Checkout.approve, "alice")
    t["result"] = await side.result(h)
    t["status_done"] = await h.query(d.Checkout.get_status)
    t["summary_done"] = await h.query(d.Checkout.summary_query, "after")
    return t


async def failure_transcript(side: Side, wf_id: str, workflow: Any, arg: Any) -> Any:
    h = await side.start(workflow, arg, id=wf_id)
    try:
        return {"result": await side.result(h)}
    except Exception as err:
        return {"failure": error_chain(err)}


@pytest.mark.parametrize("runner", list(RUNNERS))
async def test_checkout_same_on_both_runtimes(
    temporal_client: Client, unique_id: str, runner: str
) -> None:
    async with fastcore_side() as fc:
        expected = await checkout_transcript(fc, unique_id)
    async with temporal_side(temporal_client, unique_id, RUNNERS[runner]()) as tm:
        got = await asyncio.wait_for(checkout_transcript(tm, unique_id), 60)
        history = await tm.handles[0].fetch_history()
    assert got == expected
    # Temporal's own Replayer finds the adapter deterministic (same sandbox, no worker)
    replayer = Replayer(
        workflows=[as_temporal_workflow(c) for c in WORKFLOWS],
        **({} if RUNNERS[runner]() is None else {"workflow_runner": RUNNERS[runner]()}),
    )
    replay = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None
    # and it is the run we meant
    r = expected["result"]
    assert r["type"] == "Checkout"
    assert r["charge_attempt"] == 2
    assert r["discount"] == 10
    assert r["approved_by"] == "alice"
    assert r["second_wait"] == "timed out"
    assert r["slept_an_hour"] is True
    assert r["packed"]["items"] == ["apple", "pear"] and r["packed"]["thread"] is True
    assert r["caught"]["type"] == "OutOfStock" and r["caught"]["details"] == [{"sku": "sku-9"}, 3]
    assert r["cancelled"] == "CancelledError"
    assert r["receipt"] == {"text": "receipt o-1: 10", "parent": unique_id, "slept": True}
    assert expected["rejected_empty"][-1]["type"] == "InvalidItem"
    assert expected["rejected_apple"][-1]["details"] == ["apple"]
    assert expected["update_failed"][-1]["type"] == "UpdateFailed"
    assert expected["status_done"] == "done"


async def test_continue_as_new_and_workflow_state_on_both(
    temporal_client: Client, unique_id: str
) -> None:
    async with fastcore_side() as fc:
        expected = await failure_transcript(fc, unique_id, d.Countdown.run, (2, []))
    async with temporal_side(temporal_client, unique_id, RUNNERS["passthrough-sandbox"]()) as tm:
        got = await asyncio.wait_for(
            failure_transcript(tm, unique_id, d.Countdown.run, (2, [])), 30
        )
    assert got == expected
    assert expected["result"] == {
        "trail": [2, 1, 0],
        "type": "Countdown",
        "continued": True,
        "attempt": 1,
        "instance": True,
        "handlers_finished": True,
        "replaying": False,
        "uuid_version": 4,
        "random_in_range": True,
        "time_matches_now": True,
        "history_length_known": True,
    }


FAILURES = {
    "application-error": (d.Checkout.run, d.Order(id="big", sku="s", qty=500)),
    "activity-error": (d.Checkout.run, d.Order(id="unob", sku="unobtainium", qty=1)),
    "child-error": (d.FailsInChild.run, d.Order(id="kid", sku="s", qty=101)),
}


async def test_failures_same_on_both_runtimes(temporal_client: Client, unique_id: str) -> None:
    expected: dict[str, Any] = {}
    got: dict[str, Any] = {}
    async with fastcore_side() as fc:
        for key, (wf, arg) in FAILURES.items():
            expected[key] = await failure_transcript(fc, f"{unique_id}-{key}", wf, arg)
    runner = RUNNERS["passthrough-sandbox"]()
    async with temporal_side(temporal_client, unique_id, runner) as tm:
        for key, (wf, arg) in FAILURES.items():
            got[key] = await asyncio.wait_for(
                failure_transcript(tm, f"{unique_id}-{key}", wf, arg), 30
            )
    assert got == expected
    assert expected["application-error"]["failure"][1:] == [
        {
            "class": "ApplicationError",
            "type": "TooLarge",
            "non_retryable": True,
            "message": "order too large",
            "details": [{"qty": 500, "max": 100}],
        }
    ]
    chain = expected["activity-error"]["failure"]
    assert [c["class"] for c in chain] == [
        "WorkflowFailureError",
        "ActivityError",
        "ApplicationError",
    ]
    assert chain[2]["type"] == "UnknownSku"
    assert expected["child-error"]["result"]["type"] == "TooLarge"


async def cancel_transcript(side: Side, wf_id: str) -> dict[str, Any]:
    h = await side.start(d.Checkout.run, d.Order(id="c", sku="s", qty=1), id=wf_id)
    status = await eventually(lambda: h.query(d.Checkout.get_status), "awaiting-approval")
    await h.cancel()
    try:
        return {"status": status, "result": await side.result(h)}
    except Exception as err:
        return {"status": status, "failure": error_chain(err)}


async def test_cancellation_same_on_both_runtimes(temporal_client: Client, unique_id: str) -> None:
    async with fastcore_side() as fc:
        expected = await cancel_transcript(fc, unique_id)
    async with temporal_side(temporal_client, unique_id, RUNNERS["passthrough-sandbox"]()) as tm:
        got = await asyncio.wait_for(cancel_transcript(tm, unique_id), 30)
    assert got == expected
    assert [c["class"] for c in expected["failure"]] == ["WorkflowFailureError", "CancelledError"]


async def semantics_transcript(side: Side, wf_id: str) -> dict[str, Any]:
    """Rejections, unknown names, an uncaught wait timeout and the continue-as-new chain."""
    t: dict[str, Any] = {}
    h = await side.start(d.Semantics.run, "normal", id=f"{wf_id}-a")
    t["accepted"] = await h.execute_update(d.Semantics.add, "x")
    with pytest.raises(Exception) as rejected:
        await h.execute_update(d.Semantics.add, "")
    t["rejected"] = error_chain(rejected.value)
    with pytest.raises(Exception) as unknown_update:
        await h.execute_update("nope", "x")
    t["unknown_update"] = [c["class"] for c in error_chain(unknown_update.value)]
    cause = unknown_update.value.__cause__
    t["unknown_update_cause"] = (getattr(cause, "type", None), str(cause).split(". known")[0])
    with pytest.raises(Exception) as unknown_query:
        await h.query("nope")
    t["unknown_query"] = (
        type(unknown_query.value).__name__,
        str(unknown_query.value).split(", known")[0].split(": ", 1)[-1],
    )
    t["count"] = await h.query(d.Semantics.count)
    await h.signal(d.Semantics.finish)
    t["result"] = await side.result(h)
    history = await h.fetch_history()
    kinds = [
        TEventType.Name(e.event_type) if isinstance(e.event_type, int) else e.event_type.name
        for e in getattr(history, "events", history)
    ]
    # nothing entered the history for the rejected and the unknown update: one accepted
    t["updates_recorded"] = sum(1 for k in kinds if k.endswith("UPDATE_ACCEPTED"))
    timeout = await side.start(d.Semantics.run, "wait_times_out", id=f"{wf_id}-b")
    try:
        await side.result(timeout)
    except Exception as err:
        # (temporalio's TimeoutError also carries the CancelledError asyncio chains to it)
        t["wait_timeout"] = [(c["class"], c.get("type")) for c in error_chain(err)][:2]
    chain = await side.start(d.Generations.run, (0, []), id=f"{wf_id}-c")
    first_run = chain.result_run_id
    for value in ("a", "b", "c"):
        await eventually(lambda: chain.query(d.Generations.generation), 0)
        await chain.signal(d.Generations.poke, value)
    t["chain"] = await side.result(chain)
    t["chain_describe_moved_on"] = (await chain.describe()).run_id != first_run
    return t


async def test_temporals_semantics_on_both_runtimes(
    temporal_client: Client, unique_id: str
) -> None:
    async with fastcore_side() as fc:
        expected = await semantics_transcript(fc, unique_id)
    async with temporal_side(temporal_client, unique_id, RUNNERS["passthrough-sandbox"]()) as tm:
        got = await asyncio.wait_for(semantics_transcript(tm, unique_id), 60)
    assert got == expected
    rejected = expected["rejected"]
    assert [c["class"] for c in rejected] == ["WorkflowUpdateFailedError", "ApplicationError"]
    assert rejected[1]["type"] == "ValueError"
    assert rejected[1]["message"] == "item must not be empty"
    assert expected["unknown_update"] == ["WorkflowUpdateFailedError", "ApplicationError"]
    assert expected["unknown_update_cause"] == (
        "RuntimeError",
        "RuntimeError: Update handler for 'nope' expected but not found, and there is no "
        "dynamic handler",
    )
    assert expected["unknown_query"] == (
        "WorkflowQueryFailedError",
        "Query handler for 'nope' expected but not found",
    )
    assert expected["updates_recorded"] == 1
    assert expected["wait_timeout"] == [
        ("WorkflowFailureError", None),
        ("ApplicationError", "TimeoutError"),
    ]
    assert expected["chain"] == ["0:a", "1:b", "2:c"]
    assert expected["chain_describe_moved_on"] is True


async def test_method_activities_on_both_runtimes(temporal_client: Client, unique_id: str) -> None:
    async with fastcore_side() as fc:
        expected = await fc.result(await fc.start(d.UsesInventory.run, "apple", id=unique_id))
    async with temporal_side(temporal_client, unique_id, RUNNERS["passthrough-sandbox"]()) as tm:
        h = await tm.start(d.UsesInventory.run, "apple", id=unique_id)
        got = await asyncio.wait_for(tm.result(h), 30)
    assert got == expected == [5, 3]


async def test_temporalios_smaller_calls_on_both_runtimes(
    temporal_client: Client, unique_id: str
) -> None:
    """Seeds, UUIDv7, nanosecond time, failure classification, current details, the root
    and task queue a child sees, a child handle's signal: the same on both runtimes."""
    async with fastcore_side() as fc:
        expected = await fc.result(await fc.start(d.ParityCalls.run, None, id=unique_id))
    async with temporal_side(temporal_client, unique_id, RUNNERS["passthrough-sandbox"]()) as tm:
        got = await asyncio.wait_for(
            tm.result(await tm.start(d.ParityCalls.run, None, id=unique_id)), 30
        )
    assert (
        got
        == expected
        == {
            "child": [["hi"], True, True],
            "root": None,
            "original": True,
            "uuid7": 7,
            "time_ns": True,
            "same_seed": True,
            "seed_is_int": True,
            "failure": [True, False],
            "details": "all done",
            "cancel_reason": None,
            "meter": "parity_calls",
        }
    )


@pytest.mark.parametrize("runner", list(RUNNERS))
async def test_workflow_unsafe_defers_to_temporals_sandbox(
    temporal_client: Client, unique_id: str, runner: str
) -> None:
    async with fastcore_side() as fc:
        h = await fc.start(d.SandboxProbe.run, None, id=unique_id)
        on_fastcore = await fc.result(h)
    async with temporal_side(temporal_client, unique_id, RUNNERS[runner]()) as tm:
        h = await tm.start(d.SandboxProbe.run, None, id=unique_id)
        on_temporal = await asyncio.wait_for(tm.result(h), 30)
    same = {"passed_through": True, "replaying": False, "json": '{"ok": true}'}
    assert on_fastcore == {"in_sandbox": False, **same}
    # in Temporal's sandbox the calls are temporalio's own
    assert on_temporal == {"in_sandbox": True, **same}


async def test_sandbox_still_guards_fastcore_code(temporal_client: Client, unique_id: str) -> None:
    """The fastcore code runs inside the sandbox: a wall-clock read is refused there."""
    async with fastcore_side() as fc:
        assert isinstance(await fc.engine.execute_workflow(d.ReadsTheClock.run, id=unique_id), str)
    for runner in RUNNERS.values():
        async with temporal_side(temporal_client, unique_id, runner()) as tm:
            h = await tm.start(d.ReadsTheClock.run, None, id=f"{unique_id}-{id(runner)}")
            with pytest.raises(temporalio.client.WorkflowFailureError) as failed:
                await asyncio.wait_for(h.result(), 30)
        cause = failed.value.cause
        assert isinstance(cause, temporalio.exceptions.ApplicationError)
        assert cause.type == "RestrictedWorkflowAccessError"


async def test_unsandboxed_runner_works_too(temporal_client: Client, unique_id: str) -> None:
    async with fastcore_side() as fc:
        expected = await failure_transcript(
            fc, unique_id, d.FailsInChild.run, d.Order("k", "s", 101)
        )
    skipper = TimeSkipper(temporal_client, config=TimeSkippingConfig(enabled=False))
    async with Worker(
        temporal_client,
        task_queue=unique_id,
        workflows=[as_temporal_workflow(c) for c in WORKFLOWS],
        activities=as_temporal_activities([d.reserve, d.charge, d.render]),
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        got = await asyncio.wait_for(
            failure_transcript(
                TemporalSide(skipper, unique_id),
                unique_id,
                d.FailsInChild.run,
                d.Order("k", "s", 101),
            ),
            30,
        )
    assert got == expected


MAIN_SCRIPT = """
import asyncio, os, sys
from datetime import timedelta
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from bridge.on_temporal import as_temporal_activities, as_temporal_workflow, sandbox_restrictions
from fastcore import activity, workflow

@activity.defn
async def shout(text: str) -> str:
    return text.upper()

@workflow.defn
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            shout, f"hello {name}", start_to_close_timeout=timedelta(seconds=10)
        )

async def main(target: str, queue: str) -> None:
    client = await Client.connect(target)
    runners = [SandboxedWorkflowRunner(),
               SandboxedWorkflowRunner(restrictions=sandbox_restrictions())]
    for i, runner in enumerate(runners):
        async with Worker(client, task_queue=f"{queue}-{i}", workflow_runner=runner,
                          workflows=[as_temporal_workflow(Hello)],
                          activities=as_temporal_activities([shout])):
            print(await client.execute_workflow(
                Hello.run, "world", id=f"{queue}-{i}", task_queue=f"{queue}-{i}"))

if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    sys.stdout.flush()
    # Interpreter shutdown after temporalio's core sometimes aborts (plain temporalio
    # scripts too, nothing of ours involved): leave without it.
    os._exit(0)
"""


async def test_workflow_defined_in_a_script(
    temporal_server: Any, unique_id: str, tmp_path: Path
) -> None:
    """A fastcore class in ``__main__`` runs in the sandbox, which loads the script anew."""
    script = tmp_path / "hello.py"
    script.write_text(MAIN_SCRIPT)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        temporal_server.target,
        unique_id,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().split() == ["HELLO", "WORLD", "HELLO", "WORLD"]


# ---------------------------------------------------------------- the generated definitions


def test_twin_class_mirrors_the_fastcore_definition() -> None:
    twin = as_temporal_workflow(d.Checkout)
    assert as_temporal_workflow(d.Checkout) is twin
    assert as_temporal_workflow(twin) is twin
    defn = temporalio.workflow._Definition.must_from_class(twin)
    assert defn.name == "Checkout"
    assert defn.sandboxed is True
    assert defn.arg_types == [d.Order]
    assert set(defn.signals) == {"approve"}
    assert set(defn.queries) == {"get_status", "summary"}
    assert set(defn.updates) == {"add_item", "fail_update"}
    assert defn.updates["add_item"].validator is not None
    assert defn.updates["add_item"].arg_types == [str]
    assert defn.updates["add_item"].ret_type is int
    # temporalio's client accepts the fastcore class's own methods
    assert temporalio.workflow._Definition.must_from_run_fn(d.Checkout.run) is defn
    # the sandbox finds the class by its module and name
    import bridge.on_temporal._workflow as tw

    assert getattr(tw, twin.__name__) is twin
    assert twin.__name__.startswith("Checkout_Temporal_")
    with pytest.raises(AttributeError):
        tw.nothing_here  # noqa: B018


def test_failure_exception_types_carry_over() -> None:
    defn = temporalio.workflow._Definition.must_from_class(as_temporal_workflow(d.ReadsTheClock))
    assert defn.failure_exception_types == [Exception]


def test_refuses_what_it_cannot_run() -> None:
    class NotAWorkflow:
        pass

    with pytest.raises(InvalidArgumentError):
        as_temporal_workflow(NotAWorkflow)

    @fc_workflow.defn
    class Local:
        @fc_workflow.run
        async def run(self) -> None:
            return None

    with pytest.raises(ValueError, match="module level"):
        as_temporal_workflow(Local)


def test_dynamic_handlers_and_init_args() -> None:
    twin = as_temporal_workflow(DynamicThings)
    defn = temporalio.workflow._Definition.must_from_class(twin)
    assert None in defn.signals and None in defn.queries and None in defn.updates
    assert defn.updates[None].validator is not None
    twin2 = as_temporal_workflow(InitArgs)
    assert temporalio.workflow._Definition.must_from_class(twin2).arg_types == [str, int]


@fc_workflow.defn
class DynamicThings:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @fc_workflow.run
    async def run(self) -> list[Any]:
        await fc_workflow.wait_condition(lambda: len(self.seen) >= 2)
        return self.seen

    @fc_workflow.signal(dynamic=True)
    def any_signal(self, name: str, args: list[Any]) -> None:
        self.seen.append([name, *args])

    @fc_workflow.query(dynamic=True)
    def any_query(self, name: str, args: list[Any]) -> Any:
        return [name, *args, len(self.seen)]

    @fc_workflow.update(dynamic=True)
    def any_update(self, name: str, args: list[Any]) -> int:
        self.seen.append([name, *args])
        return len(self.seen)

    @any_update.validator
    def _check(self, name: str, args: list[Any]) -> None:
        if name == "forbidden":
            raise ApplicationError("no", type="Forbidden")


@fc_workflow.defn
class InitArgs:
    @fc_workflow.init
    def __init__(self, who: str, n: int) -> None:
        self.greeting = f"{who} x{n}"

    @fc_workflow.run
    async def run(self, who: str, n: int) -> str:
        return f"{self.greeting} / {fc_workflow.info().workflow_type} / {who}"


async def test_dynamic_handlers_and_init_args_on_both(
    temporal_client: Client, unique_id: str
) -> None:
    async def drive(side: Side, wf_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        h = await side.start(DynamicThings.run, None, id=wf_id)
        await h.signal("ping", args=[1, "x"])
        out["query"] = await h.query("whatever", 7)
        with pytest.raises(Exception) as rejected:
            await h.execute_update("forbidden")
        out["rejected"] = error_chain(rejected.value)
        out["update"] = await h.execute_update("grow", {"k": "v"})
        out["result"] = await side.result(h)
        return out

    async with Engine(workflows=[DynamicThings, InitArgs], clock=VirtualClock()) as engine:
        expected = await drive(FastcoreSide(engine), unique_id)
        init_expected = await engine.execute_workflow(InitArgs.run, "ann", 3, id=f"{unique_id}-i")
    skipper = TimeSkipper(temporal_client, config=TimeSkippingConfig(enabled=False))
    async with Worker(
        temporal_client,
        task_queue=unique_id,
        workflows=[as_temporal_workflow(DynamicThings), as_temporal_workflow(InitArgs)],
    ):
        got = await asyncio.wait_for(drive(TemporalSide(skipper, unique_id), unique_id), 30)
        init_got = await temporal_client.execute_workflow(
            InitArgs.run, args=["ann", 3], id=f"{unique_id}-i", task_queue=unique_id
        )
    assert got == expected
    assert init_got == init_expected == "ann x3 / InitArgs / ann"


# ---------------------------------------------------------------- failures, both ways


def test_errors_convert_both_ways() -> None:
    app = ApplicationError(
        "boom", {"a": 1}, 2, type="Boom", non_retryable=True, next_retry_delay=timedelta(seconds=3)
    )
    act = ActivityError(
        "Activity task failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="me",
        activity_type="reserve",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    act.__cause__ = app
    t = temporal_error(act)
    assert isinstance(t, temporalio.exceptions.ActivityError)
    assert (t.activity_type, t.activity_id, t.scheduled_event_id, t.identity) == (
        "reserve",
        "1",
        5,
        "me",
    )
    assert t.retry_state == temporalio.exceptions.RetryState.NON_RETRYABLE_FAILURE
    tc = t.__cause__
    assert isinstance(tc, temporalio.exceptions.ApplicationError)
    assert (tc.message, tc.type, list(tc.details), tc.non_retryable, tc.next_retry_delay) == (
        "boom",
        "Boom",
        [{"a": 1}, 2],
        True,
        timedelta(seconds=3),
    )
    back = fastcore_error(t)
    assert error_chain(back) == error_chain(act)
    assert temporal_error(back) is t  # the temporalio original comes back unchanged

    timeout = temporal_error(
        TimeoutError("late", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[4])
    )
    assert isinstance(timeout, temporalio.exceptions.TimeoutError)
    assert timeout.type == temporalio.exceptions.TimeoutType.HEARTBEAT
    assert list(timeout.last_heartbeat_details) == [4]
    child = ChildWorkflowError(
        "Child Workflow execution failed", workflow_id="c", run_id="r", workflow_type="Receipt"
    )
    child.__cause__ = CancelledError("stop", "why")
    tchild = temporal_error(child)
    assert isinstance(tchild, temporalio.exceptions.ChildWorkflowError)
    assert isinstance(tchild.__cause__, temporalio.exceptions.CancelledError)
    assert error_chain(fastcore_error(tchild)) == error_chain(child)
    plain = ValueError("not a failure")
    assert temporal_error(plain) is plain and fastcore_error(plain) is plain


def test_activity_wrappers() -> None:
    import temporalio.activity

    acts = as_temporal_activities(ACTIVITIES)
    assert as_temporal_activity(d.reserve) is acts[0]
    names = [temporalio.activity._Definition.must_from_callable(a).name for a in acts]
    assert names == [ActivityDefinition.from_fn(a).name for a in ACTIVITIES]
    assert names[-2:] == ["count", "inventory_take"]  # method activities, one renamed
    pack_defn = temporalio.activity._Definition.must_from_callable(acts[2])
    assert pack_defn.is_async is False
    assert pack_defn.no_thread_cancel_exception is True
    assert pack_defn.arg_types == [str, list[str]]
    assert temporalio.activity._Definition.must_from_callable(acts[0]).is_async is True


def test_one_resolver_however_often_bridge_is_imported() -> None:
    """A sandbox that re-imports bridge but passes fastcore through adds no resolver."""
    from fastcore.integration import registered_resolvers

    spec = importlib.util.find_spec("bridge.on_temporal._runtime")
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    ours = [r for r in registered_resolvers() if getattr(r, "__fastcore_temporal__", False)]
    assert len(ours) == 1
    assert not fc_workflow.in_workflow()  # outside any workflow the resolver answers None
    assert ours[0]() is None
    assert isinstance(copy.TemporalRuntime(), copy.TemporalRuntime)


def test_sandbox_restrictions_pass_fastcore_and_bridge_through() -> None:
    r = sandbox_restrictions()
    assert {"fastcore", "bridge"} <= r.passthrough_modules
    base = dataclasses.replace(r, passthrough_modules={"x"})
    assert sandbox_restrictions(base).passthrough_modules == {"x", "fastcore", "bridge"}
