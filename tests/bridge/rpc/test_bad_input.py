"""Hostile input over gRPC: each gets its precise status, nothing changes, nothing is logged
at ERROR, and the token is checked before a byte of the request is decoded."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from google.protobuf.duration_pb2 import Duration

from bridge import BridgeClient, BridgeServer
from bridge._proto.v1 import bridge_pb2 as pb
from bridge._proto.v1 import bridge_pb2_grpc as pb_grpc
from fastcore import Engine, workflow

TOKEN = "hostile-input-token"
START = "/fastcore.bridge.v1.BridgeService/StartWorkflow"
FRONTEND_START = "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"
GARBAGE = [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x12" + b"\x80" * 12]


@workflow.defn
class Sleepy:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "done"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def status(self) -> str:
        return "done" if self.done else "waiting"


@pytest_asyncio.fixture(loop_scope="function")
async def engine() -> AsyncIterator[Engine]:
    async with Engine(workflows=[Sleepy]) as e:
        yield e


@pytest_asyncio.fixture(loop_scope="function")
async def channel(engine: Engine) -> AsyncIterator[grpc.aio.Channel]:
    async with BridgeServer(engine) as server:
        ch = grpc.aio.insecure_channel(server.address)
        yield ch
        await ch.close()


async def _raw(
    channel: grpc.aio.Channel, method: str, data: bytes, **kw: Any
) -> tuple[grpc.StatusCode, str]:
    call = channel.unary_unary(method)  # bytes in, bytes out: nothing checks them client-side
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(data, **kw)
    return info.value.code(), info.value.details() or ""


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_undecodable_bytes_are_invalid_argument_without_a_traceback(
    engine: Engine, channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for method in (START, FRONTEND_START):
        for data in GARBAGE:
            code, details = await _raw(channel, method, data)
            assert code is grpc.StatusCode.INVALID_ARGUMENT, (method, data, details)
            assert "request cannot be decoded" in details
    # a string field that is not UTF-8 (protobuf strings must be): a surrogate's bytes
    good = pb.StartWorkflowRequest(workflow_type="Sleepy", workflow_id="AAAA").SerializeToString()
    code, details = await _raw(channel, START, good.replace(b"AAAA", b"\xed\xa0\x80A"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "StartWorkflow request cannot be decoded" in details
    assert _errors(caplog) == []
    assert (await engine.list_workflows())[0] == []  # nothing changed


async def test_the_token_is_checked_before_the_request_is_decoded(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        BridgeServer(engine, token=TOKEN) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        for data in GARBAGE:
            for method in (START, FRONTEND_START):
                code, _ = await _raw(channel, method, data)
                assert code is grpc.StatusCode.UNAUTHENTICATED
                code, _ = await _raw(
                    channel, method, data, metadata=(("authorization", "Bearer nope"),)
                )
                assert code is grpc.StatusCode.UNAUTHENTICATED
        auth = (("authorization", f"Bearer {TOKEN}"),)
        code, _ = await _raw(channel, START, GARBAGE[0], metadata=auth)
        assert code is grpc.StatusCode.INVALID_ARGUMENT  # a client of ours, mistaken
    assert _errors(caplog) == []
    assert (await engine.list_workflows())[0] == []


def _start(**fields: Any) -> pb.StartWorkflowRequest:
    return pb.StartWorkflowRequest(workflow_type="Sleepy", workflow_id="w", **fields)


@pytest.mark.parametrize(
    ("request_", "field", "why"),
    [
        (_start(execution_timeout=Duration(seconds=10**15)), "execution_timeout", "range"),
        (_start(run_timeout=Duration(seconds=-1)), "run_timeout", "negative"),
        (_start(execution_timeout=Duration(nanos=-5)), "execution_timeout", "negative"),
        (_start(run_timeout=Duration(seconds=1, nanos=-1)), "run_timeout", "signs"),
        (_start(execution_timeout=Duration(nanos=2_000_000_000)), "execution_timeout", "range"),
        (
            _start(retry_policy=pb.RetryPolicy(initial_interval=Duration(seconds=-3))),
            "retry_policy.initial_interval",
            "negative",
        ),
        (
            _start(retry_policy=pb.RetryPolicy(backoff_coefficient=float("nan"))),
            "retry_policy",
            "backoff_coefficient",
        ),
        (
            pb.StartWorkflowRequest(workflow_type="Sleepy", workflow_id="x" * 1001),
            "workflow_id",
            "1001 bytes",
        ),
        (
            pb.StartWorkflowRequest(workflow_type="Sleepy", workflow_id="\u00e9" * 501),
            "workflow_id",
            "1002 bytes",
        ),
    ],
)
async def test_bad_fields_are_invalid_argument_naming_the_field(
    engine: Engine,
    channel: grpc.aio.Channel,
    caplog: pytest.LogCaptureFixture,
    request_: pb.StartWorkflowRequest,
    field: str,
    why: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.StartWorkflow(request_)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert field in (info.value.details() or "") and why in (info.value.details() or "")
    assert _errors(caplog) == []
    assert (await engine.list_workflows())[0] == []


async def test_a_long_duration_is_capped_as_temporal_caps_it(
    engine: Engine, channel: grpc.aio.Channel
) -> None:
    stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
    await stub.StartWorkflow(_start(execution_timeout=Duration(seconds=300 * 365 * 86400)))
    started = (await engine.get_workflow_handle("w").fetch_history())[0]
    assert started.attributes["execution_timeout"] == 250 * 365 * 86400


async def test_1500_concurrent_calls_on_one_channel_all_succeed(engine: Engine) -> None:
    """gRPC's stream overload protection used to refuse some (UNAVAILABLE, RST_STREAM
    REFUSED_STREAM) although the client kept to the advertised stream limit."""
    await engine.start_workflow(Sleepy.run, id="busy")
    async with (
        BridgeServer(engine) as server,
        await BridgeClient.connect(server.address) as client,
    ):
        handle = client.get_workflow_handle("busy")

        async def one(i: int) -> str:
            try:
                if i % 2:
                    await handle.query(Sleepy.status)
                else:
                    await handle.describe()
            except Exception as err:  # counted, so the failure says what went wrong
                return f"{type(err).__name__}: {err}"
            return "ok"

        outcomes = collections.Counter(await asyncio.gather(*(one(i) for i in range(1500))))
    assert outcomes == {"ok": 1500}


async def test_a_damaged_run_is_data_loss_naming_it(tmp_path: Any) -> None:
    """A run whose rows cannot be read: DATA_LOSS (as Temporal answers for a corrupt
    history), and the client raises the engine's StoreError with the run's ids."""
    import sqlite3

    from fastcore.errors import StoreError

    db = tmp_path / "store.db"
    async with Engine(f"sqlite:///{db}", workflows=[Sleepy]) as e:
        run_id = (await (await e.start_workflow(Sleepy.run, id="damaged")).describe()).run_id
        await e.start_workflow(Sleepy.run, id="fine")
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE events SET data = 'garbage' WHERE run = "
        "(SELECT id FROM runs WHERE workflow_id = 'damaged')"
    )
    con.commit()
    con.close()
    async with (
        Engine(f"sqlite:///{db}", workflows=[Sleepy]) as e,
        BridgeServer(e) as server,
        await BridgeClient.connect(server.address) as client,
    ):
        with pytest.raises(StoreError) as info:
            await client.get_workflow_handle("damaged").describe()
        assert (info.value.workflow_id, info.value.run_id) == ("damaged", run_id)
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
            with pytest.raises(grpc.aio.AioRpcError) as raw:
                await stub.DescribeWorkflow(pb.DescribeWorkflowRequest(workflow_id="damaged"))
            assert raw.value.code() is grpc.StatusCode.DATA_LOSS
        await client.get_workflow_handle("fine").signal(Sleepy.finish)
        assert await client.get_workflow_handle("fine").result() == "done"
