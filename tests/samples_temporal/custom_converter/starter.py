"""custom_converter/starter.py (with worker.py): both sides use the custom data converter.

Source: temporalio/samples-python custom_converter/starter.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and worker.py at
686d9c0da662a94dc4c6490d17ae0e228ef2db2d (re-written, not copied).
"""

from __future__ import annotations

from fastcore import Engine
from tests.samples_temporal.custom_converter.shared import (
    GreetingInput,
    GreetingOutput,
    greeting_data_converter,
)
from tests.samples_temporal.custom_converter.workflow import GreetingWorkflow


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        # without it: a GreetingInput cannot be converted to JSON
        data_converter=greeting_data_converter,
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            GreetingInput("Temporal"),
            id="custom_converter-workflow-id",
            task_queue="custom_converter-task-queue",
        )
        assert isinstance(result, GreetingOutput)
        print(f"Workflow result: {result.result}")
