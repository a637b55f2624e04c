"""Failures are visible as temporalio makes them visible: logs, describe(), loggers, metrics.

Each failed activity attempt and each failed workflow task logs a WARNING worded and tagged
as temporalio's worker does (``__temporal_error_identifier``); a ``BENIGN`` application error
logs at DEBUG and is not counted as a failure; ``describe()`` lists pending activities with
their attempt and last failure; ``workflow.logger`` is quiet during replay and
``activity.logger`` carries the activity's details.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from fastcore import (
    Engine,
    PendingActivityState,
    Replayer,
    RetryPolicy,
    WorkflowExecutionStatus,
    activity,
    workflow,
)
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    ApplicationErrorCategory,
    WorkflowFailureError,
)
from fastcore.testing import VirtualClock

ATTEMPTS: dict[str, int] = {}


@activity.defn
async def fails_twice(key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    activity.logger.info("attempt %d", activity.info().attempt)
    if activity.info().attempt <= 2:
        raise ValueError(f"boom {activity.info().attempt}")
    return "ok"


@activity.defn
async def benign(key: str) -> str:
    raise ApplicationError("expected", type="NotYet", category=ApplicationErrorCategory.BENIGN)


@activity.defn
def fails_sync(key: str) -> str:
    raise RuntimeError(f"sync boom for {key}")


@workflow.defn
class RunsOne:
    @workflow.run
    async def run(self, name: str, key: str, attempts: int) -> str:
        workflow.logger.info("starting %s", name)
        result: str = await workflow.execute_activity(
            name,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=1), maximum_attempts=attempts
            ),
        )
        workflow.logger.info("finished %s", name)
        return result


BUG_CALLS: list[str] = []


@workflow.defn
class Buggy:
    @workflow.run
    async def run(self) -> None:
        BUG_CALLS.append("run")
        raise KeyError("a bug in workflow code")


@workflow.defn
class SlowRetry:
    @workflow.run
    async def run(self, key: str) -> str:
        result: str = await workflow.execute_activity(
            fails_twice,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(hours=1), maximum_attempts=5),
        )
        return result


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


def tagged(caplog: pytest.LogCaptureFixture, identifier: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if getattr(r, "__temporal_error_identifier", None) == identifier
    ]


async def test_each_failed_activity_attempt_logs_a_warning(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastcore")
    async with Engine(store_url, workflows=[RunsOne], activities=[fails_twice]) as engine:
        key, wf = uuid.uuid4().hex, wid()
        assert await engine.execute_workflow(RunsOne.run, "fails_twice", key, 5, id=wf) == "ok"
    records = tagged(caplog, "ActivityFailure")
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    for attempt, r in enumerate(records, start=1):
        assert r.name == "fastcore.activity"
        assert r.getMessage().startswith("Completing activity as failed (")
        details = r.temporal_activity  # type: ignore[attr-defined]
        assert details["activity_type"] == "fails_twice"
        assert details["activity_id"] == "1"
        assert details["attempt"] == attempt
        assert details["workflow_id"] == wf
        assert r.exc_info is not None and isinstance(r.exc_info[1], ValueError)
        assert str(r.exc_info[1]) == f"boom {attempt}"
        assert r.exc_text is None or "boom" in r.exc_text
    # activity.logger adds the attempt's details to what activity code logs
    mine = [r for r in caplog.records if r.name == "fastcore.activity" and "attempt " in r.msg]
    assert [r.temporal_activity["attempt"] for r in mine] == [1, 2, 3]  # type: ignore[attr-defined]
    assert all("'activity_type': 'fails_twice'" in r.getMessage() for r in mine)


async def test_a_sync_activity_failure_and_its_traceback_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="fastcore")
    async with Engine(workflows=[RunsOne], activities=[fails_sync]) as engine:
        with pytest.raises(WorkflowFailureError):
            await engine.execute_workflow(RunsOne.run, "fails_sync", "k", 1, id=wid())
    (record,) = tagged(caplog, "ActivityFailure")
    assert record.exc_info is not None
    text = logging.Formatter().formatException(record.exc_info)
    assert "RuntimeError: sync boom for k" in text and "fails_sync" in text


async def test_a_failed_workflow_task_logs_failed_activation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="fastcore")
    clock = VirtualClock()
    async with Engine(workflows=[Buggy], clock=clock) as engine:
        wf = wid()
        h = await engine.start_workflow(Buggy.run, id=wf)
        await clock.advance(timedelta(seconds=1))  # the first retry of the task
        desc = await h.describe()
        assert desc.status is WorkflowExecutionStatus.RUNNING
        assert isinstance(desc.pending_task_failure, KeyError)
        run_id = h.result_run_id
    records = tagged(caplog, "WorkflowTaskFailure")
    assert len(records) >= 2  # the task and its retry, each logged
    r = records[0]
    assert r.levelno == logging.WARNING and r.name == "fastcore.worker"
    assert r.getMessage() == f"Failed activation on workflow Buggy with ID {wf} and run ID {run_id}"
    assert r.temporal_workflow["workflow_id"] == wf  # type: ignore[attr-defined]
    assert r.exc_info is not None and isinstance(r.exc_info[1], KeyError)
    assert "raise KeyError" in logging.Formatter().formatException(r.exc_info)


async def test_benign_failures_log_at_debug_and_are_not_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastcore")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        async with Engine(
            workflows=[RunsOne], activities=[benign], meter_provider=provider
        ) as engine:
            with pytest.raises(WorkflowFailureError) as info:
                await engine.execute_workflow(RunsOne.run, "benign", "k", 2, id=wid())
            cause = info.value.cause
            assert isinstance(cause, ActivityError)
            app = cause.cause
            assert isinstance(app, ApplicationError)
            assert app.category is ApplicationErrorCategory.BENIGN
        records = tagged(caplog, "ActivityFailure")
        assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG]
        points: dict[str, float] = {}
        data = reader.get_metrics_data()
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == "fastcore.activity.attempts":
                        for p in m.data.data_points:
                            points[str(p.attributes.get("outcome"))] = float(p.value)
        assert points == {"benign": 2.0}
    finally:
        provider.shutdown()


async def test_describe_shows_a_retrying_activitys_attempt_and_last_failure(
    store_url: str,
) -> None:
    clock = VirtualClock()
    async with Engine(
        store_url,
        workflows=[SlowRetry],
        activities=[fails_twice],
        clock=clock,
        identity="engine-under-test",
    ) as engine:
        key = uuid.uuid4().hex
        h = await engine.start_workflow(SlowRetry.run, key, id=wid())
        desc = await h.describe()
        (pending,) = desc.pending_activities
        assert pending.activity_type == "fails_twice" and pending.activity_id == "1"
        assert pending.state is PendingActivityState.SCHEDULED  # waiting out the backoff
        assert pending.attempt == 2 and pending.maximum_attempts == 5
        assert isinstance(pending.last_failure, ApplicationError)
        assert pending.last_failure.type == "ValueError"
        assert pending.last_failure.message == "boom 1"
        failure = pending.last_failure.failure
        assert failure is not None and "fails_twice" in failure.stack_trace
        assert pending.next_attempt_schedule_time is not None
        assert pending.next_attempt_schedule_time.timestamp() == pytest.approx(
            clock.now() + 3600, abs=1
        )
        assert pending.last_worker_identity == "engine-under-test"
        await clock.advance(timedelta(hours=1))
        (pending,) = (await h.describe()).pending_activities
        assert pending.attempt == 3
        assert pending.last_failure is not None and "boom 2" in str(pending.last_failure)
        assert await h.result() == "ok"
        assert (await h.describe()).pending_activities == []


async def test_workflow_logger_is_quiet_during_replay(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fastcore.workflow")
    async with Engine(workflows=[RunsOne], activities=[fails_twice]) as engine:
        wf = wid()
        h = await engine.start_workflow(RunsOne.run, "fails_twice", uuid.uuid4().hex, 5, id=wf)
        await h.result()
        history = await h.fetch_history()
    live = [r for r in caplog.records if r.name == "fastcore.workflow"]
    assert [r.getMessage().split(" (")[0] for r in live] == [
        "starting fails_twice",
        "finished fails_twice",
    ]
    for r in live:
        assert r.temporal_workflow["workflow_id"] == wf  # type: ignore[attr-defined]
        assert r.temporal_workflow["workflow_type"] == "RunsOne"  # type: ignore[attr-defined]
        assert f"'workflow_id': '{wf}'" in r.getMessage()
    caplog.clear()
    await Replayer(workflows=[RunsOne]).replay_workflow(history)
    assert [r for r in caplog.records if r.name == "fastcore.workflow"] == []


@pytest.fixture
def quiet_workflow_logger() -> Iterator[Any]:
    yield workflow.logger
    workflow.logger.log_during_replay = False


async def test_workflow_logger_can_log_during_replay(
    caplog: pytest.LogCaptureFixture, quiet_workflow_logger: Any
) -> None:
    caplog.set_level(logging.INFO, logger="fastcore.workflow")
    async with Engine(workflows=[RunsOne], activities=[fails_twice]) as engine:
        h = await engine.start_workflow(RunsOne.run, "fails_twice", uuid.uuid4().hex, 5, id=wid())
        await h.result()
        history = await h.fetch_history()
    caplog.clear()
    workflow.logger.log_during_replay = True
    await Replayer(workflows=[RunsOne]).replay_workflow(history)
    assert [
        r.getMessage().split(" (")[0] for r in caplog.records if r.name == "fastcore.workflow"
    ] == ["starting fails_twice", "finished fails_twice"]


def test_failure_error_failure_has_the_proto_field_names() -> None:
    from fastcore.integration import default_converter, from_failure, to_failure

    try:
        try:
            raise ValueError("root cause")
        except ValueError as inner:
            raise ApplicationError("outer", {"k": 1}, type="Outer", non_retryable=True) from inner
    except ApplicationError as err:
        raised = err
    assert raised.failure is None  # raised here, not read from a failure (as temporalio)
    back = from_failure(to_failure(raised, default_converter), default_converter)
    assert isinstance(back, ApplicationError)
    f = back.failure
    assert f is not None
    assert f.message == "outer" and f.source == "fastcore"
    assert "raise ApplicationError" in f.stack_trace
    assert f.HasField("application_failure_info") and not f.HasField("timeout_failure_info")
    assert f.WhichOneof("failure_info") == "application_failure_info"
    assert f.application_failure_info is not None
    assert f.application_failure_info.type == "Outer"
    assert f.application_failure_info.non_retryable is True
    assert f.cause is not None and f.cause.message == "root cause"
    assert f.cause.application_failure_info is not None
    assert f.cause.application_failure_info.type == "ValueError"
    assert back.cause is not None and back.cause.failure == f.cause  # type: ignore[attr-defined]
