"""Hybrid benchmark: a 3-step sub-workflow run four ways from one Temporal workflow.

The sub-workflow is three sequential steps, each returning its input plus one. A Temporal
workflow runs it as

- ``a_temporal_activities``: three Temporal activities,
- ``b_temporal_local_activities``: three Temporal local activities,
- ``c_fastcore_in_activity``: one fastcore sub-workflow inside one activity
  (``bridge.execute_fastcore_workflow``),
- ``d_fastcore_in_local_activity``: the same inside one local activity (``local=True``),

all in the same run, against one tuned dev server (``DevServer(profile="tuned")``), one
worker with the unsandboxed runner (so no shape pays for the sandbox), samples interleaved
shape by shape so drift hits all four alike. Rows:

- latency: ``client.execute_workflow`` start to result, one at a time, p50/p95 ms;
- throughput: ``concurrency`` workflows at once, workflows per second over the wall time,
  ``rounds`` times per shape in alternating order, the median rate reported;
- ``fastcore_engine_only``: the sub-workflow alone in the engine
  (``engine.execute_workflow``) back to back, microseconds; ``_spaced`` with 20 ms idle
  between runs, as in a worker, where caches are cold (this is what the activity pays);
- ``bridge_overhead``: inside the bridged activity, per call, the time in the activity
  minus the time awaiting the engine (``fastcore_activities(on_timing=...)``): the wrapper,
  its bookkeeping and the heartbeat machinery, microseconds; ``_local`` for (d);
- ``bridged_activity``: the activity's whole run as an activity interceptor in the real
  worker sees it (wrapper + engine), microseconds, against ``fastcore_engine_only``.

Run it with ``python -m benchmarks._hybrid_bench`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import platform
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import temporalio
from temporalio import activity as tactivity
from temporalio import workflow as tworkflow
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    UnsandboxedWorkflowRunner,
    Worker,
)

import bridge
from benchmarks._bench_common import (
    interleaved_latencies,
    latency_row,
    markdown_table,
    throughput_rounds,
)
from benchmarks._fastcore_bench import ThreeActivities as FastcoreThree
from benchmarks._fastcore_bench import increment as fastcore_increment
from benchmarks._temporal_workflows import ACTIVITY_TIMEOUT, ThreeActivitiesWorkflow, increment
from bridge._devserver import DevServer
from fastcore import Engine

__all__ = ["SHAPES", "format_table", "run_hybrid_benchmarks"]

Result = dict[str, Any]


@tworkflow.defn
class ThreeLocalActivitiesWorkflow:
    """Three sequential local activities, each returning its input plus one."""

    @tworkflow.run
    async def run(self, value: int) -> int:
        for _ in range(3):
            value = await tworkflow.execute_local_activity(
                increment, value, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        return value


@tworkflow.defn
class FastcoreInActivityWorkflow:
    """The three steps as one fastcore sub-workflow inside one activity."""

    @tworkflow.run
    async def run(self, value: int) -> int:
        result: int = await bridge.execute_fastcore_workflow(
            FastcoreThree.run,
            value,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=10),
        )
        return result


@tworkflow.defn
class FastcoreInLocalActivityWorkflow:
    """The three steps as one fastcore sub-workflow inside one local activity."""

    @tworkflow.run
    async def run(self, value: int) -> int:
        result: int = await bridge.execute_fastcore_workflow(
            FastcoreThree.run, value, local=True, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        return result


SHAPES: dict[str, Any] = {
    "a_temporal_activities": ThreeActivitiesWorkflow,
    "b_temporal_local_activities": ThreeLocalActivitiesWorkflow,
    "c_fastcore_in_activity": FastcoreInActivityWorkflow,
    "d_fastcore_in_local_activity": FastcoreInLocalActivityWorkflow,
}
"""The four ways to run the sub-workflow, by row name."""


class _TimeBridgedActivity(Interceptor):
    """Times each run of the bridged activity inside the worker (local or not)."""

    def __init__(self) -> None:
        self.samples: dict[bool, list[float]] = {False: [], True: []}

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimingInbound(next, self.samples)


class _TimingInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, samples: dict[bool, list[float]]) -> None:
        super().__init__(next)
        self._samples = samples

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        start = time.perf_counter()
        try:
            return await super().execute_activity(input)
        finally:
            info = tactivity.info()
            if info.activity_type == bridge.FASTCORE_ACTIVITY_NAME:
                self._samples[info.is_local].append(time.perf_counter() - start)


async def _engine_only(engine: Engine, n: int, gap: float = 0.0) -> list[float]:
    samples = []
    for i in range(n):
        if gap:
            await asyncio.sleep(gap)  # idle in between, as a worker between activity tasks
        start = time.perf_counter()
        await engine.execute_workflow(FastcoreThree.run, i, id=f"engine-only-{uuid.uuid4().hex}")
        samples.append(time.perf_counter() - start)
    return samples


async def run_hybrid_benchmarks(
    *,
    target: str | None = None,
    samples: int = 50,
    warmup: int = 5,
    concurrency: int = 100,
    rounds: int = 3,
    engine_samples: int = 2000,
) -> list[Result]:
    """Run the four shapes, the engine alone and the bridge overhead; return result rows.

    Args:
        target: A running Temporal frontend; None starts a tuned dev server for the run.
        samples: Timed latency samples per shape.
        warmup: Untimed runs per shape first.
        concurrency: Workflows started at once in each throughput round.
        rounds: Throughput rounds per shape (the row reports the median rate).
        engine_samples: Samples of the engine-only row.

    Returns:
        Dicts with ``benchmark``, ``unit`` (``ms`` or ``us``), ``n``, ``p50``, ``p95``,
        ``mean``, ``wall_s`` and ``throughput_per_s`` (throughput rows only).
    """
    if target is None:
        async with DevServer(profile="tuned") as server:
            return await run_hybrid_benchmarks(
                target=server.target,
                samples=samples,
                warmup=warmup,
                concurrency=concurrency,
                rounds=rounds,
                engine_samples=engine_samples,
            )
    client = await Client.connect(target)
    queue = f"hybrid-{uuid.uuid4().hex[:10]}"
    timing = _TimeBridgedActivity()
    overhead: dict[bool, list[float]] = {False: [], True: []}

    def on_timing(total: float, in_engine: float) -> None:
        overhead[tactivity.info().is_local].append(total - in_engine)

    results: list[Result] = []
    async with (
        Engine(
            workflows=[FastcoreThree], activities=[fastcore_increment], retention=None
        ) as engine,
        Worker(
            client,
            task_queue=queue,
            workflows=list(SHAPES.values()),
            activities=[
                increment,
                *bridge.fastcore_activities(engine, workflows=[FastcoreThree], on_timing=on_timing),
            ],
            workflow_runner=UnsandboxedWorkflowRunner(),
            interceptors=[timing],
        ),
    ):

        async def execute(wf: Any, i: int, tag: str = "") -> None:
            result = await client.execute_workflow(
                wf.run, i, id=f"{queue}-{tag}{wf.__name__}-{i}", task_queue=queue
            )
            assert result == i + 3

        async def once(wf: Any, i: int) -> None:
            await execute(wf, i)

        latencies = await interleaved_latencies(
            {name: functools.partial(once, wf) for name, wf in SHAPES.items()},
            samples=samples,
            warmup=warmup,
        )
        for name, xs in latencies.items():
            results.append(latency_row(name, xs))
        in_worker = {k: list(v[warmup:]) for k, v in timing.samples.items()}
        own = {k: list(v[warmup:]) for k, v in overhead.items()}

        async def one(wf: Any, rnd: int, i: int) -> None:
            await execute(wf, i, f"tput{rnd}-")

        measured = await throughput_rounds(
            {name: functools.partial(one, wf) for name, wf in SHAPES.items()},
            concurrency=concurrency,
            rounds=rounds,
        )
        for name, tput in measured.items():
            results.append(
                latency_row(
                    f"{name}_throughput",
                    tput.latencies,
                    wall_s=tput.wall_s,
                    throughput_per_s=tput.median_rate,
                )
            )
        engine_only = await _engine_only(engine, engine_samples)
        engine_spaced = await _engine_only(engine, min(engine_samples, 100), gap=0.02)
    results.append(latency_row("fastcore_engine_only", engine_only, unit="us"))
    results.append(latency_row("fastcore_engine_only_spaced", engine_spaced, unit="us"))
    for local in (False, True):
        tag = "_local" if local else ""
        results.append(latency_row(f"bridge_overhead{tag}", own[local], unit="us"))
        results.append(latency_row(f"bridged_activity{tag}", in_worker[local], unit="us"))
    return results


def format_table(results: Sequence[Result]) -> str:
    """Render result rows as a Markdown table."""
    return markdown_table(
        ["benchmark", "n", "unit", "p50", "p95", "mean", "wf/s"],
        (
            [
                r["benchmark"],
                r["n"],
                r["unit"],
                f"{r['p50']:.2f}",
                f"{r['p95']:.2f}",
                f"{r['mean']:.2f}",
                "" if r["throughput_per_s"] is None else f"{r['throughput_per_s']:.1f}",
            ]
            for r in results
        ),
        "lrlrrrr",
    )


def summary(results: Sequence[Result]) -> dict[str, float]:
    """The ratios the targets speak of: (a)/(c) latency and throughput, (d) vs (b)."""
    by = {r["benchmark"]: r for r in results}
    a, b = by["a_temporal_activities"], by["b_temporal_local_activities"]
    c, d = by["c_fastcore_in_activity"], by["d_fastcore_in_local_activity"]
    return {
        "c_speedup_vs_a_p50": a["p50"] / c["p50"],
        "c_speedup_vs_a_throughput": (
            by["c_fastcore_in_activity_throughput"]["throughput_per_s"]
            / by["a_temporal_activities_throughput"]["throughput_per_s"]
        ),
        "d_vs_b_p50_ratio": d["p50"] / b["p50"],
        "bridge_overhead_p50_us": by["bridge_overhead"]["p50"],
        "bridge_overhead_p95_us": by["bridge_overhead"]["p95"],
        "bridge_overhead_local_p50_us": by["bridge_overhead_local"]["p50"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run the hybrid benchmark and print a Markdown table and the target ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine-samples", type=int, default=2000)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = asyncio.run(
        run_hybrid_benchmarks(
            samples=args.samples,
            warmup=args.warmup,
            concurrency=args.concurrency,
            rounds=args.rounds,
            engine_samples=args.engine_samples,
        )
    )
    print(format_table(results))
    print()
    for k, v in summary(results).items():
        print(f"{k}: {v:.2f}")
    print(
        f"\ntemporalio {temporalio.__version__}, Python {platform.python_version()}, "
        f"{time.perf_counter() - start:.1f}s total"
    )


if __name__ == "__main__":
    main()
