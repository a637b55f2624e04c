"""batch_sliding_window/batch_workflow.py: partition the records over sliding windows.

Source: temporalio/samples-python batch_sliding_window/batch_workflow.py at
7a0e5236596eab1f26cdfe21f7a3ef3aa9e9c920 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from fastcore import workflow
from fastcore.common import WorkflowIDReusePolicy
from fastcore.errors import ApplicationError
from tests.samples_temporal.batch_sliding_window.record_loader_activity import RecordLoader
from tests.samples_temporal.batch_sliding_window.sliding_window_workflow import (
    SlidingWindowWorkflow,
    SlidingWindowWorkflowInput,
)


@dataclass
class ProcessBatchWorkflowInput:
    """ProcessBatchWorkflow's input, one structure so fields can be added compatibly."""

    page_size: int  # children one sliding-window run starts
    sliding_window_size: int  # children that run at once, in all
    partitions: int  # sliding windows that run at once


@workflow.defn
class ProcessBatchWorkflow:
    """Splits the records into contiguous ranges, one sliding window each."""

    @workflow.run
    async def run(self, input: ProcessBatchWorkflowInput) -> int:
        record_count: int = await workflow.execute_activity_method(
            RecordLoader.get_record_count,
            start_to_close_timeout=timedelta(seconds=5),
        )
        if input.sliding_window_size < input.partitions:
            raise ApplicationError("SlidingWindowSize cannot be less than number of partitions")

        partitions = self._divide_into_partitions(record_count, input.partitions)
        window_sizes = self._divide_into_partitions(input.sliding_window_size, input.partitions)
        workflow.logger.info(
            "ProcessBatchWorkflow started",
            extra={
                "input": input,
                "record_count": record_count,
                "partitions": partitions,
                "window_sizes": window_sizes,
            },
        )

        tasks = []
        offset = 0
        for i in range(input.partitions):
            maximum_partition_offset = min(offset + partitions[i], record_count)
            tasks.append(
                workflow.execute_child_workflow(
                    SlidingWindowWorkflow.run,
                    SlidingWindowWorkflowInput(
                        page_size=input.page_size,
                        sliding_window_size=window_sizes[i],
                        offset=offset,
                        maximum_offset=maximum_partition_offset,
                        progress=0,
                        current_records=None,
                    ),
                    id=f"{workflow.info().workflow_id}/{i}",
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                )
            )
            offset += partitions[i]

        results = await asyncio.gather(*tasks)
        return sum(results)

    def _divide_into_partitions(self, number: int, n: int) -> list[int]:
        """``number`` split into ``n`` parts as even as can be."""
        base, remainder = divmod(number, n)
        partitions = [base] * n
        for i in range(remainder):
            partitions[i] += 1
        return partitions
