"""What the benchmark sections share: percentiles, result rows, timing loops, Markdown tables.

The interleaved loops (the hybrid and scaling sections) run several ways of doing the same
work against one Temporal dev server in one run. Samples are interleaved way by way (one
sample of each, then the next), and throughput rounds alternate their order, so drift and
load from elsewhere hit every way alike.

Standard library only: the fastcore-only sections import it without temporalio.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Throughput",
    "interleaved_latencies",
    "latency_row",
    "markdown_table",
    "percentile",
    "throughput_rounds",
    "timed",
    "timed_calls",
    "timing_row",
]

Result = dict[str, Any]


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``samples`` (``pct`` in 0..100)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def timing_row(
    benchmark: str,
    samples_s: Sequence[float],
    *,
    runtime: str,
    server: str,
    runner: str,
    wall_s: float | None = None,
    count: int | None = None,
) -> Result:
    """A result row of ``samples_s`` (seconds) in milliseconds: p50, p95, mean, min, max.

    Args:
        benchmark: The row's benchmark name.
        samples_s: The samples, in seconds.
        runtime: What ran it (``temporal``, ``bridge``).
        server: Where (``tuned``, ``loopback/memory``).
        runner: How (``sandboxed``, ``grpc.aio``).
        wall_s: A throughput row's wall time; ``throughput_per_s`` is counted over it.
        count: How many were done, when not one per sample (events of a stream).
    """
    ms = [s * 1000 for s in samples_s]
    done = count if count is not None else len(ms)
    return {
        "runtime": runtime,
        "server": server,
        "runner": runner,
        "benchmark": benchmark,
        "n": done,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": statistics.fmean(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "wall_s": wall_s,
        "throughput_per_s": None if wall_s is None else done / wall_s,
    }


def markdown_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = ""
) -> str:
    """A Markdown table of ``rows`` (each cell as ``str`` gives it).

    Args:
        headers: The column titles.
        rows: The rows, a cell per column.
        align: ``l`` or ``r`` per column (``r``: right-aligned numbers); left where missing.
    """
    rule = "".join("---:|" if a == "r" else "---|" for a in align.ljust(len(headers), "l"))
    lines = ["| " + " | ".join(headers) + " |", "|" + rule]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


async def timed_calls(
    make: Callable[[int], Awaitable[object]], n: int, *, warmup: int
) -> list[float]:
    """Await ``make(i)`` one at a time, ``warmup`` untimed first (``i`` negative); the
    seconds each of the ``n`` timed calls took."""
    for i in range(warmup):
        await make(-1 - i)
    out = []
    clock = time.perf_counter
    for i in range(n):
        start = clock()
        await make(i)
        out.append(clock() - start)
    return out


async def timed(make: Callable[[], Awaitable[object]]) -> float:
    """Seconds ``await make()`` took."""
    start = time.perf_counter()
    await make()
    return time.perf_counter() - start


def latency_row(name: str, samples_s: Sequence[float], unit: str = "ms", **extra: Any) -> Result:
    """A result row of ``samples_s`` (seconds) in ``unit`` (``ms`` or ``us``): p50, p95, mean."""
    scale = 1000.0 if unit == "ms" else 1e6
    xs = [s * scale for s in samples_s]
    return {
        "benchmark": name,
        "unit": unit,
        "n": len(xs),
        "p50": percentile(xs, 50),
        "p95": percentile(xs, 95),
        "mean": statistics.fmean(xs),
        "wall_s": None,
        "throughput_per_s": None,
        **extra,
    }


async def interleaved_latencies(
    runs: Mapping[str, Callable[[int], Awaitable[object]]], *, samples: int, warmup: int
) -> dict[str, list[float]]:
    """Time ``runs[name](i)`` one at a time, one of each name per round; seconds by name.

    Rounds ``i`` from ``-warmup`` to ``samples - 1``; the negative ones are not recorded.
    """
    out: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(-warmup, samples):
        for name, run in runs.items():
            start = time.perf_counter()
            await run(i)
            taken = time.perf_counter() - start
            if i >= 0:
                out[name].append(taken)
    return out


@dataclass
class Throughput:
    """What :func:`throughput_rounds` measured for one way of doing the work.

    Attributes:
        latencies: Each workflow's start-to-result time, seconds, over all rounds.
        wall_s: The rounds' wall times added up.
        rates: Workflows per second of each round.
    """

    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    rates: list[float] = field(default_factory=list)

    @property
    def median_rate(self) -> float:
        """The median round's workflows per second."""
        return statistics.median(self.rates)

    @property
    def overall_rate(self) -> float:
        """All rounds' workflows over all rounds' wall time."""
        return len(self.latencies) / self.wall_s


async def throughput_rounds(
    runs: Mapping[str, Callable[[int, int], Awaitable[object]]],
    *,
    concurrency: int,
    rounds: int,
) -> dict[str, Throughput]:
    """Run ``concurrency`` of ``runs[name](round, i)`` at once, ``rounds`` times per name.

    Odd rounds go through the names in reverse order (a, b, c then c, b, a).
    """
    out = {name: Throughput() for name in runs}
    order = list(runs.items())
    for rnd in range(rounds):
        for name, run in order if rnd % 2 == 0 else order[::-1]:

            async def one(
                i: int, run: Callable[[int, int], Awaitable[object]] = run, rnd: int = rnd
            ) -> float:
                return await timed(lambda: run(rnd, i))

            start = time.perf_counter()
            out[name].latencies += await asyncio.gather(*(one(i) for i in range(concurrency)))
            wall = time.perf_counter() - start
            out[name].wall_s += wall
            out[name].rates.append(concurrency / wall)
    return out
