"""hello/hello_query.py: a query answers while the workflow runs and after it completed.

Source: temporalio/samples-python hello/hello_query.py at
0b1c586b7c15f154dda12295e7a4ac6d45368647 (re-written, not copied). Under a
``VirtualClock`` the workflow's two-second timer takes no real time; the second query comes
once the workflow has completed (the original sleeps three seconds to get there).
"""

from __future__ import annotations

import asyncio

from fastcore import Engine, workflow
from fastcore.testing import VirtualClock


@workflow.defn
class GreetingWorkflow:
    def __init__(self) -> None:
        self._greeting = "<no greeting>"

    @workflow.run
    async def run(self, name: str) -> None:
        # Set the greeting, wait a couple of seconds, change it.
        self._greeting = f"Hello, {name}!"
        await asyncio.sleep(2)
        self._greeting = f"Goodbye, {name}!"
        # Ending here is fine: queries answer after completion too.

    @workflow.query
    def greeting(self) -> str:
        return self._greeting


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow], clock=VirtualClock()) as client:
        handle = await client.start_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-query-workflow-id",
            task_queue="hello-query-task-queue",
        )

        result = await handle.query(GreetingWorkflow.greeting)
        print(f"First greeting result: {result}")

        await handle.result()
        result = await handle.query(GreetingWorkflow.greeting)
        print(f"Second greeting result: {result}")
