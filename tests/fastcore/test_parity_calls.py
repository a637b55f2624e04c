"""What the parity comparison found missing and fastcore now has, each as temporalio has it:
the run's seed and nanosecond time, UUIDv7, failure classification, the cancel's reason,
current details and the metadata query, ``Info``'s root, original run id, start time, raw
memo and task queue, unfinished-handler warnings, the read-only context error, activity
classes and the ``_class``/``_method`` calls, dynamic workflow configs, child handles that
signal, external cancels with a reason, continue-as-new's backoff, ``activity.client()``.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import temporalio.workflow

from fastcore import Engine, activity, workflow
from fastcore.common import Priority, RawValue
from fastcore.errors import (
    ApplicationError,
    FailureError,
    InvalidArgumentError,
    ReadOnlyContextError,
    TemporalError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowQueryFailedError,
)
from fastcore.testing import VirtualClock

T = timedelta(seconds=10)


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- determinism


@workflow.defn
class Deterministic:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @workflow.run
    async def run(self) -> list[Any]:
        named = workflow.new_random("x")
        self.seen = [
            workflow.random_seed(),
            workflow.new_random().random(),
            named.random(),
            workflow.time_ns(),
            str(workflow.uuid7()),
        ]
        workflow.register_random_seed_callback(lambda seed: None)
        return self.seen

    @workflow.query
    def again(self) -> list[Any]:
        return self.seen


async def test_seed_time_and_uuid7_are_the_runs_and_replay_gives_them_again(
    store_url: str,
) -> None:
    async with Engine(store_url, workflows=[Deterministic]) as engine:
        handle = await engine.start_workflow(Deterministic.run, id=wid())
        seed, first, named, ns, u7 = await handle.result()
        assert isinstance(seed, int)
        assert first != named  # a name is mixed into the seed
        # nanoseconds of the workflow's own time, and a v7 UUID whose time part is it
        assert abs(ns / 1e9 - (await handle.describe()).start_time.timestamp()) < 1
        parsed = uuid.UUID(u7)
        assert parsed.version == 7
        assert parsed.int >> 80 == ns // 1_000_000
    async with Engine(store_url, workflows=[Deterministic]) as engine:
        # a query on the closed run replays its code: the same values again
        if store_url != "memory":
            again = await engine.get_workflow_handle(handle.id).query(Deterministic.again)
            assert again == [seed, first, named, ns, u7]


# ---------------------------------------------------------------- failures and cancels


class Boom(Exception):
    pass


@workflow.defn(failure_exception_types=[Boom])
class Classifies:
    @workflow.run
    async def run(self) -> list[bool]:
        return [
            workflow.is_failure_exception(ApplicationError("x")),
            workflow.is_failure_exception(Boom()),
            workflow.is_failure_exception(TimeoutError()),
            workflow.is_failure_exception(ValueError()),
        ]


@workflow.defn
class Cancellable:
    @workflow.run
    async def run(self) -> str | None:
        assert workflow.cancellation_reason() is None
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            return workflow.cancellation_reason()
        return "not cancelled"


@workflow.defn
class CancelsAnother:
    @workflow.run
    async def run(self, target: str) -> None:
        await workflow.get_external_workflow_handle(target).cancel(reason="no longer needed")


async def test_failure_classification_and_the_cancel_reason(store_url: str) -> None:
    async with Engine(store_url, workflows=[Classifies, Cancellable, CancelsAnother]) as engine:
        assert await engine.execute_workflow(Classifies.run, id=wid()) == [
            True,
            True,
            True,
            False,
        ]
        handle = await engine.start_workflow(Cancellable.run, id=wid())
        await handle.cancel(reason="the customer left")
        assert await handle.result() == "the customer left"
        other = await engine.start_workflow(Cancellable.run, id=wid())
        await engine.execute_workflow(CancelsAnother.run, other.id, id=wid())
        assert await other.result() == "no longer needed"


async def test_a_query_that_issues_a_command_raises_read_only_context_error() -> None:
    @workflow.defn
    class Sneaky:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.query
        def sneak(self) -> None:
            workflow.upsert_memo({"k": 1})

    async with Engine(workflows=[Sneaky]) as engine:
        handle = await engine.start_workflow(Sneaky.run, id=wid())
        with pytest.raises(WorkflowQueryFailedError) as info:
            await handle.query(Sneaky.sneak)
        assert isinstance(info.value.__cause__, ReadOnlyContextError)
        await handle.terminate()


def test_errors_are_shaped_as_temporalios() -> None:
    err = WorkflowAlreadyStartedError("w", "T", run_id="r", first_run_id="f")
    assert isinstance(err, FailureError) and isinstance(err, TemporalError)
    assert (err.workflow_id, err.run_id, err.first_run_id) == ("w", "r", "f")
    assert isinstance(InvalidArgumentError("x"), TemporalError)


# ---------------------------------------------------------------- details and metadata


@workflow.defn
class Detailed:
    @workflow.run
    async def run(self) -> str:
        assert workflow.get_current_details() == ""
        workflow.set_current_details("step 1 of 2")
        await workflow.wait_condition(lambda: False)
        return workflow.get_current_details()

    @workflow.signal(description="Go on.")
    def go(self) -> None: ...

    @workflow.update
    def change(self) -> None: ...

    @workflow.query(description="Where it is.")
    def where(self) -> str:
        return workflow.get_current_details()


async def test_current_details_and_the_metadata_query(store_url: str) -> None:
    async with Engine(store_url, workflows=[Detailed]) as engine:
        handle = await engine.start_workflow(Detailed.run, id=wid())
        assert await handle.query(Detailed.where) == "step 1 of 2"
        meta = await handle.query("__temporal_workflow_metadata")
        assert meta["current_details"] == "step 1 of 2"
        definition = meta["definition"]
        assert definition["type"] == "Detailed"
        assert {"name": "where", "description": "Where it is."} in definition["query_definitions"]
        assert {d["name"] for d in definition["query_definitions"]} >= {
            "__stack_trace",
            "__temporal_workflow_metadata",
        }
        assert definition["signal_definitions"] == [{"name": "go", "description": "Go on."}]
        assert definition["update_definitions"] == [{"name": "change", "description": ""}]
        await handle.terminate()
    with pytest.raises(TypeError, match="needs a str"):
        workflow.set_current_details(5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- info


@activity.defn
async def where_am_i() -> list[Any]:
    info = activity.info()
    return [info.task_queue, info.is_local, activity.client() is _ENGINE[0]]


_ENGINE: list[Engine] = []


@workflow.defn
class Child:
    @workflow.run
    async def run(self) -> list[Any]:
        info = workflow.info()
        root = info.root
        return [info.task_queue, root.workflow_id if root else None, info.parent is not None]


@workflow.defn
class Parent:
    @workflow.run
    async def run(self) -> dict[str, Any]:
        info = workflow.info()
        child = await workflow.execute_child_workflow(Child.run, id=f"{info.workflow_id}-c")
        other_queue = await workflow.execute_child_workflow(
            Child.run, id=f"{info.workflow_id}-q", task_queue="elsewhere"
        )
        remote = await workflow.execute_activity(where_am_i, start_to_close_timeout=T)
        local = await workflow.execute_local_activity(where_am_i, start_to_close_timeout=T)
        return {
            "root": info.root,
            "original": info.original_execution_run_id == info.run_id,
            "started": info.workflow_start_time == info.start_time,
            "memo": sorted(info.raw_memo),
            "headers": dict(info.headers),
            "priority": info.priority == Priority.default,
            "child": child,
            "other_queue": other_queue,
            "remote": remote,
            "local": local,
        }


async def test_info_root_task_queues_and_activity_client(store_url: str) -> None:
    async with Engine(store_url, workflows=[Parent, Child], activities=[where_am_i]) as engine:
        _ENGINE[:] = [engine]
        parent_id = wid()
        out = await engine.execute_workflow(
            Parent.run, id=parent_id, task_queue="orders", memo={"owner": "ann"}
        )
    assert out["root"] is None  # a top-level workflow has no root, as on Temporal
    assert out["original"] and out["started"] and out["priority"]
    assert out["memo"] == ["owner"] and out["headers"] == {}
    # a child runs on its parent's task queue unless it names one; its root is the parent
    assert out["child"] == ["orders", parent_id, True]
    assert out["other_queue"] == ["elsewhere", parent_id, True]
    # an activity runs on its workflow's task queue; is_local says which kind it is
    assert out["remote"] == ["orders", False, True]
    assert out["local"] == ["orders", True, True]


# ---------------------------------------------------------------- unfinished handlers


@workflow.defn
class LeavesHandlers:
    def __init__(self) -> None:
        self.started = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.started == 2)

    @workflow.update
    async def warned(self) -> None:
        self.started += 1
        await workflow.wait_condition(lambda: False)

    @workflow.signal(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def quiet(self) -> None:
        self.started += 1
        await workflow.wait_condition(lambda: False)


async def test_a_run_that_closes_under_running_handlers_warns_as_temporalio() -> None:
    async with Engine(workflows=[LeavesHandlers]) as engine:
        handle = await engine.start_workflow(LeavesHandlers.run, id=wid())
        await handle.signal(LeavesHandlers.quiet)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            update = asyncio.ensure_future(handle.execute_update(LeavesHandlers.warned, id="u1"))
            await handle.result()
        update.cancel()
    (warning,) = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert warning.category is workflow.UnfinishedUpdateHandlersWarning
    text = str(warning.message)
    assert text.startswith("[TMPRL1102] Workflow finished while update handlers are still")
    assert '[{"name": "warned", "id": "u1"}]' in text
    # the ABANDON signal handler is not mentioned: no UnfinishedSignalHandlersWarning


def test_handler_policies_have_temporalios_values_and_defaults() -> None:
    assert {p.name: p.value for p in workflow.HandlerUnfinishedPolicy} == {
        p.name: p.value for p in temporalio.workflow.HandlerUnfinishedPolicy
    }
    for fn in (workflow.signal, workflow.update):
        default = inspect.signature(fn).parameters["unfinished_policy"].default
        assert default is workflow.HandlerUnfinishedPolicy.WARN_AND_ABANDON


# ---------------------------------------------------------------- activity classes


@activity.defn
class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    async def __call__(self, name: str) -> str:
        return f"{self.greeting}, {name}"


class Store:
    @activity.defn
    def read(self, key: str) -> str:
        return key.upper()


@workflow.defn
class UsesClasses:
    @workflow.run
    async def run(self) -> list[str]:
        return [
            await workflow.execute_activity_class(Greeter, "ann", start_to_close_timeout=T),
            await workflow.start_activity_class(Greeter, "bob", start_to_close_timeout=T),
            await workflow.execute_local_activity_class(Greeter, "cy", start_to_close_timeout=T),
            await workflow.execute_activity_method(Store.read, "k", start_to_close_timeout=T),
        ]


async def test_activity_classes_and_the_class_and_method_calls(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[UsesClasses], activities=[Greeter("Hello"), Store().read]
    ) as engine:
        assert await engine.execute_workflow(UsesClasses.run, id=wid()) == [
            "Hello, ann",
            "Hello, bob",
            "Hello, cy",
            "K",
        ]
    with pytest.raises(InvalidArgumentError, match="is a class: register an instance"):
        Engine(workflows=[UsesClasses], activities=[Greeter])
    for name in ("execute_activity_method", "start_activity_class"):
        assert "result_type" not in inspect.signature(getattr(workflow, name)).parameters


# ---------------------------------------------------------------- dynamic config


@workflow.defn(dynamic=True)
class Dynamic:
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> None:
        raise ValueError(f"{workflow.info().workflow_type} failed")

    @workflow.dynamic_config
    def config(self) -> workflow.DynamicWorkflowConfig:
        return workflow.DynamicWorkflowConfig(failure_exception_types=[ValueError])


async def test_a_dynamic_workflows_config_sets_its_failure_types() -> None:
    async with Engine(workflows=[Dynamic]) as engine:
        with pytest.raises(WorkflowFailureError) as info:
            await engine.execute_workflow("Anything", id=wid())
        assert "Anything failed" in str(info.value.cause)
    with pytest.raises(ValueError, match="only dynamic workflows"):

        @workflow.defn
        class NotDynamic:
            @workflow.run
            async def run(self) -> None: ...

            @workflow.dynamic_config
            def config(self) -> workflow.DynamicWorkflowConfig:
                return workflow.DynamicWorkflowConfig()


# ---------------------------------------------------------------- children and continue-as-new


@workflow.defn
class Listener:
    def __init__(self) -> None:
        self.heard: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.heard) == 2)
        return self.heard

    @workflow.signal
    def hear(self, word: str) -> None:
        self.heard.append(word)


@workflow.defn
class Talker:
    @workflow.run
    async def run(self) -> list[str]:
        child = await workflow.start_child_workflow(
            Listener.run, id=f"{workflow.info().workflow_id}-l", priority=Priority(1)
        )
        await child.signal(Listener.hear, "hello")
        await child.signal("hear", args=["again"])
        return await child


@workflow.defn
class Backs:
    @workflow.run
    async def run(self, started: float) -> float:
        if started:
            return workflow.time() - started
        workflow.continue_as_new(workflow.time(), backoff_start_interval=timedelta(hours=1))


async def test_child_handles_signal_and_continue_as_new_backs_off(store_url: str) -> None:
    async with Engine(store_url, workflows=[Talker, Listener, Backs], clock=VirtualClock()) as e:
        assert await e.execute_workflow(Talker.run, id=wid()) == ["hello", "again"]
        assert await e.execute_workflow(Backs.run, 0.0, id=wid()) >= 3600


# ---------------------------------------------------------------- metric meters


@activity.defn
async def count_it() -> None:
    meter = activity.metric_meter()
    meter.create_counter("fc_test_activity_calls", "Calls.").add(1, {"kind": "a"})


@workflow.defn
class Measures:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> None:
        meter = workflow.metric_meter().with_additional_attributes({"team": "orders"})
        meter.create_counter("fc_test_runs", "Runs.", "1").add(1)
        meter.create_histogram_timedelta("fc_test_wait").record(timedelta(seconds=2))
        meter.create_gauge_float("fc_test_level").set(0.5, {"where": "start"})
        await workflow.execute_activity(count_it, start_to_close_timeout=T)
        await workflow.wait_condition(lambda: self.go)
        meter.create_counter("fc_test_runs").add(1)

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


def _points(reader: Any) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    out: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name.startswith("fc_test_"):
                    for p in m.data.data_points:
                        value = getattr(p, "value", None)
                        if value is None:
                            value = p.sum
                        out.setdefault(m.name, []).append((value, dict(p.attributes)))
    return out


async def test_metric_meters_record_through_the_engines_meter_and_not_on_replay(
    tmp_path: Any,
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    store = f"sqlite:///{tmp_path}/m.db"
    options: dict[str, Any] = {"workflows": [Measures], "activities": [count_it]}
    async with Engine(store, meter_provider=provider, **options) as engine:
        handle = await engine.start_workflow(Measures.run, id=wid(), task_queue="q1")
        # wait until the activity has completed (the run then waits for the signal)
        while not any(
            e.event_type.name == "ACTIVITY_TASK_COMPLETED" for e in await handle.fetch_history()
        ):
            await asyncio.sleep(0.01)
    # a new engine replays the open run: nothing recorded again until new code runs
    async with Engine(store, meter_provider=provider, **options) as engine:
        handle = engine.get_workflow_handle(handle.id)
        await handle.signal(Measures.proceed)
        await handle.result()
    points = _points(reader)
    tags = {"namespace": "default", "task_queue": "q1", "workflow_type": "Measures"}
    # one add per engine's meter stream: 2 in all, none again while the second engine replayed
    assert {tuple(sorted(a.items())) for _, a in points["fc_test_runs"]} == {
        tuple(sorted({**tags, "team": "orders"}.items()))
    }
    assert sum(v for v, _ in points["fc_test_runs"]) == 2
    assert points["fc_test_level"] == [(0.5, {**tags, "team": "orders", "where": "start"})]
    (wait,) = points["fc_test_wait"]
    assert wait[1] == {**tags, "team": "orders"}
    assert points["fc_test_activity_calls"] == [
        (1, {"namespace": "default", "task_queue": "q1", "activity_type": "count_it", "kind": "a"})
    ]
    with pytest.raises(ValueError, match="cannot be negative"):
        from fastcore.common import MetricMeter

        MetricMeter.noop.create_counter("x").add(-1)


# ---------------------------------------------------------------- children's cron and attributes


@workflow.defn
class Tagged:
    @workflow.run
    async def run(self) -> str:
        return "tagged"


@workflow.defn
class StartsTagged:
    @workflow.run
    async def run(self) -> str:
        from fastcore.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

        wid_ = workflow.info().workflow_id
        tagged = await workflow.execute_child_workflow(
            Tagged.run,
            id=f"{wid_}-tagged",
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SearchAttributeKey.for_keyword("Team"), "orders")]
            ),
        )
        await workflow.start_child_workflow(
            Tagged.run,
            id=f"{wid_}-cron",
            cron_schedule="0 * * * *",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        return tagged


async def test_a_childs_search_attributes_and_cron_schedule(store_url: str) -> None:
    from fastcore.common import SearchAttributeKey

    async with Engine(store_url, workflows=[StartsTagged, Tagged], clock=VirtualClock()) as e:
        parent = wid()
        assert await e.execute_workflow(StartsTagged.run, id=parent) == "tagged"
        tagged = await e.get_workflow_handle(f"{parent}-tagged").describe()
        assert tagged.typed_search_attributes.get(SearchAttributeKey.for_keyword("Team")) == (
            "orders"
        )
        cron = await e.get_workflow_handle(f"{parent}-cron").fetch_history()
        assert cron[0].attributes["cron_schedule"] == "0 * * * *"
        assert (await e.count_workflows(f"WorkflowId = '{parent}-tagged'")).count == 1
