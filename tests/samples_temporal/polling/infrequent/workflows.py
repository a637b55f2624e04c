"""polling/infrequent/workflows.py: a retry policy with a fixed interval does the polling.

Source: temporalio/samples-python polling/infrequent/workflows.py at
0a183abe507ade8fb2e87e3df95e5d722704f811 (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import workflow
from fastcore.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.polling.infrequent.activities import (
        ComposeGreetingInput,
        compose_greeting,
    )


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(
                backoff_coefficient=1.0,
                initial_interval=timedelta(seconds=30),
            ),
        )
