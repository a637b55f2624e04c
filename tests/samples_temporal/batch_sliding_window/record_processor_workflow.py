"""batch_sliding_window/record_processor_workflow.py: process one record, tell the parent.

Source: temporalio/samples-python batch_sliding_window/record_processor_workflow.py at
01f3ded8ba26660ff3284421c7c2c19c5c89645f (re-written, not copied).
"""

from __future__ import annotations

from fastcore import workflow
from tests.samples_temporal.batch_sliding_window.record_loader_activity import SingleRecord


@workflow.defn
class RecordProcessorWorkflow:
    """Processes a single record."""

    @workflow.run
    async def run(self, record: SingleRecord) -> None:
        await self._process_record(record)

        # Report completion to the parent by signal. No run id: the parent continues as new.
        parent = workflow.info().parent
        if parent:
            handle = workflow.get_external_workflow_handle(parent.workflow_id)
            await handle.signal("report_completion", record.id)

    async def _process_record(self, record: SingleRecord) -> None:
        """Stand-in processing: a deterministic random pause."""
        sleep_duration = workflow.random().randint(1, 10)
        await workflow.sleep(sleep_duration)
        workflow.logger.info(f"Processed record {record}")
