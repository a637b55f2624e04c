"""hello/hello_async_activity_completion.py: an activity hands its completion to a thread.

Source: temporalio/samples-python hello/hello_async_activity_completion.py at
015a1828f94ced66d8494f1df9b8613b58cc73bc (re-written, not copied). The completing thread
pauses 0.1 s between heartbeats instead of 1 s (the suite's time budget). The composer gets
the client once the engine exists (with temporalio the client is connected before the
worker; a fastcore engine is both, and needs the activity at construction).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from threading import Thread

from fastcore import Engine, activity, workflow


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


class GreetingComposer:
    def __init__(self, client: Engine | None, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop

    @activity.defn
    def compose_greeting(self, input: ComposeGreetingInput) -> str:
        # A thread completes the activity later; it could as well be another process or
        # system.
        print("Completing activity asynchronously")
        Thread(
            target=self.complete_greeting,
            args=(activity.info().task_token, input),
        ).start()
        # Ends this function without completing the activity for the workflow.
        activity.raise_complete_async()

    def complete_greeting(self, task_token: bytes, input: ComposeGreetingInput) -> None:
        # Heartbeat through the client while working, then complete through it.
        assert self.client is not None
        handle = self.client.get_async_activity_handle(task_token=task_token)
        for _ in range(0, 3):
            print("Waiting one second...")
            asyncio.run_coroutine_threadsafe(handle.heartbeat(), self.loop).result()
            time.sleep(0.1)
        asyncio.run_coroutine_threadsafe(
            handle.complete(f"{input.greeting}, {input.name}!"), self.loop
        ).result()


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        # execute_activity_method names a method instead of a function.
        return await workflow.execute_activity_method(
            GreetingComposer.compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=timedelta(seconds=2),
        )


async def main(store: str = "memory") -> None:
    loop = asyncio.get_running_loop()
    composer = GreetingComposer(None, loop)
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        activities=[composer.compose_greeting],
        activity_executor=ThreadPoolExecutor(5),
    ) as client:
        composer.client = client
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-async-activity-completion-workflow-id",
            task_queue="hello-async-activity-completion-task-queue",
        )
        print(f"Result: {result}")
