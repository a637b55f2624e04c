"""A client on the bridge's machine talks through its unix socket; elsewhere, through TCP.

The server listens on a unix socket in a directory only its user can enter, names it in its
health check answers, and removes it when it stops; ``BridgeClient.connect`` uses it once it
met the same server there, and stays on TCP when the path is not there (another machine),
when asked to, or when the server has TLS.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import AsyncIterator

import grpc.aio
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge import BridgeClient, BridgeServer
from bridge.rpc._local import INSTANCE_KEY, SOCKET_KEY
from bridge.rpc._server import SERVICE_NAME
from fastcore import Engine, workflow


@workflow.defn
class Tally:
    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total

    @workflow.signal
    def add(self, n: int) -> None:
        self.total += n

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def value(self) -> int:
        return self.total


@pytest_asyncio.fixture(loop_scope="function")
async def engine() -> AsyncIterator[Engine]:
    async with Engine(workflows=[Tally]) as e:
        yield e


def wid() -> str:
    return f"local-{uuid.uuid4().hex[:10]}"


async def test_a_local_client_goes_through_the_unix_socket(engine: Engine) -> None:
    async with BridgeServer(engine) as server:
        assert server.unix_address is not None
        path = server.unix_address.removeprefix("unix:")
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        folder = os.stat(os.path.dirname(path))
        assert folder.st_uid == os.getuid() and folder.st_mode & 0o777 == 0o700
        async with await BridgeClient.connect(server.address) as client:
            assert client.target == server.unix_address
            h = await client.start_workflow(Tally.run, id=wid())
            await h.signal(Tally.add, 5)
            assert await h.query(Tally.value) == 5
            await h.signal(Tally.finish)
            assert await h.result() == 5
    assert not os.path.exists(path)  # stopping removes it


async def test_the_health_answer_names_the_socket_and_the_server(engine: Engine) -> None:
    async with (
        BridgeServer(engine) as first,
        BridgeServer(engine) as second,
        grpc.aio.insecure_channel(first.address) as channel,
    ):
        call = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME)
        )
        await call
        named = dict(await call.initial_metadata() or ())
        assert named[SOCKET_KEY] == (first.unix_address or "").removeprefix("unix:")
        assert first.unix_address != second.unix_address
        other = grpc.aio.insecure_channel(second.address)
        call2 = health_pb2_grpc.HealthStub(other).Check(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME)
        )
        await call2
        assert dict(await call2.initial_metadata() or ())[INSTANCE_KEY] != named[INSTANCE_KEY]
        # a probe of the server's overall health gets the usual answer, nothing more
        call3 = health_pb2_grpc.HealthStub(other).Check(health_pb2.HealthCheckRequest())
        await call3
        assert SOCKET_KEY not in dict(await call3.initial_metadata() or ())
        await other.close()


async def test_tcp_when_the_socket_is_not_on_this_machine(engine: Engine) -> None:
    async with BridgeServer(engine) as server:
        assert server.unix_address is not None
        os.unlink(server.unix_address.removeprefix("unix:"))  # as seen from another machine
        async with await BridgeClient.connect(server.address) as client:
            assert client.target == server.address
            h = await client.start_workflow(Tally.run, id=wid())
            await h.signal(Tally.add, 2)
            assert await h.query(Tally.value) == 2


async def test_tcp_when_asked(engine: Engine) -> None:
    async with (
        BridgeServer(engine) as server,
        await BridgeClient.connect(server.address, prefer_unix_socket=False) as client,
    ):
        assert client.target == server.address
        h = await client.start_workflow(Tally.run, id=wid())
        assert await h.query(Tally.value) == 0


async def test_a_server_without_a_socket_names_none(engine: Engine) -> None:
    async with BridgeServer(engine, unix_socket=False) as server:
        assert server.unix_address is None
        async with await BridgeClient.connect(server.address) as client:
            assert client.target == server.address


async def test_a_restarted_server_listens_on_the_same_socket(engine: Engine) -> None:
    first = BridgeServer(engine)
    await first.start()
    address, unix = first.address, first.unix_address
    client = await BridgeClient.connect(address)
    try:
        assert client.target == unix
        h = await client.start_workflow(Tally.run, id=wid())
        await first.stop()
        second = BridgeServer(engine, address=address)
        await second.start()
        try:
            assert second.unix_address == unix
            await h.signal(Tally.add, 3)  # the client's channel reconnected to the new server
            assert await h.query(Tally.value) == 3
        finally:
            await second.stop()
    finally:
        await client.close()


async def test_a_stale_path_is_replaced(engine: Engine) -> None:
    async with BridgeServer(engine) as probe:
        address, unix = probe.address, probe.unix_address
    assert unix is not None
    path = unix.removeprefix("unix:")
    with open(path, "w") as f:  # what a server that died leaves behind
        f.write("left over")
    async with BridgeServer(engine, address=address) as server:
        assert server.unix_address == unix
        async with await BridgeClient.connect(address) as client:
            assert client.target == unix
