"""hello/hello_activity_choice.py: the workflow picks an activity per item of its input.

Source: temporalio/samples-python hello/hello_activity_choice.py at
05f691f763d6f15cbe85a2f7af9fe9e1b77c5b5c (re-written, not copied).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum

from fastcore import Engine, activity, workflow


@activity.defn
def order_apples(amount: int) -> str:
    return f"Ordered {amount} Apples..."


@activity.defn
def order_bananas(amount: int) -> str:
    return f"Ordered {amount} Bananas..."


@activity.defn
def order_cherries(amount: int) -> str:
    return f"Ordered {amount} Cherries..."


@activity.defn
def order_oranges(amount: int) -> str:
    return f"Ordered {amount} Oranges..."


# An IntEnum, so it is JSON serializable; the workflow compares members with ``is``.
class Fruit(IntEnum):
    APPLE = 1
    BANANA = 2
    CHERRY = 3
    ORANGE = 4


@dataclass
class ShoppingListItem:
    fruit: Fruit
    amount: int


@dataclass
class ShoppingList:
    items: list[ShoppingListItem]


@workflow.defn
class PurchaseFruitsWorkflow:
    @workflow.run
    async def run(self, shopping_list: ShoppingList) -> str:
        ordered: list[str] = []
        for item in shopping_list.items:
            if item.fruit is Fruit.APPLE:
                order_function = order_apples
            elif item.fruit is Fruit.BANANA:
                order_function = order_bananas
            elif item.fruit is Fruit.CHERRY:
                order_function = order_cherries
            elif item.fruit is Fruit.ORANGE:
                order_function = order_oranges
            else:
                raise ValueError(f"Unrecognized fruit: {item.fruit}")
            ordered.append(
                await workflow.execute_activity(
                    order_function,
                    item.amount,
                    start_to_close_timeout=timedelta(seconds=5),
                )
            )
        return "".join(ordered)


async def main(store: str = "memory") -> None:
    async with Engine(
        store,
        workflows=[PurchaseFruitsWorkflow],
        activities=[order_apples, order_bananas, order_cherries, order_oranges],
        activity_executor=ThreadPoolExecutor(5),
    ) as client:
        result = await client.execute_workflow(
            PurchaseFruitsWorkflow.run,
            ShoppingList(
                [
                    ShoppingListItem(Fruit.APPLE, 8),
                    ShoppingListItem(Fruit.BANANA, 5),
                    ShoppingListItem(Fruit.CHERRY, 1),
                    ShoppingListItem(Fruit.ORANGE, 4),
                ]
            ),
            id="hello-activity-choice-workflow-id",
            task_queue="hello-activity-choice-task-queue",
        )
        print(f"Order result: {result}")
