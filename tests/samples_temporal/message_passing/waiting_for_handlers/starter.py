"""message_passing/waiting_for_handlers/starter.py (with worker.py): each exit type in turn.

Source: temporalio/samples-python message_passing/waiting_for_handlers/starter.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and worker.py at
1ca9796872cd4e2ef71522aaef113d29909d607d (re-written, not copied).
"""

from __future__ import annotations

from fastcore import Engine, client, common
from tests.samples_temporal.message_passing.waiting_for_handlers import (
    TASK_QUEUE,
    WORKFLOW_ID,
    WorkflowExitType,
    WorkflowInput,
)
from tests.samples_temporal.message_passing.waiting_for_handlers.activities import (
    activity_executed_by_update_handler,
)
from tests.samples_temporal.message_passing.waiting_for_handlers.workflows import (
    WaitingForHandlersWorkflow,
)


async def starter(cl: Engine, exit_type: WorkflowExitType) -> None:
    wf_handle = await cl.start_workflow(
        WaitingForHandlersWorkflow.run,
        WorkflowInput(exit_type=exit_type),
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        id_conflict_policy=common.WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    await _check_run(wf_handle, exit_type)


async def _check_run(wf_handle: client.WorkflowHandle, exit_type: WorkflowExitType) -> None:
    try:
        up_handle = await wf_handle.start_update(
            WaitingForHandlersWorkflow.my_update,
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
    except BaseException as e:
        print(
            f"    🔴 caught exception while waiting for workflow result: {e}: {e.__cause__ or ''}"
        )


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[WaitingForHandlersWorkflow],
        activities=[activity_executed_by_update_handler],
    ) as cl:
        for exit_type in [
            WorkflowExitType.SUCCESS,
            WorkflowExitType.FAILURE,
            WorkflowExitType.CANCELLATION,
        ]:
            print(f"\n\nworkflow exit type: {exit_type.name}")
            await starter(cl, exit_type)
