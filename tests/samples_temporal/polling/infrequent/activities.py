"""polling/infrequent/activities.py: each attempt asks the service once.

Source: temporalio/samples-python polling/infrequent/activities.py at
1c3060f357bf030d125e0be48a00b90ffa32c937 (re-written, not copied).
"""

from __future__ import annotations

from fastcore import activity
from tests.samples_temporal.polling.test_service import ComposeGreetingInput, get_service_result

__all__ = ["ComposeGreetingInput", "compose_greeting"]


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> str:
    # Until the service answers this raises, and the activity is scheduled again.
    return await get_service_result(input)
