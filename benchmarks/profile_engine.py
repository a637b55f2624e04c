"""Where the engine's time goes: each benchmark shape under cProfile, with GC time measured.

``python -m benchmarks.profile_engine [--shape NAME ...] [--top N]`` from the repository
root prints, per shape, the wall and CPU time per workflow without the profiler (CPU time
of the process: on a shared machine it leaves out the time other processes had the cores),
the share of the wall time spent in CPython's cyclic garbage collector (``gc.callbacks``),
and the functions with the most own time under cProfile, with calls per workflow.
``benchmarks/PROFILE.md`` is written
from its output. A tool for reading, not a benchmark: the numbers under the profiler are
inflated by it; the shares are what matter.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._fastcore_bench import (
    ACTIVITIES,
    WORKFLOWS,
    Noop,
    ThreeActivities,
    WaitForSignal,
)
from fastcore import Engine

Shape = Callable[[Engine, int], Awaitable[None]]


class _GcTimer:
    """Total seconds spent in GC passes (all generations) while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.passes = [0, 0, 0]
        self._t = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._t
            self.passes[info["generation"]] += 1

    def __enter__(self) -> _GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def _noop(engine: Engine, n: int) -> None:
    run = uuid.uuid4().hex[:6]
    for i in range(n):
        await engine.execute_workflow(Noop.run, id=f"noop-{run}-{i}")


async def _three(engine: Engine, n: int) -> None:
    run = uuid.uuid4().hex[:6]
    for i in range(n):
        await engine.execute_workflow(ThreeActivities.run, 1, id=f"three-{run}-{i}")


async def _signal(engine: Engine, n: int) -> None:
    run = uuid.uuid4().hex[:6]
    for i in range(n):
        h = await engine.start_workflow(WaitForSignal.run, id=f"sig-{run}-{i}")
        await h.signal(WaitForSignal.deliver, "x")
        await h.result()


async def _many(engine: Engine, n: int) -> None:
    run = uuid.uuid4().hex[:6]
    await asyncio.gather(
        *(engine.execute_workflow(ThreeActivities.run, i, id=f"tp-{run}-{i}") for i in range(n))
    )


SHAPES: dict[str, tuple[Shape, str, int]] = {
    # name: (what one batch runs, store, workflows per batch)
    "noop": (_noop, "memory", 2000),
    "three_activities": (_three, "memory", 2000),
    "signal_round_trip": (_signal, "memory", 2000),
    "throughput_memory": (_many, "memory", 10_000),
    "throughput_sqlite_batch": (_many, "batch", 10_000),
    "throughput_sqlite_sync": (_many, "sync", 10_000),
}


async def _engine_for(store: str, tmp: str) -> Engine:
    url = "memory" if store == "memory" else f"sqlite:///{tmp}/p.db?durability={store}"
    engine = Engine(url, workflows=WORKFLOWS, activities=ACTIVITIES, retention=None)
    await engine.start()
    return engine


async def profile_shape(name: str, top: int, profile: bool = True) -> str:
    """Time ``name`` plainly, then under cProfile; a text report."""
    shape, store, n = SHAPES[name]
    out = [f"== {name} ({store}, {n:,} workflows per pass)"]
    with tempfile.TemporaryDirectory() as tmp:
        engine = await _engine_for(store, tmp)
        try:
            await shape(engine, min(n, 500))  # warm up
            gc.collect()
            with _GcTimer() as gct:
                t, cpu = time.perf_counter(), time.process_time()
                await shape(engine, n)
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
            out.append(
                f"wall {wall / n * 1e6:.1f} us per workflow ({n / wall:,.0f} wf/s), "
                f"CPU {cpu / n * 1e6:.1f} us ({n / cpu:,.0f} wf/s of CPU); "
                f"GC {gct.seconds / wall * 100:.1f}% of the wall time "
                f"(passes by generation {gct.passes})"
            )
            if not profile:
                return "\n".join(out)
            prof = cProfile.Profile()
            prof.enable()
            await shape(engine, n)
            prof.disable()
        finally:
            await engine.shutdown()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    out.append(f"profiled total {total / n * 1e6:.1f} us per workflow; top by own time:")
    out.append(f"{'own %':>6} {'cum %':>6} {'calls/wf':>9}  function")
    for (file, line, func), (_cc, nc, tt, ct, _callers) in rows[:top]:
        where = file.split("/site-packages/")[-1].split("/perf/")[-1]
        out.append(
            f"{tt / total * 100:6.1f} {ct / total * 100:6.1f} {nc / n:9.2f}  "
            f"{func} ({where}:{line})"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="wall and GC time only")
    ns = parser.parse_args()
    for name in ns.shape:
        print(asyncio.run(profile_shape(name, ns.top, not ns.no_profile)), flush=True)
        print()


if __name__ == "__main__":
    main()
