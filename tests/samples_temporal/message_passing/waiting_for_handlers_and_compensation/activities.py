"""message_passing/waiting_for_handlers_and_compensation/activities.py: the update's work
and its compensation.

Source: temporalio/samples-python
message_passing/waiting_for_handlers_and_compensation/activities.py at
51e61a05d9e73d609153a7bc5ee1e17299d9fa01 (re-written, not copied); each pauses 0.1 s
instead of 1 s (the suite's time budget).
"""

from __future__ import annotations

import asyncio

from fastcore import activity


@activity.defn
async def activity_executed_by_update_handler() -> None:
    await asyncio.sleep(0.1)


@activity.defn
async def activity_executed_by_update_handler_to_perform_compensation() -> None:
    await asyncio.sleep(0.1)
