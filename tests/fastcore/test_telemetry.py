"""fastcore's spans and metrics: names, attributes, parents, replay safety, metric values.

Every test hands the engine its own tracer/meter provider with in-memory exporters (STYLE.md
practice 10); the global providers are only touched in subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from fastcore import Engine, RetryPolicy, activity, workflow
from fastcore._telemetry import Telemetry
from fastcore.errors import ApplicationError, WorkflowFailureError, WorkflowUpdateFailedError

ROOT = Path(__file__).resolve().parents[2]
T = timedelta(seconds=10)
FAST_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=1), maximum_attempts=5)


# ---------------------------------------------------------------------- definitions


@activity.defn
async def increment(value: int) -> int:
    return value + 1


@activity.defn
def increment_sync(value: int) -> int:
    return value + 1


SEEN_SPANS: list[tuple[str, int]] = []


@activity.defn
async def where_am_i(tag: str) -> int:
    sc = trace.get_current_span().get_span_context()
    SEEN_SPANS.append((tag, sc.span_id))
    await asyncio.sleep(0)  # goes on as a task: the span must stay current
    assert trace.get_current_span().get_span_context().span_id == sc.span_id
    return sc.span_id


@activity.defn
def where_am_i_sync(tag: str) -> int:
    sc = trace.get_current_span().get_span_context()
    SEEN_SPANS.append((tag, sc.span_id))
    return sc.span_id


FAILS: dict[str, int] = {}


@activity.defn
async def flaky(key: str, failures: int) -> str:
    n = FAILS[key] = FAILS.get(key, 0) + 1
    if n <= failures:
        raise ApplicationError(f"try {n} failed", type="Flaky")
    return f"ok after {n}"


@activity.defn
async def too_slow() -> None:
    await asyncio.sleep(5)


@workflow.defn
class Three:
    @workflow.run
    async def run(self, value: int) -> int:
        for _ in range(3):
            value = await workflow.execute_activity(increment, value, start_to_close_timeout=T)
        return value


@workflow.defn
class WhereAmI:
    @workflow.run
    async def run(self) -> list[int]:
        a = await workflow.execute_activity(where_am_i, "async", start_to_close_timeout=T)
        b = await workflow.execute_activity(where_am_i_sync, "sync", start_to_close_timeout=T)
        return [a, b]


@workflow.defn
class Flaky:
    @workflow.run
    async def run(self, key: str, failures: int) -> str:
        return await workflow.execute_activity(
            flaky, args=[key, failures], start_to_close_timeout=T, retry_policy=FAST_RETRY
        )


@workflow.defn
class TimesOut:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            too_slow,
            start_to_close_timeout=timedelta(milliseconds=20),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn
class Fails:
    @workflow.run
    async def run(self) -> None:
        raise ApplicationError("it broke", type="Broken")


@workflow.defn
class Child:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(increment, value, start_to_close_timeout=T)


@workflow.defn
class Parent:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_child_workflow(Child.run, value, id=f"child-{uuid.uuid4()}")


@workflow.defn
class Looping:
    @workflow.run
    async def run(self, left: int) -> int:
        await workflow.execute_activity(increment, left, start_to_close_timeout=T)
        if left > 0:
            workflow.continue_as_new(left - 1)
        return left


@workflow.defn
class Handlers:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.done)
        return self.items

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def count(self) -> int:
        return len(self.items)

    @workflow.update
    async def add_checked(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @add_checked.validator
    def check(self, item: str) -> None:
        if not item:
            raise ValueError("empty item")


BUGGY = {"on": True}


@workflow.defn
class Buggy:
    @workflow.run
    async def run(self) -> str:
        if BUGGY["on"]:
            raise RuntimeError("a bug, not a failure")
        await workflow.execute_activity(increment, 1, start_to_close_timeout=T)
        return "fixed"


ALL_WORKFLOWS = [Three, WhereAmI, Flaky, TimesOut, Fails, Child, Parent, Looping, Handlers, Buggy]
ALL_ACTIVITIES = [increment, increment_sync, where_am_i, where_am_i_sync, flaky, too_slow]


# ---------------------------------------------------------------------- fixtures and helpers


class Traced:
    """A tracer provider with an in-memory exporter, and views of what it recorded."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, (name, [s.name for s in self.spans])
        return found[0]

    def parent_name(self, span: ReadableSpan) -> str | None:
        if span.parent is None:
            return None
        for s in self.spans:
            assert s.context is not None
            if s.context.span_id == span.parent.span_id:
                return s.name
        return "<missing>"


@pytest.fixture
def traced() -> Iterator[Traced]:
    t = Traced()
    yield t
    t.provider.shutdown()


class Metered:
    """A meter provider with an in-memory reader; ``value(name, **attrs)`` sums matching points."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        out = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        out.extend(m.data.data_points)
        return out

    def value(self, name: str, **attrs: str) -> float:
        total = 0.0
        for p in self.points(name):
            if all(p.attributes.get(k) == v for k, v in attrs.items()):
                total += p.count if hasattr(p, "bucket_counts") else p.value
        return total


@pytest.fixture
def metered() -> Iterator[Metered]:
    m = Metered()
    yield m
    m.provider.shutdown()


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


def engine(store_url: str = "memory", **kw: Any) -> Engine:
    return Engine(store_url, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES, **kw)


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


# ---------------------------------------------------------------------- no provider: no cost


async def test_no_provider_means_the_no_op_hooks() -> None:
    async with engine() as e:
        assert type(e.telemetry) is Telemetry
        assert e.telemetry.enabled is False
        assert await e.execute_workflow(Three.run, 0, id=wid()) == 3


def _run_script(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


_SCRIPT_WORKFLOW = """
import asyncio, sys
from datetime import timedelta
from fastcore import Engine, activity, workflow

@activity.defn
async def increment(v: int) -> int:
    return v + 1

@workflow.defn
class Three:
    @workflow.run
    async def run(self, v: int) -> int:
        for _ in range(3):
            v = await workflow.execute_activity(
                increment, v, start_to_close_timeout=timedelta(seconds=5)
            )
        return v
"""


def test_an_engine_without_providers_does_not_import_opentelemetry() -> None:
    code = (
        _SCRIPT_WORKFLOW
        + """
async def main():
    async with Engine(workflows=[Three], activities=[increment]) as e:
        assert await e.execute_workflow(Three.run, 0, id="w") == 3
        assert not e.telemetry.enabled
asyncio.run(main())
assert not [m for m in sys.modules if m.startswith("opentelemetry")], "opentelemetry was imported"
print("ok")
"""
    )
    out = _run_script(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_fastcore_runs_without_opentelemetry_installed() -> None:
    code = (
        """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
"""
        + _SCRIPT_WORKFLOW
        + """
sys.modules["opentelemetry"] = None  # even "imported but unusable" must not matter
async def main():
    async with Engine(workflows=[Three], activities=[increment]) as e:
        assert await e.execute_workflow(Three.run, 0, id="w") == 3
        assert not e.telemetry.enabled
asyncio.run(main())
print("ok")
"""
    )
    out = _run_script(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_global_providers_are_the_fallback() -> None:
    code = (
        _SCRIPT_WORKFLOW
        + """
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

async def run_one(wid):
    async with Engine(workflows=[Three], activities=[increment]) as e:
        await e.execute_workflow(Three.run, 0, id=wid)
        return e.telemetry.enabled

# opentelemetry imported, globals not set: still the no-op
assert asyncio.run(run_one("a")) is False
exporter = InMemorySpanExporter()
tp = TracerProvider()
tp.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(tp)
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
assert asyncio.run(run_one("b")) is True
names = sorted(s.name for s in exporter.get_finished_spans())
print(names.count("RunActivity:increment"), names.count("RunWorkflow:Three"))
started = [p.value for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
           for m in sm.metrics if m.name == "fastcore.workflow.started" for p in m.data.data_points]
print(started)
"""
    )
    out = _run_script(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["3 1", "[1]"]


async def test_a_tracer_provider_alone_records_no_metrics(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        assert e.telemetry.enabled
        await e.execute_workflow(Three.run, 0, id=wid())
    assert len(traced.named("RunActivity:increment")) == 3


# ---------------------------------------------------------------------- span names and chain


async def test_three_activities_one_trace_exact_chain(traced: Traced, store_url: str) -> None:
    workflow_id = wid()
    async with engine(store_url, tracer_provider=traced.provider) as e:
        with traced.tracer.start_as_current_span("caller") as caller:
            h = await e.start_workflow(Three.run, 0, id=workflow_id)
            assert await h.result() == 3
    names = sorted(s.name for s in traced.spans)
    assert names == sorted(
        ["caller", "StartWorkflow:Three", "RunWorkflow:Three"]
        + ["StartActivity:increment"] * 3
        + ["RunActivity:increment"] * 3
    )
    assert len({s.context.trace_id for s in traced.spans if s.context}) == 1
    start = traced.one("StartWorkflow:Three")
    run = traced.one("RunWorkflow:Three")
    assert parent_id(start) == caller.get_span_context().span_id
    assert parent_id(run) == span_id(start)
    assert start.kind is SpanKind.CLIENT and run.kind is SpanKind.SERVER
    ids = {"temporalWorkflowID": workflow_id, "temporalRunID": h.result_run_id}
    assert dict(start.attributes or {}) == ids
    assert dict(run.attributes or {}) == {
        **ids,
        "fastcore.attempt": 1,
        "fastcore.outcome": "completed",
    }
    starts = traced.named("StartActivity:increment")
    runs = traced.named("RunActivity:increment")
    assert {parent_id(s) for s in starts} == {span_id(run)}
    assert sorted(parent_id(r) for r in runs) == sorted(span_id(s) for s in starts)
    for s in starts:
        assert s.kind is SpanKind.CLIENT
        assert dict(s.attributes or {}) == {
            **ids,
            "temporalActivityID": s.attributes["temporalActivityID"],
        }
    for r in runs:
        assert r.kind is SpanKind.SERVER
        assert r.attributes is not None
        assert r.attributes["fastcore.attempt"] == 1
        assert r.attributes["fastcore.outcome"] == "completed"
        assert r.attributes["temporalWorkflowID"] == workflow_id
        assert r.attributes["temporalRunID"] == h.result_run_id
        assert r.status.status_code is StatusCode.UNSET
    # RunWorkflow covers its activities
    assert run.start_time is not None and run.end_time is not None
    assert all(run.start_time <= r.start_time and r.end_time <= run.end_time for r in runs)  # type: ignore[operator]


async def test_without_a_caller_span_the_start_is_a_root(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        await e.execute_workflow(Three.run, 0, id=wid())
    assert traced.one("StartWorkflow:Three").parent is None
    assert len({s.context.trace_id for s in traced.spans if s.context}) == 1


async def test_activity_code_runs_inside_its_run_activity_span(traced: Traced) -> None:
    SEEN_SPANS.clear()
    async with engine(tracer_provider=traced.provider) as e:
        a, b = await e.execute_workflow(WhereAmI.run, id=wid())
    assert traced.one("RunActivity:where_am_i").context.span_id == a  # type: ignore[union-attr]
    assert traced.one("RunActivity:where_am_i_sync").context.span_id == b  # type: ignore[union-attr]
    assert [("async", a), ("sync", b)] == SEEN_SPANS


async def test_retries_one_start_activity_a_run_activity_per_attempt(traced: Traced) -> None:
    key = uuid.uuid4().hex
    async with engine(tracer_provider=traced.provider) as e:
        assert await e.execute_workflow(Flaky.run, args=[key, 2], id=wid()) == "ok after 3"
    start = traced.one("StartActivity:flaky")
    runs = sorted(traced.named("RunActivity:flaky"), key=lambda s: s.attributes["fastcore.attempt"])  # type: ignore[index]
    assert [r.attributes["fastcore.attempt"] for r in runs] == [1, 2, 3]  # type: ignore[index]
    assert [r.attributes["fastcore.outcome"] for r in runs] == ["failed", "failed", "completed"]  # type: ignore[index]
    assert {parent_id(r) for r in runs} == {span_id(start)}
    for r in runs[:2]:
        assert r.status.status_code is StatusCode.ERROR
        assert "try" in (r.status.description or "")
        [ev] = [ev for ev in r.events if ev.name == "exception"]
        assert ev.attributes is not None
        assert ev.attributes["exception.type"].endswith("ApplicationError")
        assert "failed" in str(ev.attributes["exception.message"])
    assert runs[2].status.status_code is StatusCode.UNSET


async def test_a_timed_out_attempt(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        with pytest.raises(WorkflowFailureError):
            await e.execute_workflow(TimesOut.run, id=wid())
    run = traced.one("RunActivity:too_slow")
    assert run.attributes is not None and run.attributes["fastcore.outcome"] == "timed_out"
    assert run.status.status_code is StatusCode.ERROR
    wf = traced.one("RunWorkflow:TimesOut")
    assert wf.attributes is not None and wf.attributes["fastcore.outcome"] == "failed"


async def test_a_failed_workflow_records_its_error(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        with pytest.raises(WorkflowFailureError):
            await e.execute_workflow(Fails.run, id=wid())
    run = traced.one("RunWorkflow:Fails")
    assert run.attributes is not None and run.attributes["fastcore.outcome"] == "failed"
    assert run.status.status_code is StatusCode.ERROR
    assert run.status.description == "Broken: it broke"
    [ev] = [ev for ev in run.events if ev.name == "exception"]
    assert ev.attributes is not None
    assert ev.attributes["exception.type"] == "Broken"
    assert ev.attributes["exception.message"] == "it broke"


async def test_child_workflow_chain(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        h = await e.start_workflow(Parent.run, 1, id=wid())
        assert await h.result() == 2
    parent_run = traced.one("RunWorkflow:Parent")
    start_child = traced.one("StartChildWorkflow:Child")
    child_run = traced.one("RunWorkflow:Child")
    assert parent_id(start_child) == span_id(parent_run)
    assert parent_id(child_run) == span_id(start_child)
    assert parent_id(traced.one("StartActivity:increment")) == span_id(child_run)
    assert start_child.kind is SpanKind.CLIENT
    assert start_child.attributes is not None
    assert start_child.attributes["temporalWorkflowID"] == h.id
    assert str(start_child.attributes["fastcore.child_workflow_id"]).startswith("child-")
    assert child_run.attributes is not None
    assert (
        child_run.attributes["temporalWorkflowID"]
        == start_child.attributes["fastcore.child_workflow_id"]
    )
    assert not traced.named("StartWorkflow:Child")
    assert len({s.context.trace_id for s in traced.spans if s.context}) == 1


async def test_continue_as_new_chains_the_runs(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        assert await e.execute_workflow(Looping.run, 2, id=wid()) == 0
    runs = traced.named("RunWorkflow:Looping")
    assert len(runs) == 3
    assert len(traced.named("StartWorkflow:Looping")) == 1
    by_id = {span_id(r): r for r in runs}
    first = [r for r in runs if parent_id(r) not in by_id]
    assert len(first) == 1
    assert parent_id(first[0]) == span_id(traced.one("StartWorkflow:Looping"))
    outcomes = []
    cur = first[0]
    while True:
        assert cur.attributes is not None
        outcomes.append(cur.attributes["fastcore.outcome"])
        nxt = [r for r in runs if parent_id(r) == span_id(cur)]
        if not nxt:
            break
        cur = nxt[0]
    assert outcomes == ["continued_as_new", "continued_as_new", "completed"]
    assert len({r.attributes["temporalRunID"] for r in runs}) == 3  # type: ignore[index]


async def test_signal_query_update_spans(traced: Traced) -> None:
    async with engine(tracer_provider=traced.provider) as e:
        h = await e.start_workflow(Handlers.run, id=wid())
        await h.signal(Handlers.add, "a")  # no caller span: under the run
        with traced.tracer.start_as_current_span("client") as client:
            await h.signal(Handlers.add, "b")
            assert await h.query(Handlers.count) == 2
            assert await h.execute_update(Handlers.add_checked, "c") == 3
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(Handlers.add_checked, "")
        await h.signal(Handlers.finish)
        assert await h.result() == ["a", "b", "c"]
    run = traced.one("RunWorkflow:Handlers")
    signals = sorted(traced.named("HandleSignal:add"), key=lambda s: s.start_time or 0)
    assert [parent_id(s) for s in signals] == [span_id(run), client.get_span_context().span_id]
    assert parent_id(traced.one("HandleSignal:finish")) == span_id(run)
    assert parent_id(traced.one("HandleQuery:count")) == client.get_span_context().span_id
    updates = sorted(traced.named("HandleUpdate:add_checked"), key=lambda s: s.start_time or 0)
    assert [parent_id(u) for u in updates] == [client.get_span_context().span_id, span_id(run)]
    assert updates[0].status.status_code is StatusCode.UNSET
    assert updates[1].status.status_code is StatusCode.ERROR
    for s in [*signals, *updates, traced.one("HandleQuery:count")]:
        assert s.kind is SpanKind.SERVER
        assert dict(s.attributes or {}) == {
            "temporalWorkflowID": h.id,
            "temporalRunID": h.result_run_id,
        }


async def test_a_workflow_task_failure_is_recorded_once_on_the_span(
    traced: Traced, metered: Metered
) -> None:
    BUGGY["on"] = True
    try:
        async with engine(
            tracer_provider=traced.provider,
            meter_provider=metered.provider,
            workflow_task_retry_interval=timedelta(milliseconds=5),
        ) as e:
            h = await e.start_workflow(Buggy.run, id=wid())
            for _ in range(40):  # let the engine retry the failed task several times
                await asyncio.sleep(0.005)
                desc = await h.describe()
                assert desc.pending_task_failure is not None
            # every failed execution of the task counts; the span records the failure once
            assert metered.value("fastcore.workflow.task_failed", workflow_type="Buggy") >= 2
            BUGGY["on"] = False
            assert await h.result() == "fixed"
    finally:
        BUGGY["on"] = True
    run = traced.one("RunWorkflow:Buggy")
    task_failures = [ev for ev in run.events if ev.name == "exception"]
    assert len(task_failures) == 1
    assert task_failures[0].attributes is not None
    assert task_failures[0].attributes["exception.type"] == "RuntimeError"
    assert run.attributes is not None and run.attributes["fastcore.outcome"] == "completed"
    assert len(traced.named("RunActivity:increment")) == 1


# ---------------------------------------------------------------------- replay after a restart


async def test_restart_on_the_same_store_emits_no_span_twice(
    traced: Traced, metered: Metered, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/restart.db"
    workflow_id = wid()
    kw = {"tracer_provider": traced.provider, "meter_provider": metered.provider}
    async with engine(url, **kw) as e:
        with traced.tracer.start_as_current_span("caller"):
            h = await e.start_workflow(Handlers.run, id=workflow_id)
        await h.signal(Handlers.add, "before")  # no caller span: under the run's span
        assert metered.value("fastcore.workflow.open") == 1
    assert metered.value("fastcore.workflow.open") == 0
    assert not traced.named("RunWorkflow:Handlers")  # open: continued by whoever recovers it
    async with engine(url, **kw) as e:
        h = e.get_workflow_handle(workflow_id)
        assert metered.value("fastcore.workflow.open") == 1
        assert await h.query(Handlers.count) == 1
        await h.signal(Handlers.finish)
        assert await h.result() == ["before"]
        assert await h.query(Handlers.count) == 1  # a closed run, replayed for the query
    assert metered.value("fastcore.workflow.open") == 0
    names = sorted(s.name for s in traced.spans)
    assert names == sorted(
        [
            "caller",
            "StartWorkflow:Handlers",
            "RunWorkflow:Handlers",
            "HandleSignal:add",
            "HandleQuery:count",
            "HandleQuery:count",
            "HandleSignal:finish",
        ]
    )
    assert len({s.context.trace_id for s in traced.spans if s.context}) == 1
    run = traced.one("RunWorkflow:Handlers")
    assert parent_id(run) == span_id(traced.one("StartWorkflow:Handlers"))
    assert run.attributes is not None and run.attributes["fastcore.resumed"] is True
    assert run.start_time is not None
    assert run.start_time <= traced.one("HandleSignal:add").start_time  # type: ignore[operator]
    # the span lost with the first engine is linked; the signal sent to it points at it
    [lost] = [
        link
        for link in run.links
        if link.attributes and link.attributes["fastcore.link"] == "run span before replay"
    ]
    assert lost.context.span_id == parent_id(traced.one("HandleSignal:add"))
    assert metered.value("fastcore.workflow.started") == 1
    assert metered.value("fastcore.workflow.completed") == 1


class _JsonLinesExporter(SpanExporter):
    """Writes each finished span as a JSON line (the crash test's killed process uses it)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a") as f:
            for s in spans:
                f.write(json.dumps(_span_dict(s)) + "\n")
        return SpanExportResult.SUCCESS


def _span_dict(s: ReadableSpan) -> dict[str, Any]:
    assert s.context is not None
    return {
        "name": s.name,
        "trace_id": s.context.trace_id,
        "span_id": s.context.span_id,
        "parent_id": s.parent.span_id if s.parent else None,
        "attributes": dict(s.attributes or {}),
        "links": [link.context.span_id for link in s.links],
    }


HANG = {"on": False}
HANG_STARTED = {"path": ""}


@activity.defn
async def hang(value: int) -> int:
    if HANG["on"]:
        Path(HANG_STARTED["path"]).write_text("started")
        await asyncio.sleep(3600)
    return value + 1


@workflow.defn
class Crashy:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, value: int) -> int:
        value = await workflow.execute_activity(increment, value, start_to_close_timeout=T)
        value = await workflow.execute_activity(
            hang, value, start_to_close_timeout=timedelta(hours=2)
        )
        await workflow.wait_condition(lambda: self.go)
        return value

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


async def _crash_child(db: str, spans: str, marker: str) -> None:
    """Runs in the subprocess: start Crashy, and wait to be killed while ``hang`` runs."""
    HANG["on"] = True
    HANG_STARTED["path"] = marker
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(_JsonLinesExporter(spans)))
    async with Engine(
        f"sqlite:///{db}", workflows=[Crashy], activities=[increment, hang], tracer_provider=tp
    ) as e:
        with tp.get_tracer("test").start_as_current_span("caller"):
            await e.start_workflow(Crashy.run, 1, id="crashy")
        Path(marker + ".caller-done").write_text("done")  # the caller span is exported
        await asyncio.sleep(3600)


def test_kill_9_then_recover_emits_no_span_twice(tmp_path: Path) -> None:
    db, spans, marker = tmp_path / "crash.db", tmp_path / "spans.jsonl", tmp_path / "hanging"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fastcore.test_telemetry", str(db), str(spans), str(marker)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        caller_done = marker.with_name(marker.name + ".caller-done")
        while not (marker.exists() and caller_done.exists()):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the child did not reach the hanging activity"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = [json.loads(line) for line in spans.read_text().splitlines()]
    assert sorted(s["name"] for s in before) == sorted(
        [
            "caller",
            "StartWorkflow:Crashy",
            "StartActivity:increment",
            "RunActivity:increment",
            "StartActivity:hang",
        ]
    )

    traced = Traced()

    async def recover() -> int:
        async with Engine(
            f"sqlite:///{db}",
            workflows=[Crashy],
            activities=[increment, hang],
            tracer_provider=traced.provider,
        ) as e:
            h = e.get_workflow_handle("crashy")
            await h.signal(Crashy.proceed)
            return int(await h.result())

    assert asyncio.run(recover()) == 3
    after = [_span_dict(s) for s in traced.spans]
    traced.provider.shutdown()
    everything = before + after
    names = sorted(s["name"] for s in everything)
    assert names == sorted(
        [
            "caller",
            "StartWorkflow:Crashy",
            "RunWorkflow:Crashy",
            "StartActivity:increment",
            "RunActivity:increment",
            "StartActivity:hang",
            "RunActivity:hang",
            "HandleSignal:proceed",
        ]
    ), names
    assert len({s["trace_id"] for s in everything}) == 1
    by_name = {s["name"]: s for s in everything}
    run = by_name["RunWorkflow:Crashy"]
    assert run["parent_id"] == by_name["StartWorkflow:Crashy"]["span_id"]
    assert run["attributes"]["fastcore.resumed"] is True
    # the RunWorkflow span that died with the process: the first activities hang under it, and
    # the resumed one links to it
    lost = by_name["StartActivity:increment"]["parent_id"]
    assert by_name["StartActivity:hang"]["parent_id"] == lost
    assert lost in run["links"]
    assert by_name["RunActivity:hang"]["parent_id"] == run["span_id"]
    assert by_name["RunActivity:hang"]["attributes"]["fastcore.outcome"] == "completed"


# ---------------------------------------------------------------------- metrics


async def test_metrics_after_a_known_load(metered: Metered, tmp_path: Path) -> None:
    key = uuid.uuid4().hex
    url = f"sqlite:///{tmp_path}/metrics.db"
    async with engine(url, meter_provider=metered.provider) as e:
        assert not isinstance(e.telemetry, type(None))
        for _ in range(5):
            await e.execute_workflow(Three.run, 0, id=wid())
        await e.execute_workflow(Flaky.run, args=[key, 2], id=wid())
        for _ in range(2):
            with pytest.raises(WorkflowFailureError):
                await e.execute_workflow(Fails.run, id=wid())
        h = await e.start_workflow(Handlers.run, id=wid())
        for item in "xyz":
            await h.signal(Handlers.add, item)
        assert metered.value("fastcore.workflow.open") == 1
        assert metered.value("fastcore.workflow.open", workflow_type="Handlers") == 1
        await h.signal(Handlers.finish)
        await h.result()
        commits = metered.value("fastcore.journal.commit.duration")
    m = metered.value
    assert m("fastcore.workflow.started") == 9
    assert m("fastcore.workflow.started", workflow_type="Three") == 5
    assert m("fastcore.workflow.completed") == 7
    assert m("fastcore.workflow.failed") == 2
    assert m("fastcore.workflow.failed", workflow_type="Fails") == 2
    assert m("fastcore.workflow.closed", status="completed") == 7
    assert m("fastcore.workflow.closed", status="failed") == 2
    assert m("fastcore.workflow.open") == 0
    assert m("fastcore.activity.attempts", activity_type="increment", outcome="completed") == 15
    assert m("fastcore.activity.attempts", activity_type="flaky", outcome="failed") == 2
    assert m("fastcore.activity.attempts", activity_type="flaky", outcome="completed") == 1
    assert m("fastcore.activity.attempts") == 18
    assert m("fastcore.activity.duration") == 18  # one latency sample per attempt
    [hist] = metered.points("fastcore.activity.duration")[:1]
    assert hist.sum > 0 and hist.min >= 0
    assert m("fastcore.signal.received") == 4
    assert m("fastcore.signal.received", signal_name="add") == 3
    assert m("fastcore.workflow.task_failed") == 0
    # sqlite (sync durability) commits each activation: at least one per workflow task
    assert commits >= 9 * 2
    [commit] = metered.points("fastcore.journal.commit.duration")
    assert 0 < commit.sum < commits  # each well under a second


def _main() -> None:
    """Entry point of the crash test's subprocess."""
    db, spans, marker = sys.argv[1:4]
    asyncio.run(_crash_child(db, spans, marker))


if __name__ == "__main__":
    _main()
