"""hello/hello_update.py: an update completes the workflow and returns a value.

Source: temporalio/samples-python hello/hello_update.py at
136e3fc736074cb6d005f1eab87e5941e938c48e (re-written, not copied).
"""

from __future__ import annotations

from fastcore import Engine, workflow


@workflow.defn
class GreetingWorkflow:
    def __init__(self) -> None:
        self.is_complete = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.is_complete)
        return "Hello, World!"

    @workflow.update
    async def update_workflow_status(self) -> str:
        self.is_complete = True
        return "Workflow status updated"


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow]) as client:
        handle = await client.start_workflow(
            GreetingWorkflow.run,
            id="hello-update-workflow-id",
            task_queue="update-workflow-task-queue",
        )

        update_result = await handle.execute_update(GreetingWorkflow.update_workflow_status)
        print(f"Update Result: {update_result}")

        result = await handle.result()
        print(f"Workflow Result: {result}")
