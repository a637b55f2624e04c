"""One workflow never takes the engine down: long retry loops, and faults inside the engine."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest

from fastcore import Engine, RetryPolicy, activity, workflow
from fastcore.converter import DataConverter, DefaultFailureConverter, PayloadConverter
from fastcore.errors import ActivityError, ApplicationError
from fastcore.testing import VirtualClock


def test_backoff_is_capped_for_any_attempt_number() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
    )
    assert [policy.backoff(n) for n in (1, 2, 3, 5, 6)] == [1.0, 2.0, 4.0, 16.0, 30.0]
    for attempt in (1024, 1025, 1026, 5000, 10**6, 10**12):
        assert policy.backoff(attempt) == 30.0
    # an integer coefficient and the default maximum (100x the initial interval)
    wide = RetryPolicy(initial_interval=timedelta(milliseconds=10), backoff_coefficient=3)
    assert wide.backoff(10**9) == pytest.approx(1.0)
    flat = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=1.0)
    assert flat.backoff(10**9) == 2.0


ATTEMPTS_BEFORE_SUCCESS = 2_100
_seen: dict[str, int] = {}


@activity.defn
async def flaky(key: str) -> int:
    attempt = activity.info().attempt
    _seen[key] = attempt
    if attempt < ATTEMPTS_BEFORE_SUCCESS:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


@workflow.defn
class RetriesForever:
    @workflow.run
    async def run(self, key: str) -> int:
        return await workflow.execute_activity(
            flaky,
            key,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
            ),
        )


async def test_an_activity_retries_through_thousands_of_attempts(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)  # one WARNING per failed attempt is expected here
    key = uuid.uuid4().hex
    clock = VirtualClock()
    async with Engine(
        store_url, workflows=[RetriesForever], activities=[flaky], clock=clock
    ) as engine:
        started = clock.now()
        result = await engine.execute_workflow(RetriesForever.run, key, id=key)
        assert result == ATTEMPTS_BEFORE_SUCCESS
        assert _seen[key] == ATTEMPTS_BEFORE_SUCCESS
        # past attempt 1025 every wait is the maximum interval (ten minutes): no overflow
        assert clock.now() - started > (ATTEMPTS_BEFORE_SUCCESS - 20) * 600
        assert (await engine.get_workflow_handle(key).describe()).status.name == "COMPLETED"


# ---------------------------------------------------------------- a fault inside the engine


class Refuses(Exception):
    """An activity failure the failure converter below cannot record while it is broken."""


_broken = {"on": True}


class FlakyFailureConverter(DefaultFailureConverter):
    """A user's failure converter with a bug: it raises for ``Refuses`` while broken."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: dict[str, Any]
    ) -> None:
        if _broken["on"] and isinstance(exception, Refuses):
            raise KeyError("the failure converter has a bug")
        super().to_failure(exception, payload_converter, failure)


@activity.defn
async def refuse() -> None:
    raise Refuses("no")


@activity.defn
async def fine(n: int) -> int:
    return n * 2


@workflow.defn
class Fragile:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                refuse,
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return f"recovered from {err.cause.type}"
        return "unreachable"


@workflow.defn
class Sturdy:
    @workflow.run
    async def run(self, n: int) -> int:
        await workflow.sleep(timedelta(minutes=5))
        return await workflow.execute_activity(fine, n, start_to_close_timeout=timedelta(seconds=5))


async def test_a_fault_inside_the_engine_fails_one_run_and_the_rest_go_on(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _broken["on"] = True
    converter = DataConverter(failure_converter_class=FlakyFailureConverter)
    async with Engine(
        store_url,
        workflows=[Fragile, Sturdy],
        activities=[refuse, fine],
        data_converter=converter,
        clock=VirtualClock(),
    ) as engine:
        fragile = await engine.start_workflow(Fragile.run, id=f"fragile-{uuid.uuid4().hex}")
        others = [
            await engine.start_workflow(Sturdy.run, n, id=f"sturdy-{n}-{uuid.uuid4().hex}")
            for n in range(5)
        ]
        # every other run finishes while the fragile one is stuck on the engine's fault
        assert await asyncio.gather(*(h.result() for h in others)) == [0, 2, 4, 6, 8]
        desc = await fragile.describe()
        assert desc.status.name == "RUNNING"
        assert isinstance(desc.pending_task_failure, KeyError)
        assert "failure converter has a bug" in str(desc.pending_task_failure)
        warnings = [
            r
            for r in caplog.records
            if r.levelno == logging.WARNING and "fastcore engine error" in r.getMessage()
        ]
        assert warnings and fragile.id in warnings[0].getMessage()
        # the engine still takes new work
        assert await engine.execute_workflow(Sturdy.run, 21, id=uuid.uuid4().hex) == 42
        # the bug is fixed: the next retry rebuilds the run and it goes on
        _broken["on"] = False
        assert await fragile.result() == "recovered from Refuses"
