"""polling/periodic_sequence/activities.py: one service call per activity.

Source: temporalio/samples-python polling/periodic_sequence/activities.py at
6bdbbd1358693942ff718ce66285872d4764a3d3 (re-written, not copied).
"""

from __future__ import annotations

from fastcore import activity
from tests.samples_temporal.polling.test_service import ComposeGreetingInput, get_service_result

__all__ = ["ComposeGreetingInput", "compose_greeting"]


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> str:
    return await get_service_result(input)
