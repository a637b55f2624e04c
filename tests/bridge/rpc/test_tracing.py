"""One trace across the bridge: gRPC calls (both directions) and Temporal + fastcore end to end.

The gRPC tests give every party its own tracer provider with an in-memory exporter. The
Temporal end-to-end test needs Temporal's ``OpenTelemetryPlugin``, which reads the global
tracer provider (a ``ReplaySafeTracerProvider``); a fixture installs one for the test and
resets the set-once global afterwards, as temporalio's own tests do.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import grpc
import grpc.aio
import pytest
from opentelemetry import trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from temporalio import activity as tactivity
from temporalio import workflow as tworkflow
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, create_tracer_provider
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import bridge as bridge_pkg
import bridge.rpc._server
from bridge import BridgeClient, BridgeServer
from bridge._devserver import DevServer
from bridge.rpc._tracing import (
    TRACERESPONSE_KEY,
    client_interceptors,
    parse_traceparent,
    server_interceptor,
)
from fastcore import Engine, activity, workflow
from fastcore.errors import WorkflowNotFoundError

T = timedelta(seconds=10)
SERVICE = "fastcore.bridge.v1.BridgeService"


# ---------------------------------------------------------------------- fastcore definitions


@activity.defn
async def increment(value: int) -> int:
    return value + 1


@workflow.defn
class Gated:
    """One activity, then waits for ``release``; ``value`` is a query."""

    def __init__(self) -> None:
        self.released = False
        self.value = 0

    @workflow.run
    async def run(self, start: int) -> int:
        self.value = await workflow.execute_activity(increment, start, start_to_close_timeout=T)
        await workflow.wait_condition(lambda: self.released)
        return self.value

    @workflow.signal
    def release(self) -> None:
        self.released = True

    @workflow.query
    def current(self) -> int:
        return self.value


# ---------------------------------------------------------------------- helpers


class Traced:
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

    def one(self, name: str, kind: SpanKind | None = None) -> ReadableSpan:
        found = [s for s in self.named(name) if kind is None or s.kind is kind]
        assert len(found) == 1, (name, kind, sorted(s.name for s in self.spans))
        return found[0]


@pytest.fixture
def traced() -> Iterator[Traced]:
    t = Traced()
    yield t
    t.provider.shutdown()


def sid(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def same(a: Any, b: Any) -> bool:
    """Two span contexts name the same span (``is_remote`` aside)."""
    return a is not None and b is not None and (a.trace_id, a.span_id) == (b.trace_id, b.span_id)


def pid(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@asynccontextmanager
async def serving(
    engine: Engine, interceptor: grpc.aio.ServerInterceptor
) -> AsyncIterator[BridgeServer]:
    """A BridgeServer for ``engine`` whose gRPC server runs ``interceptor``.

    Uses ``BridgeServer(interceptors=...)`` when the server takes it; until then the
    interceptor is slipped into ``grpc.aio.server`` while the bridge starts.
    """
    if "interceptors" in inspect.signature(BridgeServer).parameters:
        async with BridgeServer(engine, interceptors=[interceptor]) as server:  # type: ignore[call-arg]
            yield server
        return
    original = grpc.aio.server

    def with_tracing(*args: Any, interceptors: Any = None, **kwargs: Any) -> grpc.aio.Server:
        return original(*args, interceptors=[*(interceptors or []), interceptor], **kwargs)

    server = BridgeServer(engine)
    with mock.patch.object(bridge.rpc._server.grpc.aio, "server", with_tracing):
        await server.start()
    try:
        yield server
    finally:
        await server.stop()


def traced_client(address: str, provider: Any, **kw: Any) -> BridgeClient:
    channel = grpc.aio.insecure_channel(
        address, interceptors=client_interceptors(tracer_provider=provider, **kw)
    )
    return BridgeClient(channel)


# ---------------------------------------------------------------------- gRPC


async def test_grpc_calls_carry_the_trace_into_the_engine(traced: Traced) -> None:
    """Client span -> server span -> the engine's spans, for start, signal, query, result."""
    workflow_id = f"g-{uuid.uuid4().hex[:8]}"
    async with (
        Engine(workflows=[Gated], activities=[increment], tracer_provider=traced.provider) as e,
        serving(e, server_interceptor(tracer_provider=traced.provider)) as server,
    ):
        client = traced_client(server.address, traced.provider)
        try:
            with traced.tracer.start_as_current_span("caller") as caller:
                h = await client.start_workflow(Gated.run, 1, id=workflow_id)
                assert await h.query(Gated.current) == 2
                await h.signal(Gated.release)
                assert await h.result() == 2
        finally:
            await client.close()
    assert len({s.context.trace_id for s in traced.spans if s.context}) == 1
    caller_id = caller.get_span_context().span_id
    for method in ("StartWorkflow", "QueryWorkflow", "SignalWorkflow", "GetWorkflowResult"):
        name = f"{SERVICE}/{method}"
        c, s = traced.one(name, SpanKind.CLIENT), traced.one(name, SpanKind.SERVER)
        assert pid(c) == caller_id
        assert pid(s) == sid(c)
        for span in (c, s):
            assert span.attributes is not None
            assert span.attributes["rpc.system"] == "grpc"
            assert span.attributes["rpc.service"] == SERVICE
            assert span.attributes["rpc.method"] == method
            assert span.attributes["rpc.grpc.status_code"] == 0
        # the server's answer names its span (the other direction)
        assert c.attributes is not None
        assert same(parse_traceparent(str(c.attributes["rpc.traceresponse"])), s.context)
    start_server = traced.one(f"{SERVICE}/StartWorkflow", SpanKind.SERVER)
    fc_start = traced.one("StartWorkflow:Gated")
    fc_run = traced.one("RunWorkflow:Gated")
    assert pid(fc_start) == sid(start_server)
    assert pid(fc_run) == sid(fc_start)
    assert pid(traced.one("StartActivity:increment")) == sid(fc_run)
    assert pid(traced.one("RunActivity:increment")) == sid(traced.one("StartActivity:increment"))
    assert pid(traced.one("HandleSignal:release")) == sid(
        traced.one(f"{SERVICE}/SignalWorkflow", SpanKind.SERVER)
    )
    assert pid(traced.one("HandleQuery:current")) == sid(
        traced.one(f"{SERVICE}/QueryWorkflow", SpanKind.SERVER)
    )
    # health checks are not traced
    assert not [s for s in traced.spans if "Health" in s.name]


async def test_the_watch_stream_is_one_span_each_side(traced: Traced) -> None:
    workflow_id = f"w-{uuid.uuid4().hex[:8]}"
    async with (
        Engine(workflows=[Gated], activities=[increment]) as e,
        serving(e, server_interceptor(tracer_provider=traced.provider)) as server,
    ):
        client = traced_client(server.address, traced.provider)
        try:
            with traced.tracer.start_as_current_span("watcher") as watcher:
                h = await client.start_workflow(Gated.run, 1, id=workflow_id)
                seen = []

                async def watch() -> None:
                    async for ev in h.watch():
                        seen.append(ev.event_type.name)

                task = asyncio.ensure_future(watch())
                await h.signal(Gated.release)
                await asyncio.wait_for(task, 10)
            assert seen[-1] == "WORKFLOW_EXECUTION_COMPLETED"
            for _ in range(100):  # the client span ends when gRPC reports the call done
                if (
                    traced.named(f"{SERVICE}/WatchWorkflow")
                    and len(traced.named(f"{SERVICE}/WatchWorkflow")) == 2
                ):
                    break
                await asyncio.sleep(0.01)
        finally:
            await client.close()
    c = traced.one(f"{SERVICE}/WatchWorkflow", SpanKind.CLIENT)
    s = traced.one(f"{SERVICE}/WatchWorkflow", SpanKind.SERVER)
    assert pid(c) == watcher.get_span_context().span_id
    assert pid(s) == sid(c)
    # the client stops reading after the close event: its own cancel is not an error
    assert c.attributes is not None and c.attributes["rpc.grpc.status_code"] in (0, 1)
    assert c.status.status_code is StatusCode.UNSET
    assert s.attributes is not None and s.attributes["rpc.grpc.status_code"] == 0


async def test_a_failed_call_is_an_error_on_both_sides(traced: Traced) -> None:
    async with (
        Engine(workflows=[Gated], activities=[increment]) as e,
        serving(e, server_interceptor(tracer_provider=traced.provider)) as server,
    ):
        client = traced_client(server.address, traced.provider)
        try:
            with pytest.raises(WorkflowNotFoundError):
                await client.get_workflow_handle("no-such-workflow").describe()
        finally:
            await client.close()
    name = f"{SERVICE}/DescribeWorkflow"
    for kind in (SpanKind.CLIENT, SpanKind.SERVER):
        span = traced.one(name, kind)
        assert span.attributes is not None
        assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
        assert span.status.status_code is StatusCode.ERROR
        assert "NOT_FOUND" in (span.status.description or "")


async def test_the_server_answers_with_its_trace_when_the_caller_had_none() -> None:
    """A server that does not continue the caller's trace still tells the caller its trace."""
    client_side, server_side = Traced(), Traced()
    async with (
        Engine(
            workflows=[Gated], activities=[increment], tracer_provider=server_side.provider
        ) as e,
        serving(
            e,
            server_interceptor(
                tracer_provider=server_side.provider, propagator=CompositePropagator([])
            ),
        ) as server,
    ):
        client = traced_client(server.address, client_side.provider)
        try:
            h = await client.start_workflow(Gated.run, 1, id=f"t-{uuid.uuid4().hex[:8]}")
            await h.signal(Gated.release)
            await h.result()
        finally:
            await client.close()
    c = client_side.one(f"{SERVICE}/StartWorkflow", SpanKind.CLIENT)
    s = server_side.one(f"{SERVICE}/StartWorkflow", SpanKind.SERVER)
    assert c.context is not None and s.context is not None
    assert c.context.trace_id != s.context.trace_id
    assert s.parent is None
    assert c.attributes is not None
    assert same(parse_traceparent(str(c.attributes["rpc.traceresponse"])), s.context)
    assert [same(link.context, s.context) for link in c.links] == [True]
    # and the engine's spans are in the server's trace
    assert server_side.one("StartWorkflow:Gated").parent == s.context
    client_side.provider.shutdown()
    server_side.provider.shutdown()


async def test_raw_metadata_both_ways() -> None:
    """What goes over the wire: ``traceparent`` in the request, ``traceresponse`` back."""
    received: list[tuple[str, str]] = []
    recording = Traced()

    class Recorder(grpc.aio.ServerInterceptor):  # type: ignore[misc]
        async def intercept_service(self, continuation: Any, details: Any) -> Any:
            received.extend((k, v) for k, v in details.invocation_metadata or ())
            return await continuation(details)

    async with (
        Engine(workflows=[Gated], activities=[increment]) as e,
        serving(e, Recorder()) as server,
    ):
        channel = grpc.aio.insecure_channel(
            server.address, interceptors=client_interceptors(tracer_provider=recording.provider)
        )
        from bridge._proto.v1 import bridge_pb2 as pb
        from bridge._proto.v1 import bridge_pb2_grpc as pb_grpc

        stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        with recording.tracer.start_as_current_span("caller") as caller:
            call = stub.ListWorkflows(pb.ListWorkflowsRequest(page_size=1))
            await call
        await channel.close()
    sent = dict(received)
    sc = parse_traceparent(sent["traceparent"])
    assert sc is not None
    assert sc.trace_id == caller.get_span_context().trace_id
    assert sc.span_id == sid(recording.one(f"{SERVICE}/ListWorkflows"))
    # the Recorder is no tracing server: nothing comes back, and nothing breaks
    assert TRACERESPONSE_KEY not in dict(await call.initial_metadata() or ())
    recording.provider.shutdown()


async def test_without_any_provider_the_context_still_travels() -> None:
    """No tracer provider on the client (the global no-op): the caller's span is sent as is."""
    server_side, caller_side = Traced(), Traced()
    async with (
        Engine(workflows=[Gated], activities=[increment]) as e,
        serving(e, server_interceptor(tracer_provider=server_side.provider)) as server,
    ):
        client = traced_client(server.address, trace.NoOpTracerProvider())
        try:
            with caller_side.tracer.start_as_current_span("caller") as caller:
                await client.list_workflows()
        finally:
            await client.close()
    s = server_side.one(f"{SERVICE}/ListWorkflows", SpanKind.SERVER)
    assert s.parent is not None
    assert s.parent.span_id == caller.get_span_context().span_id
    assert s.parent.trace_id == caller.get_span_context().trace_id
    server_side.provider.shutdown()
    caller_side.provider.shutdown()


# ---------------------------------------------------------------------- Temporal end to end


@tactivity.defn
async def release_over_grpc(address: str, workflow_id: str) -> None:
    """A Temporal activity that signals a fastcore workflow through the gRPC bridge."""
    client = traced_client(address, None)  # the global (replay-safe) provider
    try:
        handle = client.get_workflow_handle(workflow_id)
        for _ in range(500):  # the sub-workflow's activity may not have started it yet
            try:
                await handle.describe()
                break
            except WorkflowNotFoundError:
                await asyncio.sleep(0.02)
        await handle.signal(Gated.release)
    finally:
        await client.close()


@tworkflow.defn(sandboxed=False)
class Outer:
    """A Temporal workflow: a fastcore sub-workflow, released by a signal over gRPC."""

    @tworkflow.run
    async def run(self, address: str, sub_id: str) -> int:
        sub = bridge_pkg.start_fastcore_workflow(
            Gated.run, 1, id=sub_id, start_to_close_timeout=timedelta(seconds=30)
        )
        await tworkflow.execute_activity(
            release_over_grpc, args=[address, sub_id], start_to_close_timeout=timedelta(seconds=30)
        )
        return int(await sub)


@pytest.fixture
def global_tracing() -> Iterator[Traced]:
    """Temporal's replay-safe provider as the global one for this test only, then reset."""
    import opentelemetry.trace as ot
    from opentelemetry.util._once import Once

    saved = (ot._TRACER_PROVIDER, ot._TRACER_PROVIDER_SET_ONCE)
    ot._TRACER_PROVIDER_SET_ONCE = Once()
    ot._TRACER_PROVIDER = None
    t = Traced()
    provider = create_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(t.exporter))
    ot.set_tracer_provider(provider)
    t.provider = provider  # type: ignore[assignment]
    t.tracer = provider.get_tracer("test")
    try:
        yield t
    finally:
        provider.shutdown()
        ot._TRACER_PROVIDER, ot._TRACER_PROVIDER_SET_ONCE = saved


async def test_one_trace_from_a_temporal_client_to_fastcore_activities_and_grpc(
    temporal_server: DevServer, global_tracing: Traced, unique_id: str
) -> None:
    traced = global_tracing
    client = await temporal_server.connect(plugins=[OpenTelemetryPlugin(add_temporal_spans=True)])
    sub_id = f"{unique_id}-sub"
    async with (
        Engine(workflows=[Gated], activities=[increment], tracer_provider=traced.provider) as e,
        serving(e, server_interceptor(tracer_provider=traced.provider)) as server,
        Worker(
            client,
            task_queue=unique_id,
            workflows=[Outer],
            activities=[*bridge_pkg.fastcore_activities(e, workflows=[Gated]), release_over_grpc],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        with traced.tracer.start_as_current_span("client") as root:
            result = await client.execute_workflow(
                Outer.run, args=[server.address, sub_id], id=unique_id, task_queue=unique_id
            )
    assert result == 2
    spans = traced.spans
    assert len({s.context.trace_id for s in spans if s.context}) == 1, sorted(s.name for s in spans)
    act = bridge_pkg.FASTCORE_ACTIVITY_NAME

    def chain(*names: str) -> None:
        """Each span is the only one of its name and the parent of the next."""
        spans_ = [traced.one(n) for n in names]
        for parent, child in itertools.pairwise(spans_):
            assert pid(child) == sid(parent), f"{child.name} is not under {parent.name}"

    assert pid(traced.one("StartWorkflow:Outer")) == root.get_span_context().span_id
    # Temporal client -> Temporal workflow -> bridge activity -> fastcore workflow -> activity
    chain(
        "StartWorkflow:Outer",
        "RunWorkflow:Outer",
        f"StartActivity:{act}",
        f"RunActivity:{act}",
        "StartWorkflow:Gated",
        "RunWorkflow:Gated",
        "StartActivity:increment",
        "RunActivity:increment",
    )
    # Temporal workflow -> Temporal activity -> gRPC client -> gRPC server -> fastcore handler
    chain("RunWorkflow:Outer", "StartActivity:release_over_grpc", "RunActivity:release_over_grpc")
    signal_client = traced.one(f"{SERVICE}/SignalWorkflow", SpanKind.CLIENT)
    signal_server = traced.one(f"{SERVICE}/SignalWorkflow", SpanKind.SERVER)
    assert pid(signal_client) == sid(traced.one("RunActivity:release_over_grpc"))
    assert pid(signal_server) == sid(signal_client)
    assert pid(traced.one("HandleSignal:release")) == sid(signal_server)
    for s in traced.named(f"{SERVICE}/DescribeWorkflow"):
        if s.kind is SpanKind.CLIENT:
            assert pid(s) == sid(traced.one("RunActivity:release_over_grpc"))
    # the fastcore spans carry the ids Temporal's plugin uses
    fc_run = traced.one("RunWorkflow:Gated")
    assert fc_run.attributes is not None
    assert fc_run.attributes["temporalWorkflowID"] == sub_id
    assert fc_run.attributes["fastcore.outcome"] == "completed"
    temporal_run = traced.one(f"RunActivity:{act}")
    assert temporal_run.attributes is not None
    assert temporal_run.attributes["temporalWorkflowID"] == unique_id
