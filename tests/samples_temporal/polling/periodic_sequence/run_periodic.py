"""polling/periodic_sequence/run_periodic.py (with run_worker.py): run it, print the result.

Source: temporalio/samples-python polling/periodic_sequence/run_periodic.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and run_worker.py at
f2dd3d3a16a07829e9e8fd106e18df9bd68df501 (re-written, not copied). Under a
``VirtualClock`` the one-second timers take no real time.
"""

from __future__ import annotations

from fastcore import Engine
from fastcore.testing import VirtualClock
from tests.samples_temporal.polling.periodic_sequence.activities import compose_greeting
from tests.samples_temporal.polling.periodic_sequence.workflows import (
    ChildWorkflow,
    GreetingWorkflow,
)


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow, ChildWorkflow],
        activities=[compose_greeting],
        clock=VirtualClock(),
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="periodic-child-workflow-retry",
            task_queue="periodic-retry-task-queue",
        )
        print(f"Result: {result}")
