"""hello/hello_parallel_activity.py: five activities at once with ``asyncio.gather``.

Source: temporalio/samples-python hello/hello_parallel_activity.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastcore import Engine, activity, workflow


@activity.defn
async def say_hello_activity(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class SayHelloWorkflow:
    @workflow.run
    async def run(self) -> list[str]:
        results = await asyncio.gather(
            workflow.execute_activity(
                say_hello_activity, "user1", start_to_close_timeout=timedelta(seconds=5)
            ),
            workflow.execute_activity(
                say_hello_activity, "user2", start_to_close_timeout=timedelta(seconds=5)
            ),
            workflow.execute_activity(
                say_hello_activity, "user3", start_to_close_timeout=timedelta(seconds=5)
            ),
            workflow.execute_activity(
                say_hello_activity, "user4", start_to_close_timeout=timedelta(seconds=5)
            ),
            workflow.execute_activity(
                say_hello_activity, "user5", start_to_close_timeout=timedelta(seconds=5)
            ),
        )
        # They may complete in any order: sort.
        return list(sorted(results))


async def main(store: str = "memory") -> None:
    async with Engine(
        store, workflows=[SayHelloWorkflow], activities=[say_hello_activity]
    ) as client:
        result = await client.execute_workflow(
            SayHelloWorkflow.run,
            id="hello-parallel-activity-workflow-id",
            task_queue="hello-parallel-activity-task-queue",
        )
        print(f"Result: {result}")
