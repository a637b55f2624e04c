"""message_passing/introduction/starter.py (with worker.py): a query, updates, a signal.

Source: temporalio/samples-python message_passing/introduction/starter.py at
136e3fc736074cb6d005f1eab87e5941e938c48e and worker.py at
145aaf4f05099163c15d84ac58160d7a70ea7508 (re-written, not copied).
"""

from __future__ import annotations

from fastcore import Engine
from fastcore.client import WorkflowUpdateStage
from tests.samples_temporal.message_passing.introduction import TASK_QUEUE
from tests.samples_temporal.message_passing.introduction.activities import call_greeting_service
from tests.samples_temporal.message_passing.introduction.workflows import (
    ApproveInput,
    GetLanguagesInput,
    GreetingWorkflow,
    Language,
)


async def main(store: str = "memory") -> None:
    async with Engine(
        store, workflows=[GreetingWorkflow], activities=[call_greeting_service]
    ) as client:
        wf_handle = await client.start_workflow(
            GreetingWorkflow.run,
            id="greeting-workflow-1234",
            task_queue=TASK_QUEUE,
        )

        # a query
        supported_languages = await wf_handle.query(
            GreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=False)
        )
        print(f"supported languages: {supported_languages}")

        # an update, waited for
        previous_language = await wf_handle.execute_update(
            GreetingWorkflow.set_language, Language.CHINESE
        )
        current_language = await wf_handle.query(GreetingWorkflow.get_language)
        print(f"language changed: {previous_language.name} -> {current_language.name}")

        # an update started, then waited for
        update_handle = await wf_handle.start_update(
            GreetingWorkflow.set_language_using_activity,
            Language.ARABIC,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        previous_language = await update_handle.result()
        current_language = await wf_handle.query(GreetingWorkflow.get_language)
        print(f"language changed: {previous_language.name} -> {current_language.name}")

        # a signal
        await wf_handle.signal(GreetingWorkflow.approve, ApproveInput(name=""))
        print(await wf_handle.result())
