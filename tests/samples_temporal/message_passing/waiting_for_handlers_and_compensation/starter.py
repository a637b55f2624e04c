"""message_passing/waiting_for_handlers_and_compensation/starter.py (with worker.py): each
exit type in turn.

Source: temporalio/samples-python message_passing/waiting_for_handlers_and_compensation/
starter.py at 04ff754917389a2a167a246ce9b25680b2b0a3a3 and worker.py at
51e61a05d9e73d609153a7bc5ee1e17299d9fa01 (re-written, not copied).
"""

from __future__ import annotations

from fastcore import Engine, client, common
from tests.samples_temporal.message_passing.waiting_for_handlers_and_compensation import (
    TASK_QUEUE,
    WORKFLOW_ID,
    WorkflowExitType,
    WorkflowInput,
)
from tests.samples_temporal.message_passing.waiting_for_handlers_and_compensation.activities import (  # noqa: E501
    activity_executed_by_update_handler,
    activity_executed_by_update_handler_to_perform_compensation,
)
from tests.samples_temporal.message_passing.waiting_for_handlers_and_compensation.workflows import (
    WaitingForHandlersAndCompensationWorkflow,
)


async def starter(cl: Engine, exit_type: WorkflowExitType) -> None:
    wf_handle = await cl.start_workflow(
        WaitingForHandlersAndCompensationWorkflow.run,
        WorkflowInput(exit_type=exit_type),
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        id_conflict_policy=common.WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    await _check_run(wf_handle, exit_type)


async def _check_run(wf_handle: client.WorkflowHandle, exit_type: WorkflowExitType) -> None:
    try:
        up_handle = await wf_handle.start_update(
            WaitingForHandlersAndCompensationWorkflow.my_update,
            wait_for_stage=client.WorkflowUpdateStage.ACCEPTED,
        )
    except Exception as e:
        print(f"    🔴 caught exception while starting update: {e}: {e.__cause__ or ''}")

    if exit_type == WorkflowExitType.CANCELLATION:
        await wf_handle.cancel()

    try:
        await up_handle.result()
        print("    🟢 caller received update result")
    except Exception as e:
        print(f"    🔴 caught exception while waiting for update result: {e}: {e.__cause__ or ''}")

    try:
        await wf_handle.result()
        print("    🟢 caller received workflow result")
    except Exception as e:
        print(
            f"    🔴 caught exception while waiting for workflow result: {e}: {e.__cause__ or ''}"
        )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[WaitingForHandlersAndCompensationWorkflow],
        activities=[
            activity_executed_by_update_handler,
            activity_executed_by_update_handler_to_perform_compensation,
        ],
    ) as cl:
        for exit_type in [
            WorkflowExitType.SUCCESS,
            WorkflowExitType.FAILURE,
            WorkflowExitType.CANCELLATION,
        ]:
            print(f"\n\nworkflow exit type: {exit_type.name}")
            await starter(cl, exit_type)
