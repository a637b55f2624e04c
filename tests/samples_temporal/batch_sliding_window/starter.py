"""batch_sliding_window/starter.py (with worker.py): process 90 records in 3 windows of 10.

Source: temporalio/samples-python batch_sliding_window/starter.py at
01f3ded8ba26660ff3284421c7c2c19c5c89645f and worker.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 (re-written, not copied; the worker's
``RecordLoader(90)``). Under a ``VirtualClock`` the children's 1-10 s pauses take no real
time.
"""

from __future__ import annotations

import datetime
import logging

from fastcore import Engine
from fastcore.testing import VirtualClock
from tests.samples_temporal.batch_sliding_window.batch_workflow import (
    ProcessBatchWorkflow,
    ProcessBatchWorkflowInput,
)
from tests.samples_temporal.batch_sliding_window.record_loader_activity import RecordLoader
from tests.samples_temporal.batch_sliding_window.record_processor_workflow import (
    RecordProcessorWorkflow,
)
from tests.samples_temporal.batch_sliding_window.sliding_window_workflow import (
    SlidingWindowWorkflow,
)


async def main(store: str = "memory") -> None:
    logging.basicConfig(level=logging.INFO)
    record_loader = RecordLoader(record_count=90)
    async with Engine(
        store,
        workflows=[ProcessBatchWorkflow, SlidingWindowWorkflow, RecordProcessorWorkflow],
        activities=[record_loader.get_record_count, record_loader.get_records],
        clock=VirtualClock(),
    ) as client:
        timestamp = datetime.datetime.now().strftime("%Y%m%d_%H%M%S")
        workflow_id = f"batch_sliding_window_example_{timestamp}"
        workflow_input = ProcessBatchWorkflowInput(
            page_size=5,
            sliding_window_size=10,
            partitions=3,
        )
        print(f"Starting workflow with ID: {workflow_id}")
        print(f"Input: {workflow_input}")

        handle = await client.start_workflow(
            ProcessBatchWorkflow.run,
            workflow_input,
            id=workflow_id,
            task_queue="batch_sliding_window_task_queue",
        )
        print(f"Workflow started with ID: {handle.id}")
        print("Waiting for workflow to complete...")
        try:
            result = await handle.result()
            print("Workflow completed successfully!")
            print(f"Total records processed: {result}")
        except Exception as e:
            print(f"Workflow failed with error: {e}")
            raise
