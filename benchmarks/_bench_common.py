"""Measuring loops the hybrid and scaling sections share: interleaved latency, throughput.

Both run several ways of doing the same work against one Temporal dev server in one run.
Samples are interleaved way by way (one sample of each, then the next), and throughput
rounds alternate their order, so drift and load from elsewhere hit every way alike.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks._temporal_bench import percentile

__all__ = ["Throughput", "interleaved_latencies", "latency_row", "throughput_rounds", "timed"]

Result = dict[str, Any]


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
