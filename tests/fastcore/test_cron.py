"""Cron workflows with Temporal's semantics, under a virtual clock, on both stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fastcore import Engine, EventType, RetryPolicy, WorkflowExecutionStatus, workflow
from fastcore._cron import backoff, parse_cron
from fastcore.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from fastcore.errors import (
    ApplicationError,
    CancelledError,
    InvalidArgumentError,
    TerminatedError,
    WorkflowFailureError,
)
from fastcore.testing import VirtualClock

T0 = datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC)
TIER = SearchAttributeKey.for_keyword("Tier")
SEEN: dict[str, list[dict[str, object]]] = {}


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S %a")


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("*/5 * * * *", "2025-01-01T00:00:30", "2025-01-01 00:05:00 Wed"),
        ("*/5 * * * *", "2025-01-01T00:05:00", "2025-01-01 00:10:00 Wed"),  # strictly after
        ("0 9 * * MON-FRI", "2025-01-03T10:00:00", "2025-01-06 09:00:00 Mon"),
        ("30 2 1 * *", "2025-01-01T03:00:00", "2025-02-01 02:30:00 Sat"),
        ("0 0 1,15 * 3", "2025-01-01T00:00:01", "2025-01-08 00:00:00 Wed"),  # day OR weekday
        ("0 0 * * 3", "2025-01-01T00:00:01", "2025-01-08 00:00:00 Wed"),
        ("0 12 * JAN-MAR/2 *", "2025-01-31T13:00:00", "2025-03-01 12:00:00 Sat"),
        ("15,45 */6 * * ?", "2025-01-01T06:20:00", "2025-01-01 06:45:00 Wed"),
        ("5/20 * * * *", "2025-01-01T00:26:00", "2025-01-01 00:45:00 Wed"),
        ("0 0 29 2 *", "2025-03-01T00:00:00", "2028-02-29 00:00:00 Tue"),
        ("@hourly", "2025-01-01T00:00:00", "2025-01-01 01:00:00 Wed"),
        ("@daily", "2025-01-01T00:00:00", "2025-01-02 00:00:00 Thu"),
        ("@weekly", "2025-01-01T00:00:00", "2025-01-05 00:00:00 Sun"),
        ("@monthly", "2025-01-01T00:00:00", "2025-02-01 00:00:00 Sat"),
        ("@yearly", "2025-01-01T00:00:00", "2026-01-01 00:00:00 Thu"),
        ("@every 90s", "2025-01-01T00:00:00.5", "2025-01-01 00:01:30 Wed"),
        ("@every 1h30m", "2025-01-01T00:00:00", "2025-01-01 01:30:00 Wed"),
        ("CRON_TZ=America/New_York 0 9 * * *", "2025-03-09T00:00:00", "2025-03-09 13:00:00 Sun"),
        ("TZ=Europe/Berlin 0 9 * * *", "2025-01-01T00:00:00", "2025-01-01 08:00:00 Wed"),
        ("0 0 30 2 *", "2025-01-01T00:00:00", None),  # never
    ],
)
def test_next_schedule_time(spec: str, after: str, expected: str | None) -> None:
    assert iso(parse_cron(spec).next_after(at(after))) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("* * * *", "has 4 fields"),
        ("* * * * * *", "has 6 fields"),
        ("60 * * * *", "outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("* * 0 * *", "outside 1-31"),
        ("* * * 13 *", "outside 1-12"),
        ("* * * * 7", "outside 0-6"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "runs backwards"),
        ("* * * FOO *", "not a number or name"),
        ("1,,2 * * * *", "empty item"),
        ("@fortnightly", "unknown descriptor"),
        ("@every", "needs a duration"),
        ("@every 5 minutes", "not a duration"),
        ("CRON_TZ=Mars/Olympus 0 * * * *", "unknown time zone"),
        ("", "non-empty string"),
    ],
)
def test_bad_schedules_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_cron(spec)


def test_backoff_counts_from_the_run_start_as_temporal() -> None:
    five = parse_cron("*/5 * * * *")
    start = at("2025-01-01T00:05:00")
    assert backoff(five, start, at("2025-01-01T00:05:10")) == 290  # next slot
    assert backoff(five, start, at("2025-01-01T00:12:00")) == 180  # slots missed: the next one
    assert backoff(five, start, at("2025-01-01T00:15:00")) == 0  # closed on a slot: now
    every = parse_cron("@every 1h")
    assert backoff(every, at("2025-01-01T00:00:00"), at("2025-01-01T05:30:00")) == 1800


@workflow.defn
class Tick:
    """Counts completed runs through the last completion result; fails on run ``fail_on``."""

    @workflow.run
    async def run(self, key: str, fail_on: int) -> int:
        last = workflow.get_last_completion_result(int)
        n = (last or 0) + 1
        failure = workflow.get_last_failure()
        info = workflow.info()
        SEEN.setdefault(key, []).append(
            {
                "n": n,
                "at": workflow.now().strftime("%H:%M"),
                "cron": info.cron_schedule,
                "has_last": workflow.has_last_completion_result(),
                "failure": str(failure) if failure is not None else None,
                "attempt": info.attempt,
                "tier": info.typed_search_attributes.get(TIER),
                "queue": info.task_queue,
            }
        )
        if n == fail_on and failure is None:
            raise ApplicationError("boom")
        return n


@workflow.defn
class Slow:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(hours=1))


def wid() -> str:
    return f"cron-{uuid.uuid4().hex[:8]}"


async def follow(engine: Engine, workflow_id: str, run_id: str, runs: int) -> list[str]:
    """Wait for ``runs`` runs of the chain from ``run_id``; how each closed."""
    closes = []
    for _ in range(runs):
        handle = engine.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            await handle.result(follow_runs=False)
        except WorkflowFailureError:
            pass
        last = (await handle.fetch_history())[-1]
        closes.append(last.event_type.value.removeprefix("WORKFLOW_EXECUTION_"))
        run_id = last.attributes.get("new_execution_run_id", "")
    return closes


async def test_each_run_starts_at_its_schedule_time(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Tick], clock=clock) as engine:
        key = wid()
        h = await engine.start_workflow(
            Tick.run,
            key,
            3,
            id=key,
            cron_schedule="*/5 * * * *",
            search_attributes=TypedSearchAttributes([SearchAttributePair(TIER, "gold")]),
            task_queue="crons",
        )
        first = await h.describe()
        assert first.status is WorkflowExecutionStatus.RUNNING
        assert first.execution_time == datetime(2025, 1, 1, 0, 5, tzinfo=UTC)  # waits for it
        assert SEEN.get(key) is None  # no code ran before the first schedule time
        assert h.result_run_id is not None
        assert await follow(engine, key, h.result_run_id, 5) == [
            "COMPLETED", "COMPLETED", "FAILED", "COMPLETED", "COMPLETED"
        ]  # fmt: skip
        seen = SEEN[key]
        assert [s["at"] for s in seen] == ["00:05", "00:10", "00:15", "00:20", "00:25"]
        # a failed run still schedules the next; the next sees its failure, and the result
        # of the latest completed run
        assert [s["n"] for s in seen] == [1, 2, 3, 3, 4]
        assert [s["failure"] for s in seen] == [None, None, None, "boom", None]
        assert [s["has_last"] for s in seen] == [False, True, True, True, True]
        assert {s["cron"] for s in seen} == {"*/5 * * * *"}
        assert {s["attempt"] for s in seen} == {1}
        assert {(s["tier"], s["queue"]) for s in seen} == {("gold", "crons")}
        # the sixth run waits for 00:30; its start records where it came from
        current = await engine.get_workflow_handle(key).describe()
        assert current.execution_time == datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
        started = (await engine.get_workflow_handle(key).fetch_history())[0].attributes
        assert started["cron_schedule"] == "*/5 * * * *" and started["first_task_backoff"] > 0
        count = await engine.count_workflows(f"WorkflowId = '{key}' GROUP BY ExecutionStatus")
        assert sorted((g.group_values[0], g.count) for g in count.groups) == [
            ("Completed", 4), ("Failed", 1), ("Running", 1)
        ]  # fmt: skip


@pytest.mark.parametrize("how", ["terminate", "cancel"])
async def test_cancel_and_terminate_end_the_chain(store_url: str, how: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Tick], clock=clock) as engine:
        key = wid()
        h = await engine.start_workflow(Tick.run, key, 0, id=key, cron_schedule="@every 10m")
        assert h.result_run_id is not None
        assert await follow(engine, key, h.result_run_id, 2) == ["COMPLETED", "COMPLETED"]
        latest = engine.get_workflow_handle(key)
        if how == "terminate":
            await latest.terminate(reason="enough")
        else:
            await latest.cancel()
        with pytest.raises(WorkflowFailureError) as failed:
            await latest.result()  # follows the chain to its end
        assert isinstance(failed.value.cause, TerminatedError | CancelledError)
        last = (await latest.fetch_history())[-1]
        assert "new_execution_run_id" not in last.attributes
        await clock.advance(timedelta(hours=2))
        count = await engine.count_workflows(f"WorkflowId = '{key}'")
        assert count.count == 3  # no run after the cancelled/terminated one
        assert len(SEEN[key]) == 2


async def test_retries_come_before_the_next_schedule_time(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Tick], clock=clock) as engine:
        key = wid()
        h = await engine.start_workflow(
            Tick.run,
            key,
            2,
            id=key,
            cron_schedule="@hourly",
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=2),
        )
        assert h.result_run_id is not None
        assert await follow(engine, key, h.result_run_id, 3) == ["COMPLETED", "FAILED", "COMPLETED"]
        seen = SEEN[key]
        # the failed run is retried 5 s later (attempt 2), which completes; then 02:00
        assert [(s["at"], s["attempt"], s["n"]) for s in seen] == [
            ("01:00", 1, 1), ("02:00", 1, 2), ("02:00", 2, 2)
        ]  # fmt: skip
        assert seen[2]["failure"] == "boom"


async def test_a_run_timeout_goes_on_to_the_next_run(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Slow], clock=clock) as engine:
        key = wid()
        h = await engine.start_workflow(
            Slow.run, id=key, cron_schedule="*/15 * * * *", run_timeout=timedelta(minutes=10)
        )
        assert h.result_run_id is not None
        assert await follow(engine, key, h.result_run_id, 2) == ["TIMED_OUT", "TIMED_OUT"]
        runs = [d async for d in engine.list_workflows(f"WorkflowId = '{key}'")]
        assert [d.execution_time for d in runs] == [
            datetime(2025, 1, 1, 0, 45, tzinfo=UTC),
            datetime(2025, 1, 1, 0, 30, tzinfo=UTC),
            datetime(2025, 1, 1, 0, 15, tzinfo=UTC),
        ]
        # (a virtual clock runs on at real speed between skips: compare to the second)
        assert [d.close_time.replace(microsecond=0) for d in runs[1:] if d.close_time] == [
            datetime(2025, 1, 1, 0, 40, tzinfo=UTC),
            datetime(2025, 1, 1, 0, 25, tzinfo=UTC),
        ]


async def test_a_bad_schedule_is_refused_at_the_start(store_url: str) -> None:
    async with Engine(store_url, workflows=[Tick]) as engine:
        with pytest.raises(InvalidArgumentError, match="outside 0-59"):
            await engine.start_workflow(Tick.run, "k", 0, id=wid(), cron_schedule="99 * * * *")
        with pytest.raises(InvalidArgumentError, match="no time in the next five years"):
            await engine.start_workflow(Tick.run, "k", 0, id=wid(), cron_schedule="0 0 30 2 *")
        assert (await engine.count_workflows()).count == 0


async def test_the_chain_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cron.db"
    key = wid()
    async with Engine(url, workflows=[Tick], clock=VirtualClock(T0)) as engine:
        h = await engine.start_workflow(Tick.run, key, 0, id=key, cron_schedule="*/5 * * * *")
        assert h.result_run_id is not None
        assert await follow(engine, key, h.result_run_id, 1) == ["COMPLETED"]
        waiting = (await engine.get_workflow_handle(key).describe()).run_id
    # the engine comes back at 00:07: the waiting run still starts at 00:10
    restarted = VirtualClock(datetime(2025, 1, 1, 0, 7, tzinfo=UTC))
    async with Engine(url, workflows=[Tick], clock=restarted) as engine:
        assert await follow(engine, key, waiting, 2) == ["COMPLETED", "COMPLETED"]
        waiting = (await engine.get_workflow_handle(key).describe()).run_id
    assert [(s["at"], s["n"]) for s in SEEN[key]] == [("00:05", 1), ("00:10", 2), ("00:15", 3)]
    # down past a schedule time: the waiting run starts at once, the next on the schedule
    late = VirtualClock(datetime(2025, 1, 1, 0, 22, tzinfo=UTC))
    async with Engine(url, workflows=[Tick], clock=late) as engine:
        assert await follow(engine, key, waiting, 2) == ["COMPLETED", "COMPLETED"]
        kinds = [e.event_type for e in await engine.get_workflow_handle(key).fetch_history()]
        assert kinds == [EventType.WORKFLOW_EXECUTION_STARTED]
    assert [(s["at"], s["n"]) for s in SEEN[key][3:]] == [("00:22", 4), ("00:25", 5)]
