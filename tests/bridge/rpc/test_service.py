"""The gRPC bridge end to end: a real Engine, a real grpc.aio server on 127.0.0.1:0.

Every RPC through ``BridgeClient`` (typed values and fastcore exceptions) and through a raw
stub (the exact status codes a client in another language sees), the watch stream live
and across a server restart, health checking, reflection and the limits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import Any

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from bridge import BridgeClient, BridgeServer, BridgeWorkflowHandle, RPCError, RPCStatusCode
from bridge._proto.v1 import bridge_pb2 as pb
from bridge._proto.v1 import bridge_pb2_grpc as pb_grpc
from bridge.rpc._server import ERROR_DETAIL_KEY, SERVICE_NAME
from fastcore import Engine, workflow
from fastcore.common import WorkflowExecutionStatus, WorkflowIDConflictPolicy
from fastcore.errors import (
    ApplicationError,
    CancelledError,
    InvalidArgumentError,
    TerminatedError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from fastcore.history import Event, EventType

WAIT = 10.0  # seconds a condition may take before a test fails (never a sleep)


@workflow.defn
class Account:
    """A balance that signals, queries and updates change until it is closed."""

    def __init__(self) -> None:
        self.balance = 0
        self.closed = False

    @workflow.run
    async def run(self, opening: int) -> int:
        self.balance = opening
        await workflow.wait_condition(lambda: self.closed)
        if self.balance < 0:
            raise ApplicationError("closed overdrawn", self.balance, type="Overdrawn")
        return self.balance

    @workflow.signal
    def deposit(self, amount: int) -> None:
        self.balance += amount

    @workflow.signal
    def close(self) -> None:
        self.closed = True

    @workflow.query(name="balance")
    def current_balance(self) -> int:
        return self.balance

    @workflow.query
    def explode(self) -> int:
        raise ValueError("the query handler broke")

    @workflow.update
    async def withdraw(self, amount: int) -> int:
        if amount > 1000:
            raise ApplicationError("over the daily limit", type="Limit")
        self.balance -= amount
        return self.balance

    @withdraw.validator
    def check_withdraw(self, amount: int) -> None:
        if amount <= 0:
            raise ApplicationError("amount must be positive")


# -- fixtures ---------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="function")
async def engine(store_url: str) -> AsyncIterator[Engine]:
    async with Engine(store_url, workflows=[Account]) as e:
        yield e


@pytest_asyncio.fixture(loop_scope="function")
async def server(engine: Engine) -> AsyncIterator[BridgeServer]:
    async with BridgeServer(engine) as s:
        yield s


@pytest_asyncio.fixture(loop_scope="function")
async def client(server: BridgeServer) -> AsyncIterator[BridgeClient]:
    c = await BridgeClient.connect(server.address)
    yield c
    await c.close()


@pytest_asyncio.fixture(loop_scope="function")
async def stub(server: BridgeServer) -> AsyncIterator[pb_grpc.BridgeServiceStub]:
    """A raw stub: what a client written in any language sends and sees."""
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield pb_grpc.BridgeServiceStub(channel)


def js(value: Any) -> pb.Payload:
    """A payload as any language would write it: JSON bytes, encoding in the metadata."""
    return pb.Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


async def status_of(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), info.value.details() or ""


async def history(engine: Engine, workflow_id: str) -> list[Event]:
    return await engine.get_workflow_handle(workflow_id).fetch_history()


# -- every call, typed ------------------------------------------------------------------


async def test_every_call_through_the_client(
    engine: Engine, client: BridgeClient, unique_id: str
) -> None:
    h = await client.start_workflow(Account.run, 100, id=unique_id)
    assert h.id == unique_id and h.result_run_id
    await h.signal(Account.deposit, 50)
    await h.signal("deposit", args=[25])
    assert await h.query(Account.current_balance) == 175
    assert await h.query("balance") == 175
    assert await h.execute_update(Account.withdraw, 75) == 100
    desc = await h.describe()
    assert desc.status is WorkflowExecutionStatus.RUNNING
    assert (desc.id, desc.workflow_id, desc.workflow_type) == (unique_id, unique_id, "Account")
    assert desc.run_id == h.result_run_id and desc.close_time is None
    await h.signal(Account.close)
    assert await h.result() == 100
    desc = await h.describe()
    assert desc.status is WorkflowExecutionStatus.COMPLETED and desc.close_time is not None
    events = await h.fetch_history()
    assert events == await history(engine, unique_id)  # the same events, field for field
    assert desc.history_length == len(events)
    assert events[0].event_type is EventType.WORKFLOW_EXECUTION_STARTED
    assert events[-1].event_type is EventType.WORKFLOW_EXECUTION_COMPLETED
    # a query still answers after the workflow closed; a cancel is a no-op
    assert await h.query(Account.current_balance) == 100
    await h.cancel()


async def test_result_by_id(client: BridgeClient, unique_id: str) -> None:
    h = await client.start_workflow("Account", 3, id=unique_id, start_signal="close")
    assert await client.get_workflow_handle(unique_id).result() == 3
    assert await h.result() == 3


async def test_start_options_travel(engine: Engine, client: BridgeClient, unique_id: str) -> None:
    h = await client.start_workflow(
        Account.run,
        1,
        id=unique_id,
        memo={"owner": {"name": "ada"}},
        start_signal="deposit",
        start_signal_args=[9],
        execution_timeout=timedelta(hours=1),
    )
    # the start signal is handled before the run method sets the opening balance (Temporal's
    # order), so the balance is the opening one
    assert await h.query("balance") == 1
    assert (await h.describe()).memo == {"owner": {"name": "ada"}}
    again = await client.start_workflow(
        Account.run, 1, id=unique_id, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
    )
    assert again.result_run_id == h.result_run_id
    signaled = [
        e for e in await history(engine, unique_id) if e.event_type.name.endswith("SIGNALED")
    ]
    assert [e.attributes["signal_name"] for e in signaled] == ["deposit"]


async def test_update_rejected_and_failed(
    engine: Engine, client: BridgeClient, unique_id: str
) -> None:
    h = await client.start_workflow(Account.run, 5000, id=unique_id)
    before = await history(engine, unique_id)
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await h.execute_update(Account.withdraw, -1)
    assert isinstance(rejected.value.__cause__, ApplicationError)
    assert rejected.value.__cause__.message == "amount must be positive"
    assert await history(engine, unique_id) == before  # a rejection records nothing
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await h.execute_update(Account.withdraw, 2000, id="big-one")
    cause = failed.value.__cause__
    assert isinstance(cause, ApplicationError) and cause.type == "Limit"
    accepted = [
        e for e in await history(engine, unique_id) if e.event_type.name.endswith("ACCEPTED")
    ]
    assert [e.attributes["update_id"] for e in accepted] == ["big-one"]


async def test_cancel_and_terminate(client: BridgeClient, unique_id: str) -> None:
    a = await client.start_workflow(Account.run, 0, id=f"{unique_id}-a")
    await a.cancel()
    with pytest.raises(WorkflowFailureError) as cancelled:
        await a.result()
    assert isinstance(cancelled.value.__cause__, CancelledError)
    assert (await a.describe()).status is WorkflowExecutionStatus.CANCELED

    b = await client.start_workflow(Account.run, 0, id=f"{unique_id}-b")
    await b.terminate({"ticket": 12}, reason="operator says so")
    with pytest.raises(WorkflowFailureError) as terminated:
        await b.result()
    assert isinstance(terminated.value.__cause__, TerminatedError)
    assert terminated.value.__cause__.message == "operator says so"
    assert list(terminated.value.__cause__.details) == [{"ticket": 12}]
    assert (await b.describe()).status is WorkflowExecutionStatus.TERMINATED


async def test_workflow_failure_reaches_the_client(client: BridgeClient, unique_id: str) -> None:
    h = await client.start_workflow(Account.run, 0, id=unique_id)
    await h.signal(Account.deposit, -5)
    await h.signal(Account.close)
    with pytest.raises(WorkflowFailureError) as failed:
        await h.result()
    cause = failed.value.__cause__
    assert isinstance(cause, ApplicationError)
    assert (cause.message, cause.type, list(cause.details)) == (
        "closed overdrawn",
        "Overdrawn",
        [-5],
    )


async def test_list_with_status_filter_and_paging(client: BridgeClient, unique_id: str) -> None:
    handles = [await client.start_workflow(Account.run, i, id=f"{unique_id}-{i}") for i in range(5)]
    for h in handles[:2]:
        await h.signal(Account.close)
        await h.result()
    seen: list[str] = []
    token: bytes | None = None
    pages = 0
    while True:
        page, token = await client.list_workflows(page_size=2, next_page_token=token)
        seen += [d.id for d in page]
        pages += 1
        if token is None:
            break
    # Temporal's order: open runs newest first, then closed runs by close time, newest first
    newest_first = [h.id for h in reversed(handles[2:])] + [h.id for h in reversed(handles[:2])]
    assert seen == newest_first and pages == 3
    running, _ = await client.list_workflows(status=WorkflowExecutionStatus.RUNNING)
    done, _ = await client.list_workflows(status=WorkflowExecutionStatus.COMPLETED)
    assert [d.id for d in running] == newest_first[:3]
    assert [d.id for d in done] == newest_first[3:]
    assert all(d.status is WorkflowExecutionStatus.COMPLETED for d in done)
    with pytest.raises(InvalidArgumentError, match="next_page_token"):
        await client.list_workflows(next_page_token=b"garbage")


# -- every error, with its status code ---------------------------------------------------


async def test_not_found(client: BridgeClient, stub: pb_grpc.BridgeServiceStub) -> None:
    missing = client.get_workflow_handle("no-such-workflow")
    for call in (
        missing.signal("deposit", 1),
        missing.query("balance"),
        missing.execute_update("withdraw", 1),
        missing.cancel(),
        missing.terminate(),
        missing.describe(),
        missing.fetch_history(),
        missing.result(),
        anext(missing.watch()),
    ):
        with pytest.raises(WorkflowNotFoundError) as info:
            await call
        assert getattr(info.value, "closed_status", None) is None
    code, message = await status_of(
        stub.DescribeWorkflow(pb.DescribeWorkflowRequest(workflow_id="no-such-workflow"))
    )
    assert code is grpc.StatusCode.NOT_FOUND and "no-such-workflow" in message
    code, _ = await status_of(
        stub.WatchWorkflow(pb.WatchWorkflowRequest(workflow_id="no-such-workflow")).read()
    )
    assert code is grpc.StatusCode.NOT_FOUND


async def test_already_exists(
    client: BridgeClient, stub: pb_grpc.BridgeServiceStub, unique_id: str
) -> None:
    first = await client.start_workflow(Account.run, 0, id=unique_id)
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await client.start_workflow(Account.run, 0, id=unique_id)
    assert info.value.workflow_id == unique_id and info.value.run_id == first.result_run_id
    code, message = await status_of(
        stub.StartWorkflow(
            pb.StartWorkflowRequest(workflow_type="Account", workflow_id=unique_id, args=[js(0)])
        )
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS and unique_id in message


async def test_invalid_argument_changes_nothing(
    engine: Engine, client: BridgeClient, stub: pb_grpc.BridgeServiceStub, unique_id: str
) -> None:
    h = await client.start_workflow(Account.run, 0, id=unique_id)
    before = await history(engine, unique_id)
    workflows_before, _ = await engine.list_workflows()
    not_json = pb.Payload(metadata={"encoding": b"json/plain"}, data=b"{not json")
    foreign = pb.Payload(metadata={"encoding": b"binary/protobuf"}, data=b"\x08\x01")
    wid = unique_id
    bad_calls: list[tuple[Awaitable[Any], str]] = [
        (
            stub.SignalWorkflow(pb.SignalWorkflowRequest(workflow_id=wid, signal_name="nope")),
            "nope",
        ),
        (stub.QueryWorkflow(pb.QueryWorkflowRequest(workflow_id=wid, query_name="nope")), "nope"),
        (
            stub.SignalWorkflow(
                pb.SignalWorkflowRequest(workflow_id=wid, signal_name="deposit", args=[not_json])
            ),
            "cannot be decoded",
        ),
        (
            stub.SignalWorkflow(
                pb.SignalWorkflowRequest(workflow_id=wid, signal_name="deposit", args=[foreign])
            ),
            "encoding",
        ),
        (
            stub.SignalWorkflow(
                pb.SignalWorkflowRequest(
                    workflow_id=wid, signal_name="deposit", args=[js(1), js(2)]
                )
            ),
            "argument",
        ),
        (
            stub.UpdateWorkflow(
                pb.UpdateWorkflowRequest(workflow_id=wid, update_name="withdraw", args=[not_json])
            ),
            "cannot be decoded",
        ),
        (stub.SignalWorkflow(pb.SignalWorkflowRequest(signal_name="deposit")), "workflow_id"),
        (stub.SignalWorkflow(pb.SignalWorkflowRequest(workflow_id=wid)), "signal_name"),
        (
            stub.StartWorkflow(
                pb.StartWorkflowRequest(workflow_type="Nope", workflow_id=f"{wid}-x")
            ),
            "Nope",
        ),
        (
            stub.StartWorkflow(
                pb.StartWorkflowRequest(
                    workflow_type="Account", workflow_id=f"{wid}-y", args=[not_json]
                )
            ),
            "cannot be decoded",
        ),
        (
            stub.StartWorkflow(
                pb.StartWorkflowRequest(
                    workflow_type="Account",
                    workflow_id=f"{wid}-z",
                    args=[js(1)],
                    retry_policy=pb.RetryPolicy(backoff_coefficient=0.5),
                )
            ),
            "backoff",
        ),
        (stub.ListWorkflows(pb.ListWorkflowsRequest(page_size=-1)), "page_size"),
        (
            stub.QueryWorkflow(pb.QueryWorkflowRequest(workflow_id=wid, query_name="explode")),
            "broke",
        ),
    ]
    for call, words in bad_calls:
        code, message = await status_of(call)
        assert code is grpc.StatusCode.INVALID_ARGUMENT, message
        assert words in message
    assert await history(engine, unique_id) == before
    assert (await engine.list_workflows())[0] == workflows_before
    # the typed client raises what the engine raises
    with pytest.raises(InvalidArgumentError, match="no signal 'nope'"):
        await h.signal("nope")
    with pytest.raises(WorkflowQueryFailedError, match="broke"):
        await h.query(Account.explode)
    with pytest.raises(InvalidArgumentError, match="not registered"):
        await client.start_workflow("Nope", id=f"{unique_id}-n")


async def test_failed_precondition(
    engine: Engine, client: BridgeClient, stub: pb_grpc.BridgeServiceStub, unique_id: str
) -> None:
    h = await client.start_workflow(Account.run, 10, id=unique_id)
    code, message = await status_of(
        stub.UpdateWorkflow(
            pb.UpdateWorkflowRequest(workflow_id=unique_id, update_name="withdraw", args=[js(0)])
        )
    )
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert "was rejected" in message and "amount must be positive" in message
    # an update the workflow has no handler for is rejected too, as temporalio rejects it
    code, message = await status_of(
        stub.UpdateWorkflow(pb.UpdateWorkflowRequest(workflow_id=unique_id, update_name="nope"))
    )
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert "Update handler for 'nope' expected but not found" in message
    await h.signal(Account.close)
    await h.result()
    closed = await history(engine, unique_id)
    for call in (
        stub.SignalWorkflow(
            pb.SignalWorkflowRequest(workflow_id=unique_id, signal_name="deposit", args=[js(1)])
        ),
        stub.UpdateWorkflow(
            pb.UpdateWorkflowRequest(workflow_id=unique_id, update_name="withdraw", args=[js(1)])
        ),
        stub.TerminateWorkflow(pb.TerminateWorkflowRequest(workflow_id=unique_id)),
    ):
        code, message = await status_of(call)
        assert code is grpc.StatusCode.FAILED_PRECONDITION and "closed" in message
    # the typed client: WorkflowNotFoundError with closed_status, as the engine raises it
    with pytest.raises(WorkflowNotFoundError) as info:
        await h.signal(Account.deposit, 1)
    assert info.value.closed_status is WorkflowExecutionStatus.COMPLETED  # type: ignore[attr-defined]
    with pytest.raises(WorkflowNotFoundError):
        await h.terminate()
    assert await history(engine, unique_id) == closed


async def test_error_detail_trailer_names_the_fastcore_error(
    stub: pb_grpc.BridgeServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.DescribeWorkflow(pb.DescribeWorkflowRequest(workflow_id="missing"))
    trailer = dict(info.value.trailing_metadata() or ())
    detail = pb.ErrorDetail.FromString(trailer[ERROR_DETAIL_KEY])
    assert (detail.error_type, detail.workflow_id) == ("WorkflowNotFoundError", "missing")


async def test_deadline_exceeded(
    client: BridgeClient, stub: pb_grpc.BridgeServiceStub, unique_id: str
) -> None:
    h = await client.start_workflow(Account.run, 0, id=unique_id)
    with pytest.raises(RPCError) as info:
        await h.result(rpc_timeout=timedelta(milliseconds=50))
    assert info.value.status is RPCStatusCode.DEADLINE_EXCEEDED
    code, _ = await status_of(
        stub.GetWorkflowResult(pb.GetWorkflowResultRequest(workflow_id=unique_id), timeout=0.05)
    )
    assert code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert await h.query("balance") == 0  # the server is fine afterwards


async def test_message_size_limit(engine: Engine, unique_id: str) -> None:
    async with BridgeServer(engine, max_message_bytes=4096) as server:
        c = await BridgeClient.connect(server.address)
        h = await c.start_workflow(Account.run, 0, id=unique_id)
        before = await history(engine, unique_id)
        with pytest.raises(RPCError) as info:
            await h.signal("deposit", "x" * 10_000)
        assert info.value.status is RPCStatusCode.RESOURCE_EXHAUSTED
        assert await history(engine, unique_id) == before
        await c.close()


async def test_concurrent_call_and_watch_limits(engine: Engine, unique_id: str) -> None:
    await engine.start_workflow(Account.run, 0, id=unique_id)
    request = pb.WatchWorkflowRequest(workflow_id=unique_id)
    async with (
        BridgeServer(engine, max_watch_streams=1) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        stub = pb_grpc.BridgeServiceStub(channel)
        first = stub.WatchWorkflow(request)
        assert (await first.read()).events[0].event_id == 1  # the stream is open
        code, message = await status_of(stub.WatchWorkflow(request).read())
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED and "watch streams" in message
        first.cancel()
    async with (
        BridgeServer(engine, max_concurrent_rpcs=1) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        stub = pb_grpc.BridgeServiceStub(channel)
        held = stub.WatchWorkflow(request)
        await held.read()
        code, _ = await status_of(
            stub.DescribeWorkflow(pb.DescribeWorkflowRequest(workflow_id=unique_id))
        )
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
        held.cancel()


# -- watch --------------------------------------------------------------------------------


class _Collector:
    """Consumes a watch in a task; tests wait on how many events it has seen."""

    def __init__(self, handle: BridgeWorkflowHandle, from_event_id: int = 1) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._run(handle, from_event_id))

    async def _run(self, handle: BridgeWorkflowHandle, from_event_id: int) -> None:
        async for event in handle.watch(from_event_id):
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def until(self, count: int) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.events) >= count or self.task.done())

        await asyncio.wait_for(wait(), WAIT)
        if self.task.done():
            self.task.result()  # surface the watch's error, if any


async def test_watch_streams_events_as_they_are_appended(
    engine: Engine, client: BridgeClient, unique_id: str
) -> None:
    h = await client.start_workflow(Account.run, 0, id=unique_id)
    watch = _Collector(client.get_workflow_handle(unique_id))
    await watch.until(1)
    for amount in range(1, 6):
        await h.signal(Account.deposit, amount)
        await watch.until(len(await history(engine, unique_id)))  # delivered live
        assert watch.events[-1].attributes["signal_name"] == "deposit"
    await h.execute_update(Account.withdraw, 3)
    await h.signal(Account.close)
    await asyncio.wait_for(watch.task, WAIT)  # the stream ends after the close event
    assert watch.events == await history(engine, unique_id)
    assert watch.events[-1].event_type is EventType.WORKFLOW_EXECUTION_COMPLETED
    # a watch from a given event id of a closed run replays the rest and ends
    tail = [e async for e in h.watch(from_event_id=4)]
    assert tail == watch.events[3:]


async def test_watch_reconnects_across_a_server_restart_missing_nothing(
    engine: Engine, unique_id: str
) -> None:
    first = BridgeServer(engine)
    await first.start()
    address = first.address
    client = await BridgeClient.connect(address)
    run = await engine.start_workflow(Account.run, 0, id=unique_id)
    watch = _Collector(client.get_workflow_handle(unique_id))
    for amount in range(3):
        await run.signal(Account.deposit, amount)
    await watch.until(len(await history(engine, unique_id)))
    await first.stop()  # the stream breaks (UNAVAILABLE) and the client starts reconnecting
    for amount in range(3, 8):  # appended while no bridge is serving
        await run.signal(Account.deposit, amount)
    assert not watch.task.done()
    second = BridgeServer(engine, address=address)
    await second.start()
    try:
        for amount in range(8, 10):
            await run.signal(Account.deposit, amount)
        await run.signal(Account.close)
        await asyncio.wait_for(watch.task, WAIT)
        everything = await history(engine, unique_id)
        assert [e.event_id for e in watch.events] == list(range(1, len(everything) + 1))
        assert watch.events == everything
    finally:
        await client.close()
        await second.stop()


async def test_watch_resumes_from_an_event_id(
    engine: Engine, stub: pb_grpc.BridgeServiceStub, unique_id: str
) -> None:
    """What a reconnecting client in any language does: ask from one past the last id."""
    run = await engine.start_workflow(Account.run, 0, id=unique_id)
    for amount in range(4):
        await run.signal(Account.deposit, amount)
    await run.signal(Account.close)
    await run.result()
    got: list[int] = []
    async for resp in stub.WatchWorkflow(
        pb.WatchWorkflowRequest(workflow_id=unique_id, from_event_id=3)
    ):
        assert resp.run_id == run.result_run_id
        got += [e.event_id for e in resp.events]
    assert got == list(range(3, len(await history(engine, unique_id)) + 1))


# -- any language ------------------------------------------------------------------------


async def test_json_payloads_from_any_client(
    stub: pb_grpc.BridgeServiceStub, unique_id: str
) -> None:
    started = await stub.StartWorkflow(
        pb.StartWorkflowRequest(workflow_type="Account", workflow_id=unique_id, args=[js(40)])
    )
    assert started.run_id
    await stub.SignalWorkflow(
        pb.SignalWorkflowRequest(workflow_id=unique_id, signal_name="deposit", args=[js(2)])
    )
    answer = await stub.QueryWorkflow(
        pb.QueryWorkflowRequest(workflow_id=unique_id, query_name="balance")
    )
    assert answer.result.metadata["encoding"] == b"json/plain"
    assert json.loads(answer.result.data) == 42
    update = await stub.UpdateWorkflow(
        pb.UpdateWorkflowRequest(workflow_id=unique_id, update_name="withdraw", args=[js(5000)])
    )
    assert update.WhichOneof("outcome") == "failure" and update.update_id
    assert update.failure.application_failure_info.type == "Limit"
    await stub.SignalWorkflow(pb.SignalWorkflowRequest(workflow_id=unique_id, signal_name="close"))
    result = await stub.GetWorkflowResult(pb.GetWorkflowResultRequest(workflow_id=unique_id))
    assert json.loads(result.result.data) == 42
    events = (
        await stub.GetWorkflowHistory(pb.GetWorkflowHistoryRequest(workflow_id=unique_id))
    ).events
    assert events[0].event_type == pb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    attributes = json.loads(events[0].attributes_json)
    assert attributes["workflow_type"] == "Account"
    described = await stub.DescribeWorkflow(pb.DescribeWorkflowRequest(workflow_id=unique_id))
    info = described.execution_info
    assert info.status == pb.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert info.history_length == len(events)


# -- health and reflection ---------------------------------------------------------------


async def test_health_and_reflection(server: BridgeServer) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE_NAME):
            resp = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = refl.ServerReflectionInfo()
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        listed = await call.read()
        names = {s.name for s in listed.list_services_response.service}
        assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
        await call.write(
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME)
        )
        found = await call.read()
        files = [
            descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in found.file_descriptor_response.file_descriptor_proto
        ]
        assert "fastcore/bridge/v1/bridge.proto" in {f.name for f in files}
        await call.done_writing()


async def test_server_binds_loopback_by_default(engine: Engine) -> None:
    async with BridgeServer(engine) as server:
        host, _, port = server.address.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
    with pytest.raises(RuntimeError, match="not started"):
        _ = BridgeServer(engine).address
