"""batch_sliding_window/record_loader_activity.py: activities that count and page records.

Source: temporalio/samples-python batch_sliding_window/record_loader_activity.py at
583d5febd09e88987dc3b900adc9959edf0e75c5 (re-written, not copied).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastcore import activity


@dataclass
class GetRecordsInput:
    """The get_records activity's input."""

    page_size: int
    offset: int
    max_offset: int


@dataclass
class SingleRecord:
    """One record to process."""

    id: int


@dataclass
class GetRecordsOutput:
    """The get_records activity's output."""

    records: list[SingleRecord]


class RecordLoader:
    """Loads records from a (here made-up) data source."""

    def __init__(self, record_count: int) -> None:
        self.record_count = record_count

    @activity.defn
    async def get_record_count(self) -> int:
        """The number of records, to partition the work."""
        return self.record_count

    @activity.defn
    async def get_records(self, input: GetRecordsInput) -> GetRecordsOutput:
        """One page of made-up records."""
        if input.max_offset > self.record_count:
            raise ValueError(f"max_offset({input.max_offset}) > record_count({self.record_count})")
        limit = min(input.offset + input.page_size, input.max_offset)
        return GetRecordsOutput(records=[SingleRecord(id=i) for i in range(input.offset, limit)])
