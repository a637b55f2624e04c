"""The gRPC bridge's side of the benchmark harness: round trips and watch throughput.

Everything runs in this process on one asyncio loop: a fastcore ``Engine``, a
``BridgeServer`` on ``127.0.0.1:0`` and a ``BridgeClient`` talking to it over real
loopback TCP. Client and server share the loop (and so one core), which makes every
round trip pay for both ends in series: a pessimistic setting next to a client in
another process.

- ``grpc_floor``: a gRPC health check on the same server, the cost of grpc.aio itself.
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

Latencies are p50/p95 in milliseconds (nearest rank). Run it alone with
``python -m benchmarks._bridge_bench`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge import BridgeClient, BridgeServer
from fastcore import Engine, workflow
from fastcore.history import EventType

__all__ = ["BridgeCounter", "format_table", "percentile", "run_bridge_benchmarks"]

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


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``samples`` (``pct`` in 0..100)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _result(
    benchmark: str,
    samples_s: Sequence[float],
    *,
    store: str,
    wall_s: float | None = None,
    count: int | None = None,
) -> Result:
    ms = [s * 1000 for s in samples_s]
    return {
        "runtime": "bridge",
        "server": f"loopback/{store}",
        "runner": "grpc.aio",
        "benchmark": benchmark,
        "n": count if count is not None else len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": statistics.fmean(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "wall_s": wall_s,
        "throughput_per_s": None if wall_s is None else (count or len(ms)) / wall_s,
    }


async def _timed(call: Callable[[], Awaitable[Any]], samples: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    out = []
    clock = time.perf_counter
    for _ in range(samples):
        t0 = clock()
        await call()
        out.append(clock() - t0)
    return out


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
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        ping = health_pb2.HealthCheckRequest()
        results.append(
            _result(
                "grpc_floor",
                await _timed(lambda: health.Check(ping), samples, warmup),
                store=store,
            )
        )

        h = await client.start_workflow(BridgeCounter.run, id=f"bench-{uuid.uuid4().hex}")
        for name, call in (
            ("bridge_signal_round_trip", lambda: h.signal(BridgeCounter.add, 1)),
            ("bridge_query_round_trip", lambda: h.query(BridgeCounter.value)),
            ("bridge_update_round_trip", lambda: h.execute_update(BridgeCounter.set, 5)),
        ):
            results.append(_result(name, await _timed(call, samples, warmup), store=store))
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


def format_table(results: Sequence[Result]) -> str:
    """Render result rows as a Markdown table."""
    lines = [
        "| runtime | server | benchmark | n | p50 ms | p95 ms | per s |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = "" if r["throughput_per_s"] is None else f"{r['throughput_per_s']:.0f}"
        lines.append(
            f"| {r['runtime']} | {r['server']} | {r['benchmark']} | {r['n']} "
            f"| {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | {rate} |"
        )
    return "\n".join(lines)


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
