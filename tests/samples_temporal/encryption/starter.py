"""encryption/starter.py (with worker.py): run the workflow with the encrypting codec.

Source: temporalio/samples-python encryption/starter.py at
0f947abe0158a1fb86eb1b144248a478bd748ac7 and worker.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 (re-written, not copied). It also prints what the
store holds for the run's input (the sample's README shows it with the Temporal UI): an
encrypted payload, not the name.
"""

from __future__ import annotations

import dataclasses

import fastcore.converter
from fastcore import Engine
from tests.samples_temporal.encryption.codec import EncryptionCodec
from tests.samples_temporal.encryption.worker import GreetingWorkflow


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        # the default converter with the codec
        data_converter=dataclasses.replace(
            fastcore.converter.default(), payload_codec=EncryptionCodec()
        ),
    ) as client:
        result = await client.execute_workflow(
            GreetingWorkflow.run,
            "Temporal",
            id="encryption-workflow-id",
            task_queue="encryption-task-queue",
        )
        print(f"Workflow result: {result}")

        started = (await client.get_workflow_handle("encryption-workflow-id").fetch_history())[0]
        (stored,) = started.attributes["input"]
        print(f"Stored input encoding: {stored.metadata['encoding'].decode()}")
        print(f"Stored input readable: {b'Temporal' in stored.data}")
