"""hello/hello_signal.py: signals feed a queue the workflow drains until told to exit.

Source: temporalio/samples-python hello/hello_signal.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied).
"""

from __future__ import annotations

import asyncio

from fastcore import Engine, workflow


@workflow.defn
class GreetingWorkflow:
    def __init__(self) -> None:
        self._pending_greetings: asyncio.Queue[str] = asyncio.Queue()
        self._exit = False

    @workflow.run
    async def run(self) -> list[str]:
        # Handle queued names until exit is signalled.
        greetings: list[str] = []
        while not self._exit:
            await workflow.wait_condition(lambda: not self._pending_greetings.empty() or self._exit)
            while not self._pending_greetings.empty():
                greetings.append(f"Hello, {self._pending_greetings.get_nowait()}")
        return greetings

    @workflow.signal
    async def submit_greeting(self, name: str) -> None:
        await self._pending_greetings.put(name)

    @workflow.signal
    def exit(self) -> None:
        self._exit = True


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow]) as client:
        handle = await client.start_workflow(
            GreetingWorkflow.run,
            id="hello-signal-workflow-id",
            task_queue="hello-signal-task-queue",
        )

        # A few names, then exit.
        await handle.signal(GreetingWorkflow.submit_greeting, "user1")
        await handle.signal(GreetingWorkflow.submit_greeting, "user2")
        await handle.signal(GreetingWorkflow.submit_greeting, "user3")
        await handle.signal(GreetingWorkflow.exit)

        result = await handle.result()
        print(f"Result: {result}")
