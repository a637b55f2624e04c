"""patching/workflow_1_initial.py: the first version calls the pre-patch activity.

Source: temporalio/samples-python patching/workflow_1_initial.py at
6b102de478cf1e61e87409310059e93858a8a0f0 (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import workflow

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.patching.activities import pre_patch_activity


@workflow.defn
class MyWorkflow:
    @workflow.run
    async def run(self) -> None:
        self._result = await workflow.execute_activity(
            pre_patch_activity,
            schedule_to_close_timeout=timedelta(minutes=5),
        )

    @workflow.query
    def result(self) -> str:
        return self._result
