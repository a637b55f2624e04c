"""The fastcore side of the benchmarks: the same shapes as ``_temporal_bench``, in-process.

Latencies are measured one workflow at a time (start to result), reported p50/p95 in
milliseconds with the same nearest-rank percentile as the Temporal side. ``throughput``
starts N workflows at once and reports workflows per second over the wall time.
``memory_per_waiting_workflow`` starts N workflows parked on a signal and divides the
traced memory they hold by N.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from benchmarks._bench_common import percentile, timed_calls
from fastcore import Engine, activity, workflow

Result = dict[str, Any]
T = timedelta(seconds=10)


@activity.defn
async def increment(x: int) -> int:
    return x + 1


@workflow.defn
class Noop:
    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn
class ThreeActivities:
    @workflow.run
    async def run(self, x: int) -> int:
        x = await workflow.execute_activity(increment, x, start_to_close_timeout=T)
        x = await workflow.execute_activity(increment, x, start_to_close_timeout=T)
        return await workflow.execute_activity(increment, x, start_to_close_timeout=T)


@workflow.defn
class WaitForSignal:
    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        assert self.value is not None
        return self.value

    @workflow.signal
    def deliver(self, value: str) -> None:
        self.value = value

    @workflow.query
    def current(self) -> str | None:
        return self.value


WORKFLOWS = [Noop, ThreeActivities, WaitForSignal]
ACTIVITIES = [increment]


def result(
    label: str,
    benchmark: str,
    samples: Sequence[float],
    *,
    wall: float | None = None,
    count: int | None = None,
    **extra: Any,
) -> Result:
    """A result row in the shape ``_temporal_bench`` uses (seconds in, milliseconds out)."""
    ms = [s * 1000 for s in samples]
    row: Result = {
        "runtime": "fastcore",
        "server": label,
        "runner": "in-process",
        "benchmark": benchmark,
        "n": len(samples),
        "p50_ms": percentile(ms, 50) if ms else None,
        "p95_ms": percentile(ms, 95) if ms else None,
        "mean_ms": sum(ms) / len(ms) if ms else None,
        "wall_s": wall,
        "throughput_per_s": (count / wall) if wall and count else None,
    }
    row.update(extra)
    return row


async def bench_engine(
    engine: Engine,
    label: str,
    *,
    samples: int = 2000,
    warmup: int = 200,
    throughput_n: int = 10_000,
) -> list[Result]:
    """The five latency/throughput shapes on one engine."""
    run = uuid.uuid4().hex[:6]
    rows: list[Result] = []

    async def noop(i: int) -> None:
        await engine.execute_workflow(Noop.run, id=f"noop-{run}-{i}")

    rows.append(result(label, "noop", await timed_calls(noop, samples, warmup=warmup)))

    async def three(i: int) -> None:
        await engine.execute_workflow(ThreeActivities.run, 1, id=f"three-{run}-{i}")

    rows.append(result(label, "three_activities", await timed_calls(three, samples, warmup=warmup)))

    sig: list[float] = []
    for i in range(samples):
        h = await engine.start_workflow(WaitForSignal.run, id=f"sig-{run}-{i}")
        t = time.perf_counter()
        await h.signal(WaitForSignal.deliver, "x")
        await h.result()
        sig.append(time.perf_counter() - t)
    rows.append(result(label, "signal_round_trip", sig[warmup:] if len(sig) > warmup else sig))

    h = await engine.start_workflow(WaitForSignal.run, id=f"q-{run}")

    async def query(_: int) -> None:
        await h.query(WaitForSignal.current)

    rows.append(result(label, "query_round_trip", await timed_calls(query, samples, warmup=warmup)))
    await h.signal(WaitForSignal.deliver, "done")

    async def one(i: int) -> float:
        t = time.perf_counter()
        await engine.execute_workflow(ThreeActivities.run, i, id=f"tp-{run}-{i}")
        return time.perf_counter() - t

    t0 = time.perf_counter()
    lat = await asyncio.gather(*(one(i) for i in range(throughput_n)))
    wall = time.perf_counter() - t0
    rows.append(
        result(label, "throughput", lat, wall=wall, count=throughput_n, concurrency=throughput_n)
    )
    return rows


async def bench_memory(n: int = 10_000) -> Result:
    """Bytes held per workflow parked on a signal (tracemalloc, after a full GC)."""
    async with Engine(workflows=WORKFLOWS, activities=ACTIVITIES, retention=None) as engine:
        await engine.execute_workflow(Noop.run, id="warm")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            await engine.start_workflow(WaitForSignal.run, id=f"mem-{i}")
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        per = (after - before) / n
    return {
        "runtime": "fastcore",
        "server": "memory",
        "runner": "in-process",
        "benchmark": "memory_per_waiting_workflow",
        "n": n,
        "bytes_per_workflow": per,
    }


async def run_fastcore_benchmarks(
    *, samples: int = 2000, warmup: int = 200, throughput_n: int = 10_000
) -> list[Result]:
    """Everything above on the memory store."""
    async with Engine(workflows=WORKFLOWS, activities=ACTIVITIES, retention=None) as engine:
        rows = await bench_engine(
            engine, "memory", samples=samples, warmup=warmup, throughput_n=throughput_n
        )
    rows.append(await bench_memory())
    return rows


if __name__ == "__main__":
    for r in asyncio.run(run_fastcore_benchmarks(samples=500, warmup=50, throughput_n=2000)):
        print(r)
