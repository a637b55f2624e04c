"""message_passing/waiting_for_handlers/activities.py: the update handler's activity.

Source: temporalio/samples-python message_passing/waiting_for_handlers/activities.py at
d72c2de341248bab44f9fb5e8bc471237b2e2fc0 (re-written, not copied); it pauses 0.1 s
instead of 1 s (the suite's time budget).
"""

from __future__ import annotations

import asyncio

from fastcore import activity


@activity.defn
async def activity_executed_by_update_handler() -> None:
    await asyncio.sleep(0.1)
