"""hello/hello_change_log_level.py: a log filter turns workflow task failures into ERRORs.

Source: temporalio/samples-python hello/hello_change_log_level.py at
05f691f763d6f15cbe85a2f7af9fe9e1b77c5b5c (re-written, not copied). The filter reads the
``__temporal_error_identifier`` that temporalio (and fastcore) put on the record. The
original's workflow task fails forever and its starter waits forever; here the starter waits
until the failure has been logged, then terminates the run. The stdout handler is added for
the run and removed after it (the original sets it up at import).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from fastcore import Engine, workflow


class CustomLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if (
            hasattr(record, "__temporal_error_identifier")
            and getattr(record, "__temporal_error_identifier") == "WorkflowTaskFailure"
        ):
            record.levelno = logging.ERROR
            record.levelname = logging.getLevelName(logging.ERROR)
        return True


LOG_MESSAGE = "This error is an experiment to check the log level"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self) -> None:
        raise RuntimeError(LOG_MESSAGE)


async def main(store: str = "memory") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s  %(levelname)-8s  %(name)s  %(message)s"))
    handler.addFilter(CustomLogFilter())
    logging.getLogger().addHandler(handler)
    try:
        async with Engine(store, workflows=[GreetingWorkflow]) as client:
            handle = await client.start_workflow(
                GreetingWorkflow.run,
                id="hello-change-log-level-workflow-id",
                task_queue="hello-change-log-level-task-queue",
            )
            while (await handle.describe()).pending_task_failure is None:
                await asyncio.sleep(0.01)
            await handle.terminate()
    finally:
        logging.getLogger().removeHandler(handler)
