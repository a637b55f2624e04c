"""hello/hello_activity_retry.py: an activity fails three times and succeeds on the fourth.

Source: temporalio/samples-python hello/hello_activity_retry.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied). It runs under a
``VirtualClock`` (the role of Temporal's time-skipping test server), so the retries' backoff
(1 s, 2 s, 2 s) takes no real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastcore import Engine, activity, workflow
from fastcore.common import RetryPolicy
from fastcore.testing import VirtualClock


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> str:
    print(f"Invoking activity, attempt number {activity.info().attempt}")
    # Fail the first three attempts, succeed the fourth.
    if activity.info().attempt < 4:
        raise RuntimeError("Intentional failure")
    return f"{input.greeting}, {input.name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        # The default retry policy backs off from 1 s by a factor of 2, without limit; this
        # keeps those defaults and caps the interval at 2 s.
        return await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=2)),
        )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        activities=[compose_greeting],
        clock=VirtualClock(),
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "World",
            id="hello-activity-retry-workflow-id",
            task_queue="hello-activity-retry-task-queue",
        )
        print(f"Result: {result}")
