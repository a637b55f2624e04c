"""updatable_timer/starter.py, wake_up_time_updater.py and worker.py in one run.

Source: temporalio/samples-python updatable_timer/starter.py at
132864b6f6881f9a115e376721587dd1895af904, wake_up_time_updater.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 and worker.py at
c3d90334620bbc62899b485f9a688cee1f0dd4d9 (re-written, not copied). The starter sets a
timer a day ahead, the updater moves it to ten seconds from now, the workflow wakes then;
times are the engine's (a ``VirtualClock``: the original's wall clock, and its waits for
the timer, become the engine's clock, as under Temporal's time-skipping test server).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from fastcore import Engine, errors
from fastcore.testing import VirtualClock
from tests.samples_temporal.updatable_timer import TASK_QUEUE
from tests.samples_temporal.updatable_timer.workflow import Workflow


async def main(store: str = "memory") -> None:
    logging.basicConfig(level=logging.INFO)
    clock = VirtualClock()

    def now() -> datetime:
        return datetime.fromtimestamp(clock.now(), tz=timezone.utc)

    async with Engine(store, workflows=[Workflow], clock=clock) as client:
        # starter.py
        try:
            handle = await client.start_workflow(
                Workflow.run,
                (now() + timedelta(days=1)).timestamp(),
                id="updatable-timer-workflow",
                task_queue=TASK_QUEUE,
            )
            logging.info(f"Workflow started: run_id={handle.result_run_id}")
        except errors.WorkflowAlreadyStartedError as e:
            logging.info(
                f"Workflow already running: workflow_id={e.workflow_id}, run_id={e.run_id}"
            )

        # wake_up_time_updater.py
        handle = client.get_workflow_handle(workflow_id="updatable-timer-workflow")
        await handle.signal(
            Workflow.update_wake_up_time, (now() + timedelta(seconds=10)).timestamp()
        )
        logging.info("Updated wake up time to 10 seconds from now")

        # the timer now fires ten seconds after the update, not a day after the start
        await handle.result()
        logging.info(
            f"Workflow completed: wake up time {await handle.query(Workflow.get_wake_up_time)}"
        )
