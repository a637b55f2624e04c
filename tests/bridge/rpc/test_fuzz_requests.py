"""Fuzzing the gRPC request decoding: whatever bytes or field values a stranger sends to any
method on the bridge's port (its own service, Temporal's frontend API), the answer is a
precise status, never ``UNKNOWN`` or ``INTERNAL``, and nothing is logged at ERROR."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import given
from hypothesis import strategies as st
from temporalio.api.workflowservice.v1 import service_pb2 as temporal_service

from bridge import BridgeServer
from bridge._proto.v1 import bridge_pb2 as pb
from fastcore import Engine, workflow

from ...fuzzing import fuzz

_BAD = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
_CALL_TIMEOUT = 5.0  # long polls end in DEADLINE_EXCEEDED, which is a fine answer


@workflow.defn(name="Sleepy")
class Sleepy:
    @workflow.run
    async def run(self, *args: Any) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal(dynamic=True)
    def any_signal(self, name: str, *args: Any) -> None:
        pass


@dataclass
class _Bridge:
    address: str
    errors: list[str]


class _Errors(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(scope="module")
def bridge() -> Iterator[_Bridge]:
    """An engine and its bridge on a loop of their own (the fuzz tests call it with a
    synchronous channel, one call per example)."""
    errors: list[str] = []
    handler = _Errors(errors)
    logging.getLogger().addHandler(handler)
    ready = threading.Event()
    stop: dict[str, Any] = {}

    async def serve() -> None:
        async with Engine(workflows=[Sleepy]) as engine, BridgeServer(engine) as server:
            await engine.start_workflow(Sleepy.run, id="fuzz-1")
            stop["event"] = asyncio.Event()
            stop["loop"] = asyncio.get_running_loop()
            stop["address"] = server.address
            ready.set()
            await stop["event"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield _Bridge(stop["address"], errors)
    finally:
        stop["loop"].call_soon_threadsafe(stop["event"].set)
        thread.join(30)
        logging.getLogger().removeHandler(handler)


def _methods(service: ServiceDescriptor) -> list[tuple[str, Descriptor, bool]]:
    return [
        (f"/{service.full_name}/{m.name}", m.input_type, m.server_streaming)
        for m in service.methods
        if not m.client_streaming
    ]


BRIDGE_METHODS = _methods(pb.DESCRIPTOR.services_by_name["BridgeService"])
FRONTEND_METHODS = _methods(temporal_service.DESCRIPTOR.services_by_name["WorkflowService"])
_STRINGS = st.sampled_from(["Sleepy", "fuzz-1", "default", ""]) | st.text(max_size=24)


_INT32 = (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32)


def _field_value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return _STRINGS | st.just("x" * 1001)
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=24)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if t == FieldDescriptor.TYPE_FLOAT else 64)
    if t == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values]) | st.integers(-3, 99)
    if t == FieldDescriptor.TYPE_MESSAGE:
        return _message(field.message_type, depth + 1)
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if t in (
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
    ):
        return st.integers(-(2**31), 2**31 - 1)
    return st.integers(-(2**63), 2**63 - 1)


def _message(desc: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of type ``desc`` with some fields set to anything their type allows."""
    cls = GetMessageClass(desc)
    if depth > 3:
        return st.just(cls())
    fields = [
        f for f in desc.fields if not (f.message_type and f.message_type.GetOptions().map_entry)
    ]

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        msg = cls()
        chosen = draw(st.lists(st.sampled_from(fields), max_size=5, unique=True)) if fields else []
        for f in chosen:
            if f.is_repeated:
                values = draw(st.lists(_field_value(f, depth), max_size=3))
                target = getattr(msg, f.name)
                for v in values:
                    target.add().CopyFrom(
                        v
                    ) if f.type == FieldDescriptor.TYPE_MESSAGE else target.append(v)
            elif f.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(msg, f.name).CopyFrom(draw(_field_value(f, depth)))
            else:
                setattr(msg, f.name, draw(_field_value(f, depth)))
        return msg

    return build()


def _call(bridge: _Bridge, method: str, data: bytes, streaming: bool) -> grpc.StatusCode:
    with grpc.insecure_channel(bridge.address) as channel:
        try:
            if streaming:
                for _ in channel.unary_stream(method)(data, timeout=_CALL_TIMEOUT):
                    pass
            else:
                channel.unary_unary(method)(data, timeout=_CALL_TIMEOUT)
        except grpc.RpcError as err:
            return err.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def _check(bridge: _Bridge, method: str, data: bytes, streaming: bool) -> None:
    code = _call(bridge, method, data, streaming)
    logged = list(bridge.errors)
    bridge.errors.clear()  # each example answers for its own log lines
    assert code not in _BAD, f"{method} answered {code.name}"
    assert logged == [], logged


@fuzz
@given(st.sampled_from(BRIDGE_METHODS + FRONTEND_METHODS), st.binary(max_size=64))
def test_any_bytes_to_any_method(bridge: _Bridge, method: Any, data: bytes) -> None:
    name, _desc, streaming = method
    _check(bridge, name, data, streaming)


@fuzz
@given(st.data())
def test_bridge_requests_with_any_field_values(bridge: _Bridge, data: Any) -> None:
    name, desc, streaming = data.draw(st.sampled_from(BRIDGE_METHODS))
    request = data.draw(_message(desc))
    _check(bridge, name, request.SerializeToString(), streaming)


@fuzz
@given(st.data())
def test_frontend_requests_with_any_field_values(bridge: _Bridge, data: Any) -> None:
    name, desc, streaming = data.draw(st.sampled_from(FRONTEND_METHODS))
    request = data.draw(_message(desc))
    _check(bridge, name, request.SerializeToString(), streaming)


def test_frontend_list_with_a_negative_page_size_is_invalid_argument(bridge: _Bridge) -> None:
    from temporalio.api.workflowservice.v1 import request_response_pb2 as rr

    request = rr.ListWorkflowExecutionsRequest(namespace="default", page_size=-8)
    method = "/temporal.api.workflowservice.v1.WorkflowService/ListWorkflowExecutions"
    code = _call(bridge, method, request.SerializeToString(), streaming=False)
    bridge.errors.clear()
    assert code is grpc.StatusCode.INVALID_ARGUMENT
