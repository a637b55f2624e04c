"""patching/workflow_2_patched.py: new runs take the patched branch, old ones keep theirs.

Source: temporalio/samples-python patching/workflow_2_patched.py at
12eefbfdb1841191b49689e1a9942a2ed9841319 (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import workflow

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.patching.activities import post_patch_activity, pre_patch_activity


@workflow.defn
class MyWorkflow:
    @workflow.run
    async def run(self) -> None:
        if workflow.patched("my-patch"):
            self._result = await workflow.execute_activity(
                post_patch_activity,
                schedule_to_close_timeout=timedelta(minutes=5),
            )
        else:
            self._result = await workflow.execute_activity(
                pre_patch_activity,
                schedule_to_close_timeout=timedelta(minutes=5),
            )

    @workflow.query
    def result(self) -> str:
        return self._result
