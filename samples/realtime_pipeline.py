"""(c) Real-time pipeline: a stream of events, each a fastcore sub-workflow.

The ``EventPipelineWorkflow`` (Temporal) starts one ``ProcessEvent`` (fastcore: enrich,
score, decide) per event, all concurrently; events arrive in its input and by the
``ingest`` signal until ``close``. With several workers on the task queue the
sub-workflows spread over them.

Run it alone: ``python -m samples.realtime_pipeline``.
"""

from __future__ import annotations

import random
import time
from typing import Any

from temporalio.client import Client

from fastcore import Engine

from ._run import exit_now, new_prefix, run_standalone, scenario_report
from .temporal_workflows import EventPipelineWorkflow

__all__ = ["SCENARIO", "main", "make_events", "run_sample"]

SCENARIO = "realtime_pipeline"
SOURCES = ("sensor-a", "sensor-b", "sensor-c", "sensor-x")


def make_events(count: int, *, seed: int = 7, start: int = 0) -> list[dict[str, Any]]:
    """``count`` synthetic sensor readings (the same ones for the same seed)."""
    rng = random.Random(seed + start)
    return [
        {
            "event_id": f"evt-{start + i:05d}",
            "source": rng.choice(SOURCES),
            "value": round(rng.uniform(40.0, 110.0), 2),
        }
        for i in range(count)
    ]


async def run_sample(
    client: Client,
    task_queue: str,
    engine: Engine | None = None,
    *,
    prefix: str | None = None,
    events: int = 24,
    local: bool = False,
) -> dict[str, Any]:
    """Stream ``events`` events through the pipeline: half at the start, half by signal.

    Args:
        client: A Temporal client.
        task_queue: The task queue a sample worker polls.
        engine: The worker's engine, when it runs in this process (unused here).
        prefix: Workflow id prefix (unique by default).
        events: How many events to process.
        local: Run each fastcore sub-workflow in a local activity.
    """
    del engine
    prefix = prefix or new_prefix(SCENARIO)
    first, rest = events // 2, events - events // 2
    t0 = time.perf_counter()
    handle = await client.start_workflow(
        EventPipelineWorkflow.run,
        {
            "pipeline_id": prefix,
            "events": make_events(first),
            "await_more": True,
            "local": local,
        },
        id=prefix,
        task_queue=task_queue,
    )
    await handle.signal(EventPipelineWorkflow.ingest, make_events(rest, start=first))
    await handle.signal(EventPipelineWorkflow.close)
    result = await handle.result()
    outcome = f"{result['processed']} events processed concurrently, {len(result['alerts'])} alerts"
    return scenario_report(SCENARIO, outcome, started=t0, steps=result["steps"], results=[result])


def main() -> None:
    """Start a dev server and a worker, run the scenario, print its table."""
    exit_now(run_standalone(run_sample))


if __name__ == "__main__":
    main()
