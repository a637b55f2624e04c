"""custom_converter/workflow.py: a workflow whose argument and result only the custom
payload converter can carry.

Source: temporalio/samples-python custom_converter/workflow.py, its main-line version (the
workflow returns ``GreetingOutput`` itself; the version stored at
6c95f9c86ff6f85992ad28e465b514e87da74698 tries an activity instead), re-written, not copied.
"""

from __future__ import annotations

from fastcore import workflow

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.custom_converter.shared import GreetingInput, GreetingOutput


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, input: GreetingInput) -> GreetingOutput:
        return GreetingOutput(f"Hello, {input.name}")
