"""Workflows the frontend tests drive through Temporal's clients.

Only ``fastcore`` is imported: the same classes run on a fastcore engine behind the bridge
and, through ``bridge.as_temporal_workflow``, on a Temporal worker. Temporal's sandbox
re-imports this module per run, so it keeps no state of its own.
"""

from __future__ import annotations

from datetime import timedelta

from fastcore import RetryPolicy, activity, workflow
from fastcore.errors import ApplicationError

T = timedelta(seconds=10)


@activity.defn
async def price(items: list[str]) -> int:
    """One unit per letter: a deterministic total."""
    return sum(len(i) for i in items)


@workflow.defn
class Cart:
    """Collects items until checked out, then prices them."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @workflow.run
    async def run(self, owner: str) -> dict[str, object]:
        await workflow.wait_condition(lambda: self.done)
        total = await workflow.execute_activity(price, self.items, start_to_close_timeout=T)
        return {"owner": owner, "items": list(self.items), "total": total}

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.signal
    def checkout(self) -> None:
        self.done = True

    @workflow.query
    def count(self) -> int:
        return len(self.items)

    @workflow.query
    def broken(self) -> int:
        raise ValueError("broken query")

    @workflow.update
    async def add_many(self, items: list[str]) -> int:
        if "bomb" in items:
            raise ApplicationError("refusing a bomb", type="Bomb")  # fails the update only
        self.items.extend(items)
        return len(self.items)

    @add_many.validator
    def check_add_many(self, items: list[str]) -> None:
        if not items:
            raise ValueError("nothing to add")


@workflow.defn
class Sleeper:
    """Waits on a durable timer (for ``stack`` and pending-work descriptions)."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        return "woke"


@workflow.defn
class Failing:
    """Fails with an ApplicationError."""

    @workflow.run
    async def run(self, reason: str) -> None:
        raise ApplicationError(reason, {"why": reason}, type="Refused", non_retryable=True)


@workflow.defn
class Echo:
    """Returns its arguments as they arrived (to check payload decoding)."""

    @workflow.run
    async def run(self, value: object = None) -> object:
        return value


@workflow.defn
class Looper:
    """Continues as new until ``n`` reaches 0 (clients follow the chain to the result)."""

    @workflow.run
    async def run(self, n: int) -> str:
        if n > 0:
            workflow.continue_as_new(n - 1)
        return f"done in run {workflow.info().run_id}"


@activity.defn
async def declines(card: str) -> str:
    """Declines the card on every attempt (a retryable failure)."""
    raise ApplicationError(f"card {card} declined", type="Declined")


@workflow.defn
class Retrying:
    """Waits on an activity that fails and retries after an hour (pending-activity views)."""

    @workflow.run
    async def run(self, card: str) -> str:
        result: str = await workflow.execute_activity(
            declines,
            card,
            start_to_close_timeout=T,
            retry_policy=RetryPolicy(initial_interval=timedelta(hours=1), maximum_attempts=4),
        )
        return result


WORKFLOWS: list[type] = [Cart, Sleeper, Failing, Echo, Looper, Retrying]
ACTIVITIES = [price, declines]
