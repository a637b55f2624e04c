"""message_passing/safe_message_handlers/starter.py (with worker.py): start the cluster,
assign six jobs at once, delete them at once, shut it down.

Source: temporalio/samples-python message_passing/safe_message_handlers/starter.py at
1ed6b30af316b88d4827dc7768b97d9cf1509843 and worker.py at
34bd950270bb2f913a68c173b6d877bcff013a85 (re-written, not copied).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import uuid

from fastcore import Engine, common
from fastcore.client import WorkflowHandle
from tests.samples_temporal.message_passing.safe_message_handlers.activities import (
    assign_nodes_to_job,
    find_bad_nodes,
    unassign_nodes_for_job,
)
from tests.samples_temporal.message_passing.safe_message_handlers.workflow import (
    ClusterManagerAssignNodesToJobInput,
    ClusterManagerDeleteJobInput,
    ClusterManagerInput,
    ClusterManagerWorkflow,
)


async def do_cluster_lifecycle(wf: WorkflowHandle, delay_seconds: int | None = None) -> None:
    await wf.signal(ClusterManagerWorkflow.start_cluster)

    print("Assigning jobs to nodes...")
    allocation_updates = []
    for i in range(6):
        allocation_updates.append(
            wf.execute_update(
                ClusterManagerWorkflow.assign_nodes_to_job,
                ClusterManagerAssignNodesToJobInput(total_num_nodes=2, job_name=f"task-{i}"),
            )
        )
    await asyncio.gather(*allocation_updates)

    print(f"Sleeping for {delay_seconds} second(s)")
    if delay_seconds:
        await asyncio.sleep(delay_seconds)

    print("Deleting jobs...")
    deletion_updates = []
    for i in range(6):
        deletion_updates.append(
            wf.execute_update(
                ClusterManagerWorkflow.delete_job,
                ClusterManagerDeleteJobInput(job_name=f"task-{i}"),
            )
        )
    await asyncio.gather(*deletion_updates)

    await wf.signal(ClusterManagerWorkflow.shutdown_cluster)


async def main(store: str = "memory") -> None:
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(description="Atomic message handlers")
    parser.add_argument(
        "--test-continue-as-new",
        help="Make the ClusterManagerWorkflow continue as new before shutting down",
        action="store_true",
        default=False,
    )
    should_test_continue_as_new = parser.parse_args().test_continue_as_new

    async with Engine(
        store,
        workflows=[ClusterManagerWorkflow],
        activities=[assign_nodes_to_job, unassign_nodes_for_job, find_bad_nodes],
    ) as client:
        print("Starting cluster")
        cluster_manager_handle = await client.start_workflow(
            ClusterManagerWorkflow.run,
            ClusterManagerInput(test_continue_as_new=should_test_continue_as_new),
            id=f"ClusterManagerWorkflow-{uuid.uuid4()}",
            task_queue="safe-message-handlers-task-queue",
            id_reuse_policy=common.WorkflowIDReusePolicy.TERMINATE_IF_RUNNING,
        )
        delay_seconds = 10 if should_test_continue_as_new else 1
        await do_cluster_lifecycle(cluster_manager_handle, delay_seconds=delay_seconds)
        result = await cluster_manager_handle.result()
        print(
            f"Cluster shut down successfully."
            f" It had {result.num_currently_assigned_nodes} nodes assigned at the end."
        )
