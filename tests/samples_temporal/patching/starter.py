"""patching/worker.py and starter.py: run one version's worker, start or query a workflow.

Source: temporalio/samples-python patching/worker.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and starter.py at
3033cb1d3acc05ed26c7af9672680d3e9ed37d38 (re-written, not copied). ``--workflow`` picks
the version the engine (the worker) registers; ``--start-workflow`` / ``--query-workflow``
are the starter's. The README's walk-through runs them in turn against one server: here,
against one store file, an engine per step.
"""

from __future__ import annotations

import argparse
from typing import Any

from fastcore import Engine
from tests.samples_temporal.patching.activities import post_patch_activity, pre_patch_activity


async def main(store: str = "memory") -> None:
    parser = argparse.ArgumentParser(description="Run worker")
    parser.add_argument(
        "--workflow", required=True, help="initial, patched, patch-deprecated, or patch-complete"
    )
    parser.add_argument("--start-workflow", help="Start workflow with this ID")
    parser.add_argument("--query-workflow", help="Query workflow with this ID")
    args = parser.parse_args()
    if not args.start_workflow and not args.query_workflow:
        raise RuntimeError("Either --start-workflow or --query-workflow is required")

    my_workflow: Any
    if args.workflow == "initial":
        from tests.samples_temporal.patching.workflow_1_initial import MyWorkflow as my_workflow
    elif args.workflow == "patched":
        from tests.samples_temporal.patching.workflow_2_patched import MyWorkflow as my_workflow
    elif args.workflow == "patch-deprecated":
        from tests.samples_temporal.patching.workflow_3_patch_deprecated import (
            MyWorkflow as my_workflow,
        )
    elif args.workflow == "patch-complete":
        from tests.samples_temporal.patching.workflow_4_patch_complete import (
            MyWorkflow as my_workflow,
        )
    else:
        raise RuntimeError("Unrecognized workflow")

    async with Engine(
        store, workflows=[my_workflow], activities=[pre_patch_activity, post_patch_activity]
    ) as client:
        if args.start_workflow:
            handle = await client.start_workflow(
                my_workflow.run, id=args.start_workflow, task_queue="patching-task-queue"
            )
            print(f"Started workflow with ID {handle.id} and run ID {handle.result_run_id}")
            await handle.result()
        if args.query_workflow:
            handle = client.get_workflow_handle_for(my_workflow.run, args.query_workflow)
            result = await handle.query(my_workflow.result)
            print(f"Query result for ID {handle.id}: {result}")
