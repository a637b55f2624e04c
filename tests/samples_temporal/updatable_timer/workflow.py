"""updatable_timer/workflow.py: the workflow around the timer, with a signal and a query.

Source: temporalio/samples-python updatable_timer/workflow.py at
88e3d6e60ba7dce85573a4f8f3697290177f18dc (re-written, not copied).
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastcore import workflow
from tests.samples_temporal.updatable_timer.updatable_timer_lib import UpdatableTimer


@workflow.defn
class Workflow:
    @workflow.init
    def __init__(self, wake_up_time: float) -> None:
        self.timer = UpdatableTimer(datetime.fromtimestamp(wake_up_time, tz=timezone.utc))

    @workflow.run
    async def run(self, wake_up_time: float) -> None:
        await self.timer.sleep()

    @workflow.signal
    async def update_wake_up_time(self, wake_up_time: float) -> None:
        workflow.logger.info(f"update_wake_up_time: {wake_up_time}")
        self.timer.update_wake_up_time(datetime.fromtimestamp(wake_up_time, tz=timezone.utc))

    @workflow.query
    def get_wake_up_time(self) -> float:
        workflow.logger.info("get_wake_up_time")
        return float(self.timer.get_wake_up_time().timestamp())
