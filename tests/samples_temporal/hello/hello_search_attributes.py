"""hello/hello_search_attributes.py: start with a search attribute, change it from the workflow.

Source: temporalio/samples-python hello/hello_search_attributes.py at
b0b388111b9b0197ba9a03f48cd669bde46c4566 (re-written, not copied): the version with the
name -> list form of search attributes. Under a ``VirtualClock`` the workflow's two-second
timer takes no real time; the second read comes once the workflow has completed (the
original sleeps three seconds to get there).
"""

from __future__ import annotations

import asyncio

from fastcore import Engine, workflow
from fastcore.testing import VirtualClock


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self) -> None:
        # A couple of seconds later, change the keyword attribute.
        await asyncio.sleep(2)
        workflow.upsert_search_attributes({"CustomKeywordField": ["new-value"]})


async def main(store: str = "memory") -> None:
    async with Engine(store, workflows=[GreetingWorkflow], clock=VirtualClock()) as client:
        handle = await client.start_workflow(
            GreetingWorkflow.run,
            id="hello-search-attributes-workflow-id",
            task_queue="hello-search-attributes-task-queue",
            # the attributes it starts with
            search_attributes={"CustomKeywordField": ["old-value"]},
        )

        print(
            "First search attribute values: ",
            (await handle.describe()).search_attributes.get("CustomKeywordField"),
        )
        await handle.result()
        print(
            "Second search attribute values: ",
            (await handle.describe()).search_attributes.get("CustomKeywordField"),
        )
