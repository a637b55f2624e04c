"""hello/hello_activity_threaded.py: a plain ``def`` activity runs on a thread pool.

Source: temporalio/samples-python hello/hello_activity_threaded.py at
0a7b653ff702f9c815377f9336c0abfc0f422b87 (re-written, not copied). The activity pauses
0.1 s between heartbeats instead of 1 s (the suite's time budget).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from fastcore import Engine, activity, workflow


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
def compose_greeting(input: ComposeGreetingInput) -> str:
    for _ in range(0, 3):
        print(f"Heartbeating activity on thread {threading.get_ident()}")
        activity.heartbeat()
        time.sleep(0.1)
    return f"{input.greeting}, {input.name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=timedelta(seconds=2),
        )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        activities=[compose_greeting],
        # A thread pool for the plain ``def`` activities; one pool may serve many engines.
        activity_executor=ThreadPoolExecutor(5),
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-activity-threaded-workflow-id",
            task_queue="hello-activity-threaded-task-queue",
        )
        print(f"Result on thread {threading.get_ident()}: {result}")
