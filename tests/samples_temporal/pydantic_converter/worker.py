"""pydantic_converter/worker.py: a workflow and an activity that pass pydantic models.

Source: temporalio/samples-python pydantic_converter/worker.py at
136e3fc736074cb6d005f1eab87e5941e938c48e (re-written, not copied).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from ipaddress import IPv4Address

from fastcore import activity, workflow

# Modules known to be safe pass through to the sandbox.
with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from fastcore.contrib.pydantic import pydantic_data_converter

__all__ = ["MyPydanticModel", "MyWorkflow", "my_activity", "pydantic_data_converter"]


class MyPydanticModel(BaseModel):
    some_ip: IPv4Address
    some_date: datetime


@activity.defn
async def my_activity(models: list[MyPydanticModel]) -> list[MyPydanticModel]:
    activity.logger.info("Got models in activity: %s" % models)
    return models


@workflow.defn
class MyWorkflow:
    @workflow.run
    async def run(self, models: list[MyPydanticModel]) -> list[MyPydanticModel]:
        workflow.logger.info("Got models in workflow: %s" % models)
        return await workflow.execute_activity(
            my_activity, models, start_to_close_timeout=timedelta(minutes=1)
        )
