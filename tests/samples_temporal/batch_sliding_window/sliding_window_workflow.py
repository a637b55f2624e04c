"""batch_sliding_window/sliding_window_workflow.py: at most N children at a time.

Source: temporalio/samples-python batch_sliding_window/sliding_window_workflow.py at
01f3ded8ba26660ff3284421c7c2c19c5c89645f (re-written, not copied). Its query and signal
handlers are set at run time with ``workflow.set_query_handler`` / ``set_signal_handler``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastcore import workflow
from fastcore.common import WorkflowIDReusePolicy
from tests.samples_temporal.batch_sliding_window.record_loader_activity import (
    GetRecordsInput,
    RecordLoader,
)
from tests.samples_temporal.batch_sliding_window.record_processor_workflow import (
    RecordProcessorWorkflow,
)


@dataclass
class SlidingWindowWorkflowInput:
    """SlidingWindowWorkflow's arguments."""

    page_size: int
    sliding_window_size: int
    offset: int  # inclusive
    maximum_offset: int  # exclusive
    progress: int = 0
    # ids of the records being processed
    current_records: set[int] | None = None


@dataclass
class SlidingWindowState:
    """The answer to the ``state`` query."""

    current_records: list[int]
    children_started_by_this_run: int
    offset: int
    progress: int


@workflow.defn
class SlidingWindowWorkflow:
    """Processes a range of records with a bounded number of children: one ends, one starts."""

    def __init__(self) -> None:
        self.current_records: set[int] = set()
        self.children_started_by_this_run: list[object] = []
        self.offset = 0
        self.progress = 0

    @workflow.run
    async def run(self, input: SlidingWindowWorkflowInput) -> int:
        workflow.logger.info(
            "SlidingWindowWorkflow started",
            extra={
                "sliding_window_size": input.sliding_window_size,
                "page_size": input.page_size,
                "offset": input.offset,
                "maximum_offset": input.maximum_offset,
                "progress": input.progress,
            },
        )
        self.current_records = input.current_records or set()
        self.offset = input.offset
        self.progress = input.progress

        workflow.set_query_handler("state", self._handle_state_query)
        workflow.set_signal_handler("report_completion", self._handle_completion_signal)

        return await self._execute(input)

    async def _execute(self, input: SlidingWindowWorkflowInput) -> int:
        records = []
        if self.offset < input.maximum_offset:
            get_records_output = await workflow.execute_activity(
                RecordLoader.get_records,
                GetRecordsInput(
                    page_size=input.page_size,
                    offset=self.offset,
                    max_offset=input.maximum_offset,
                ),
                start_to_close_timeout=timedelta(seconds=5),
            )
            records = get_records_output.records

        workflow_id = workflow.info().workflow_id
        for record in records:
            # wait for room in the window
            await workflow.wait_condition(
                lambda: len(self.current_records) < input.sliding_window_size
            )
            child_handle = await workflow.start_child_workflow(
                RecordProcessorWorkflow.run,
                record,
                id=f"{workflow_id}/{record.id}",
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
            self.children_started_by_this_run.append(child_handle)
            self.current_records.add(record.id)

        return await self._continue_as_new_or_complete(input)

    async def _continue_as_new_or_complete(self, input: SlidingWindowWorkflowInput) -> int:
        """Continue as new after a page of children; or, on the last page, wait for all."""
        new_offset = input.offset + len(self.children_started_by_this_run)
        if new_offset < input.maximum_offset:
            workflow.continue_as_new(
                SlidingWindowWorkflowInput(
                    page_size=input.page_size,
                    sliding_window_size=input.sliding_window_size,
                    offset=new_offset,
                    maximum_offset=input.maximum_offset,
                    progress=self.progress,
                    current_records=self.current_records,
                )
            )
        await workflow.wait_condition(lambda: len(self.current_records) == 0)
        return self.progress

    def _handle_completion_signal(self, record_id: int) -> None:
        # a repeated signal is ignored
        if record_id in self.current_records:
            self.current_records.remove(record_id)
            self.progress += 1

    def _handle_state_query(self) -> SlidingWindowState:
        return SlidingWindowState(
            current_records=sorted(self.current_records),
            children_started_by_this_run=len(self.children_started_by_this_run),
            offset=self.offset,
            progress=self.progress,
        )
