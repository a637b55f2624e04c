"""hello/hello_patch.py: three versions of one workflow type, with ``patched`` in between.

Source: temporalio/samples-python hello/hello_patch.py at
080278928c4c27825466ccebca31e7d0758abaf9 (re-written, not copied). Run with ``v1``, ``v2``
or ``v3`` as its argument, on one store, as the sample's README runs it against one server;
under a ``VirtualClock`` the ten-second timers take no real time.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastcore import Engine, activity, errors, workflow
from fastcore.testing import VirtualClock


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
def compose_greeting(input: ComposeGreetingInput) -> str:
    activity.logger.info("Running activity with parameter %s" % input)
    return f"{input.greeting}, {input.name}!"


# V1 of patch-workflow
@workflow.defn(name="patch-workflow")
class MyWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        workflow.logger.info("Running patch-workflow with parameter %s" % name)
        greeting = await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=70),
        )
        return greeting


# V2: new runs take the patched branch; runs that started before the patch keep the old one.
@workflow.defn(name="patch-workflow")
class MyWorkflowPatched:
    @workflow.run
    async def run(self, name: str) -> str:
        workflow.logger.info("Running patch-workflow with parameter %s" % name)
        if workflow.patched("my-patch-v2"):
            greeting = await workflow.execute_activity(
                compose_greeting,
                ComposeGreetingInput("Goodbye", name),
                start_to_close_timeout=timedelta(seconds=70),
            )
            await asyncio.sleep(10)
            return greeting
        else:
            greeting = await workflow.execute_activity(
                compose_greeting,
                ComposeGreetingInput("Hello", name),
                start_to_close_timeout=timedelta(seconds=70),
            )
            return greeting


# V3: every V1 run has finished, so only the patched branch is left.
@workflow.defn(name="patch-worklow")  # the sample's own spelling
class MyWorkflowPatchDeprecated:
    @workflow.run
    async def run(self, name: str) -> str:
        workflow.logger.info("Running patch-workflow with parameter %s" % name)
        workflow.deprecate_patch("my-patch-v2")
        greeting = await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Goodbye", name),
            start_to_close_timeout=timedelta(seconds=70),
        )
        await asyncio.sleep(10)
        return greeting


async def main(store: str = "memory") -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in ("v1", "v2", "v3"):
        print(f"Incorrect arguments: {sys.argv[0]} v1|v2|v3")
        return
    version = sys.argv[1]
    workflow_class: Any = {
        "v1": MyWorkflow,
        "v2": MyWorkflowPatched,
        "v3": MyWorkflowPatchDeprecated,
    }[version]

    async with Engine(
        store,
        workflows=[workflow_class],
        activities=[compose_greeting],
        activity_executor=ThreadPoolExecutor(5),
        clock=VirtualClock(),
    ) as client:
        # Run the workflow; if a run of this id is still open, wait for it instead.
        try:
            result = await client.execute_workflow(
                workflow_class.run,
                "World",
                id="hello-patch-workflow-id",
                task_queue="hello-patch-task-queue",
            )
            print(f"Result: {result}")
        except errors.WorkflowAlreadyStartedError:
            print("Workflow already running")
            result = await client.get_workflow_handle("hello-patch-workflow-id").result()
            print(f"Result: {result}")
