"""Workflows and activities that run unchanged on a fastcore Engine and on a Temporal worker.

Only ``fastcore`` is imported here: ``bridge.as_temporal_workflow`` and
``bridge.as_temporal_activities`` make the Temporal versions. Temporal's sandbox re-imports
this module for every workflow run, so it keeps no state of its own.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastcore import RetryPolicy, activity, workflow
from fastcore.errors import ActivityError, ApplicationError, ChildWorkflowError

T = timedelta(seconds=10)
FAST_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=20), maximum_attempts=5)


# ---------------------------------------------------------------- activities


@activity.defn
async def reserve(sku: str, qty: int) -> str:
    """Reserves stock; an unknown sku fails for good."""
    if sku == "unobtainium":
        raise ApplicationError("no such sku", {"sku": sku}, type="UnknownSku", non_retryable=True)
    return f"res-{sku}-{qty}"


@activity.defn
async def charge(order_id: str, fail_times: int) -> int:
    """Fails ``fail_times`` attempts with a retryable error, then returns the attempt."""
    attempt = activity.info().attempt
    if attempt <= fail_times:
        raise ApplicationError(f"card declined on attempt {attempt}", type="Declined")
    return attempt


@activity.defn
def pack(order_id: str, items: list[str]) -> dict[str, Any]:
    """A plain ``def`` activity (runs in a thread) that heartbeats."""
    for i, _ in enumerate(items):
        activity.heartbeat(i)
    info = activity.info()
    return {
        "box": f"box-{order_id}",
        "items": sorted(items),
        "thread": threading.current_thread() is not threading.main_thread(),
        "activity_type": info.activity_type,
        "attempt": info.attempt,
    }


@activity.defn
async def out_of_stock(sku: str) -> None:
    raise ApplicationError("out of stock", {"sku": sku}, 3, type="OutOfStock", non_retryable=True)


@activity.defn
async def wait_for_cancel(seconds: float) -> str:
    """Heartbeats until cancelled (async activities get ``asyncio.CancelledError``)."""
    for _ in range(int(seconds * 50)):
        activity.heartbeat()
        await asyncio.sleep(0.02)
    return "not cancelled"


@activity.defn
async def render(order_id: str, total: int) -> str:
    return f"receipt {order_id}: {total}"


# ---------------------------------------------------------------- workflows


@dataclass
class Order:
    id: str
    sku: str
    qty: int
    fail_times: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class ReceiptRequest:
    order_id: str
    total: int


@workflow.defn
class Receipt:
    """A child workflow: a timer, an activity, and what it knows of its parent."""

    @workflow.run
    async def run(self, req: ReceiptRequest) -> dict[str, Any]:
        start = workflow.now()
        await workflow.sleep(timedelta(minutes=10))
        text = await workflow.execute_activity(
            render, req.order_id, req.total, start_to_close_timeout=T
        )
        parent = workflow.info().parent
        return {
            "text": text,
            "parent": parent.workflow_id if parent else None,
            "slept": workflow.now() - start >= timedelta(minutes=10),
        }


@workflow.defn(name="Checkout")
class Checkout:
    """Activities with retries, a timer, a signal + wait_condition, a query, an update
    with a validator, a child workflow, ``patched()``, a caught activity failure, an
    activity cancellation and an ``ApplicationError`` failure."""

    def __init__(self) -> None:
        self.status = "new"
        self.items: list[str] = []
        self.approved_by: str | None = None
        self.log: list[str] = []

    @workflow.run
    async def run(self, order: Order) -> dict[str, Any]:
        out: dict[str, Any] = {"order": order.id, "type": workflow.info().workflow_type}
        self.status = "reserving"
        out["reservation"] = await workflow.execute_activity(
            reserve, order.sku, order.qty, start_to_close_timeout=T, retry_policy=FAST_RETRY
        )
        out["charge_attempt"] = await workflow.execute_activity(
            charge,
            order.id,
            order.fail_times,
            start_to_close_timeout=T,
            retry_policy=FAST_RETRY,
        )
        out["discount"] = 10 if workflow.patched("discount-v2") else 0
        if order.qty > 100:
            raise ApplicationError(
                "order too large",
                {"qty": order.qty, "max": 100},
                type="TooLarge",
                non_retryable=True,
            )

        self.status = "awaiting-approval"
        await workflow.wait_condition(lambda: self.approved_by is not None)
        out["approved_by"] = self.approved_by
        self.status = "approved"

        try:
            await workflow.wait_condition(
                lambda: self.status == "never", timeout=timedelta(hours=2)
            )
            out["second_wait"] = "condition"
        except TimeoutError:
            out["second_wait"] = "timed out"
        start = workflow.now()
        await workflow.sleep(timedelta(hours=1))
        out["slept_an_hour"] = workflow.now() - start >= timedelta(hours=1)

        out["packed"] = await workflow.execute_activity(
            pack, order.id, self.items, start_to_close_timeout=T, heartbeat_timeout=T
        )
        try:
            await workflow.execute_activity(out_of_stock, order.sku, start_to_close_timeout=T)
        except ActivityError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            out["caught"] = {
                "error": type(err).__name__,
                "activity_type": err.activity_type,
                "retry_state": err.retry_state.name if err.retry_state else None,
                "cause": type(cause).__name__,
                "type": cause.type,
                "message": cause.message,
                "details": list(cause.details),
                "non_retryable": cause.non_retryable,
            }
        handle = workflow.start_activity(
            wait_for_cancel,
            30.0,
            start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=timedelta(seconds=2),
        )
        await workflow.sleep(timedelta(milliseconds=200))
        handle.cancel()
        try:
            await handle
            out["cancelled"] = "no"
        except ActivityError as err:
            out["cancelled"] = type(err.cause).__name__

        total = order.qty * 10 - out["discount"]
        out["receipt"] = await workflow.execute_child_workflow(
            Receipt.run,
            ReceiptRequest(order.id, total),
            id=f"{workflow.info().workflow_id}-receipt",
        )
        self.status = "done"
        return out

    @workflow.signal
    def approve(self, who: str) -> None:
        self.log.append(f"approved by {who}")
        self.approved_by = who

    @workflow.query
    def get_status(self) -> str:
        return self.status

    @workflow.query(name="summary")
    def summary_query(self, prefix: str) -> str:
        return f"{prefix}: {self.status}, {len(self.items)} item(s)"

    @workflow.update
    async def add_item(self, item: str) -> int:
        self.items.append(item)
        self.log.append(f"added {item}")
        return len(self.items)

    @add_item.validator
    def _check_item(self, item: str) -> None:
        if not item:
            raise ApplicationError("an item needs a name", type="InvalidItem")
        if item in self.items:
            raise ApplicationError(f"{item} is already in the order", item, type="Duplicate")

    @workflow.update
    def fail_update(self, why: str) -> None:
        raise ApplicationError(why, type="UpdateFailed")


@workflow.defn
class FailsInChild:
    """A child's failure arrives as ``ChildWorkflowError``, its cause kept, on both runtimes."""

    @workflow.run
    async def run(self, order: Order) -> dict[str, Any]:
        try:
            await workflow.execute_child_workflow(Checkout.run, order, id=f"{order.id}-child")
        except ChildWorkflowError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            return {
                "error": type(err).__name__,
                "workflow_type": err.workflow_type,
                "cause": type(cause).__name__,
                "type": cause.type,
                "message": cause.message,
                "details": list(cause.details),
            }
        return {"error": None}


@workflow.defn(failure_exception_types=[Exception])
class ReadsTheClock:
    """Non-deterministic code: Temporal's sandbox must refuse it (fastcore has no sandbox)."""

    @workflow.run
    async def run(self) -> str:
        return _dt.datetime.now().isoformat()


@workflow.defn
class Countdown:
    """``continue_as_new`` and the calls that read workflow state."""

    @workflow.run
    async def run(self, n: int, trail: list[int]) -> dict[str, Any]:
        trail = [*trail, n]
        if n > 0:
            workflow.continue_as_new(n - 1, trail)
        info = workflow.info()
        workflow.logger.info("countdown reached zero")
        return {
            "trail": trail,
            "type": info.workflow_type,
            "continued": info.continued_run_id is not None,
            "attempt": info.attempt,
            "instance": workflow.instance() is self,
            "handlers_finished": workflow.all_handlers_finished(),
            "replaying": workflow.unsafe.is_replaying(),
            "uuid_version": workflow.uuid4().version,
            "random_in_range": 0 <= workflow.random().random() < 1,
            "time_matches_now": abs(workflow.time() - workflow.now().timestamp()) < 1,
            "history_length_known": info.get_current_history_length() > 0,
        }


# ---------------------------------------------------------------- Temporal's semantics


@workflow.defn
class Semantics:
    """Update validation, unknown names, an uncaught wait timeout: Temporal's answers."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @workflow.run
    async def run(self, mode: str) -> list[str]:
        if mode == "wait_times_out":
            await workflow.wait_condition(lambda: self.done, timeout=timedelta(minutes=30))
        await workflow.wait_condition(lambda: self.done)
        return self.items

    @workflow.update
    def add(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @add.validator
    def check_add(self, item: str) -> None:
        if not item:
            raise ValueError("item must not be empty")

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def count(self) -> int:
        return len(self.items)


@workflow.defn
class Generations:
    """Continues as new after each signal: the start handle follows the chain."""

    def __init__(self) -> None:
        self.poked: list[str] = []

    @workflow.run
    async def run(self, generation: int, trail: list[str]) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.poked))
        trail = [*trail, f"{generation}:{self.poked[0]}"]
        if generation < 2:
            workflow.continue_as_new(args=[generation + 1, trail])
        return trail

    @workflow.signal
    def poke(self, value: str) -> None:
        self.poked.append(value)

    @workflow.query
    def generation(self) -> int:
        return len(self.poked)


with workflow.unsafe.imports_passed_through():  # as multi-file Temporal projects write it
    import json as _json


@workflow.defn
class SandboxProbe:
    """What ``workflow.unsafe`` says on each runtime (Temporal's sandbox, or none)."""

    @workflow.run
    async def run(self) -> dict[str, Any]:
        with workflow.unsafe.imports_passed_through():
            passed = workflow.unsafe.is_imports_passed_through()
        return {
            "in_sandbox": workflow.unsafe.in_sandbox(),
            "passed_through": passed,
            "replaying": workflow.unsafe.is_replaying_history_events(),
            "json": _json.dumps({"ok": True}),
        }


class Inventory:
    """Activities that are methods of an object (the usual way to give them a client)."""

    def __init__(self, stock: dict[str, int]) -> None:
        self.stock = stock

    @activity.defn
    async def count(self, sku: str) -> int:
        return self.stock.get(sku, 0)

    @activity.defn(name="inventory_take")
    def take(self, sku: str, qty: int) -> int:
        return self.stock.get(sku, 0) - qty


INVENTORY = Inventory({"apple": 5})


@workflow.defn
class UsesInventory:
    @workflow.run
    async def run(self, sku: str) -> list[int]:
        have = await workflow.execute_activity_method(
            Inventory.count, sku, start_to_close_timeout=T
        )
        left = await workflow.execute_local_activity_method(
            Inventory.take, args=[sku, 2], start_to_close_timeout=T
        )
        return [have, left]


# ---------------------------------------------------------------- temporalio's smaller calls


@workflow.defn
class ParityChild:
    def __init__(self) -> None:
        self.heard: list[str] = []

    @workflow.run
    async def run(self, parent_queue: str) -> list[Any]:
        await workflow.wait_condition(lambda: bool(self.heard))
        info = workflow.info()
        root, parent = info.root, info.parent
        return [
            self.heard,
            root is not None and parent is not None and root.workflow_id == parent.workflow_id,
            info.task_queue == parent_queue,
        ]

    @workflow.signal
    def hear(self, word: str) -> None:
        self.heard.append(word)


@workflow.defn
class ParityCalls:
    """The calls the parity comparison brought in, answered by either runtime."""

    @workflow.run
    async def run(self) -> dict[str, Any]:
        info = workflow.info()
        child = await workflow.start_child_workflow(
            ParityChild.run, info.task_queue, id=f"{info.workflow_id}-child"
        )
        await child.signal(ParityChild.hear, "hi")
        heard = await child
        workflow.set_current_details("all done")
        return {
            "child": heard,
            "root": info.root,
            "original": info.original_execution_run_id == info.run_id,
            "uuid7": workflow.uuid7().version,
            "time_ns": abs(workflow.time_ns() / 1e9 - workflow.time()) < 1,
            "same_seed": workflow.new_random("n").random() == workflow.new_random("n").random(),
            "seed_is_int": isinstance(workflow.random_seed(), int),
            "failure": [
                workflow.is_failure_exception(ApplicationError("x")),
                workflow.is_failure_exception(ValueError("y")),
            ],
            "details": workflow.get_current_details(),
            "cancel_reason": workflow.cancellation_reason(),
            "meter": workflow.metric_meter().create_counter("parity_calls").name,
        }
