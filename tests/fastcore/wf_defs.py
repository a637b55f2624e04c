"""Workflows and activities shared by the engine tests."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import timedelta

from fastcore import RetryPolicy, activity, workflow
from fastcore.errors import ApplicationError

T1 = timedelta(seconds=5)


@activity.defn
async def inc(x: int) -> int:
    return x + 1


@activity.defn
def inc_sync(x: int) -> int:
    return x + 1


@activity.defn
async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


CALLS: dict[str, list[int]] = {}


@activity.defn
async def flaky(key: str, fail_times: int, error_type: str) -> int:
    """Fails ``fail_times`` times with ApplicationError(type=error_type), then returns."""
    attempt = activity.info().attempt
    CALLS.setdefault(key, []).append(attempt)
    if attempt <= fail_times:
        raise ApplicationError(f"attempt {attempt} failed", type=error_type)
    return attempt


@activity.defn
async def never_retry(key: str) -> None:
    CALLS.setdefault(key, []).append(activity.info().attempt)
    raise ApplicationError("no point retrying", "detail-1", type="Fatal", non_retryable=True)


@activity.defn
async def plain_error(key: str) -> None:
    CALLS.setdefault(key, []).append(activity.info().attempt)
    raise ValueError("bad value")


HEARTBEATS: dict[str, list[tuple[int, tuple[object, ...]]]] = {}


@activity.defn
async def heartbeater(key: str) -> int:
    """Heartbeats its progress; stops heartbeating on the first attempt (heartbeat timeout)."""
    info = activity.info()
    HEARTBEATS.setdefault(key, []).append((info.attempt, tuple(info.heartbeat_details)))
    start = info.heartbeat_details[0] if info.heartbeat_details else 0
    for i in range(start, 5):
        activity.heartbeat(i)
        if info.attempt == 1 and i == 2:
            await asyncio.sleep(10)  # goes silent: heartbeat timeout
        await asyncio.sleep(0.001)
    return start


CANCELLED: dict[str, str] = {}


@activity.defn
async def wait_forever_async(key: str) -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        CANCELLED[key] = "async"
        raise


STARTED_EVENTS: dict[str, threading.Event] = {}


@activity.defn(no_thread_cancel_exception=True)
def wait_forever_sync(key: str) -> str:
    STARTED_EVENTS.setdefault(key, threading.Event()).set()
    for _ in range(5000):
        if activity.is_cancelled():
            CANCELLED[key] = "sync"
            raise ApplicationError("cancelled", type="Cancelled")
        threading.Event().wait(0.002)
    return "not cancelled"


CLEANUPS: list[str] = []


@activity.defn
async def cleanup(key: str) -> str:
    CLEANUPS.append(key)
    return f"cleaned {key}"


@workflow.defn
class ThreeSteps:
    @workflow.run
    async def run(self, x: int) -> int:
        for _ in range(3):
            x = await workflow.execute_activity(inc, x, start_to_close_timeout=T1)
        return x


@workflow.defn
class SyncSteps:
    @workflow.run
    async def run(self, x: int) -> int:
        x = await workflow.execute_activity(inc_sync, x, start_to_close_timeout=T1)
        return await workflow.execute_activity(inc_sync, x, start_to_close_timeout=T1)


@workflow.defn
class Returns:
    @workflow.run
    async def run(self, value: object) -> object:
        return value


@workflow.defn
class CallActivity:
    """Runs one activity by name with the given options."""

    @workflow.run
    async def run(self, name: str, args: list[object], opts: dict[str, object]) -> object:
        rp = opts.get("retry")
        return await workflow.execute_activity(
            name,
            *args,
            start_to_close_timeout=timedelta(seconds=float(opts.get("s2c", 5))),  # type: ignore[arg-type]
            schedule_to_close_timeout=(
                timedelta(seconds=float(opts["sched2c"])) if "sched2c" in opts else None  # type: ignore[arg-type]
            ),
            heartbeat_timeout=timedelta(seconds=float(opts["hb"])) if "hb" in opts else None,  # type: ignore[arg-type]
            retry_policy=_policy(rp) if isinstance(rp, dict) else None,
        )


def _policy(rp: dict[str, object]) -> RetryPolicy:
    kw = dict(rp)
    for k in ("initial_interval", "maximum_interval"):
        if k in kw:
            kw[k] = timedelta(seconds=float(kw[k]))  # type: ignore[arg-type]
    return RetryPolicy(**kw)  # type: ignore[arg-type]


@dataclass
class Order:
    sku: str
    qty: int


@workflow.defn
class Waiter:
    """Waits for an approval signal; answers queries; takes updates with a validator."""

    def __init__(self) -> None:
        self.approved_by: str | None = None
        self.items: list[str] = []
        self.signals: list[str] = []

    @workflow.run
    async def run(self, timeout_s: float | None = None) -> dict[str, object]:
        t = timedelta(seconds=timeout_s) if timeout_s else None
        await workflow.wait_condition(lambda: self.approved_by is not None, timeout=t)
        return {"approved_by": self.approved_by, "items": self.items, "signals": self.signals}

    @workflow.signal
    def approve(self, who: str) -> None:
        self.signals.append(who)
        self.approved_by = who

    @workflow.signal(name="note")
    def add_note(self, note: str) -> None:
        self.signals.append(note)

    @workflow.query
    def status(self) -> str:
        return "approved" if self.approved_by else "waiting"

    @workflow.query
    def item_count(self) -> int:
        return len(self.items)

    @workflow.update
    async def add_item(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @add_item.validator
    def _check_item(self, item: str) -> None:
        if not item:
            raise ApplicationError("empty item", type="Invalid")

    @workflow.update
    def fail_update(self, why: str) -> None:
        raise ApplicationError(why, type="UpdateFailed")


@workflow.defn
class CancelWithCleanup:
    @workflow.run
    async def run(self, key: str) -> str:
        try:
            await workflow.execute_activity(
                wait_forever_async, key, start_to_close_timeout=timedelta(seconds=120)
            )
            return "finished"
        except BaseException:
            await workflow.execute_activity(cleanup, key, start_to_close_timeout=T1)
            raise


@workflow.defn
class SleepThenCleanup:
    @workflow.run
    async def run(self, key: str) -> str:
        try:
            await workflow.sleep(timedelta(hours=1))
            return "slept"
        except asyncio.CancelledError:
            await workflow.execute_activity(cleanup, key, start_to_close_timeout=T1)
            raise


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self, hours: float) -> str:
        start = workflow.now()
        await workflow.sleep(timedelta(hours=hours))
        return str(timedelta(seconds=round((workflow.now() - start).total_seconds())))


@workflow.defn
class Deterministic:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    @workflow.run
    async def run(self) -> dict[str, object]:
        self.values["now"] = workflow.now().isoformat()
        self.values["random"] = workflow.random().random()
        self.values["uuid"] = str(workflow.uuid4())
        await workflow.execute_activity(inc, 1, start_to_close_timeout=T1)
        self.values["now2"] = workflow.now().isoformat()
        self.values["random2"] = workflow.random().randint(0, 10**9)
        return self.values

    @workflow.query
    def snapshot(self) -> dict[str, object]:
        return self.values


@workflow.defn
class Buggy:
    """Raises a plain exception (a bug): the workflow task fails and retries, the run stays open."""

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(inc, 1, start_to_close_timeout=T1)
        raise RuntimeError("bug in workflow code")


@workflow.defn(failure_exception_types=[KeyError])
class FailsOnKeyError:
    @workflow.run
    async def run(self) -> str:
        raise KeyError("missing")


@workflow.defn
class FailsWithApplicationError:
    @workflow.run
    async def run(self) -> str:
        raise ApplicationError("business rule", {"code": 7}, type="Rejected", non_retryable=True)


@workflow.defn
class AsyncioFeatures:
    """Uses gather, create_task, Event, Lock, Queue, wait_for, shield and asyncio.sleep."""

    @workflow.run
    async def run(self) -> dict[str, object]:
        out: dict[str, object] = {}
        out["gather"] = await asyncio.gather(
            workflow.execute_activity(inc, 1, start_to_close_timeout=T1),
            workflow.execute_activity(inc, 10, start_to_close_timeout=T1),
        )
        ev = asyncio.Event()
        lock = asyncio.Lock()
        q: asyncio.Queue[int] = asyncio.Queue()
        order: list[str] = []

        async def producer() -> None:
            async with lock:
                order.append("producer")
                for i in range(3):
                    await q.put(i)
            ev.set()

        task = asyncio.create_task(producer())
        await ev.wait()
        await task
        out["queue"] = [q.get_nowait() for _ in range(3)]
        await asyncio.sleep(30)  # a durable timer
        try:
            await asyncio.wait_for(asyncio.sleep(3600), timeout=60)
            out["wait_for"] = "no timeout"
        except TimeoutError:
            out["wait_for"] = "timeout"
        out["shield"] = await asyncio.shield(
            workflow.execute_activity(inc, 41, start_to_close_timeout=T1)
        )
        out["order"] = order
        return out
