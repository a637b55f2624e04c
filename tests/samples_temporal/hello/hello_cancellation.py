"""hello/hello_cancellation.py: a cancelled workflow runs a cleanup activity in ``finally``.

Source: temporalio/samples-python hello/hello_cancellation.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied). The activity pauses
0.1 s between heartbeats instead of 1 s, and the starter cancels once the activity runs
(the original sleeps two seconds first, which is the same moment on a quiet machine).
"""

from __future__ import annotations

import asyncio
import traceback
from datetime import timedelta
from typing import NoReturn

from fastcore import Engine, activity, workflow
from fastcore.errors import WorkflowFailureError


@activity.defn
async def never_complete_activity() -> NoReturn:
    # Long-running activities heartbeat; in Temporal a heartbeat is how they learn of a
    # cancellation.
    try:
        while True:
            print("Heartbeating activity")
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        print("Activity cancelled")
        raise


@activity.defn
async def cleanup_activity() -> None:
    print("Executing cleanup activity")


@workflow.defn
class CancellationWorkflow:
    @workflow.run
    async def run(self) -> None:
        # The forever-running activity, then a cleanup activity however it ends.
        try:
            await workflow.execute_activity(
                never_complete_activity,
                start_to_close_timeout=timedelta(seconds=1000),
                heartbeat_timeout=timedelta(seconds=2),
            )
        finally:
            await workflow.execute_activity(
                cleanup_activity, start_to_close_timeout=timedelta(seconds=5)
            )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[CancellationWorkflow],
        activities=[never_complete_activity, cleanup_activity],
    ) as client:
        handle = await client.start_workflow(
            CancellationWorkflow.run,
            id="hello-cancellation-workflow-id",
            task_queue="hello-cancellation-task-queue",
        )

        # Once the activity runs, cancel the workflow.
        while not (await handle.describe()).pending_activities:
            await asyncio.sleep(0.01)
        await handle.cancel()

        # The result fails: the workflow was cancelled.
        try:
            await handle.result()
            raise RuntimeError("Should not succeed")
        except WorkflowFailureError:
            print("Got expected exception: ", traceback.format_exc())
