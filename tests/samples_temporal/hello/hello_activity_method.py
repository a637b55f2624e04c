"""hello/hello_activity_method.py: an activity that is a method of an object holding a client.

Source: temporalio/samples-python hello/hello_activity_method.py at
12eefbfdb1841191b49689e1a9942a2ed9841319 (re-written, not copied).
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import Engine, activity, workflow


class MyDatabaseClient:
    async def run_database_update(self) -> None:
        print("Database update executed")


class MyActivities:
    def __init__(self, db_client: MyDatabaseClient) -> None:
        self.db_client = db_client

    @activity.defn
    async def do_database_thing(self) -> None:
        await self.db_client.run_database_update()


@workflow.defn
class MyWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity_method(
            MyActivities.do_database_thing,
            start_to_close_timeout=timedelta(seconds=10),
        )


async def main(store: str = "memory") -> None:
    # The object whose methods are activities gets its dependencies once, at start.
    db_client = MyDatabaseClient()
    my_activities = MyActivities(db_client)
    async with Engine(
        store, workflows=[MyWorkflow], activities=[my_activities.do_database_thing]
    ) as client:
        await client.execute_workflow(
            MyWorkflow.run,
            id="hello-activity-method-workflow-id",
            task_queue="hello-activity-method-task-queue",
        )
