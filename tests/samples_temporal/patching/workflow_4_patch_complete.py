"""patching/workflow_4_patch_complete.py: no run with the patch marker is left either.

Source: temporalio/samples-python patching/workflow_4_patch_complete.py at
4a602ff6d97679c1c0ebd96b207e12d2a0402741 (re-written, not copied).
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
        self._result = await workflow.execute_activity(
            post_patch_activity,
            schedule_to_close_timeout=timedelta(minutes=5),
        )

    @workflow.query
    def result(self) -> str:
        return self._result
