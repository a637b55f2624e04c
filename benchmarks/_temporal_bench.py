"""The Temporal side of the benchmark harness: the same workflow shapes fastcore runs.

Each measurement runs a real ``temporalio.worker.Worker`` in this process against a
Temporal dev server (``bridge._devserver.DevServer``), on a fresh task queue:

- ``noop``: ``execute_workflow`` of a workflow that returns at once.
- ``three_activities``: ``execute_workflow`` of three sequential activities, each
  returning its input plus one.
- ``signal_round_trip``: a workflow is started and awaited until it is parked on
  ``wait_condition`` (an update ``ready`` returns); the clock then runs from
  sending the ``deliver`` signal until ``handle.result()`` returns the delivered
  value. So it is signal RPC + workflow task dispatch + handling + completion +
  result long-poll: the time until the caller *sees* the signal processed.
- ``query_round_trip``: ``handle.query`` on a running workflow parked on a wait.
- ``throughput``: ``N`` concurrent ``three_activities`` workflows started at once;
  workflows per second over the wall time from first start to last result, with
  each workflow's latency as the samples.

Each runs against the dev server as shipped and tuned
(``history.transferProcessorMaxPollRPS=10000``), with the workflow sandbox on (the
SDK default) and off (``UnsandboxedWorkflowRunner``). Latencies are reported as
p50/p95 in milliseconds (nearest-rank percentiles). Run it alone with
``python -m benchmarks._temporal_bench`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
import uuid
from collections.abc import Sequence
from typing import Any

import temporalio
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from benchmarks._bench_common import markdown_table, timed_calls, timing_row
from benchmarks._temporal_workflows import (
    NoopWorkflow,
    ThreeActivitiesWorkflow,
    WaitForSignalWorkflow,
    increment,
)
from bridge._devserver import DevServer, Profile

__all__ = [
    "BENCHMARKS",
    "RUNNERS",
    "SERVER_PROFILES",
    "bench_temporal_target",
    "format_table",
    "run_temporal_benchmarks",
]

Result = dict[str, Any]

BENCHMARKS = (
    "noop",
    "three_activities",
    "signal_round_trip",
    "query_round_trip",
    "throughput",
)
SERVER_PROFILES: tuple[Profile, ...] = ("shipped", "tuned")
RUNNERS = ("sandboxed", "unsandboxed")


def _result(
    benchmark: str,
    samples_s: Sequence[float],
    *,
    server: str,
    runner: str,
    wall_s: float | None = None,
) -> Result:
    return timing_row(
        benchmark, samples_s, runtime="temporal", server=server, runner=runner, wall_s=wall_s
    )


def _make_runner(runner: str) -> WorkflowRunner:
    if runner == "sandboxed":
        return SandboxedWorkflowRunner()
    if runner == "unsandboxed":
        return UnsandboxedWorkflowRunner()
    raise ValueError(f"runner must be one of {RUNNERS}, not {runner!r}")


async def _bench_noop(client: Client, queue: str, n: int, warmup: int) -> list[float]:
    async def once(i: int) -> None:
        result = await client.execute_workflow(
            NoopWorkflow.run, i, id=f"{queue}-noop-{i}", task_queue=queue
        )
        assert result == i

    return await timed_calls(once, n, warmup=warmup)


async def _bench_three(client: Client, queue: str, n: int, warmup: int) -> list[float]:
    async def once(i: int) -> None:
        result = await client.execute_workflow(
            ThreeActivitiesWorkflow.run, i, id=f"{queue}-three-{i}", task_queue=queue
        )
        assert result == i + 3

    return await timed_calls(once, n, warmup=warmup)


async def _bench_signal(client: Client, queue: str, n: int, warmup: int) -> list[float]:
    samples = []
    for i in range(-warmup, n):
        handle = await client.start_workflow(
            WaitForSignalWorkflow.run, id=f"{queue}-signal-{i}", task_queue=queue
        )
        await handle.execute_update(WaitForSignalWorkflow.ready)
        start = time.perf_counter()
        await handle.signal(WaitForSignalWorkflow.deliver, i)
        result = await handle.result()
        elapsed = time.perf_counter() - start
        assert result == i
        if i >= 0:
            samples.append(elapsed)
    return samples


async def _bench_query(client: Client, queue: str, n: int, warmup: int) -> list[float]:
    handle = await client.start_workflow(
        WaitForSignalWorkflow.run, id=f"{queue}-query", task_queue=queue
    )
    await handle.execute_update(WaitForSignalWorkflow.ready)

    async def once(_: int) -> None:
        assert await handle.query(WaitForSignalWorkflow.current) is None

    samples = await timed_calls(once, n, warmup=warmup)
    await handle.signal(WaitForSignalWorkflow.deliver, 0)
    await handle.result()
    return samples


async def _bench_throughput(client: Client, queue: str, count: int) -> tuple[list[float], float]:
    async def one(i: int) -> float:
        start = time.perf_counter()
        result = await client.execute_workflow(
            ThreeActivitiesWorkflow.run, i, id=f"{queue}-tput-{i}", task_queue=queue
        )
        assert result == i + 3
        return time.perf_counter() - start

    start = time.perf_counter()
    samples = await asyncio.gather(*(one(i) for i in range(count)))
    return list(samples), time.perf_counter() - start


async def bench_temporal_target(
    target: str,
    *,
    server: str,
    runner: str = "sandboxed",
    samples: int = 30,
    warmup: int = 3,
    throughput_n: int = 200,
    benchmarks: Sequence[str] = BENCHMARKS,
) -> list[Result]:
    """Run the benchmarks against the Temporal frontend at ``target``.

    Args:
        target: ``host:port`` of a running Temporal server.
        server: Label for the rows, e.g. ``"tuned"`` or ``"shipped"``.
        runner: ``"sandboxed"`` (SDK default) or ``"unsandboxed"``.
        samples: Timed samples per latency benchmark.
        warmup: Untimed runs before each latency benchmark.
        throughput_n: Concurrent workflows in the throughput benchmark.
        benchmarks: Which of :data:`BENCHMARKS` to run.

    Returns:
        One dict per benchmark: ``runtime``, ``server``, ``runner``,
        ``benchmark``, ``n``, ``p50_ms``, ``p95_ms``, ``mean_ms``, ``min_ms``,
        ``max_ms``, ``wall_s`` and ``throughput_per_s`` (both ``None`` except
        for ``throughput``).
    """
    unknown = set(benchmarks) - set(BENCHMARKS)
    if unknown:
        raise ValueError(f"unknown benchmarks {sorted(unknown)}; choose from {BENCHMARKS}")
    client = await Client.connect(target)
    queue = f"bench-{runner}-{uuid.uuid4().hex[:10]}"
    results: list[Result] = []
    async with Worker(
        client,
        task_queue=queue,
        workflows=[NoopWorkflow, ThreeActivitiesWorkflow, WaitForSignalWorkflow],
        activities=[increment],
        workflow_runner=_make_runner(runner),
    ):
        latency = {
            "noop": _bench_noop,
            "three_activities": _bench_three,
            "signal_round_trip": _bench_signal,
            "query_round_trip": _bench_query,
        }
        for name in benchmarks:
            if name == "throughput":
                taken, wall = await _bench_throughput(client, queue, throughput_n)
                results.append(_result(name, taken, server=server, runner=runner, wall_s=wall))
            else:
                taken = await latency[name](client, queue, samples, warmup)
                results.append(_result(name, taken, server=server, runner=runner))
    return results


async def run_temporal_benchmarks(
    *,
    profiles: Sequence[Profile] = SERVER_PROFILES,
    runners: Sequence[str] = RUNNERS,
    samples: int = 30,
    warmup: int = 3,
    throughput_n: int = 200,
    benchmarks: Sequence[str] = BENCHMARKS,
) -> list[Result]:
    """Start a dev server per profile and run every runner's benchmarks against it.

    Returns:
        The rows of :func:`bench_temporal_target` for each profile and runner.
    """
    results: list[Result] = []
    for profile in profiles:
        async with DevServer(profile=profile) as server:
            for runner in runners:
                results += await bench_temporal_target(
                    server.target,
                    server=profile,
                    runner=runner,
                    samples=samples,
                    warmup=warmup,
                    throughput_n=throughput_n,
                    benchmarks=benchmarks,
                )
    return results


def format_table(results: Sequence[Result]) -> str:
    """Render result rows as a Markdown table."""
    return markdown_table(
        ["runtime", "server", "runner", "benchmark", "n", "p50 ms", "p95 ms", "wf/s"],
        (
            [
                r["runtime"],
                r["server"],
                r["runner"],
                r["benchmark"],
                r["n"],
                f"{r['p50_ms']:.2f}",
                f"{r['p95_ms']:.2f}",
                "" if r["throughput_per_s"] is None else f"{r['throughput_per_s']:.1f}",
            ]
            for r in results
        ),
        "llllrrrr",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the Temporal benchmarks and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=30, help="timed samples per latency row")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--throughput", type=int, default=200, help="concurrent workflows")
    parser.add_argument("--profiles", nargs="+", default=list(SERVER_PROFILES))
    parser.add_argument("--runners", nargs="+", default=list(RUNNERS))
    parser.add_argument("--benchmarks", nargs="+", default=list(BENCHMARKS))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = asyncio.run(
        run_temporal_benchmarks(
            profiles=args.profiles,
            runners=args.runners,
            samples=args.samples,
            warmup=args.warmup,
            throughput_n=args.throughput,
            benchmarks=args.benchmarks,
        )
    )
    print(format_table(results))
    print(
        f"\ntemporalio {temporalio.__version__}, Python {platform.python_version()}, "
        f"{time.perf_counter() - start:.1f}s total"
    )


if __name__ == "__main__":
    main()
