"""Workflows for the durability tests: children, continue-as-new, sagas, versioning."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastcore import activity, workflow
from fastcore.errors import ApplicationError
from fastcore.saga import Saga

T = timedelta(seconds=5)
LOG: list[str] = []


@activity.defn
async def step(name: str) -> str:
    LOG.append(name)
    return name


@activity.defn
async def failing_step(name: str) -> str:
    LOG.append(name)
    raise ApplicationError(f"{name} failed", type="StepFailed", non_retryable=True)


@workflow.defn
class Child:
    @workflow.run
    async def run(self, x: int) -> int:
        if x < 0:
            raise ApplicationError("negative", type="Negative")
        await workflow.execute_activity(step, f"child-{x}", start_to_close_timeout=T)
        return x * 2


@workflow.defn
class LongChild:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(timedelta(days=1))
            return "slept"
        except asyncio.CancelledError:
            await workflow.execute_activity(step, "long-child-cleanup", start_to_close_timeout=T)
            raise


@workflow.defn
class Parent:
    @workflow.run
    async def run(self, xs: list[int]) -> list[object]:
        out: list[object] = []
        for x in xs:
            try:
                out.append(
                    await workflow.execute_child_workflow(
                        Child.run, x, id=f"{workflow.info().workflow_id}-c{x}"
                    )
                )
            except Exception as err:  # ChildWorkflowError
                out.append(f"{type(err).__name__}:{type(err.__cause__).__name__}:{err.__cause__}")
        return out


@workflow.defn
class ParentOfLong:
    """Starts a long child with a parent close policy, then returns (or waits for a cancel)."""

    @workflow.run
    async def run(self, policy: int, cancel_child: bool) -> str:
        handle = await workflow.start_child_workflow(
            LongChild.run,
            id=f"{workflow.info().workflow_id}-long",
            parent_close_policy=workflow.ParentClosePolicy(policy),
        )
        if cancel_child:
            handle.cancel()
            try:
                await handle
            except Exception as err:
                return f"{type(err).__name__}:{type(err.__cause__).__name__}"
        return handle.id


@workflow.defn
class Counter:
    """Continues as new every 3 steps until it reaches ``limit``."""

    @workflow.run
    async def run(self, n: int, limit: int) -> int:
        for _ in range(3):
            if n >= limit:
                return n
            n = int(await workflow.execute_activity(step, str(n + 1), start_to_close_timeout=T))
        workflow.continue_as_new(n, limit)


@workflow.defn
class Booking:
    """A saga: book three things, the third fails, the first two are released."""

    @workflow.run
    async def run(self, fail_at: str, parallel: bool) -> str:
        async with Saga(parallel_compensation=parallel) as saga:
            for item in ("car", "hotel", "flight"):
                if item == fail_at:
                    await workflow.execute_activity(
                        failing_step, f"book-{item}", start_to_close_timeout=T
                    )
                else:
                    await workflow.execute_activity(step, f"book-{item}", start_to_close_timeout=T)
                saga.add_compensation(step, f"release-{item}", start_to_close_timeout=T)
        return "booked"


@workflow.defn
class BookingBadCompensation:
    @workflow.run
    async def run(self) -> str:
        async with Saga() as saga:
            await workflow.execute_activity(step, "book-a", start_to_close_timeout=T)
            saga.add_compensation(failing_step, "release-a", start_to_close_timeout=T)
            await workflow.execute_activity(failing_step, "book-b", start_to_close_timeout=T)
        return "booked"


@workflow.defn
class GatedBooking:
    """Books two things, waits for a signal, then the third booking fails."""

    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self) -> str:
        async with Saga() as saga:
            for item in ("car", "hotel"):
                await workflow.execute_activity(step, f"book-{item}", start_to_close_timeout=T)
                saga.add_compensation(step, f"release-{item}", start_to_close_timeout=T)
            await workflow.wait_condition(lambda: self.released)
            await workflow.execute_activity(failing_step, "book-flight", start_to_close_timeout=T)
        return "booked"

    @workflow.signal
    def go(self) -> None:
        self.released = True
