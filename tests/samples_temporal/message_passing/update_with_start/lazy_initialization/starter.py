"""message_passing/update_with_start/lazy_initialization/starter.py (with worker.py): add two
items with update-with-start, the cart workflow created by the first.

Source: temporalio/samples-python
message_passing/update_with_start/lazy_initialization/starter.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and worker.py at
bd30c00ab536ad959cd0d45c1aa86877983cf70c (re-written, not copied).
"""

from __future__ import annotations

import uuid

from fastcore import Engine, common
from fastcore.client import (
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from fastcore.errors import ApplicationError
from tests.samples_temporal.message_passing.update_with_start.lazy_initialization import (
    TASK_QUEUE,
)
from tests.samples_temporal.message_passing.update_with_start.lazy_initialization.activities import (  # noqa: E501
    get_price,
)
from tests.samples_temporal.message_passing.update_with_start.lazy_initialization.workflows import (
    ShoppingCartItem,
    ShoppingCartWorkflow,
)


async def handle_add_item_request(
    session_id: str, item_id: str, quantity: int, temporal_client: Engine
) -> tuple[int | None, WorkflowHandle]:
    """Add an item to the cart of a visitor known only by a session id (the cart's id),
    creating the cart if it does not exist yet: update-with-start. The client is made once at
    service start and shared by every request handler. The workflow handle is there even
    when the update fails."""
    cart_id = f"cart-{session_id}"
    start_op = WithStartWorkflowOperation(
        ShoppingCartWorkflow.run,
        id=cart_id,
        id_conflict_policy=common.WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=TASK_QUEUE,
    )
    try:
        price = await temporal_client.execute_update_with_start_workflow(
            ShoppingCartWorkflow.add_item,
            ShoppingCartItem(sku=item_id, quantity=quantity),
            start_workflow_operation=start_op,
        )
    except WorkflowUpdateFailedError as err:
        if isinstance(err.cause, ApplicationError) and err.cause.type == "ItemUnavailableError":
            price = None
        else:
            raise err

    workflow_handle = await start_op.workflow_handle()
    return price, workflow_handle


async def main(store: str = "memory") -> None:
    print("🛒")
    session_id = f"session-{uuid.uuid4()}"
    async with Engine(store, workflows=[ShoppingCartWorkflow], activities=[get_price]) as client:
        subtotal_1, _ = await handle_add_item_request(session_id, "sku-123", 1, client)
        subtotal_2, wf_handle = await handle_add_item_request(session_id, "sku-456", 1, client)
        print(f"subtotals were, {[subtotal_1, subtotal_2]}")
        await wf_handle.signal(ShoppingCartWorkflow.checkout)
        final_order = await wf_handle.result()
        print(f"final order: {final_order}")
