"""message_passing/introduction/workflows.py: a greeting in a language clients can change.

Source: temporalio/samples-python message_passing/introduction/workflows.py at
1ed6b30af316b88d4827dc7768b97d9cf1509843 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from fastcore import workflow
from fastcore.errors import ApplicationError

with workflow.unsafe.imports_passed_through():
    from tests.samples_temporal.message_passing.introduction import Language
    from tests.samples_temporal.message_passing.introduction.activities import (
        call_greeting_service,
    )


@dataclass
class GetLanguagesInput:
    include_unsupported: bool


@dataclass
class ApproveInput:
    name: str


@workflow.defn
class GreetingWorkflow:
    """Returns a greeting in one of several languages.

    A query reads the language, a signal approves the result, and two updates change the
    language and answer the previous one: a plain one that only touches workflow state, and
    an ``async`` one that asks a remote service (an activity) for languages it lacks.
    """

    def __init__(self) -> None:
        self.approved_for_release = False
        self.approver_name: str | None = None
        self.greetings = {
            Language.CHINESE: "你好，世界",
            Language.ENGLISH: "Hello, world",
        }
        self.language = Language.ENGLISH
        self.lock = asyncio.Lock()  # for the async update handler

    @workflow.run
    async def run(self) -> str:
        # Wait for approval, and for every handler to finish: an async update may still run.
        await workflow.wait_condition(
            lambda: self.approved_for_release and workflow.all_handlers_finished()
        )
        return self.greetings[self.language]

    @workflow.query
    def get_languages(self, input: GetLanguagesInput) -> list[Language]:
        # A query returns a value; it reads workflow state and must not change it.
        if input.include_unsupported:
            return sorted(Language)
        else:
            return sorted(self.greetings)

    @workflow.signal
    def approve(self, input: ApproveInput) -> None:
        # A signal changes workflow state and returns nothing.
        self.approved_for_release = True
        self.approver_name = input.name

    @workflow.update
    def set_language(self, language: Language) -> Language:
        # An update changes workflow state and returns a value.
        previous_language, self.language = self.language, language
        return previous_language

    @set_language.validator
    def validate_language(self, language: Language) -> None:
        if language not in self.greetings:
            # A validator rejects the update by raising.
            raise ValueError(f"{language.name} is not supported")

    @workflow.update
    async def set_language_using_activity(self, language: Language) -> Language:
        # An async update may run an activity.
        if language not in self.greetings:
            # The lock orders concurrent calls: one activity at a time.
            async with self.lock:
                greeting = await workflow.execute_activity(
                    call_greeting_service,
                    language,
                    start_to_close_timeout=timedelta(seconds=10),
                )
                # The service may not know the language either: fail the update (it was
                # accepted, so this is recorded; a validator cannot await an activity).
                if greeting is None:
                    raise ApplicationError(f"Greeting service does not support {language.name}")
                self.greetings[language] = greeting
        previous_language, self.language = self.language, language
        return previous_language

    @workflow.query
    def get_language(self) -> Language:
        return self.language
