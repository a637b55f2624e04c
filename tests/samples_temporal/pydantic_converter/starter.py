"""pydantic_converter/starter.py (with worker.py): run it with the pydantic data converter.

Source: temporalio/samples-python pydantic_converter/starter.py at
1c3060f357bf030d125e0be48a00b90ffa32c937 and worker.py at
136e3fc736074cb6d005f1eab87e5941e938c48e (re-written, not copied).
"""

from __future__ import annotations

import logging
from datetime import datetime
from ipaddress import IPv4Address

from fastcore import Engine
from fastcore.contrib.pydantic import pydantic_data_converter
from tests.samples_temporal.pydantic_converter.worker import (
    MyPydanticModel,
    MyWorkflow,
    my_activity,
)


async def main(store: str = "memory") -> None:
    logging.basicConfig(level=logging.INFO)
    async with Engine(
        store,
        workflows=[MyWorkflow],
        activities=[my_activity],
        data_converter=pydantic_data_converter,
    ) as client:
        result = await client.execute_workflow(
            MyWorkflow.run,
            [
                MyPydanticModel(
                    some_ip=IPv4Address("127.0.0.1"),
                    some_date=datetime(2000, 1, 2, 3, 4, 5),
                ),
                MyPydanticModel(
                    some_ip=IPv4Address("127.0.0.2"),
                    some_date=datetime(2001, 2, 3, 4, 5, 6),
                ),
            ],
            id="pydantic_converter-workflow-id",
            task_queue="pydantic_converter-task-queue",
        )
        logging.info("Got models from client: %s" % result)
