"""(b) IoT device orchestration: fan out to N devices in fastcore, with a saga.

The ``DeviceFleetWorkflow`` (Temporal) loads the fleet, then runs ``DeviceRollout``
(fastcore), which pushes a configuration to every device at once (``asyncio.gather`` of
activities). When a device fails, the rollout rolls back every device it had already
configured, last configured first (a saga), and the Temporal workflow files an incident.

Run it alone: ``python -m samples.iot_devices``.
"""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import Client

from fastcore import Engine

from ._run import exit_now, new_prefix, run_standalone, scenario_report
from .temporal_workflows import DeviceFleetWorkflow

__all__ = ["SCENARIO", "main", "run_sample"]

SCENARIO = "iot_devices"


async def run_sample(
    client: Client,
    task_queue: str,
    engine: Engine | None = None,
    *,
    prefix: str | None = None,
    size: int = 8,
    offline_indexes: tuple[int, ...] = (5,),
) -> dict[str, Any]:
    """Roll a configuration out to ``size`` devices, ``offline_indexes`` of which fail.

    Args:
        client: A Temporal client.
        task_queue: The task queue a sample worker polls.
        engine: The worker's engine, when it runs in this process (unused here).
        prefix: Workflow id prefix (unique by default).
        size: Devices in the fleet.
        offline_indexes: Which devices do not acknowledge (none: the rollout applies).
    """
    del engine
    prefix = prefix or new_prefix(SCENARIO)
    t0 = time.perf_counter()
    result = await client.execute_workflow(
        DeviceFleetWorkflow.run,
        {
            "fleet_id": prefix,
            "size": size,
            "version": "fw-2.4.1",
            "offline_indexes": list(offline_indexes),
        },
        id=prefix,
        task_queue=task_queue,
    )
    if result["status"] == "rolled_back":
        outcome = (
            f"{', '.join(result['failed'])} failed; {len(result['compensated'])} devices "
            f"rolled back in reverse order; incident {result['incident']}"
        )
    else:
        outcome = f"fw-2.4.1 applied to {len(result['configured'])} devices"
    return scenario_report(SCENARIO, outcome, started=t0, steps=result["steps"], results=[result])


def main() -> None:
    """Start a dev server and a worker, run the scenario, print its table."""
    exit_now(run_standalone(run_sample))


if __name__ == "__main__":
    main()
