"""sleep_for_days/starter.py (with worker.py): start it, let 90 days pass, signal, print.

Source: temporalio/samples-python sleep_for_days/starter.py at
9d330ca91c820506fe19eb1d131ece82c08130f8 and worker.py at
88c6e9c845e95f7dd78ba53dad042499ed286bf5 (re-written, not copied). The original starter
waits for the result while someone signals ``complete`` by hand; here a ``VirtualClock``
(Temporal's time-skipping test server's role, as the sample's own test uses) lets 90 days
pass, then the starter signals and prints the result.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastcore import Engine
from fastcore.testing import VirtualClock
from tests.samples_temporal.sleep_for_days import TASK_QUEUE
from tests.samples_temporal.sleep_for_days.activities import send_email
from tests.samples_temporal.sleep_for_days.workflows import SleepForDaysWorkflow


async def main(store: str = "memory") -> None:
    clock = VirtualClock()
    async with Engine(
        store, workflows=[SleepForDaysWorkflow], activities=[send_email], clock=clock
    ) as client:
        wf_handle = await client.start_workflow(
            SleepForDaysWorkflow.run,
            id=f"sleep-for-days-workflow-id-{uuid.uuid4()}",
            task_queue=TASK_QUEUE,
        )
        for _ in range(3):
            await clock.advance(timedelta(days=30))
        await wf_handle.signal(SleepForDaysWorkflow.complete)
        print(await wf_handle.result())
