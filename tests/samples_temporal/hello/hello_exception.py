"""hello/hello_exception.py: an activity's failure reaches the client with its stack trace.

Source: temporalio/samples-python hello/hello_exception.py at
0ab805a94d4ee1945d508946e65271260a7a0137 (re-written, not copied). It runs under a
``VirtualClock`` so the one retry's backoff takes no real time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from fastcore import Engine, activity, workflow
from fastcore.common import RetryPolicy
from fastcore.errors import FailureError, WorkflowFailureError
from fastcore.testing import VirtualClock


@dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> NoReturn:
    raise RuntimeError(f"Greeting exception: {input.greeting}, {input.name}!")


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            # Retry once only.
            retry_policy=RetryPolicy(maximum_attempts=2),
        )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[GreetingWorkflow],
        activities=[compose_greeting],
        clock=VirtualClock(),
    ) as client:
        # WorkflowFailureError, caused by ActivityError, caused by ApplicationError with the
        # activity's message and stack trace.
        try:
            await client.execute_workflow(
                GreetingWorkflow.run,
                "World",
                id="hello-exception-workflow-id",
                task_queue="hello-exception-task-queue",
            )
        except WorkflowFailureError as err:
            # A remote traceback cannot be put back on a Python exception; append it to the
            # message of each failure in the chain instead.
            append_temporal_stack(err)
            logging.exception("Got workflow failure")


def append_temporal_stack(exc: BaseException | None) -> None:
    """Append the remote stack trace to every failure error's message, once."""
    while exc:
        if (
            isinstance(exc, FailureError)
            and exc.failure
            and exc.failure.stack_trace
            and len(exc.args) == 1
            and "\nStack:\n" not in exc.args[0]
        ):
            exc.args = (f"{exc}\nStack:\n{exc.failure.stack_trace.rstrip()}",)
        exc = exc.__cause__
