"""encryption/worker.py: the workflow (type name "Workflow").

Source: temporalio/samples-python encryption/worker.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 (re-written, not copied).
"""

from __future__ import annotations

from fastcore import workflow


@workflow.defn(name="Workflow")
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello, {name}"
