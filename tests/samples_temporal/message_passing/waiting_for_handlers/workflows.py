"""message_passing/waiting_for_handlers/workflows.py: wait for handlers before exiting,
whether the workflow succeeds, fails or is cancelled.

Source: temporalio/samples-python message_passing/waiting_for_handlers/workflows.py at
d72c2de341248bab44f9fb5e8bc471237b2e2fc0 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastcore import errors as exceptions
from fastcore import workflow
from tests.samples_temporal.message_passing.waiting_for_handlers import (
    WorkflowExitType,
    WorkflowInput,
    WorkflowResult,
)
from tests.samples_temporal.message_passing.waiting_for_handlers.activities import (
    activity_executed_by_update_handler,
)


def is_workflow_exit_exception(e: BaseException) -> bool:
    """Whether ``e`` ends the workflow (rather than failing a task, which is retried)."""
    # Add any failure_exception_types you set here too.
    return isinstance(e, (asyncio.CancelledError, exceptions.FailureError))


@workflow.defn
class WaitingForHandlersWorkflow:
    @workflow.run
    async def run(self, input: WorkflowInput) -> WorkflowResult:
        """Wait for signal and update handlers to finish on success, cancellation and
        failure (before a continue-as-new you would wait too; not shown here)."""
        try:
            # try/except rather than finally: an exception that fails the workflow task
            # (and is retried) must not wait for the handlers.
            result = await self._my_workflow_application_logic(input)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return result
        # BaseException: asyncio.CancelledError is not an Exception
        except BaseException as e:
            if is_workflow_exit_exception(e):
                await workflow.wait_condition(workflow.all_handlers_finished)
            raise

    # The rest is the sample's scaffolding.

    def __init__(self) -> None:
        self._update_started = False

    @workflow.update
    async def my_update(self) -> str:
        self._update_started = True
        await workflow.execute_activity(
            activity_executed_by_update_handler,
            start_to_close_timeout=timedelta(seconds=10),
        )
        return "update-result"

    async def _my_workflow_application_logic(self, input: WorkflowInput) -> WorkflowResult:
        # Wait for the handler to start, so that there is one to wait for.
        await workflow.wait_condition(lambda: self._update_started)
        if input.exit_type == WorkflowExitType.SUCCESS:
            return WorkflowResult(data="workflow-result")
        elif input.exit_type == WorkflowExitType.FAILURE:
            raise exceptions.ApplicationError("deliberately failing workflow")
        elif input.exit_type == WorkflowExitType.CANCELLATION:
            # forever: the starter cancels the workflow
            await asyncio.Future()
        raise AssertionError("unreachable")
