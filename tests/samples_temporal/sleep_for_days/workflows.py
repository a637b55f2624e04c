"""sleep_for_days/workflows.py: email, then wait 30 days or for the ``complete`` signal.

Source: temporalio/samples-python sleep_for_days/workflows.py at
1c3060f357bf030d125e0be48a00b90ffa32c937 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastcore import workflow

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.sleep_for_days.activities import SendEmailInput, send_email


@workflow.defn()
class SleepForDaysWorkflow:
    def __init__(self) -> None:
        self.is_complete = False

    @workflow.run
    async def run(self) -> str:
        while not self.is_complete:
            await workflow.execute_activity(
                send_email,
                SendEmailInput("30 days until the next email"),
                start_to_close_timeout=timedelta(seconds=10),
            )
            await workflow.wait(
                [
                    asyncio.create_task(workflow.sleep(timedelta(days=30))),
                    asyncio.create_task(workflow.wait_condition(lambda: self.is_complete)),
                ],
                return_when=asyncio.FIRST_COMPLETED,
            )
        return "done!"

    @workflow.signal
    def complete(self) -> None:
        self.is_complete = True
