"""hello/hello_local_activity.py: a workflow calls a local activity.

Source: temporalio/samples-python hello/hello_local_activity.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastcore import Engine, activity, workflow


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> str:
    return f"{input.greeting}, {input.name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_local_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
        )


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow], activities=[compose_greeting]) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-local-activity-workflow-id",
            task_queue="hello-local-activity-task-queue",
        )
        print(f"Result: {result}")
