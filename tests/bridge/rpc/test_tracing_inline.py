"""``BridgeClient.connect`` traces unary calls inline: the spans the interceptors make.

``test_tracing`` pins the interceptors' spans; here the same calls go through a client made
by ``connect(tracer_provider=...)`` (unary calls traced without an interceptor, streams by
the interceptor) and must give the same CLIENT spans, parents, attributes and metadata.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import grpc.aio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from bridge import BridgeClient, BridgeServer
from bridge.rpc._tracing import parse_traceparent, server_interceptor
from fastcore import Engine, workflow
from fastcore.errors import WorkflowNotFoundError

SERVICE = "fastcore.bridge.v1.BridgeService"


@workflow.defn
class Door:
    def __init__(self) -> None:
        self.open = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.open)
        return "opened"

    @workflow.signal
    def unlock(self) -> None:
        self.open = True

    @workflow.query
    def state(self) -> bool:
        return self.open


class Traced:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def one(self, name: str, kind: SpanKind) -> ReadableSpan:
        found = [s for s in self.spans if s.name == name and s.kind is kind]
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


async def test_connect_traces_unary_calls_as_the_interceptors_do(traced: Traced) -> None:
    async with (
        Engine(workflows=[Door], tracer_provider=traced.provider) as engine,
        BridgeServer(
            engine, interceptors=[server_interceptor(tracer_provider=traced.provider)]
        ) as server,
        await BridgeClient.connect(server.address, tracer_provider=traced.provider) as client,
    ):
        assert client.target == server.unix_address  # the fast path, traced all the same
        with traced.tracer.start_as_current_span("caller") as caller:
            h = await client.start_workflow(Door.run, id=f"d-{uuid.uuid4().hex[:8]}")
            assert await h.query(Door.state) is False
            await h.signal(Door.unlock)
            assert await h.result() == "opened"
            with pytest.raises(WorkflowNotFoundError):
                await client.get_workflow_handle("no-such-door").describe()
    assert len({s.context.trace_id for s in traced.spans if s.context}) == 1
    for method in ("StartWorkflow", "QueryWorkflow", "SignalWorkflow", "GetWorkflowResult"):
        name = f"{SERVICE}/{method}"
        c, s = traced.one(name, SpanKind.CLIENT), traced.one(name, SpanKind.SERVER)
        assert c.parent is not None and c.parent.span_id == caller.get_span_context().span_id
        assert s.parent is not None and s.parent.span_id == sid(c)
        assert c.attributes is not None
        assert c.attributes["rpc.system"] == "grpc"
        assert c.attributes["rpc.service"] == SERVICE
        assert c.attributes["rpc.method"] == method
        assert c.attributes["rpc.grpc.status_code"] == 0
        traceresponse = parse_traceparent(str(c.attributes["rpc.traceresponse"]))
        assert traceresponse is not None and traceresponse.span_id == sid(s)
        assert c.status.status_code is StatusCode.UNSET
    failed = traced.one(f"{SERVICE}/DescribeWorkflow", SpanKind.CLIENT)
    assert failed.attributes is not None
    assert failed.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert failed.status.status_code is StatusCode.ERROR
    assert "NOT_FOUND" in (failed.status.description or "")
    # the engine's spans hang under the server spans, as through the interceptors
    signal_server = traced.one(f"{SERVICE}/SignalWorkflow", SpanKind.SERVER)
    handled = traced.one("HandleSignal:unlock", SpanKind.SERVER)
    assert handled.parent is not None and handled.parent.span_id == sid(signal_server)


async def test_without_a_provider_the_callers_context_still_travels() -> None:
    server_side, caller_side = Traced(), Traced()
    try:
        async with (
            Engine(workflows=[Door]) as engine,
            BridgeServer(
                engine, interceptors=[server_interceptor(tracer_provider=server_side.provider)]
            ) as server,
            await BridgeClient.connect(
                server.address, tracer_provider=trace.NoOpTracerProvider()
            ) as client,
        ):
            with caller_side.tracer.start_as_current_span("caller") as caller:
                await client.list_workflows()
            await client.list_workflows()  # no current span: nothing to send, no parent
        s, bare = sorted(
            (x for x in server_side.spans if x.name == f"{SERVICE}/ListWorkflows"),
            key=lambda x: x.start_time or 0,
        )
        assert s.parent is not None
        assert s.parent.span_id == caller.get_span_context().span_id
        assert s.parent.trace_id == caller.get_span_context().trace_id
        assert bare.parent is None
        assert not [x for x in caller_side.spans if x.name.startswith(SERVICE)]
    finally:
        server_side.provider.shutdown()
        caller_side.provider.shutdown()
