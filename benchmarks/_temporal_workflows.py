"""Workflows and activities the Temporal side of the benchmark runs.

Sandbox-safe on purpose: this module imports nothing but ``temporalio`` and the
standard library, so the workflow sandbox can re-import it cheaply. The shapes
match the fastcore benchmark workflows one for one.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

__all__ = [
    "ACTIVITY_TIMEOUT",
    "NoopWorkflow",
    "ThreeActivitiesWorkflow",
    "WaitForSignalWorkflow",
    "increment",
]

ACTIVITY_TIMEOUT = timedelta(seconds=30)


@activity.defn
async def increment(value: int) -> int:
    """Return ``value + 1``: an activity that does no work of its own."""
    return value + 1


@workflow.defn
class NoopWorkflow:
    """Returns its input at once: the cost of a workflow start, task and result."""

    @workflow.run
    async def run(self, value: int) -> int:
        return value


@workflow.defn
class ThreeActivitiesWorkflow:
    """Three sequential activities, each returning its input plus one."""

    @workflow.run
    async def run(self, value: int) -> int:
        for _ in range(3):
            value = await workflow.execute_activity(
                increment, value, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        return value


@workflow.defn
class WaitForSignalWorkflow:
    """Waits for one ``deliver`` signal and returns its value.

    ``ready`` is an update the benchmark awaits before timing, so the workflow is
    known to be running and parked on its wait; ``current`` is the query whose
    round trip the query benchmark times.
    """

    def __init__(self) -> None:
        self._value: int | None = None

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._value is not None)
        assert self._value is not None
        return self._value

    @workflow.signal
    def deliver(self, value: int) -> None:
        self._value = value

    @workflow.update
    def ready(self) -> bool:
        return True

    @workflow.query
    def current(self) -> int | None:
        return self._value
