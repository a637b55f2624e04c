"""Scaling benchmark: one N-step sub-workflow run every way, N = 1 to 100, in one run.

The sub-workflow (``benchmarks._scaling_workflows``) has N steps, each a small async
activity, in three shapes: sequential, fanned out in parallel, and with a wait for a signal
midway. It runs, against one tuned Temporal dev server and one worker (unsandboxed runner),
as

- ``temporal_activities`` / ``temporal_local_activities``: a Temporal workflow running N
  activities / N local activities;
- ``fastcore_in_activity`` / ``fastcore_in_local_activity``: a Temporal workflow running
  one fastcore sub-workflow inside one activity / one local activity (the worker's engine,
  memory store); a signal reaches it through the workflow (``bridge.FastcoreMirror``), the
  worker's forwarding activity and its gRPC bridge;

and, in this process without Temporal, as ``fastcore_memory``, ``fastcore_sqlite_batch`` and
``fastcore_sqlite_sync`` (a fresh engine and SQLite file per shape and N). Each sample is one
sub-workflow, start to result, one at a time (for the signal shape, the client signals right
after the start); the Temporal-hosted options are sampled interleaved, fewer times as N grows.
Throughput: ``concurrency`` sequential sub-workflows at once, per option and N.

A fastcore sub-workflow that waits for a signal inside a *local* activity is not sampled:
Temporal hands the workflow its signals only between workflow tasks, and a local activity
holds the task until it ends or the task heartbeats (at 80% of the 10 s task timeout). One
probe sample (N = 1) shows what that costs.

``python -m benchmarks._scaling_bench [--quick]`` runs it alone and prints the report;
``python -m benchmarks.run --only scaling`` runs it as a section of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import bridge
from benchmarks._bench_common import interleaved_latencies, percentile, throughput_rounds
from benchmarks._fastcore_bench import increment as fastcore_increment
from benchmarks._scaling_model import DURABLE, HOSTED, IN_PROCESS, SHAPES
from benchmarks._scaling_workflows import TEMPORAL_WORKFLOWS, Steps, expected
from benchmarks._temporal_workflows import increment
from bridge._devserver import DevServer
from fastcore import Engine

__all__ = ["ScalingConfig", "run_scaling_benchmarks"]

Result = dict[str, Any]
SIGNAL_VALUE = 7
PROBE_TIMEOUT = 60.0  # seconds the local-activity signal probe may take before it is reported
_UNSAMPLED = ("fastcore_in_local_activity", "signal")  # (option, shape): probed, not sampled
MIRROR_NOTE = (
    "`fastcore_in_activity` with the `signal` shape pays for the path a signal takes to a "
    "fastcore sub-workflow inside an activity: the bridge activity signals the workflow the "
    "run's location (`mirror=True`), the workflow forwards the client's signal through a "
    "local activity and the worker's gRPC bridge, and the activity reports its result only "
    "after its last mirror batch; the bridge sends at most one batch per "
    "`fastcore_activities(checkpoint_interval=...)`, 50 ms by default, which is most of the "
    "fixed cost here."
)


@dataclass(frozen=True)
class ScalingConfig:
    """Sizes and sample counts; samples shrink as N grows (``budget // N``, clamped).

    Attributes:
        sizes: The step counts N.
        shapes: The sub-workflow shapes to run.
        hosted_budget: Temporal-hosted samples at N are ``hosted_budget // N`` ...
        hosted_min: ... but at least this many ...
        hosted_max: ... and at most this many.
        in_process_budget: The same for fastcore alone in-process.
        in_process_min: See ``in_process_budget``.
        in_process_max: See ``in_process_budget``.
        warmup: Untimed runs of each option before each (shape, N).
        concurrency: Sub-workflows at once in the throughput rows (the same for all).
        hosted_rounds: Throughput rounds per Temporal-hosted option and N.
        in_process_step_budget: In-process throughput rounds at N are this many steps over
            ``concurrency * N`` (1 to 200 rounds).
        probe_local_signal: Take the one probe sample of the signal shape in a local activity.
    """

    sizes: tuple[int, ...] = (1, 3, 10, 30, 100)
    shapes: tuple[str, ...] = SHAPES
    hosted_budget: int = 200
    hosted_min: int = 6
    hosted_max: int = 30
    in_process_budget: int = 20_000
    in_process_min: int = 50
    in_process_max: int = 1000
    warmup: int = 1
    concurrency: int = 20
    hosted_rounds: int = 2
    in_process_step_budget: int = 40_000
    probe_local_signal: bool = True

    @classmethod
    def quick(cls) -> ScalingConfig:
        """A smoke run: every size and shape, a few samples each, no probe."""
        return cls(
            hosted_budget=20,
            hosted_min=2,
            hosted_max=5,
            in_process_budget=2000,
            in_process_min=20,
            in_process_max=200,
            concurrency=10,
            hosted_rounds=1,
            in_process_step_budget=10_000,
            probe_local_signal=False,
        )

    def hosted_samples(self, steps: int) -> int:
        """Timed samples of each Temporal-hosted option at N = ``steps``."""
        return max(self.hosted_min, min(self.hosted_max, self.hosted_budget // steps))

    def in_process_samples(self, steps: int) -> int:
        """Timed samples of each in-process option at N = ``steps``."""
        return max(self.in_process_min, min(self.in_process_max, self.in_process_budget // steps))

    def in_process_rounds(self, steps: int) -> int:
        """Throughput rounds of each in-process option at N = ``steps``."""
        return max(1, min(200, self.in_process_step_budget // (self.concurrency * steps)))


def _check(result: Any, value: int, steps: int, shape: str) -> None:
    want = expected(value, steps, shape, SIGNAL_VALUE)
    if result != want:
        raise RuntimeError(f"{shape} sub-workflow of {steps} steps returned {result!r}, not {want}")


def _latency_row(option: str, shape: str, steps: int, samples_s: Sequence[float]) -> Result:
    ms = [s * 1000 for s in samples_s]
    return {
        "option": option,
        "shape": shape,
        "steps": steps,
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": sum(ms) / len(ms),
        "max_ms": max(ms),
    }


def _throughput_row(option: str, steps: int, latencies: Sequence[float], wall_s: float) -> Result:
    rate = len(latencies) / wall_s
    ms = [s * 1000 for s in latencies]
    return {
        "option": option,
        "steps": steps,
        "workflows": len(latencies),
        "wall_s": wall_s,
        "throughput_per_s": rate,
        "steps_per_s": rate * steps,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
    }


class _Hosted:
    """Runs the sub-workflow as one Temporal workflow of each hosted option."""

    def __init__(self, client: Client, queue: str) -> None:
        self.client = client
        self.queue = queue

    async def run(self, option: str, shape: str, steps: int, tag: str, i: int) -> None:
        wf: Any = TEMPORAL_WORKFLOWS[option]
        wid = f"{self.queue}-{option}-{shape}-{steps}-{tag}{i}"
        args = [i, steps, shape]
        if shape == "signal":
            handle = await self.client.start_workflow(
                wf.run, args=args, id=wid, task_queue=self.queue
            )
            await handle.signal(wf.go, SIGNAL_VALUE)
            result = await handle.result()
        else:
            result = await self.client.execute_workflow(
                wf.run, args=args, id=wid, task_queue=self.queue
            )
        _check(result, i, steps, shape)

    def round_runner(self, option: str, steps: int) -> Callable[[int, int], Awaitable[None]]:
        """``run(round, i)`` of the sequential shape, for ``throughput_rounds``."""

        async def run(rnd: int, i: int) -> None:
            await self.run(option, "sequential", steps, f"tput{rnd}-", i)

        return run


async def _run_hosted(
    client: Client, config: ScalingConfig, result: Result, progress: Callable[[str], None]
) -> None:
    queue = f"scaling-{uuid.uuid4().hex[:10]}"
    hosted = _Hosted(client, queue)
    async with (
        Engine(workflows=[Steps], activities=[fastcore_increment], retention=None) as engine,
        bridge.BridgeServer(engine) as server,
        bridge.BridgeForwarder() as forwarder,
        Worker(
            client,
            task_queue=queue,
            workflows=list(TEMPORAL_WORKFLOWS.values()),
            activities=[
                increment,
                *bridge.fastcore_activities(
                    engine, workflows=[Steps], bridge_address=server.address
                ),
                *forwarder.activities,
            ],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        for shape in config.shapes:  # first contact: connections, caches, the worker's pollers
            for option in HOSTED:
                if (option, shape) != _UNSAMPLED:
                    await hosted.run(option, shape, 1, "warm", 0)
        for shape in config.shapes:
            for steps in config.sizes:
                t0 = time.perf_counter()
                runs = {
                    option: functools.partial(hosted.run, option, shape, steps, "")
                    for option in HOSTED
                    if (option, shape) != _UNSAMPLED
                }
                taken = await interleaved_latencies(
                    runs, samples=config.hosted_samples(steps), warmup=config.warmup
                )
                for option, xs in taken.items():
                    result["latency"].append(_latency_row(option, shape, steps, xs))
                progress(f"  {shape} N={steps}: {time.perf_counter() - t0:.1f} s")
        for steps in config.sizes:
            t0 = time.perf_counter()
            measured = await throughput_rounds(
                {option: hosted.round_runner(option, steps) for option in HOSTED},
                concurrency=config.concurrency,
                rounds=config.hosted_rounds,
            )
            for option, tput in measured.items():
                result["throughput"].append(
                    _throughput_row(option, steps, tput.latencies, tput.wall_s)
                )
            progress(f"  throughput N={steps}: {time.perf_counter() - t0:.1f} s")
        if "signal" in config.shapes:
            result["notes"].append(MIRROR_NOTE)
            if config.probe_local_signal:
                progress(
                    "  probe: a signal to fastcore in a local activity (about 13 s; Temporal's "
                    "core warns that the workflow task took over 5 s)"
                )
                await _probe_local_signal(hosted, result)


async def _probe_local_signal(hosted: _Hosted, result: Result) -> None:
    option, shape = _UNSAMPLED
    start = time.perf_counter()
    try:
        await asyncio.wait_for(hosted.run(option, shape, 1, "probe", 0), PROBE_TIMEOUT)
    except TimeoutError:
        result["notes"].append(
            f"`{option}`, `{shape}` shape: the probe did not finish in {PROBE_TIMEOUT:.0f} s."
        )
        return
    taken = time.perf_counter() - start
    result["probes"].append(_latency_row(option, shape, 1, [taken]))
    result["notes"].append(
        f"`{option}` with the `{shape}` shape is not sampled: one probe (N = 1) took "
        f"{taken * 1000:,.0f} ms. A local activity holds the Temporal workflow task, so the "
        "workflow gets the mirror's location and the client's signal only when the task "
        "heartbeats (at 80% of the 10 s task timeout), and the bridge then waits up to 5 s "
        "for its last mirror batch. A sub-workflow that waits for a signal belongs in an "
        "activity (`fastcore_in_activity`)."
    )


async def _run_in_process(
    option: str,
    store: Callable[[str], str],
    config: ScalingConfig,
    result: Result,
    progress: Callable[[str], None],
) -> None:
    """Each shape and N on a fresh engine (``store(cell)``), so no cell pays for another's."""
    t0 = time.perf_counter()
    for shape in config.shapes:
        for steps in config.sizes:
            async with Engine(
                store(f"{shape}-{steps}"),
                workflows=[Steps],
                activities=[fastcore_increment],
                retention=None,
            ) as engine:

                async def once(tag: str, i: int, shape: str = shape, steps: int = steps) -> None:
                    args = [i, steps, shape]
                    wid = f"{tag}{i}"
                    if shape == "signal":
                        handle = await engine.start_workflow(Steps.run, args=args, id=wid)
                        await handle.signal(Steps.go, SIGNAL_VALUE)
                        value = await handle.result()
                    else:
                        value = await engine.execute_workflow(Steps.run, args=args, id=wid)
                    _check(value, i, steps, shape)

                taken = await interleaved_latencies(
                    {option: functools.partial(once, "lat")},
                    samples=config.in_process_samples(steps),
                    warmup=max(config.warmup, 10),
                )
                result["latency"].append(_latency_row(option, shape, steps, taken[option]))
                if shape != "sequential":
                    continue

                async def many(rnd: int, i: int, once: Any = once) -> None:
                    await once(f"tput{rnd}-", i)

                measured = await throughput_rounds(
                    {option: many},
                    concurrency=config.concurrency,
                    rounds=config.in_process_rounds(steps),
                )
                tput = measured[option]
                result["throughput"].append(
                    _throughput_row(option, steps, tput.latencies, tput.wall_s)
                )
    progress(f"  {option}: {time.perf_counter() - t0:.1f} s")


async def run_scaling_benchmarks(
    config: ScalingConfig | None = None,
    *,
    target: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Run every option, shape and size; return the result dict (``_scaling_model``).

    Args:
        config: Sizes and sample counts (the full run's by default).
        target: A running Temporal frontend; None starts a tuned dev server for the run.
        progress: Called with a line of progress now and then (stderr by default).
    """
    config = config or ScalingConfig()
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    if target is None:
        async with DevServer(profile="tuned") as dev:
            return await run_scaling_benchmarks(config, target=dev.target, progress=say)
    result: Result = {
        "sizes": list(config.sizes),
        "concurrency": config.concurrency,
        "latency": [],
        "throughput": [],
        "probes": [],
        "notes": [],
        "config": asdict(config),
    }
    await _run_hosted(await Client.connect(target), config, result, say)
    with tempfile.TemporaryDirectory(prefix="fastcore-scaling-") as tmp:
        for option in IN_PROCESS:

            def store(cell: str, option: str = option) -> str:
                if option not in DURABLE:
                    return "memory"
                return f"sqlite:///{tmp}/{option}-{cell}.db?durability={DURABLE[option]}"

            await _run_in_process(option, store, config, result, say)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the scaling benchmark; print its report; write the plot and data if asked."""
    from benchmarks._scaling_report import format_section, write_artifacts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few samples each (a smoke run)")
    parser.add_argument("--sizes", type=int, nargs="+", help="step counts (default 1 3 10 30 100)")
    parser.add_argument("--out-dir", type=Path, help="write scaling.svg and scaling.json here")
    args = parser.parse_args(argv)
    config = ScalingConfig.quick() if args.quick else ScalingConfig()
    if args.sizes:
        config = replace(config, sizes=tuple(args.sizes))
    result = asyncio.run(run_scaling_benchmarks(config))
    links = write_artifacts(result, args.out_dir) if args.out_dir else {}
    print(format_section(result, links))


if __name__ == "__main__":
    main()
