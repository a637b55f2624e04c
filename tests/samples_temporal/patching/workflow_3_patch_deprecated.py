"""patching/workflow_3_patch_deprecated.py: no pre-patch run is left; the patch is deprecated.

Source: temporalio/samples-python patching/workflow_3_patch_deprecated.py at
31e354d0e91cb0ea9a1be9ab0d4bd3de247afce2 (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import workflow

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.patching.activities import post_patch_activity


@workflow.defn
class MyWorkflow:
    @workflow.run
    async def run(self) -> None:
        workflow.deprecate_patch("my-patch")
        self._result = await workflow.execute_activity(
            post_patch_activity,
            schedule_to_close_timeout=timedelta(minutes=5),
        )

    @workflow.query
    def result(self) -> str:
        return self._result
