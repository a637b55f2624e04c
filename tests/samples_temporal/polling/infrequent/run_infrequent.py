"""polling/infrequent/run_infrequent.py (with run_worker.py): run the workflow, print the result.

Source: temporalio/samples-python polling/infrequent/run_infrequent.py at
4ef3a3779d1485a27ba5abd94180b7680aeeaafc and run_worker.py at
1904d1a29e5f92b1ba7d2f3f0de8436810a61d2c (re-written, not copied). Under a ``VirtualClock``
(Temporal's time-skipping test server's role) the four 30-second backoffs take no real time.
"""

from __future__ import annotations

from fastcore import Engine
from fastcore.testing import VirtualClock
from tests.samples_temporal.polling.infrequent.activities import compose_greeting
from tests.samples_temporal.polling.infrequent.workflows import GreetingWorkflow


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        activities=[compose_greeting],
        clock=VirtualClock(),
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="infrequent-activity-retry",
            task_queue="infrequent-activity-retry-task-queue",
        )
        print(f"Result: {result}")
