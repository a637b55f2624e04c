"""polling/frequent/run_frequent.py (with run_worker.py): run the workflow, print the result.

Source: temporalio/samples-python polling/frequent/run_frequent.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and run_worker.py at
8d9cdf2236ef668ecc253d246df848e0042552b8 (re-written, not copied): the engine plays both.
"""

from __future__ import annotations

from fastcore import Engine
from tests.samples_temporal.polling.frequent.activities import compose_greeting
from tests.samples_temporal.polling.frequent.workflows import GreetingWorkflow


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow], activities=[compose_greeting]) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="frequent-activity-retry",
            task_queue="frequent-activity-retry-task-queue",
        )
        print(f"Result: {result}")
