"""hello/hello_cron.py: a workflow started with a cron schedule runs once a minute.

Source: temporalio/samples-python hello/hello_cron.py at
04ff754917389a2a167a246ce9b25680b2b0a3a3 (re-written, not copied). The original runs until
interrupted; here a ``VirtualClock`` moves three minutes ahead, one at a time, waiting for
each run to log its result, and then the cron chain is terminated.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from fastcore import Engine, activity, workflow
from fastcore.testing import VirtualClock


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
def compose_greeting(input: ComposeGreetingInput) -> str:
    return f"{input.greeting}, {input.name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> None:
        result = await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
        )
        workflow.logger.info("Result: %s", result)


class _Results(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Result: "):
            self.count += 1


async def main(store: str = "memory") -> None:
    clock = VirtualClock()
    results = _Results()
    logging.getLogger("fastcore.workflow").addHandler(results)
    try:
        async with Engine(
            store,
            workflows=[GreetingWorkflow],
            activities=[compose_greeting],
            activity_executor=ThreadPoolExecutor(5),
            clock=clock,
        ) as client:
            print("Running workflow once a minute")
            handle = await client.start_workflow(
                GreetingWorkflow.run,
                "World",
                id="hello-cron-workflow-id",
                task_queue="hello-cron-task-queue",
                cron_schedule="* * * * *",
            )
            for runs in (1, 2, 3):
                await clock.advance(timedelta(minutes=1))
                while results.count < runs:
                    await asyncio.sleep(0.01)
            await handle.terminate()
    finally:
        logging.getLogger("fastcore.workflow").removeHandler(results)
