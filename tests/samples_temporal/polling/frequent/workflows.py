"""polling/frequent/workflows.py: one activity call with a heartbeat timeout.

Source: temporalio/samples-python polling/frequent/workflows.py at
63dcdd8287a38596a8ebb2ba6b3083c23f0f18d0 (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import workflow

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.polling.frequent.activities import (
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
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
        )
