"""custom_decorator/worker.py: an activity that waits for its cancellation, kept alive by
``auto_heartbeater``, and a workflow that cancels it on a signal.

Source: temporalio/samples-python custom_decorator/worker.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastcore import activity, workflow
from fastcore.common import RetryPolicy
from tests.samples_temporal.custom_decorator.activity_utils import auto_heartbeater


# Without the heartbeater this activity would time out: it never heartbeats itself.
@activity.defn
@auto_heartbeater
async def wait_for_cancel_activity() -> str:
    # wait forever; on cancellation, return a value
    try:
        await asyncio.Future()
        raise RuntimeError("unreachable")
    except asyncio.CancelledError:
        return "activity cancelled!"


@workflow.defn
class WaitForCancelWorkflow:
    @workflow.run
    async def run(self) -> str:
        self.activity: Any = workflow.start_activity(
            wait_for_cancel_activity,
            start_to_close_timeout=timedelta(hours=20),
            # If no heartbeat comes within this time, the activity has failed.
            heartbeat_timeout=timedelta(seconds=2),
            # no retries, for the demonstration
            retry_policy=RetryPolicy(maximum_attempts=1),
            # wait for the activity's own answer to the cancellation
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        return await self.activity

    @workflow.signal
    def cancel_activity(self) -> None:
        self.activity.cancel()
