"""The gRPC bridge's side of the benchmark harness: round trips and watch throughput.

Everything runs in this process on one asyncio loop: a fastcore ``Engine``, a
``BridgeServer`` on ``127.0.0.1:0`` (and its unix socket) and ``BridgeClient``s talking to it
over real loopback TCP and the unix socket. Client and server share the loop (and so one
core), which makes every round trip pay for both ends in series: a pessimistic setting next
to a client in another process.

grpcio's own floor, measured against a plain ``grpc.aio`` server (the standard health
service, nothing of the bridge) in the same process:

- ``grpc_floor_aio_tcp`` / ``grpc_floor_aio_unix``: a ``grpc.aio`` unary call from this
  loop, over TCP loopback / the unix socket;
- ``grpc_floor_sync_tcp`` / ``grpc_floor_sync_unix``: the synchronous stack, a blocking
  unary call from a thread of its own (no event loop on the client side).

The bridge's calls (``BridgeClient.connect`` defaults: the unix socket; ``_tcp``: told to
stay on TCP):

- ``bridge_signal_round_trip``: ``handle.signal`` to a running workflow, from the call
  until the server answered (the signal is recorded in the history by then).
- ``bridge_query_round_trip``: ``handle.query`` answered from the workflow's live state.
- ``bridge_update_round_trip``: ``handle.execute_update`` through validation, handler and
  the recorded result.
- ``bridge_watch_replay``: a watch over the closed history of a run with many events:
  events per second delivered to the client (samples: the time per stream message).
- ``bridge_watch_live``: a client watches a running workflow through the bridge while
  signals are sent to the engine in-process, one at a time: each sample is the time from
  sending the signal until the watching client received its event.

The aio floors and the bridge's round trips are measured interleaved (one call of each in
turn), so drift on a shared machine hits them alike. Latencies are p50/p95 in milliseconds
(nearest rank). Run it alone with ``python -m benchmarks._bridge_bench`` from the repository
root.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from benchmarks._bench_common import markdown_table, timing_row
from bridge import BridgeClient, BridgeServer
from fastcore import Engine, workflow
from fastcore.history import EventType

__all__ = ["BridgeCounter", "floor_ratios", "format_table", "run_bridge_benchmarks"]

Result = dict[str, Any]


@workflow.defn
class BridgeCounter:
    """A counter that signals, queries and updates touch until ``finish``."""

    def __init__(self) -> None:
        self.n = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.n

    @workflow.signal
    def add(self, k: int) -> None:
        self.n += k

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def value(self) -> int:
        return self.n

    @workflow.update
    def set(self, v: int) -> int:
        old, self.n = self.n, v
        return old


def _result(
    benchmark: str,
    samples_s: Sequence[float],
    *,
    store: str,
    wall_s: float | None = None,
    count: int | None = None,
) -> Result:
    return timing_row(
        benchmark,
        samples_s,
        runtime="bridge",
        server=f"loopback/{store}",
        runner="grpc.aio",
        wall_s=wall_s,
        count=count,
    )


async def run_bridge_benchmarks(
    *,
    samples: int = 2000,
    warmup: int = 200,
    watch_events: int = 5000,
    live_events: int = 1000,
    store: str = "memory",
) -> list[Result]:
    """Measure bridge round trips and watch throughput over loopback gRPC.

    Args:
        samples: Timed calls per round-trip benchmark.
        warmup: Untimed calls before each.
        watch_events: Events in the history the replay benchmark streams.
        live_events: Events the live benchmark times one by one.
        store: The engine's store URL.

    Returns:
        One result row per benchmark, in the shape of ``benchmarks._temporal_bench``'s rows.
    """
    results: list[Result] = []
    async with (
        Engine(store, workflows=[BridgeCounter]) as engine,
        BridgeServer(engine) as server,
        await BridgeClient.connect(server.address) as client,
        await BridgeClient.connect(server.address, prefer_unix_socket=False) as tcp_client,
    ):
        h = await client.start_workflow(BridgeCounter.run, id=f"bench-{uuid.uuid4().hex}")
        ht = tcp_client.get_workflow_handle(h.id)
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "bridge_signal_round_trip": lambda: h.signal(BridgeCounter.add, 1),
            "bridge_query_round_trip": lambda: h.query(BridgeCounter.value),
            "bridge_update_round_trip": lambda: h.execute_update(BridgeCounter.set, 5),
            "bridge_signal_round_trip_tcp": lambda: ht.signal(BridgeCounter.add, 1),
            "bridge_query_round_trip_tcp": lambda: ht.query(BridgeCounter.value),
        }
        async with _Floors(samples, warmup) as (aio_calls, sync_rows):
            timed = await _interleaved({**aio_calls, **calls}, samples, warmup)
        for name, got in timed.items():
            row = _result(name, got, store=store)
            row["transport"] = (
                "tcp" if name.endswith("_tcp") else "unix" if client.target.startswith("unix:")
                else "tcp"
            )  # fmt: skip
            results.append(row)
        results.extend(_result(name, got, store=store) for name, got in sync_rows.items())
        await h.signal(BridgeCounter.finish)
        await h.result()

        # replay: a closed run's whole history, streamed
        run = await engine.start_workflow(BridgeCounter.run, id=f"bench-{uuid.uuid4().hex}")
        for _ in range(watch_events):
            await run.signal(BridgeCounter.add, 1)
        await run.signal(BridgeCounter.finish)
        await run.result()
        watched = client.get_workflow_handle(run.id)
        gaps: list[float] = []
        count = 0
        t0 = last = time.perf_counter()
        async for _event in watched.watch():
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            count += 1
        wall = time.perf_counter() - t0
        results.append(_result("bridge_watch_replay", gaps, store=store, wall_s=wall, count=count))

        # live: each signal's event, from the engine's append to the watching client
        results.append(await _watch_live(engine, client, live_events, store))
    return results


async def _interleaved(
    calls: Mapping[str, Callable[[], Awaitable[Any]]], samples: int, warmup: int
) -> dict[str, list[float]]:
    """Time each call ``samples`` times, one of each in turn (after ``warmup`` rounds)."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    clock = time.perf_counter
    for i in range(warmup + samples):
        for name, call in calls.items():
            t0 = clock()
            await call()
            if i >= warmup:
                out[name].append(clock() - t0)
    return out


class _Floors:
    """A plain grpc.aio server (the standard health service) on TCP and a unix socket."""

    def __init__(self, samples: int, warmup: int) -> None:
        self._samples, self._warmup = samples, warmup
        self._dir = tempfile.mkdtemp(prefix="fastcore-floor-")
        self._server: grpc.aio.Server | None = None
        self._channels: list[grpc.aio.Channel] = []

    async def __aenter__(
        self,
    ) -> tuple[dict[str, Callable[[], Awaitable[Any]]], dict[str, list[float]]]:
        server = self._server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        unix = f"unix:{self._dir}/floor.sock"
        server.add_insecure_port(unix)
        await server.start()
        tcp = f"127.0.0.1:{port}"
        ping = health_pb2.HealthCheckRequest()
        aio: dict[str, Callable[[], Awaitable[Any]]] = {}
        for name, target in (("grpc_floor_aio_tcp", tcp), ("grpc_floor_aio_unix", unix)):
            channel = grpc.aio.insecure_channel(target)
            self._channels.append(channel)
            aio[name] = functools.partial(health_pb2_grpc.HealthStub(channel).Check, ping)
        sync: dict[str, list[float]] = {}
        loop = asyncio.get_running_loop()
        for name, target in (("grpc_floor_sync_tcp", tcp), ("grpc_floor_sync_unix", unix)):
            sync[name] = await loop.run_in_executor(None, self._blocking, target, ping)
        return aio, sync

    def _blocking(self, target: str, ping: Any) -> list[float]:
        """The synchronous stack: blocking calls from this (non-loop) thread."""
        with grpc.insecure_channel(target) as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            for _ in range(self._warmup):
                check(ping)
            out = []
            clock = time.perf_counter
            for _ in range(self._samples):
                t0 = clock()
                check(ping)
                out.append(clock() - t0)
        return out

    async def __aexit__(self, *exc: object) -> None:
        for channel in self._channels:
            await channel.close()
        if self._server is not None:
            await self._server.stop(None)
        shutil.rmtree(self._dir, ignore_errors=True)


async def _watch_live(engine: Engine, client: BridgeClient, events: int, store: str) -> Result:
    run = await engine.start_workflow(BridgeCounter.run, id=f"bench-{uuid.uuid4().hex}")
    loop = asyncio.get_running_loop()
    arrivals: dict[int, asyncio.Future[float]] = {}
    opened: asyncio.Future[None] = loop.create_future()

    async def watch() -> None:
        signaled = 0
        async for event in client.get_workflow_handle(run.id).watch():
            if not opened.done():
                opened.set_result(None)
            if event.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED:
                signaled += 1
                waiter = arrivals.pop(signaled, None)
                if waiter is not None:
                    waiter.set_result(time.perf_counter())

    watcher = asyncio.create_task(watch())
    await opened
    delays: list[float] = []
    t0 = time.perf_counter()
    for i in range(1, events + 1):
        arrived = arrivals[i] = loop.create_future()
        sent = time.perf_counter()
        await run.signal(BridgeCounter.add, 1)
        delays.append(await arrived - sent)
    wall = time.perf_counter() - t0
    await run.signal(BridgeCounter.finish)
    await watcher
    return _result("bridge_watch_live", delays, store=store, wall_s=wall)


def floor_ratios(results: Sequence[Result]) -> list[Result]:
    """The bridge's signal and query p50 against grpcio's floor measured in the same run.

    ``floor`` is the fastest of the four floors (the target: at most 1.1x of it);
    ``same_transport`` compares with the grpc.aio floor over the transport the bridge used.
    """
    by = {r["benchmark"]: r for r in results}
    floors = {k: v["p50_ms"] for k, v in by.items() if k.startswith("grpc_floor_")}
    if not floors:
        return []
    best = min(floors, key=lambda k: floors[k])
    out: list[Result] = []
    for call in ("signal", "query"):
        row = by.get(f"bridge_{call}_round_trip")
        if row is None:
            continue
        same = f"grpc_floor_aio_{row.get('transport', 'tcp')}"
        out.append(
            {
                "call": call,
                "bridge_p50_ms": row["p50_ms"],
                "floor": best,
                "floor_p50_ms": floors[best],
                "ratio": row["p50_ms"] / floors[best],
                "same_transport_floor": same,
                "same_transport_ratio": row["p50_ms"] / floors[same] if same in floors else None,
            }
        )
    return out


def format_table(results: Sequence[Result]) -> str:
    """Render result rows as a Markdown table."""
    return markdown_table(
        ["runtime", "server", "benchmark", "n", "p50 ms", "p95 ms", "per s"],
        (
            [
                r["runtime"],
                r["server"],
                r["benchmark"],
                r["n"],
                f"{r['p50_ms']:.3f}",
                f"{r['p95_ms']:.3f}",
                "" if r["throughput_per_s"] is None else f"{r['throughput_per_s']:.0f}",
            ]
            for r in results
        ),
        "lllrrrr",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m benchmarks._bridge_bench [--samples N] [--store URL]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--watch-events", type=int, default=5000)
    parser.add_argument("--live-events", type=int, default=1000)
    parser.add_argument("--store", default="memory")
    ns = parser.parse_args(argv)
    rows = asyncio.run(
        run_bridge_benchmarks(
            samples=ns.samples,
            warmup=ns.warmup,
            watch_events=ns.watch_events,
            live_events=ns.live_events,
            store=ns.store,
        )
    )
    print(format_table(rows))


if __name__ == "__main__":
    main()
