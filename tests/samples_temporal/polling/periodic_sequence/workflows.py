"""polling/periodic_sequence/workflows.py: a child polls, sleeps, and continues as new.

Source: temporalio/samples-python polling/periodic_sequence/workflows.py at
0763309a16d4c59377e74b99b805aaf5705d1587 (re-written, not copied). As there, each failed
poll sleeps and continues as new, so every run of the chain polls once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastcore import workflow
from fastcore.common import RetryPolicy
from fastcore.errors import ActivityError

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.polling.periodic_sequence.activities import compose_greeting
    from tests.samples_temporal.polling.test_service import ComposeGreetingInput


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_child_workflow(
            ChildWorkflow.run,
            name,
        )


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        for i in range(10):
            try:
                return await workflow.execute_activity(
                    compose_greeting,
                    ComposeGreetingInput("Hello", name),
                    start_to_close_timeout=timedelta(seconds=4),
                    retry_policy=RetryPolicy(
                        maximum_attempts=1,
                    ),
                )

            except ActivityError:
                workflow.logger.error("Activity failed, retrying in 1 seconds")
            await asyncio.sleep(1)
            workflow.continue_as_new(name)

        raise Exception("Polling failed after all attempts")
