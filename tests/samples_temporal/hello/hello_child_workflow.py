"""hello/hello_child_workflow.py: a workflow runs a child workflow for its result.

Source: temporalio/samples-python hello/hello_child_workflow.py at
0b1c586b7c15f154dda12295e7a4ac6d45368647 (re-written, not copied).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastcore import Engine, workflow


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@workflow.defn
class ComposeGreeting:
    @workflow.run
    async def run(self, input: ComposeGreetingInput) -> str:
        return f"{input.greeting}, {input.name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_child_workflow(
            ComposeGreeting.run,
            ComposeGreetingInput("Hello", name),
            id="hello-child-workflow-workflow-child-id",
        )


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow, ComposeGreeting]) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-child-workflow-workflow-id",
            task_queue="hello-child-workflow-task-queue",
        )
        print(f"Result: {result}")
