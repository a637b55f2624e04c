"""Activity retries, backoff, timeouts, heartbeats, non-retryable errors and cancellation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from fastcore import Engine, EventType, RetryPolicy, workflow
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
)
from fastcore.testing import VirtualClock

from .wf_defs import (
    CALLS,
    HEARTBEATS,
    CallActivity,
    flaky,
    heartbeater,
    inc,
    never_retry,
    plain_error,
    slow,
)

ACTS = [flaky, never_retry, plain_error, heartbeater, slow, inc]


def key() -> str:
    return uuid.uuid4().hex


async def failure_of(
    engine: Engine, name: str, args: list[object], opts: dict[str, object]
) -> ActivityError:
    with pytest.raises(WorkflowFailureError) as info:
        await engine.execute_workflow(CallActivity.run, name, args, opts, id=key())
    err = info.value.__cause__
    assert isinstance(err, ActivityError), repr(err)
    return err


async def test_retries_with_exponential_backoff(store_url: str) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[CallActivity], activities=ACTS, clock=clock) as engine:
        k = key()
        t0 = clock.now()
        rp = {"initial_interval": 10, "backoff_coefficient": 2.0}
        h = await engine.start_workflow(
            CallActivity.run, "flaky", [k, 3, "Transient"], {"retry": rp}, id=k
        )
        assert await h.result() == 4
        assert CALLS[k] == [1, 2, 3, 4]
        # backoff 10 + 20 + 40 seconds of (virtual) time passed between the attempts
        assert 70 <= clock.now() - t0 < 75
        done = [
            e for e in await h.fetch_history() if e.event_type is EventType.ACTIVITY_TASK_COMPLETED
        ]
        assert done[0].attributes["attempt"] == 4


async def test_maximum_interval_caps_backoff(store_url: str) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[CallActivity], activities=ACTS, clock=clock) as engine:
        k = key()
        t0 = clock.now()
        rp = {"initial_interval": 10, "backoff_coefficient": 10.0, "maximum_interval": 15}
        await engine.execute_workflow(CallActivity.run, "flaky", [k, 3, "T"], {"retry": rp}, id=k)
        assert 40 <= clock.now() - t0 < 45  # 10 + 15 + 15


async def test_maximum_attempts_reached(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[CallActivity], activities=ACTS, clock=VirtualClock()
    ) as engine:
        k = key()
        rp = {"initial_interval": 1, "maximum_attempts": 3}
        err = await failure_of(engine, "flaky", [k, 99, "Transient"], {"retry": rp})
        assert err.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
        assert isinstance(err.__cause__, ApplicationError) and err.__cause__.type == "Transient"
        assert CALLS[k] == [1, 2, 3]
        assert err.activity_type == "flaky"


async def test_non_retryable_error_types_match_type_or_class_name(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[CallActivity], activities=ACTS, clock=VirtualClock()
    ) as engine:
        k = key()
        rp = {"non_retryable_error_types": ["Invalid"]}
        err = await failure_of(engine, "flaky", [k, 5, "Invalid"], {"retry": rp})
        assert err.retry_state is RetryState.NON_RETRYABLE_FAILURE
        assert CALLS[k] == [1]
        k2 = key()
        err = await failure_of(
            engine, "plain_error", [k2], {"retry": {"non_retryable_error_types": ["ValueError"]}}
        )
        assert err.retry_state is RetryState.NON_RETRYABLE_FAILURE
        assert isinstance(err.__cause__, ApplicationError) and err.__cause__.type == "ValueError"
        assert CALLS[k2] == [1]


async def test_application_error_non_retryable_never_retries(store_url: str) -> None:
    async with Engine(
        store_url, workflows=[CallActivity], activities=ACTS, clock=VirtualClock()
    ) as engine:
        k = key()
        err = await failure_of(engine, "never_retry", [k], {"retry": {"maximum_attempts": 0}})
        assert CALLS[k] == [1]
        cause = err.__cause__
        assert isinstance(cause, ApplicationError)
        assert cause.non_retryable and cause.type == "Fatal" and list(cause.details) == ["detail-1"]


async def test_start_to_close_timeout_per_attempt(store_url: str) -> None:
    async with Engine(store_url, workflows=[CallActivity], activities=ACTS) as engine:
        rp = {"initial_interval": 0.01, "maximum_attempts": 2}
        err = await failure_of(engine, "slow", [5.0], {"s2c": 0.05, "retry": rp})
        assert err.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
        assert isinstance(err.__cause__, TimeoutError)
        assert err.__cause__.type is TimeoutType.START_TO_CLOSE


async def test_schedule_to_close_timeout_covers_all_attempts(store_url: str) -> None:
    async with Engine(store_url, workflows=[CallActivity], activities=ACTS) as engine:
        rp = {"initial_interval": 0.01}
        err = await failure_of(engine, "slow", [5.0], {"s2c": 0.05, "sched2c": 0.2, "retry": rp})
        assert err.retry_state is RetryState.TIMEOUT
        assert isinstance(err.__cause__, TimeoutError)
        assert err.__cause__.type in (TimeoutType.SCHEDULE_TO_CLOSE, TimeoutType.START_TO_CLOSE)


async def test_missing_timeouts_is_refused() -> None:
    @workflow.defn
    class NoTimeout:
        @workflow.run
        async def run(self) -> int:
            try:
                return await workflow.execute_activity(inc, 1)
            except ValueError as err:
                raise ApplicationError(str(err), type="Refused") from err

    async with Engine(workflows=[NoTimeout], activities=[inc]) as engine:
        with pytest.raises(WorkflowFailureError) as info:
            await engine.execute_workflow(NoTimeout.run, id=key())
        assert "start_to_close_timeout" in str(info.value.__cause__)


async def test_heartbeat_timeout_retries_with_last_details(store_url: str) -> None:
    async with Engine(store_url, workflows=[CallActivity], activities=ACTS) as engine:
        k = key()
        rp = {"initial_interval": 0.01}
        result = await engine.execute_workflow(
            CallActivity.run, "heartbeater", [k], {"hb": 0.1, "s2c": 30, "retry": rp}, id=k
        )
        # the second attempt resumed from the last heartbeat of the first
        assert HEARTBEATS[k] == [(1, ()), (2, (2,))]
        assert result == 2


async def test_heartbeat_timeout_error_carries_details(store_url: str) -> None:
    async with Engine(store_url, workflows=[CallActivity], activities=ACTS) as engine:
        k = key()
        err = await failure_of(
            engine, "heartbeater", [k], {"hb": 0.1, "s2c": 30, "retry": {"maximum_attempts": 1}}
        )
        assert isinstance(err.__cause__, TimeoutError)
        assert err.__cause__.type is TimeoutType.HEARTBEAT
        assert list(err.__cause__.last_heartbeat_details) == [2]


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(backoff_coefficient=0.5)
    with pytest.raises(ValueError):
        RetryPolicy(maximum_attempts=-1)
    assert RetryPolicy(initial_interval=timedelta(seconds=1)).backoff(3) == 4.0
