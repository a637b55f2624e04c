"""message_passing/waiting_for_handlers_and_compensation/workflows.py: an update handler
that compensates when the workflow exits under it.

Source: temporalio/samples-python
message_passing/waiting_for_handlers_and_compensation/workflows.py at
51e61a05d9e73d609153a7bc5ee1e17299d9fa01 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast

from fastcore import errors as exceptions
from fastcore import workflow
from tests.samples_temporal.message_passing.waiting_for_handlers_and_compensation import (
    WorkflowExitType,
    WorkflowInput,
)
from tests.samples_temporal.message_passing.waiting_for_handlers_and_compensation.activities import (  # noqa: E501
    activity_executed_by_update_handler,
    activity_executed_by_update_handler_to_perform_compensation,
)


@workflow.defn
class WaitingForHandlersAndCompensationWorkflow:
    """Waits for its handlers before every exit (success, failure, cancellation,
    continue-as-new), and its update handler compensates when the workflow exits first."""

    def __init__(self) -> None:
        # Resolved with the exception if the workflow exits early: handlers race it against
        # their own work, and compensate if it wins.
        self.workflow_exit: asyncio.Future[None] = asyncio.Future()

    @workflow.run
    async def run(self, input: WorkflowInput) -> str:
        try:
            # try/except rather than finally: an exception that fails the workflow task
            # (and is retried) must not wait for the handlers.
            result = await self._run(input)
            self.workflow_exit.set_result(None)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return result
        # BaseException: asyncio.CancelledError is not an Exception
        except BaseException as e:
            if is_workflow_exit_exception(e):
                self.workflow_exit.set_exception(e)
                await workflow.wait_condition(workflow.all_handlers_finished)
            raise

    @workflow.update
    async def my_update(self) -> str:
        """Compensates whenever due, and always answers its caller: a result, or
        ``WorkflowUpdateFailedError``."""
        # workflow.wait takes tasks, not coroutines
        update_task = asyncio.create_task(self._my_update())

        # Race the workflow's exit against the handler's own work; workflow.wait, never
        # asyncio.wait (which is not deterministic).
        await workflow.wait([update_task, self.workflow_exit], return_when=asyncio.FIRST_EXCEPTION)
        try:
            if update_task.done():
                # The update ended (either way): its caller gets its outcome, whatever the
                # workflow does next.
                return await update_task
            else:
                # The workflow exited first: fail the update, caused by the workflow's error.
                raise exceptions.ApplicationError(
                    "The update failed because the workflow run exited"
                ) from cast(BaseException, self.workflow_exit.exception())
        except BaseException as e:
            if is_workflow_exit_exception(e):
                try:
                    await self.my_update_compensation()
                except BaseException as e:
                    raise exceptions.ApplicationError("Update compensation failed") from e
            raise

    async def my_update_compensation(self) -> None:
        await workflow.execute_activity(
            activity_executed_by_update_handler_to_perform_compensation,
            start_to_close_timeout=timedelta(seconds=10),
        )

    # Scaffolding: stand-ins for the real work of the workflow and of the update.

    async def _my_update(self) -> str:
        self._update_started = True
        await workflow.execute_activity(
            activity_executed_by_update_handler,
            start_to_close_timeout=timedelta(seconds=10),
        )
        return "update-result"

    async def _run(self, input: WorkflowInput) -> str:
        # Wait for the handler to start, so that there is one to wait for.
        await workflow.wait_condition(lambda: getattr(self, "_update_started", False))
        if input.exit_type == WorkflowExitType.SUCCESS:
            return "workflow-result"
        elif input.exit_type == WorkflowExitType.CONTINUE_AS_NEW:
            workflow.continue_as_new(WorkflowInput(exit_type=WorkflowExitType.SUCCESS))
        elif input.exit_type == WorkflowExitType.FAILURE:
            raise exceptions.ApplicationError("deliberately failing workflow")
        elif input.exit_type == WorkflowExitType.CANCELLATION:
            # forever: the starter cancels the workflow
            await asyncio.Future()
        raise AssertionError("unreachable")


def is_workflow_exit_exception(e: BaseException) -> bool:
    # Add any failure_exception_types you set here too.
    return isinstance(
        e,
        (asyncio.CancelledError, workflow.ContinueAsNewError, exceptions.FailureError),
    )
