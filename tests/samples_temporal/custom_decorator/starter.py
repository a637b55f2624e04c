"""custom_decorator/starter.py (with the worker): start, wait past the heartbeat timeout,
signal the workflow to cancel its activity, print the result.

Source: temporalio/samples-python custom_decorator/starter.py at
0e0af4c5ca647a5125f7f075fdf389144165bebd (re-written, not copied). The original waits five
seconds; here the starter waits until the activity's latest heartbeat is 2.5 s after its
start (alive past its 2 s heartbeat timeout, which it would miss without the decorator).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastcore import Engine
from tests.samples_temporal.custom_decorator.worker import (
    WaitForCancelWorkflow,
    wait_for_cancel_activity,
)


async def main(store: str = "memory") -> None:
    async with Engine(
        store, workflows=[WaitForCancelWorkflow], activities=[wait_for_cancel_activity]
    ) as client:
        handle = await client.start_workflow(
            WaitForCancelWorkflow.run,
            id="custom_decorator-workflow-id",
            task_queue="custom_decorator-task-queue",
        )
        print("Started workflow, waiting 5 seconds before cancelling")
        # Wait until the activity has heartbeated 2.5 s after it started: alive past its
        # 2 s heartbeat timeout.
        while True:
            pending = (await handle.describe()).pending_activities
            beat, started = (
                (pending[0].last_heartbeat_time, pending[0].last_started_time)
                if pending
                else (None, None)
            )
            if beat and started and beat - started >= timedelta(seconds=2.5):
                break
            await asyncio.sleep(0.05)

        await handle.signal(WaitForCancelWorkflow.cancel_activity)

        # Without the heartbeater the workflow would have failed by now (heartbeat timeout)
        # and the signal would have been refused.
        result = await handle.result()
        print(f"Result: {result}")
