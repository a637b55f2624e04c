"""temporalio's workflow API, name for name: method activities, ``wait``/``as_completed``,
external workflow handles, handlers set at run time, ``upsert_memo``, continue-as-new's
options, and the client handle that follows the continue-as-new chain.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fastcore import Engine, EventType, Replayer, RetryPolicy, activity, workflow
from fastcore.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from fastcore.errors import (
    ApplicationError,
    InvalidArgumentError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowUpdateFailedError,
)
from fastcore.testing import VirtualClock

T = timedelta(seconds=10)


def wid() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- method activities


class Database:
    """Activities that are methods: the usual way to hand activities a client."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: dict[str, str] = {}

    @activity.defn
    async def save(self, key: str, value: str) -> str:
        self.rows[key] = value
        return f"{self.name} saved {key}"

    @activity.defn(name="load_row")
    def load(self, key: str) -> str:
        return self.rows[key]


@workflow.defn
class UsesMethods:
    @workflow.run
    async def run(self, key: str) -> list[str]:
        saved = await workflow.execute_activity_method(
            Database.save, args=[key, "v1"], start_to_close_timeout=T
        )
        loaded = await workflow.start_activity_method(Database.load, key, start_to_close_timeout=T)
        local = await workflow.execute_local_activity_method(
            Database.load, key, start_to_close_timeout=T
        )
        handle = workflow.start_local_activity_method(
            Database.save, args=[key, "v2"], start_to_close_timeout=T
        )
        return [saved, loaded, local, await handle]


async def test_method_activities_run_bound_to_their_instance(store_url: str) -> None:
    db = Database("primary")
    async with Engine(store_url, workflows=[UsesMethods], activities=[db.save, db.load]) as e:
        result = await e.execute_workflow(UsesMethods.run, "k1", id=wid())
    assert result == ["primary saved k1", "v1", "v1", "primary saved k1"]
    assert db.rows == {"k1": "v2"}


def test_a_method_activity_must_be_registered_bound() -> None:
    with pytest.raises(InvalidArgumentError, match=r"is a method.*obj\.save"):
        Engine(activities=[Database.save])
    one, other = Database("a"), Database("b")
    with pytest.raises(ValueError, match="two activities"):
        Engine(activities=[one.save, other.save])


# ---------------------------------------------------------------- wait and as_completed


@activity.defn
async def after(seconds: float, label: str) -> str:
    await asyncio.sleep(seconds)
    return label


@workflow.defn
class Races:
    @workflow.run
    async def run(self) -> dict[str, Any]:
        slow = workflow.start_activity(after, args=[0.3, "slow"], start_to_close_timeout=T)
        fast = workflow.start_activity(after, args=[0.0, "fast"], start_to_close_timeout=T)
        done, pending = await workflow.wait([slow, fast], return_when=asyncio.FIRST_COMPLETED)
        first = [f.result() for f in done]
        order = [await f for f in workflow.as_completed([slow, fast])]
        timer = asyncio.ensure_future(workflow.sleep(timedelta(hours=1)))
        done2, pending2 = await workflow.wait([timer], timeout=timedelta(minutes=1))
        timer.cancel()
        return {
            "first": first,
            "pending_after_first": len(pending),
            "as_completed": order,
            "timed_out": (len(done2), len(pending2)),
        }


async def test_wait_and_as_completed_are_deterministic() -> None:
    clock = VirtualClock()
    async with Engine(workflows=[Races], activities=[after], clock=clock) as engine:
        h = await engine.start_workflow(Races.run, id=wid())
        result = await h.result()
        history = await h.fetch_history()
    assert result == {
        "first": ["fast"],
        "pending_after_first": 1,
        "as_completed": ["fast", "slow"],
        "timed_out": [0, 1],
    }
    kinds = [e.event_type for e in history]
    assert kinds.count(EventType.TIMER_STARTED) == 2  # the hour, and wait's durable timeout
    await Replayer(workflows=[Races]).replay_workflow(history)


# ---------------------------------------------------------------- external workflow handles


@workflow.defn
class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        try:
            await workflow.wait_condition(lambda: "stop" in self.messages)
        except asyncio.CancelledError:
            return [*self.messages, "cancelled"]
        return self.messages

    @workflow.signal
    def post(self, message: str) -> None:
        self.messages.append(message)


@workflow.defn
class Sender:
    @workflow.run
    async def run(self, inbox_id: str, victim_id: str) -> list[str]:
        out: list[str] = []
        inbox = workflow.get_external_workflow_handle(inbox_id)
        await inbox.signal(Inbox.post, "hello")
        for attempt in (
            lambda: inbox.signal("no_such_signal", "x"),
            lambda: workflow.get_external_workflow_handle("nobody").signal("post", "x"),
            lambda: workflow.get_external_workflow_handle("nobody").cancel(),
        ):
            try:
                await attempt()
            except ApplicationError as err:
                out.append(f"{err.type}: {err.message}")
        await inbox.signal("post", args=["stop"])
        out.append("signalled")
        victim = workflow.get_external_workflow_handle_for(Inbox.run, victim_id)
        await victim.cancel()
        out.append("cancel requested")
        return out


async def test_external_handles_signal_and_cancel_other_workflows(tmp_path: Path) -> None:
    async with Engine(f"sqlite:///{tmp_path}/f.db", workflows=[Inbox, Sender]) as engine:
        inbox = await engine.start_workflow(Inbox.run, id=wid())
        victim = await engine.start_workflow(Inbox.run, id=wid())
        sender = await engine.start_workflow(Sender.run, inbox.id, victim.id, id=wid())
        assert await sender.result() == [
            "InvalidArgumentError: workflow 'Inbox' has no signal 'no_such_signal' "
            "(signals: ['post'])",
            "ExternalWorkflowExecutionNotFound: Unable to signal external workflow because it "
            "was not found",
            "ExternalWorkflowExecutionNotFound: Unable to cancel external workflow because it "
            "was not found",
            "signalled",
            "cancel requested",
        ]
        assert await inbox.result() == ["hello", "stop"]
        assert await victim.result() == ["cancelled"]
        signals = [
            e.attributes
            for e in await inbox.fetch_history()
            if e.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED
        ]
        assert [s["external"]["workflow_id"] for s in signals] == [sender.id, sender.id]
        history = await sender.fetch_history()
    kinds = [e.event_type for e in history]
    assert kinds.count(EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) == 4
    assert kinds.count(EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED) == 2
    assert kinds.count(EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED) == 2
    assert kinds.count(EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1
    assert kinds.count(EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED) == 1
    await Replayer(workflows=[Sender]).replay_workflow(history)


# ---------------------------------------------------------------- handlers set at run time


@workflow.defn
class SetsHandlers:
    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.done = False

    @workflow.run
    async def run(self) -> list[Any]:
        # a signal that arrives before its handler is kept until the handler is set
        await workflow.wait_condition(lambda: self.done)
        return self.seen

    @workflow.signal
    def install(self) -> None:
        workflow.set_signal_handler("late", lambda v: self.seen.append(("late", v)))
        workflow.set_query_handler("count", lambda: len(self.seen))
        workflow.set_dynamic_query_handler(lambda name, args: f"dynamic {name} {args}")

        def add(value: int) -> int:
            self.seen.append(("add", value))
            return len(self.seen)

        def check(value: int) -> None:
            if value < 0:
                raise ValueError(f"negative: {value}")

        workflow.set_update_handler("add", add, validator=check)
        workflow.set_dynamic_signal_handler(lambda name, args: self.seen.append((name, args)))
        assert workflow.get_signal_handler("late") is not None
        assert workflow.get_update_handler("nope") is None

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.signal(dynamic=True)
    def anything(self, name: str, args: list[Any]) -> None:
        self.seen.append(("class dynamic", name))


async def test_handlers_set_at_run_time(store_url: str) -> None:
    async with Engine(store_url, workflows=[SetsHandlers]) as engine:
        h = await engine.start_workflow(SetsHandlers.run, id=wid())
        await h.signal("late", 1)  # the class's dynamic handler takes it for now
        await h.signal(SetsHandlers.install)
        await h.signal("late", 2)
        await h.signal("other", 3)  # now the run-time dynamic handler
        assert await h.execute_update("add", 7) == 4
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await h.execute_update("add", -1)
        cause = rejected.value.cause
        assert isinstance(cause, ApplicationError)
        assert (cause.type, cause.message) == ("ValueError", "negative: -1")
        assert await h.query("count") == 4
        assert await h.query("whatever", 1) == "dynamic whatever [1]"
        await h.signal(SetsHandlers.finish)
        assert await h.result() == [
            ["class dynamic", "late"],
            ["late", 2],
            ["other", [3]],
            ["add", 7],
        ]


@workflow.defn(name="Late")
class LateV1:
    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.sleep(timedelta(seconds=5))
        await workflow.wait_condition(lambda: len(self.got) == 2)
        return self.got

    @workflow.signal
    def note(self, text: str) -> None:
        self.got.append(text)


@workflow.defn(name="Late")
class LateV2:
    """The same workflow, its handler set only after the timer: the signals recorded before
    it wait for it, as temporalio buffers them."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.sleep(timedelta(seconds=5))
        workflow.set_signal_handler("note", self.got.append)
        await workflow.wait_condition(lambda: len(self.got) == 2)
        return self.got


async def test_signals_without_a_handler_wait_for_it() -> None:
    clock = VirtualClock()
    async with Engine(workflows=[LateV1], clock=clock) as engine:
        h = await engine.start_workflow(LateV1.run, id=wid())
        await h.signal(LateV1.note, "a")
        await h.signal(LateV1.note, "b")
        assert await h.result() == ["a", "b"]
        history = await h.fetch_history()
    # both signals were delivered before the timer fired; V2 has no handler for them then
    kinds = [e.event_type for e in history]
    assert kinds.index(EventType.WORKFLOW_EXECUTION_SIGNALED) < kinds.index(EventType.TIMER_FIRED)
    result = await Replayer(workflows=[LateV2]).replay_workflow(history)
    assert result.replay_failure is None


# ---------------------------------------------------------------- memo


@workflow.defn
class Memos:
    @workflow.run
    async def run(self) -> dict[str, Any]:
        before = dict(workflow.memo())
        workflow.upsert_memo({"stage": "two", "drop": None, "extra": [1, 2]})
        await workflow.sleep(1)
        return {
            "before": before,
            "after": dict(workflow.memo()),
            "value": workflow.memo_value("stage"),
            "default": workflow.memo_value("missing", "d"),
        }


async def test_upsert_memo_is_recorded_and_described(store_url: str) -> None:
    clock = VirtualClock()
    async with Engine(store_url, workflows=[Memos], clock=clock) as engine:
        h = await engine.start_workflow(
            Memos.run, id=wid(), memo={"stage": "one", "drop": "me", "keep": 1}
        )
        assert (await h.describe()).memo == {"stage": "two", "keep": 1, "extra": [1, 2]}
        result = await h.result()
        history = await h.fetch_history()
    assert result == {
        "before": {"stage": "one", "drop": "me", "keep": 1},
        "after": {"stage": "two", "keep": 1, "extra": [1, 2]},
        "value": "two",
        "default": "d",
    }
    assert EventType.WORKFLOW_PROPERTIES_MODIFIED in [e.event_type for e in history]
    await Replayer(workflows=[Memos]).replay_workflow(history)


# ---------------------------------------------------------------- continue-as-new


@workflow.defn
class Chain:
    @workflow.run
    async def run(self, n: int) -> dict[str, Any]:
        info = workflow.info()
        if n == 2:
            workflow.continue_as_new(
                n - 1,
                task_queue="elsewhere",
                run_timeout=timedelta(hours=2),
                memo={"step": n - 1},
                retry_policy=RetryPolicy(maximum_attempts=3),
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(SearchAttributeKey.for_keyword("CustomerId"), "c-9")]
                ),
            )
        if n == 1:
            workflow.continue_as_new(n - 1)  # the options above are kept
        return {
            "task_queue": info.task_queue,
            "run_timeout": info.run_timeout.total_seconds() if info.run_timeout else None,
            "retry_attempts": info.retry_policy.maximum_attempts if info.retry_policy else None,
            "memo": dict(workflow.memo()),
            "customer": info.typed_search_attributes.get(
                SearchAttributeKey.for_keyword("CustomerId")
            ),
        }


async def test_continue_as_new_options_are_kept_and_honoured(store_url: str) -> None:
    async with Engine(store_url, workflows=[Chain]) as engine:
        h = await engine.start_workflow(Chain.run, 2, id=wid(), memo={"step": 2})
        result = await h.result()
        last = await engine.get_workflow_handle(h.id).fetch_history()
    assert result == {
        "task_queue": "elsewhere",
        "run_timeout": 7200.0,
        "retry_attempts": 3,
        "memo": {"step": 1},
        "customer": "c-9",
    }
    started = last[0].attributes
    assert started["search_attributes"] == {"CustomerId": {"type": "Keyword", "value": "c-9"}}
    assert started["run_timeout"] == 7200 and started["task_queue"] == "elsewhere"


# ---------------------------------------------------------------- Temporal's semantics


@workflow.defn
class WaitsTooLong:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False, timeout=timedelta(minutes=5))


async def test_an_uncaught_wait_condition_timeout_fails_the_workflow() -> None:
    async with Engine(workflows=[WaitsTooLong], clock=VirtualClock()) as engine:
        with pytest.raises(WorkflowFailureError) as info:
            await engine.execute_workflow(WaitsTooLong.run, id=wid())
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TimeoutError"


@workflow.defn
class Continues:
    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.run
    async def run(self, generation: int, seen: list[str]) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.signals))
        seen = [*seen, f"{generation}:{self.signals[0]}"]
        if generation < 2:
            workflow.continue_as_new(args=[generation + 1, seen])
        return seen

    @workflow.signal
    def poke(self, value: str) -> None:
        self.signals.append(value)

    @workflow.query
    def generation_query(self) -> int:
        return len(self.signals)


async def test_the_start_handle_follows_the_continue_as_new_chain(store_url: str) -> None:
    async with Engine(store_url, workflows=[Continues]) as engine:
        h = await engine.start_workflow(Continues.run, args=[0, []], id=wid())
        assert h.run_id is None and h.result_run_id == h.first_execution_run_id
        first = h.result_run_id
        await h.signal(Continues.poke, "a")  # run 0 continues as new
        d = await h.describe()
        assert d.run_id != first and d.status.name == "RUNNING"
        await h.signal(Continues.poke, "b")  # reaches run 1
        assert await h.query(Continues.generation_query) == 0  # run 2, fresh
        await h.signal(Continues.poke, "c")
        assert await h.result() == ["0:a", "1:b", "2:c"]
        # a handle to the first run stays on it
        pinned = engine.get_workflow_handle(h.id, run_id=first)
        assert (await pinned.describe()).status.name == "CONTINUED_AS_NEW"
        # a new chain under the same id is out of reach of the old handle's cancel
        await engine.start_workflow(Continues.run, args=[0, []], id=h.id)
        with pytest.raises(WorkflowNotFoundError, match="does not belong to the chain"):
            await h.cancel()


async def test_stack_trace_query_shows_the_runs_coroutines() -> None:
    async with Engine(workflows=[Inbox]) as engine:
        h = await engine.start_workflow(Inbox.run, id=wid())
        trace = await h.query("__stack_trace")
        assert trace.startswith("Stack for <Task pending")
        assert "test_workflow_api.py" in trace and "in run" in trace
        assert "await workflow.wait_condition" in trace
        await h.signal(Inbox.post, "stop")
        await h.result()
        assert await h.query("__stack_trace") == ""  # closed: nothing runs


# ---------------------------------------------------------------- workflow.unsafe

with workflow.unsafe.imports_passed_through():  # at import time, as Temporal projects write it
    import json as _passed_through_json

    PASSED_AT_IMPORT = workflow.unsafe.is_imports_passed_through()


@workflow.defn
class Unsafe:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> dict[str, Any]:
        with workflow.unsafe.imports_passed_through():
            inside = workflow.unsafe.is_imports_passed_through()
        with workflow.unsafe.sandbox_unrestricted():
            unrestricted = workflow.unsafe.is_sandbox_unrestricted()
        await workflow.wait_condition(lambda: self.done)
        return {
            "in_sandbox": workflow.unsafe.in_sandbox(),
            "passed_through": inside,
            "after": workflow.unsafe.is_imports_passed_through(),
            "unrestricted": unrestricted,
            "replaying": workflow.unsafe.is_replaying_history_events(),
            "read_only": workflow.unsafe.is_read_only(),
            "json": _passed_through_json.dumps([1]),
        }

    @workflow.query
    def read_only(self) -> bool:
        return workflow.unsafe.is_read_only()

    @workflow.signal
    def finish(self) -> None:
        self.done = True


async def test_workflow_unsafe_is_meaningful_without_a_sandbox() -> None:
    assert PASSED_AT_IMPORT is True
    assert workflow.unsafe.is_imports_passed_through() is False
    async with Engine(workflows=[Unsafe]) as engine:
        h = await engine.start_workflow(Unsafe.run, id=wid())
        assert await h.query(Unsafe.read_only) is True  # a query runs read-only
        await h.signal(Unsafe.finish)
        assert await h.result() == {
            "in_sandbox": False,
            "passed_through": True,
            "after": False,
            "unrestricted": True,
            "replaying": False,
            "read_only": False,
            "json": "[1]",
        }
