"""hello/hello_activity.py: one workflow calls one activity with a dataclass argument.

Source: temporalio/samples-python hello/hello_activity.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastcore import Engine, activity, workflow


# One dataclass argument instead of several parameters: fields can be added later without
# breaking running workflows.
@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> str:
    activity.logger.info("Running activity with parameter %s" % input)
    return f"{input.greeting}, {input.name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        workflow.logger.info("Running workflow with parameter %s" % name)
        return await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
        )


async def main(store: str = "memory") -> None:
    # The engine is the client and the worker in one: it registers the workflow and the
    # activity, then runs the workflow and prints its result.
    async with Engine(store, workflows=[GreetingWorkflow], activities=[compose_greeting]) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-activity-workflow-id",
            task_queue="hello-activity-task-queue",
        )
        print(f"Result: {result}")
