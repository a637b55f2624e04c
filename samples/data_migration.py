"""(e) Data migration: a long Temporal workflow of batches, each transform in fastcore.

The ``DataMigrationWorkflow`` (Temporal) extracts a batch (Temporal activity), transforms
it with ``TransformBatch`` (fastcore: normalize, validate, checksum), loads it (Temporal
activity) and sleeps, durably, before the next batch, so a migration can be paced over
hours and survive worker restarts and deploys.

On a server that allows time skipping the pauses are an hour each on the workflow's
clock and skipped; elsewhere the sample uses short pauses.

Run it alone: ``python -m samples.data_migration``.
"""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import Client

from fastcore import Engine

from ._common import human_duration
from ._run import exit_now, new_prefix, run_standalone, scenario_report, start_skipping
from .temporal_workflows import DataMigrationWorkflow

__all__ = ["SCENARIO", "main", "run_sample"]

SCENARIO = "data_migration"


async def run_sample(
    client: Client,
    task_queue: str,
    engine: Engine | None = None,
    *,
    prefix: str | None = None,
    batches: int = 4,
    batch_size: int = 50,
    pause_seconds: float = 3600.0,
    fallback_pause_seconds: float = 1.0,
) -> dict[str, Any]:
    """Migrate ``batches`` batches of ``batch_size`` rows with pauses between them.

    Args:
        client: A Temporal client.
        task_queue: The task queue a sample worker polls.
        engine: The worker's engine, when it runs in this process (unused here).
        prefix: Workflow id prefix (unique by default).
        batches: How many batches.
        batch_size: Rows per batch.
        pause_seconds: The pause between batches when time skipping is available.
        fallback_pause_seconds: The pause when it is not.
    """
    del engine
    prefix = prefix or new_prefix(SCENARIO)
    req = {
        "migration_id": prefix,
        "batches": batches,
        "batch_size": batch_size,
        "pause_seconds": pause_seconds,
    }
    t0 = time.perf_counter()
    handle, skipping = await start_skipping(
        client,
        DataMigrationWorkflow.run,
        req,
        fallback_arg={**req, "pause_seconds": fallback_pause_seconds},
        id=prefix,
        task_queue=task_queue,
    )
    result = await handle.result()
    outcome = (
        f"{result['rows_loaded']} rows in {result['batches']} batches "
        f"({result['rows_rejected']} rejected) over "
        f"{human_duration(result['elapsed_seconds'])} of workflow time"
        + (" (time skipped)" if skipping else "")
    )
    return scenario_report(
        SCENARIO,
        outcome,
        started=t0,
        steps=result["steps"],
        results=[result],
        time_skipped=skipping,
    )


def main() -> None:
    """Start a dev server and a worker, run the scenario, print its table."""
    exit_now(run_standalone(run_sample))


if __name__ == "__main__":
    main()
