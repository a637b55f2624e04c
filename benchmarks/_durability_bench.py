"""Durable fastcore (SQLite, sync and batch) against DBOS Transact on SQLite, same shapes.

- ``three_activities``: one workflow alone, start to result, p50/p95.
- ``throughput_1000``: 1,000 concurrent 3-activity workflows; workflows per second.
- ``many_10000``: 10,000 started at once (the engine section's throughput shape) on the
  same store; workflows per second.
- ``recovery_10000``: an engine restarted on a store holding 10,000 open workflows; seconds
  from ``Engine(...)`` to every workflow rebuilt and waiting again.

DBOS runs the same 3-step workflow (``@DBOS.workflow`` with three ``@DBOS.step`` calls) on
its SQLite system database, in a subprocess so its process-wide singleton stays out of ours.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._fastcore_bench import ACTIVITIES, WORKFLOWS, ThreeActivities, WaitForSignal, result
from fastcore import Engine

Result = dict[str, Any]
ROOT = Path(__file__).resolve().parents[1]


async def bench_sqlite(
    mode: str, *, samples: int = 300, concurrent: int = 1000, many: int = 0
) -> list[Result]:
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/bench.db?durability={mode}"
        async with Engine(
            url, workflows=WORKFLOWS, activities=ACTIVITIES, retention=None
        ) as engine:
            for i in range(20):
                await engine.execute_workflow(ThreeActivities.run, 1, id=f"warm-{i}")
            lat = []
            for i in range(samples):
                t = time.perf_counter()
                await engine.execute_workflow(ThreeActivities.run, 1, id=f"one-{i}")
                lat.append(time.perf_counter() - t)
            rows.append(result(f"sqlite-{mode}", "three_activities", lat))

            async def one(i: int) -> float:
                t = time.perf_counter()
                await engine.execute_workflow(ThreeActivities.run, i, id=f"tp-{i}")
                return time.perf_counter() - t

            t0 = time.perf_counter()
            lat = list(await asyncio.gather(*(one(i) for i in range(concurrent))))
            wall = time.perf_counter() - t0
            rows.append(
                result(
                    f"sqlite-{mode}",
                    f"throughput_{concurrent}",
                    lat,
                    wall=wall,
                    count=concurrent,
                    concurrency=concurrent,
                )
            )
            if many:  # the engine section's shape: ``many`` at once, on this store
                gc.collect()
                t0 = time.perf_counter()
                lat = list(
                    await asyncio.gather(
                        *(
                            engine.execute_workflow(ThreeActivities.run, i, id=f"many-{i}")
                            for i in range(many)
                        )
                    )
                )
                wall = time.perf_counter() - t0
                rows.append(
                    result(
                        f"sqlite-{mode}",
                        f"many_{many}",
                        [],
                        wall=wall,
                        count=many,
                        concurrency=many,
                    )
                )
    return rows


async def bench_recovery(n: int = 10_000) -> Result:
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/recover.db?durability=batch"
        async with Engine(
            url, workflows=WORKFLOWS, activities=ACTIVITIES, retention=None
        ) as engine:
            for i in range(n):
                await engine.start_workflow(WaitForSignal.run, id=f"open-{i}")
        t = time.perf_counter()
        async with Engine(
            url, workflows=WORKFLOWS, activities=ACTIVITIES, retention=None
        ) as engine:
            elapsed = time.perf_counter() - t
            open_runs = sum(1 for r in engine._runs.values() if r.open)
            h = engine.get_workflow_handle(f"open-{n - 1}")
            await h.signal(WaitForSignal.deliver, "after restart")
            assert await h.result() == "after restart"
    return {
        "runtime": "fastcore",
        "server": "sqlite",
        "runner": "in-process",
        "benchmark": f"recovery_{n}",
        "n": open_runs,
        "seconds": elapsed,
    }


_DBOS_SCRIPT = r"""
import asyncio, json, sys, time
from dbos import DBOS, DBOSConfig
db, samples, concurrent = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DBOS(config={"name": "bench", "system_database_url": f"sqlite:///{db}", "log_level": "WARNING"})

@DBOS.step()
async def increment(x: int) -> int:
    return x + 1

@DBOS.workflow()
async def three(x: int) -> int:
    x = await increment(x)
    x = await increment(x)
    return await increment(x)

async def main():
    DBOS.launch()
    for i in range(5):
        await three(1)
    lat = []
    for i in range(samples):
        t = time.perf_counter(); await three(1); lat.append(time.perf_counter() - t)
    t0 = time.perf_counter()
    hs = await asyncio.gather(*(DBOS.start_workflow_async(three, i) for i in range(concurrent)))
    await asyncio.gather(*(h.get_result() for h in hs))
    wall = time.perf_counter() - t0
    print(json.dumps({"lat": lat, "wall": wall}))
    DBOS.destroy()

asyncio.run(main())
"""


def bench_dbos(*, samples: int = 100, concurrent: int = 1000) -> list[Result]:
    try:
        import dbos  # noqa: F401
    except ImportError:
        return [
            {
                "runtime": "dbos",
                "benchmark": "skipped",
                "note": "pip install dbos (the bench extra)",
            }
        ]
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [sys.executable, "-c", _DBOS_SCRIPT, f"{d}/dbos.sqlite", str(samples), str(concurrent)],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=d,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    if out.returncode != 0:
        return [{"runtime": "dbos", "benchmark": "failed", "note": out.stderr[-500:]}]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [
        result("sqlite", "three_activities", data["lat"]),
        result(
            "sqlite",
            f"throughput_{concurrent}",
            [],
            wall=data["wall"],
            count=concurrent,
            concurrency=concurrent,
        ),
    ]
    for r in rows:
        r["runtime"] = "dbos"
        r["runner"] = "DBOS Transact"
    return rows


async def run_durability_benchmarks(
    *,
    samples: int = 300,
    concurrent: int = 1000,
    recovery_n: int = 10_000,
    dbos_samples: int = 100,
    dbos_concurrent: int = 1000,
    many: int = 10_000,
) -> list[Result]:
    rows = []
    rows += await bench_sqlite("sync", samples=samples, concurrent=concurrent, many=many)
    rows += await bench_sqlite("batch", samples=samples, concurrent=concurrent, many=many)
    rows.append(await bench_recovery(recovery_n))
    rows += await asyncio.to_thread(bench_dbos, samples=dbos_samples, concurrent=dbos_concurrent)
    return rows


if __name__ == "__main__":
    for r in asyncio.run(
        run_durability_benchmarks(samples=100, dbos_samples=30, dbos_concurrent=200)
    ):
        print(r)
