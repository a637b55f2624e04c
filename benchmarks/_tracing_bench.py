"""What tracing costs: the 3-activity fastcore workflow with and without OpenTelemetry.

Configurations, each on a fresh memory-store engine per round, rounds interleaved so that
drift on the machine hits them all alike:

- ``no_provider``: no tracer or meter provider (the engine's no-op telemetry).
- ``noop_exporter``: an SDK ``TracerProvider`` whose ``SimpleSpanProcessor`` hands each span
  to an exporter that drops it (the cost of making the spans, nothing else).
- ``batch_exporter``: an SDK ``TracerProvider`` with a ``BatchSpanProcessor`` (spans queued,
  exported by its thread; the exporter drops them).
- ``metrics_only``: an SDK ``MeterProvider`` (in-memory reader) and no tracer provider.
- ``batch_exporter_and_metrics``: ``batch_exporter`` plus that ``MeterProvider``.

Each round times every workflow from start to result (its path; the median over the round is
reported) and lets the loop run between workflows, as an application's does: that is where
fastcore makes the spans it noted (``fastcore._spans``). The round's CPU time per workflow
(all threads: the batch exporter's too), making every span included, is the "all work"
figure.

"The untraced engine" has no hook calls at all; it cannot be timed directly (the calls are
in the engine), so ``no_provider_hooks`` counts the hook calls one workflow makes and times
those no-op calls on their own: that is what the no-op telemetry adds to an untraced engine.
``sdk_floor`` times the same number of spans made directly with the SDK (same processor as
``batch_exporter``, no fastcore): the part of the tracing cost that is the SDK's own.

Run it alone with ``python -m benchmarks._tracing_bench`` from the repository root.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from benchmarks._bench_common import markdown_table
from fastcore import Engine, activity, workflow

__all__ = ["CONFIGS", "format_table", "run_tracing_benchmarks"]

Result = dict[str, Any]
T = timedelta(seconds=10)
CONFIGS = (
    "no_provider",
    "noop_exporter",
    "batch_exporter",
    "metrics_only",
    "batch_exporter_and_metrics",
)


@activity.defn
async def increment(x: int) -> int:
    return x + 1


@workflow.defn
class ThreeActivitiesTraced:
    @workflow.run
    async def run(self, x: int) -> int:
        for _ in range(3):
            x = await workflow.execute_activity(increment, x, start_to_close_timeout=T)
        return x


class _DropExporter(SpanExporter):
    """Takes every span and does nothing with it."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _CountExporter(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


def _providers(config: str) -> tuple[Any, Any]:
    if config == "no_provider":
        return None, None
    if config == "metrics_only":
        return None, MeterProvider(metric_readers=[InMemoryMetricReader()])
    tp = TracerProvider()
    if config == "noop_exporter":
        tp.add_span_processor(SimpleSpanProcessor(_DropExporter()))
    else:
        tp.add_span_processor(BatchSpanProcessor(_DropExporter(), max_queue_size=65536))
    mp = None
    if config == "batch_exporter_and_metrics":
        mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return tp, mp


async def _round(config: str, workflows: int, warmup: int) -> tuple[list[float], float]:
    """Per-workflow seconds (start to result) for ``workflows`` sequential runs on a fresh
    engine, the loop let run between them (as an application's would: the spans are made
    there, off the workflows' path), and the round's CPU seconds per workflow, every thread
    (the exporter's) and making every span included: wall time on a shared machine counts
    other processes too."""
    tp, mp = _providers(config)
    run = uuid.uuid4().hex[:6]
    out: list[float] = []
    try:
        async with Engine(
            workflows=[ThreeActivitiesTraced],
            activities=[increment],
            retention=None,
            tracer_provider=tp,
            meter_provider=mp,
        ) as engine:
            assert engine.telemetry.enabled is (config != "no_provider")
            for i in range(warmup):
                await engine.execute_workflow(ThreeActivitiesTraced.run, 1, id=f"w-{run}-{i}")
            getattr(engine.telemetry, "flush", lambda: None)()
            gc.collect()
            perf = time.perf_counter
            cpu0 = time.process_time()  # every thread's: the exporter's too
            for i in range(workflows):
                t = perf()
                await engine.execute_workflow(ThreeActivitiesTraced.run, 1, id=f"m-{run}-{i}")
                out.append(perf() - t)
                await asyncio.sleep(0)
            getattr(engine.telemetry, "flush", lambda: None)()
            total = (time.process_time() - cpu0) / workflows
    finally:
        if tp is not None:
            tp.shutdown()
        if mp is not None:
            mp.shutdown()
    return out, total


def _noop_telemetry() -> Any:
    """The telemetry of an engine without providers: every hook a no-op (engine.telemetry)."""
    return Engine().telemetry


def _counting() -> Any:
    """The no-op telemetry, counting the hook calls."""
    base: type[Any] = type(_noop_telemetry())

    class _Counting(base):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.calls: dict[str, int] = {}

        def __getattribute__(self, name: str) -> Any:
            attr = object.__getattribute__(self, name)
            if callable(attr) and not name.startswith("_") and name != "calls":
                calls = object.__getattribute__(self, "calls")
                calls[name] = calls.get(name, 0) + 1
            return attr

    return _Counting()


async def _hook_calls() -> dict[str, int]:
    """How many times one workflow calls each telemetry hook (memory store)."""
    async with Engine(
        workflows=[ThreeActivitiesTraced], activities=[increment], retention=None
    ) as engine:
        await engine.execute_workflow(ThreeActivitiesTraced.run, 1, id="warm")
        counting = _counting()
        engine.telemetry = counting
        await engine.execute_workflow(ThreeActivitiesTraced.run, 1, id="counted")
        calls = dict(counting.calls)  # before shutdown() counts too
    return calls


def _no_op_call_seconds(name: str, loops: int = 200_000) -> float:
    """Seconds per call of the no-op hook ``name`` (loop overhead subtracted)."""
    tel = _noop_telemetry()
    fn: Callable[..., Any] = getattr(tel, name)
    params = inspect.signature(fn).parameters.values()
    args = (None,) * sum(1 for p in params if p.default is inspect.Parameter.empty)
    perf = time.perf_counter
    best = float("inf")
    for _ in range(5):
        t = perf()
        for _ in range(loops):
            fn(*args)
        called = perf() - t
        t = perf()
        for _ in range(loops):
            pass
        empty = perf() - t
        best = min(best, (called - empty) / loops)
    return max(best, 0.0)


def _sdk_floor(spans_per_workflow: int, workflows: int = 2000) -> float:
    """Seconds per workflow to make ``spans_per_workflow`` spans straight with the SDK."""
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(_DropExporter(), max_queue_size=65536))
    tracer = tp.get_tracer("floor")
    parent = tracer.start_span("parent")
    ctx = trace.set_span_in_context(parent)
    attrs = {"temporalWorkflowID": "w", "temporalRunID": "r", "temporalActivityID": "2"}
    perf = time.perf_counter
    samples = []
    for _ in range(5):
        t = perf()
        for _ in range(workflows):
            for _ in range(spans_per_workflow):
                tracer.start_span("RunActivity:increment", context=ctx, attributes=attrs).end()
        samples.append((perf() - t) / workflows)
    tp.shutdown()
    return statistics.median(samples)


async def _spans_per_workflow() -> int:
    exporter = _CountExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    async with Engine(
        workflows=[ThreeActivitiesTraced], activities=[increment], tracer_provider=tp
    ) as engine:
        await engine.execute_workflow(ThreeActivitiesTraced.run, 1, id="count")
    tp.shutdown()
    return exporter.count


async def run_tracing_benchmarks(
    *, workflows: int = 2000, rounds: int = 7, warmup: int = 200
) -> list[Result]:
    """Per-workflow cost of each configuration, and what the tracing adds.

    Args:
        workflows: Timed workflows per round and configuration.
        rounds: Rounds; configurations are interleaved within each.
        warmup: Untimed workflows on each fresh engine first.

    Returns:
        One row per configuration (``mean_us`` is the median over rounds of each round's
        mean), then ``no_provider_hooks`` and ``sdk_floor``.
    """
    per_round: dict[str, list[float]] = {c: [] for c in CONFIGS}
    paths: dict[str, list[float]] = {c: [] for c in CONFIGS}
    samples: dict[str, list[float]] = {c: [] for c in CONFIGS}
    for r in range(rounds):
        order = CONFIGS if r % 2 == 0 else tuple(reversed(CONFIGS))
        for config in order:
            got, total = await _round(config, workflows, warmup)
            per_round[config].append(total)
            paths[config].append(statistics.median(got))
            samples[config].extend(got)
    spans = await _spans_per_workflow()
    base = statistics.median(per_round["no_provider"])
    base_path = statistics.median(paths["no_provider"])
    rows: list[Result] = []
    for config in CONFIGS:
        mean = statistics.median(per_round[config])
        path = statistics.median(paths[config])
        rows.append(
            {
                "benchmark": "tracing_cost",
                "config": config,
                "n": len(samples[config]),
                "mean_us": mean * 1e6,
                "p50_us": path * 1e6,
                "spread_us": (max(per_round[config]) - min(per_round[config])) * 1e6,
                "overhead_us": (mean - base) * 1e6,
                "overhead_pct": (mean - base) / base * 100,
                "path_overhead_us": (path - base_path) * 1e6,
                "spans_per_workflow": 0 if config in ("no_provider", "metrics_only") else spans,
            }
        )
    calls = await _hook_calls()
    hook_s = sum(n * _no_op_call_seconds(name) for name, n in calls.items())
    rows.append(
        {
            "benchmark": "tracing_cost",
            "config": "no_provider_hooks",
            "hook_calls_per_workflow": sum(calls.values()),
            "hook_calls": calls,
            "overhead_us": hook_s * 1e6,
            "overhead_pct": hook_s / base * 100,
        }
    )
    floor = _sdk_floor(spans)
    rows.append(
        {
            "benchmark": "tracing_cost",
            "config": "sdk_floor",
            "spans_per_workflow": spans,
            "overhead_us": floor * 1e6,
            "overhead_pct": floor / base * 100,
        }
    )
    return rows


def format_table(rows: Sequence[Result]) -> str:
    """A Markdown table of ``run_tracing_benchmarks``' rows."""
    return markdown_table(
        [
            "configuration",
            "CPU µs per workflow, all work (median of rounds)",
            "added µs",
            "added %",
            "p50 µs on the workflow's path",
            "added µs on the path",
        ],
        (
            [
                r["config"],
                f"{r['mean_us']:.1f}" if "mean_us" in r else "",
                f"{r['overhead_us']:+.2f}",
                f"{r['overhead_pct']:+.2f}%",
                f"{r['p50_us']:.1f}" if "p50_us" in r else "",
                f"{r['path_overhead_us']:+.2f}" if "path_overhead_us" in r else "",
            ]
            for r in rows
        ),
        "lrrrrr",
    )


if __name__ == "__main__":
    results = asyncio.run(run_tracing_benchmarks())
    print(format_table(results))
    for row in results:
        print(row)
