"""hello/hello_activity_heartbeat.py: a plain ``def`` activity heartbeats while it works.

Source: temporalio/samples-python hello/hello_activity_heartbeat.py at
04ff754917389a2a167a246ce9b25680b2b0a3a3 (re-written, not copied). The activity pauses
0.1 s between heartbeats instead of 1 s (the suite's time budget).
"""

from __future__ import annotations

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
    # Work a while, heartbeating in between, as every long-running activity should.
    for _ in range(0, 3):
        print("Heartbeating activity")
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
            # A long-running activity always gets a heartbeat timeout.
            heartbeat_timeout=timedelta(seconds=2),
        )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        activities=[compose_greeting],
        activity_executor=ThreadPoolExecutor(5),
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-activity-heartbeating-workflow-id",
            task_queue="hello-activity-heartbeating-task-queue",
        )
        print(f"Result: {result}")
