"""benign_application_error/workflow.py: one attempt of the failing activity.

Source: temporalio/samples-python benign_application_error/workflow.py at
82d7545a5ca5bc9dbcc6ddfa04dde3fe149c88fb (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import workflow
from fastcore.common import RetryPolicy
from tests.samples_temporal.benign_application_error.activities import greeting_activities


@workflow.defn
class BenignApplicationErrorWorkflow:
    @workflow.run
    async def run(self, use_benign: bool) -> None:
        await workflow.execute_activity(
            greeting_activities,
            use_benign,
            start_to_close_timeout=timedelta(seconds=5),
            schedule_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
