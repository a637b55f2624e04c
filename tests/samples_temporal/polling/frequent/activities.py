"""polling/frequent/activities.py: poll inside one long activity, heartbeating.

Source: temporalio/samples-python polling/frequent/activities.py at
0a183abe507ade8fb2e87e3df95e5d722704f811 (re-written, not copied); it calls the shared
test service's ``get_service_result`` as the current samples do, and pauses 0.05 s between
tries instead of 1 s (the suite's time budget).
"""

from __future__ import annotations

import asyncio

from fastcore import activity
from tests.samples_temporal.polling.test_service import ComposeGreetingInput, get_service_result

__all__ = ["ComposeGreetingInput", "compose_greeting"]


@activity.defn
async def compose_greeting(input: ComposeGreetingInput) -> str:
    while True:
        try:
            try:
                result = await get_service_result(input)
                activity.logger.info(f"Exiting activity ${result}")
                return result
            except Exception:
                # The service is down: swallow the error and try again shortly.
                activity.logger.debug("Failed, trying again shortly", exc_info=True)

            activity.heartbeat("Invoking activity")
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            # Cancelled, or the workflow completed, or the worker shuts down: clean up here
            # if needed, then re-raise.
            raise
