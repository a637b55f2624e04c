"""Temporal's message-passing samples, in their shape (the introduction's greeting workflow
with queries, signals, a validated update and an update that runs an activity under a lock;
update-with-start's lazily created shopping cart), written as a Temporal user writes them with
only the imports changed (temporalio -> fastcore; the Client is an Engine)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum

from fastcore import Engine, activity, common, workflow
from fastcore.client import (
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from fastcore.errors import ApplicationError


class Language(IntEnum):
    ARABIC = 1
    CHINESE = 2
    ENGLISH = 3
    FRENCH = 4
    HINDI = 5
    PORTUGUESE = 6
    SPANISH = 7


@dataclass
class GetLanguagesInput:
    include_unsupported: bool


@dataclass
class ApproveInput:
    name: str


@activity.defn
async def call_greeting_service(to_language: Language) -> str | None:
    await asyncio.sleep(0.01)
    return {Language.ARABIC: "مرحبا بالعالم", Language.FRENCH: "Bonjour, monde"}.get(to_language)


@workflow.defn
class GreetingWorkflow:
    def __init__(self) -> None:
        self.approved_for_release = False
        self.approver_name: str | None = None
        self.greetings = {Language.CHINESE: "你好世界", Language.ENGLISH: "Hello, world"}
        self.language = Language.ENGLISH
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(
            lambda: self.approved_for_release and workflow.all_handlers_finished()
        )
        return self.greetings[self.language]

    @workflow.query
    def get_languages(self, input: GetLanguagesInput) -> list[Language]:
        if input.include_unsupported:
            return sorted(Language)
        return sorted(self.greetings)

    @workflow.signal
    def approve(self, input: ApproveInput) -> None:
        self.approved_for_release = True
        self.approver_name = input.name

    @workflow.update
    def set_language(self, language: Language) -> Language:
        previous_language, self.language = self.language, language
        return previous_language

    @set_language.validator
    def validate_language(self, language: Language) -> None:
        if language not in self.greetings:
            raise ValueError(f"{language.name} is not supported")

    @workflow.update
    async def set_language_using_activity(self, language: Language) -> Language:
        if language not in self.greetings:
            async with self.lock:
                greeting = await workflow.execute_activity(
                    call_greeting_service,
                    language,
                    start_to_close_timeout=timedelta(seconds=10),
                )
                if greeting is None:
                    raise ApplicationError(f"Greeting service does not support {language.name}")
                self.greetings[language] = greeting
        previous_language, self.language = self.language, language
        return previous_language

    @workflow.query
    def get_language(self) -> Language:
        return self.language


async def test_message_passing_introduction(store_url: str) -> None:
    printed: list[str] = []
    async with Engine(
        store_url, workflows=[GreetingWorkflow], activities=[call_greeting_service]
    ) as client:
        wf_handle = await client.start_workflow(
            GreetingWorkflow.run, id=f"greeting-workflow-{uuid.uuid4()}", task_queue="mp"
        )
        supported_languages = await wf_handle.query(
            GreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=False)
        )
        printed.append(f"supported languages: {supported_languages}")

        previous_language = await wf_handle.execute_update(
            GreetingWorkflow.set_language, Language.CHINESE
        )
        current_language = await wf_handle.query(GreetingWorkflow.get_language)
        printed.append(f"language changed: {previous_language.name} -> {current_language.name}")

        update_handle = await wf_handle.start_update(
            GreetingWorkflow.set_language_using_activity,
            Language.ARABIC,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        previous_language = await update_handle.result()
        current_language = await wf_handle.query(GreetingWorkflow.get_language)
        printed.append(f"language changed: {previous_language.name} -> {current_language.name}")

        await wf_handle.signal(GreetingWorkflow.approve, ApproveInput(name=""))
        printed.append(await wf_handle.result())
    assert printed == [
        "supported languages: [<Language.CHINESE: 2>, <Language.ENGLISH: 3>]",
        "language changed: ENGLISH -> CHINESE",
        "language changed: CHINESE -> ARABIC",
        "مرحبا بالعالم",
    ]
    assert supported_languages[0] is Language.CHINESE


@dataclass
class ShoppingCartItem:
    sku: str
    quantity: int


@activity.defn
async def get_price(item: ShoppingCartItem) -> int | None:
    return {"sku-123": 5, "sku-456": 7}.get(item.sku)


@dataclass
class FinalizedOrder:
    id: str
    items: list[tuple[ShoppingCartItem, int]]
    total: int


@workflow.defn
class ShoppingCartWorkflow:
    def __init__(self) -> None:
        self.items: list[tuple[ShoppingCartItem, int]] = []
        self.order_submitted = False

    @workflow.run
    async def run(self) -> FinalizedOrder:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self.order_submitted
        )
        return FinalizedOrder(
            id=workflow.info().workflow_id,
            items=self.items,
            total=sum(price for _, price in self.items),
        )

    @workflow.update
    async def add_item(self, item: ShoppingCartItem) -> int:
        price = await workflow.execute_activity(
            get_price, item, start_to_close_timeout=timedelta(seconds=10)
        )
        if price is None:
            raise ApplicationError(f"Item unavailable: {item}", type="ItemUnavailableError")
        self.items.append((item, price))
        return sum(price for _, price in self.items)

    @add_item.validator
    def validate_add_item(self, item: ShoppingCartItem) -> None:
        if self.order_submitted:
            raise ApplicationError("Order already submitted")

    @workflow.signal
    def checkout(self) -> None:
        self.order_submitted = True


async def handle_add_item_request(
    session_id: str, item_id: str, quantity: int, temporal_client: Engine
) -> tuple[int | None, WorkflowHandle]:
    cart_id = f"cart-{session_id}"
    start_op = WithStartWorkflowOperation(
        ShoppingCartWorkflow.run,
        id=cart_id,
        id_conflict_policy=common.WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue="carts",
    )
    try:
        price = await temporal_client.execute_update_with_start_workflow(
            ShoppingCartWorkflow.add_item,
            ShoppingCartItem(sku=item_id, quantity=quantity),
            start_workflow_operation=start_op,
        )
    except WorkflowUpdateFailedError as err:
        if isinstance(err.cause, ApplicationError) and err.cause.type == "ItemUnavailableError":
            price = None
        else:
            raise err
    workflow_handle = await start_op.workflow_handle()
    return price, workflow_handle


async def test_update_with_start_lazy_initialization(store_url: str) -> None:
    session_id = f"session-{uuid.uuid4()}"
    async with Engine(
        store_url, workflows=[ShoppingCartWorkflow], activities=[get_price]
    ) as client:
        subtotal_1, _ = await handle_add_item_request(session_id, "sku-123", 1, client)
        subtotal_2, wf_handle = await handle_add_item_request(session_id, "sku-456", 1, client)
        unavailable, _ = await handle_add_item_request(session_id, "sku-999", 1, client)
        await wf_handle.signal(ShoppingCartWorkflow.checkout)
        final_order = await wf_handle.result()
    assert [subtotal_1, subtotal_2, unavailable] == [5, 12, None]
    assert final_order == FinalizedOrder(
        id=f"cart-{session_id}",
        items=[(ShoppingCartItem("sku-123", 1), 5), (ShoppingCartItem("sku-456", 1), 7)],
        total=12,
    )
