"""hello/hello_continue_as_new.py: a workflow continues as new ten times, a timer apart.

Source: temporalio/samples-python hello/hello_continue_as_new.py at
0b1c586b7c15f154dda12295e7a4ac6d45368647 (re-written, not copied). It runs under a
``VirtualClock`` (the role of Temporal's time-skipping test server), so the ten one-second
timers take no real time.
"""

from __future__ import annotations

import asyncio
import logging

from fastcore import Engine, workflow
from fastcore.testing import VirtualClock


@workflow.defn
class LoopingWorkflow:
    @workflow.run
    async def run(self, iteration: int) -> None:
        if iteration == 10:
            return
        workflow.logger.info("Running workflow iteration %s", iteration)
        await asyncio.sleep(1)
        workflow.continue_as_new(iteration + 1)


async def main(store: str = "memory") -> None:
    logging.basicConfig(level=logging.INFO)
    async with Engine(store, workflows=[LoopingWorkflow], clock=VirtualClock()) as client:
        await client.execute_workflow(
            LoopingWorkflow.run,
            0,
            id="hello-continue-as-new-workflow-id",
            task_queue="hello-continue-as-new-task-queue",
        )
