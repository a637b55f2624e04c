"""benign_application_error/starter.py (with worker.py): run it with and without BENIGN.

Source: temporalio/samples-python benign_application_error/starter.py at
f6a3c047c9f74ac35663df6b89464fcfcf19e1e1 and worker.py at
617b22fa8b2399545607b4fcee292d78fa5b4b25 (re-written, not copied). The original forwards
the Core SDK's logs to a JSON-formatted root logger through a temporalio ``Runtime``;
fastcore logs its "Completing activity as failed" records on ``fastcore.activity`` directly,
so the root logger sees them with no runtime to configure.
"""

from __future__ import annotations

import logging

from fastcore import Engine
from tests.samples_temporal.benign_application_error.activities import greeting_activities
from tests.samples_temporal.benign_application_error.workflow import (
    BenignApplicationErrorWorkflow,
)


async def main(store: str = "memory") -> None:
    async with Engine(
        store, workflows=[BenignApplicationErrorWorkflow], activities=[greeting_activities]
    ) as client:
        # BENIGN=True
        try:
            await client.execute_workflow(
                BenignApplicationErrorWorkflow.run,
                True,
                id="benign_application_error-wf-1",
                task_queue="benign_application_error_task_queue",
            )
        except Exception as e:
            logging.debug(f"BENIGN=True run finished with exception: {e}")

        # BENIGN=False
        try:
            await client.execute_workflow(
                BenignApplicationErrorWorkflow.run,
                False,
                id="benign_application_error-wf-2",
                task_queue="benign_application_error_task_queue",
            )
        except Exception as e:
            logging.debug(f"BENIGN=False run finished with exception: {e}")
