"""History translation: fastcore histories replay in Temporal's own Replayer, and round-trip.

Each scenario builds by hand the fastcore history a simple workflow produces, next to the
equivalent temporalio workflow; the translation must replay against it without error. The
event-type sequences in ``TEMPORAL_SHAPES`` were recorded from the same workflows on a
Temporal dev server (temporalio 1.35), so the translation is checked against what Temporal
itself writes, not only against what its replayer tolerates.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType as TEventType
from temporalio.client import WorkflowHistory
from temporalio.common import RetryPolicy as TRetryPolicy
from temporalio.common import SearchAttributeKey as TSearchAttributeKey
from temporalio.exceptions import ActivityError as TActivityError
from temporalio.exceptions import ApplicationError as TApplicationError
from temporalio.exceptions import ChildWorkflowError as TChildWorkflowError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import ActivityCancellationType

from bridge import as_temporal_workflow
from bridge.history import (
    failure_from_temporal,
    failure_to_temporal,
    from_temporal,
    to_temporal,
    to_temporal_json,
)
from fastcore import Engine
from fastcore import activity as fc_activity
from fastcore import workflow as fc_workflow
from fastcore.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    NondeterminismError,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
)
from fastcore.history import COMMAND_EVENTS, Event, EventType
from fastcore.integration import Payload, default_converter, from_failure, to_failure
from fastcore.testing import VirtualClock

REFERENCE = Path("/work/shared/reference/temporal-history-3-activities.json")
E = EventType
conv = default_converter


def p(value: Any) -> Payload:
    return conv.encode_one(value)


# ---------------------------------------------------------------------------------------------
# temporalio workflows, the Temporal twins of the fastcore histories below


@activity.defn
async def increment(x: int) -> int:
    return x + 1


@activity.defn
async def fail(x: int) -> int:
    raise TApplicationError("bad", "det", type="Invalid", non_retryable=True)


@workflow.defn
class ThreeActivities:
    @workflow.run
    async def run(self, x: int) -> int:
        for _ in range(3):
            x = await workflow.execute_activity(
                increment, x, start_to_close_timeout=timedelta(seconds=10)
            )
        return x


@workflow.defn
class TimerWf:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(1)
        return "done"


@workflow.defn
class SignalWf:
    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def go(self, v: str) -> None:
        self.got.append(v)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.got) > 0)
        return self.got


@workflow.defn
class PatchWf:
    @workflow.run
    async def run(self) -> int:
        x = 0
        if workflow.patched("p1"):
            x = await workflow.execute_activity(
                increment, 1, start_to_close_timeout=timedelta(seconds=10)
            )
        workflow.deprecate_patch("p2")
        return x


@workflow.defn
class FailCaughtWf:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(fail, 1, start_to_close_timeout=timedelta(seconds=10))
        except TActivityError as e:
            return f"caught {e.cause}"
        return "no"


@workflow.defn
class TimeoutWf:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                increment,
                1,
                start_to_close_timeout=timedelta(seconds=1),
                retry_policy=TRetryPolicy(maximum_attempts=1),
            )
        except TActivityError as e:
            return f"caught {e.cause}"
        return "no"


@workflow.defn
class FailUncaughtWf:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(
            fail, 1, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class ChildWf:
    @workflow.run
    async def run(self, x: int) -> int:
        if x < 0:
            raise TApplicationError("neg", type="Neg")
        return x * 2


@workflow.defn
class ParentWf:
    @workflow.run
    async def run(self, x: int) -> int:
        wid = workflow.info().workflow_id
        r = await workflow.execute_child_workflow(ChildWf.run, x, id=wid + "-child")
        try:
            await workflow.execute_child_workflow(ChildWf.run, -1, id=wid + "-child2")
        except TChildWorkflowError:
            pass
        return r


@workflow.defn
class UpdateWf:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @workflow.update
    async def add(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @workflow.update
    async def add_slow(self, item: str) -> int:
        n = await workflow.execute_activity(
            increment, len(self.items), start_to_close_timeout=timedelta(seconds=10)
        )
        self.items.append(item)
        return n

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.done)
        return self.items


@workflow.defn
class CancelWf:
    @workflow.run
    async def run(self) -> str:
        workflow.start_activity(
            increment,
            1,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=2),
        )
        await workflow.sleep(100)
        return "x"


@workflow.defn
class ActCancelWf:
    @workflow.run
    async def run(self, wait: bool) -> str:
        h = workflow.start_activity(
            increment,
            1,
            start_to_close_timeout=timedelta(seconds=30),
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
            if wait
            else ActivityCancellationType.TRY_CANCEL,
        )
        await workflow.sleep(0.5)
        h.cancel()
        try:
            await h
        except TActivityError as e:
            return f"caught {e.cause!r}"
        return "no"


@workflow.defn
class CanWf:
    @workflow.run
    async def run(self, n: int) -> int:
        if n > 0:
            workflow.continue_as_new(n - 1)
        return n


@workflow.defn
class FailWf:
    @workflow.run
    async def run(self) -> int:
        raise TApplicationError("boom", type="Boom")


T_TIER = TSearchAttributeKey.for_keyword("Tier")
T_SEATS = TSearchAttributeKey.for_int("Seats")


@workflow.defn
class UpsertWf:
    @workflow.run
    async def run(self, seats: int) -> str:
        workflow.upsert_search_attributes([T_SEATS.value_set(seats)])
        await workflow.sleep(1)
        workflow.upsert_search_attributes([T_TIER.value_unset()])
        return str(workflow.info().typed_search_attributes.get(T_SEATS))


@workflow.defn
class CronWf:
    @workflow.run
    async def run(self) -> int:
        last = workflow.get_last_completion_result(int)
        return (last or 0) + 1


@workflow.defn
class WaitTimeoutWf:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> bool:
        try:
            await workflow.wait_condition(lambda: self.done, timeout=60)
        except builtins.TimeoutError:
            return False
        return True


@workflow.defn
class ExtCancelWf:
    @workflow.run
    async def run(self, target: str) -> None:
        await workflow.get_external_workflow_handle(target).cancel()


@workflow.defn
class SleepyChild:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(100)


@workflow.defn
class CancelChildParent:
    @workflow.run
    async def run(self) -> str:
        h = await workflow.start_child_workflow(
            SleepyChild.run, id=workflow.info().workflow_id + "-c"
        )
        await workflow.sleep(0.3)
        h.cancel()
        try:
            await h
        except TChildWorkflowError as e:
            return f"caught {e.cause!r}"
        return "no"


@workflow.defn
class DupChildParent:
    @workflow.run
    async def run(self, existing: str) -> str:
        try:
            await workflow.start_child_workflow(SleepyChild.run, id=existing)
        except Exception as e:
            return f"caught {type(e).__name__}"
        return "no"


@workflow.defn
class UpdFail:
    def __init__(self) -> None:
        self.done = False

    @workflow.update
    async def bad(self, x: int) -> int:
        raise TApplicationError("nope", type="Bad")

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)


@workflow.defn(name="Flaky")
class FlakyFixed:
    """The fixed code of a workflow whose second task failed once (recorded below)."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def go(self, v: str) -> None:
        self.got.append(v)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_activity(increment, 1, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: len(self.got) > 1)
        return self.got


WORKFLOWS = [
    FlakyFixed,
    SleepyChild,
    CancelChildParent,
    DupChildParent,
    UpdFail,
    ThreeActivities,
    TimerWf,
    SignalWf,
    PatchWf,
    FailCaughtWf,
    TimeoutWf,
    FailUncaughtWf,
    ChildWf,
    ParentWf,
    UpdateWf,
    CancelWf,
    ActCancelWf,
    CanWf,
    FailWf,
    WaitTimeoutWf,
    ExtCancelWf,
    UpsertWf,
    CronWf,
]


# ---------------------------------------------------------------------------------------------
# fastcore histories, built by hand as the engine records them


class H:
    """A fastcore history under construction; ``add`` returns the new event's id."""

    def __init__(self, workflow_type: str, *args: Any, workflow_id: str = "wf-1") -> None:
        self.events: list[Event] = []
        self.t = 1_750_000_000.125
        self.add(
            E.WORKFLOW_EXECUTION_STARTED,
            workflow_type=workflow_type,
            workflow_id=workflow_id,
            run_id="run-1",
            input=[p(a) for a in args],
            attempt=1,
            parent=None,
            continued_run_id=None,
            first_run_id="run-1",
            execution_timeout=None,
            run_timeout=None,
            execution_deadline=None,
            memo={},
            retry_policy=None,
            seed=1234,
        )

    def add(self, event_type: EventType, **attrs: Any) -> int:
        eid = len(self.events) + 1
        self.events.append(Event(eid, event_type, self.t, attrs))
        if event_type is E.WORKFLOW_TASK_RETRIED:  # the engine's now: the input's time
            self.now = self.events[attrs["input_event_id"] - 1].timestamp
        elif event_type not in COMMAND_EVENTS and event_type is not E.WORKFLOW_TASK_FAILED:
            self.now = self.t
        self.t += 0.0015
        return eid

    def activity(self, activity_id: str, activity_type: str, *args: Any, **kw: Any) -> int:
        opts: dict[str, Any] = {
            "start_to_close_timeout": 10.0,
            "schedule_to_close_timeout": None,
            "schedule_to_start_timeout": None,
            "heartbeat_timeout": None,
            "retry_policy": {
                "initial_interval": 1.0,
                "backoff_coefficient": 2.0,
                "maximum_interval": 100.0,
                "maximum_attempts": 0,
                "non_retryable_error_types": [],
            },
            "cancellation_type": 0,
        }
        opts.update(kw)
        return self.add(
            E.ACTIVITY_TASK_SCHEDULED,
            activity_id=activity_id,
            activity_type=activity_type,
            input=[p(a) for a in args],
            **opts,
        )

    def timer(self, timer_id: str, seconds: float) -> int:
        return self.add(
            E.TIMER_STARTED,
            timer_id=timer_id,
            start_to_fire_timeout=seconds,
            fire_at=self.now + seconds,  # as the engine: the activation's time + duration
        )

    def complete(self, result: Any) -> int:
        return self.add(E.WORKFLOW_EXECUTION_COMPLETED, result=p(result))


def _app_failure(message: str, type: str, *details: Any, non_retryable: bool = False) -> Any:
    return to_failure(
        ApplicationError(message, *details, type=type, non_retryable=non_retryable), conv
    )


def h_three_activities() -> H:
    h = H("ThreeActivities", 10)
    x = 10
    for i in range(1, 4):
        s = h.activity(str(i), "increment", x)
        x += 1
        h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=s, result=p(x), attempt=1)
    h.complete(x)
    return h


def h_timer() -> H:
    h = H("TimerWf")
    t = h.timer("1", 1.0)
    h.add(E.TIMER_FIRED, timer_id="1", started_event_id=t)
    h.complete("done")
    return h


def h_signal() -> H:
    h = H("SignalWf")
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="go", input=[p("a")])
    h.complete(["a"])
    return h


def h_signal_with_start() -> H:
    h = H("SignalWf")
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="go", input=[p("s")], with_start=True)
    h.complete(["s"])
    return h


def h_patch() -> H:
    h = H("PatchWf")
    h.add(
        E.MARKER_RECORDED, marker_name="core_patch", details={"patch_id": "p1", "deprecated": False}
    )
    s = h.activity("1", "increment", 1)
    h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=s, result=p(2), attempt=1)
    h.add(
        E.MARKER_RECORDED, marker_name="core_patch", details={"patch_id": "p2", "deprecated": True}
    )
    h.complete(2)
    return h


def h_fail_caught() -> H:
    h = H("FailCaughtWf")
    s = h.activity("1", "fail", 1)
    failure = _app_failure("bad", "Invalid", "det", non_retryable=True)
    h.add(
        E.ACTIVITY_TASK_FAILED,
        scheduled_event_id=s,
        failure=failure,
        attempt=1,
        retry_state=int(RetryState.NON_RETRYABLE_FAILURE),
    )
    h.complete("caught Invalid: bad")
    return h


def h_timeout() -> H:
    h = H("TimeoutWf")
    s = h.activity(
        "1",
        "increment",
        1,
        start_to_close_timeout=1.0,
        retry_policy={
            "initial_interval": 1.0,
            "backoff_coefficient": 2.0,
            "maximum_interval": None,
            "maximum_attempts": 1,
            "non_retryable_error_types": [],
        },
    )
    failure = to_failure(
        TimeoutError("activity StartToClose timeout", type=TimeoutType.START_TO_CLOSE), conv
    )
    h.add(
        E.ACTIVITY_TASK_TIMED_OUT,
        scheduled_event_id=s,
        failure=failure,
        attempt=1,
        retry_state=int(RetryState.MAXIMUM_ATTEMPTS_REACHED),
    )
    h.complete("caught activity StartToClose timeout")
    return h


def h_fail_uncaught() -> H:
    """The workflow fails with an ActivityError whose ``scheduled_event_id`` must be renumbered."""
    h = H("FailUncaughtWf")
    s = h.activity("1", "fail", 1)
    cause = _app_failure("bad", "Invalid", non_retryable=True)
    h.add(E.ACTIVITY_TASK_FAILED, scheduled_event_id=s, failure=cause, attempt=1, retry_state=2)
    err = ActivityError(
        "Activity task failed",
        scheduled_event_id=s,
        started_event_id=s,
        activity_type="fail",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    err.__cause__ = from_failure(cause, conv)
    h.add(E.WORKFLOW_EXECUTION_FAILED, failure=to_failure(err, conv))
    return h


def h_child() -> H:
    h = H("ParentWf", 3, workflow_id="parent")

    def child(wid: str, arg: int) -> tuple[int, int]:
        i = h.add(
            E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            workflow_id=wid,
            workflow_type="ChildWf",
            input=[p(arg)],
            parent_close_policy=1,
            execution_timeout=None,
            run_timeout=None,
            retry_policy=None,
            cancellation_type=1,
            memo={},
        )
        st = h.add(
            E.CHILD_WORKFLOW_EXECUTION_STARTED,
            initiated_event_id=i,
            workflow_id=wid,
            run_id=wid + "-run",
            workflow_type="ChildWf",
        )
        return i, st

    i, st = child("parent-child", 3)
    h.add(
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        initiated_event_id=i,
        started_event_id=st,
        workflow_id="parent-child",
        run_id="parent-child-run",
        result=p(6),
    )
    i, st = child("parent-child2", -1)
    h.add(
        E.CHILD_WORKFLOW_EXECUTION_FAILED,
        initiated_event_id=i,
        started_event_id=st,
        workflow_id="parent-child2",
        run_id="parent-child2-run",
        failure=_app_failure("neg", "Neg"),
        retry_state=int(RetryState.RETRY_POLICY_NOT_SET),
    )
    h.complete(6)
    return h


def h_update() -> H:
    h = H("UpdateWf")
    a = h.add(E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, update_id="u1", name="add", input=[p("x")])
    h.add(
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        update_id="u1",
        accepted_event_id=a,
        result=p(1),
        failure=None,
    )
    a = h.add(E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, update_id="u2", name="add_slow", input=[p("y")])
    s = h.activity("1", "increment", 1)
    h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=s, result=p(2), attempt=1)
    h.add(
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        update_id="u2",
        accepted_event_id=a,
        result=p(2),
        failure=None,
    )
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="finish", input=[])
    h.complete(["x", "y"])
    return h


def h_cancel() -> H:
    h = H("CancelWf")
    h.activity("1", "increment", 1, start_to_close_timeout=30.0, heartbeat_timeout=2.0)
    t = h.timer("1", 100.0)
    h.add(E.WORKFLOW_EXECUTION_CANCEL_REQUESTED, reason="please")
    h.add(E.TIMER_CANCELED, timer_id="1", started_event_id=t)
    h.add(E.WORKFLOW_EXECUTION_CANCELED, details=[])
    return h


def h_act_cancel(wait: bool) -> H:
    h = H("ActCancelWf", wait)
    s = h.activity("1", "increment", 1, start_to_close_timeout=30.0, cancellation_type=int(wait))
    t = h.timer("1", 0.5)
    h.add(E.TIMER_FIRED, timer_id="1", started_event_id=t)
    h.add(E.ACTIVITY_TASK_CANCEL_REQUESTED, scheduled_event_id=s)
    if wait:
        h.add(E.ACTIVITY_TASK_CANCELED, scheduled_event_id=s, details=[])
    h.complete("caught CancelledError('Cancelled')")
    return h


def h_act_cancel_try_then_canceled() -> H:
    """TRY_CANCEL resolves at once; the activity's own cancellation arrives afterwards."""
    h = H("ActCancelWf", False)
    s = h.activity("1", "increment", 1, start_to_close_timeout=30.0)
    t = h.timer("1", 0.5)
    h.add(E.TIMER_FIRED, timer_id="1", started_event_id=t)
    h.add(E.ACTIVITY_TASK_CANCEL_REQUESTED, scheduled_event_id=s)
    h.add(E.ACTIVITY_TASK_CANCELED, scheduled_event_id=s, details=[])
    return h


def h_continue_as_new() -> H:
    h = H("CanWf", 1)
    h.add(
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        new_execution_run_id="run-2",
        workflow_type="CanWf",
        input=[p(0)],
    )
    return h


def h_fail() -> H:
    h = H("FailWf")
    h.add(E.WORKFLOW_EXECUTION_FAILED, failure=_app_failure("boom", "Boom"))
    return h


def h_wait_timeout() -> H:
    h = H("WaitTimeoutWf")
    t = h.timer("1", 60.0)
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="finish", input=[])
    h.add(E.TIMER_CANCELED, timer_id="1", started_event_id=t)
    h.complete(True)
    return h


def h_wait_timeout_fired() -> H:
    h = H("WaitTimeoutWf")
    t = h.timer("1", 60.0)
    h.add(E.TIMER_FIRED, timer_id="1", started_event_id=t)
    h.complete(False)
    return h


def h_terminated() -> H:
    h = H("SignalWf")
    h.add(E.WORKFLOW_EXECUTION_TERMINATED, reason="bye", details=[p("why")])
    return h


def h_timed_out() -> H:
    h = H("TimerWf")
    h.timer("1", 1.0)
    h.add(E.WORKFLOW_EXECUTION_TIMED_OUT, retry_state=int(RetryState.TIMEOUT))
    return h


def h_running() -> H:
    """An open run: the last activation issued a command that has not resolved yet."""
    h = H("ThreeActivities", 10)
    s = h.activity("1", "increment", 10)
    h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=s, result=p(11), attempt=3)
    h.activity("2", "increment", 11)
    return h


def h_ext_cancel() -> H:
    h = H("ExtCancelWf", "target-1")
    i = h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="target-1",
        child_workflow_only=False,
        run_id=None,
    )
    h.add(
        E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        initiated_event_id=i,
        workflow_id="target-1",
        run_id=None,
    )
    h.complete(None)
    return h


def h_ext_cancel_target() -> H:
    h = H("SignalWf", workflow_id="target-1")
    h.add(E.WORKFLOW_EXECUTION_CANCEL_REQUESTED, reason="Cancel requested by workflow")
    h.add(E.WORKFLOW_EXECUTION_CANCELED, details=[])
    return h


def _initiate_child(h: H, wid: str, workflow_type: str, *args: Any, **kw: Any) -> int:
    attrs: dict[str, Any] = {
        "parent_close_policy": 1,
        "execution_timeout": None,
        "run_timeout": None,
        "retry_policy": None,
        "cancellation_type": 2,
        "memo": {},
    }
    attrs.update(kw)
    return h.add(
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        workflow_id=wid,
        workflow_type=workflow_type,
        input=[p(a) for a in args],
        **attrs,
    )


def h_child_cancel() -> H:
    h = H("CancelChildParent", workflow_id="ccp")
    i = _initiate_child(h, "ccp-c", "SleepyChild", memo={"m": p(1)})
    st = h.add(
        E.CHILD_WORKFLOW_EXECUTION_STARTED,
        initiated_event_id=i,
        workflow_id="ccp-c",
        run_id="ccp-c-run",
        workflow_type="SleepyChild",
    )
    t = h.timer("1", 0.3)
    h.add(E.TIMER_FIRED, timer_id="1", started_event_id=t)
    h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="ccp-c",
        child_workflow_only=True,
        initiated_event_id=i,
    )
    h.add(
        E.CHILD_WORKFLOW_EXECUTION_CANCELED,
        initiated_event_id=i,
        started_event_id=st,
        workflow_id="ccp-c",
        run_id="ccp-c-run",
        details=[],
    )
    h.complete("caught CancelledError('Cancelled')")
    return h


def h_child_start_failed() -> H:
    h = H("DupChildParent", "existing-1")
    i = _initiate_child(h, "existing-1", "SleepyChild")
    h.add(
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        initiated_event_id=i,
        workflow_id="existing-1",
        workflow_type="SleepyChild",
        cause="WORKFLOW_ALREADY_EXISTS",
    )
    h.complete("caught WorkflowAlreadyStartedError")
    return h


def h_update_fail() -> H:
    h = H("UpdFail")
    a = h.add(E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, update_id="u1", name="bad", input=[p(1)])
    h.add(
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        update_id="u1",
        accepted_event_id=a,
        result=None,
        failure=_app_failure("nope", "Bad"),
    )
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="finish", input=[])
    h.complete(None)
    return h


def _task_failure(exc: BaseException) -> dict[str, Any]:
    return to_failure(exc, conv)


def h_task_failed_start_signal_held() -> H:
    """The first task fails (a bug); a signal arrives while blocked; the fixed code retries."""
    h = H("SignalWf")
    h.add(E.WORKFLOW_TASK_FAILED, input_event_id=1, failure=_task_failure(RuntimeError("bug")))
    sig = h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="go", input=[p("a")])
    h.add(E.WORKFLOW_TASK_RETRIED, input_event_id=1)
    h.add(E.WORKFLOW_TASK_RETRIED, input_event_id=sig)
    h.complete(["a"])
    return h


def h_task_failed_activity() -> H:
    """An activity's result fails the task twice; the third attempt goes on."""
    h = H("ThreeActivities", 10)
    x = 10
    for i in range(1, 4):
        s = h.activity(str(i), "increment", x)
        x += 1
        done = h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=s, result=p(x), attempt=1)
        if i == 2:
            bug = _task_failure(RuntimeError("bug"))
            h.add(E.WORKFLOW_TASK_FAILED, input_event_id=done, failure=bug)
            h.add(E.WORKFLOW_TASK_RETRIED, input_event_id=done)
            h.add(E.WORKFLOW_TASK_FAILED, input_event_id=done, failure=bug)
            h.add(E.WORKFLOW_TASK_RETRIED, input_event_id=done)
    h.complete(x)
    return h


def h_task_failed_update() -> H:
    """An update's first task fails; Temporal accepts it only in the task that completes."""
    h = H("UpdateWf")
    a = h.add(E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, update_id="u1", name="add", input=[p("x")])
    h.add(E.WORKFLOW_TASK_FAILED, input_event_id=a, failure=_task_failure(KeyError("k")))
    h.add(E.WORKFLOW_TASK_RETRIED, input_event_id=a)
    h.add(
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        update_id="u1",
        accepted_event_id=a,
        result=p(1),
        failure=None,
    )
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="finish", input=[])
    h.complete(["x"])
    return h


def h_task_failed_nondeterminism() -> H:
    """Replay found that the code no longer fits: blocked, open, no input to name."""
    h = H("SignalWf")
    err = NondeterminismError("activity 'x' expected, timer found")
    h.add(E.WORKFLOW_TASK_FAILED, input_event_id=None, failure=_task_failure(err))
    return h


def h_task_failed_then_terminated() -> H:
    h = H("SignalWf")
    bug = _task_failure(RuntimeError("bug"))
    h.add(E.WORKFLOW_TASK_FAILED, input_event_id=1, failure=bug)
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="go", input=[p("a")])
    h.add(E.WORKFLOW_TASK_RETRIED, input_event_id=1)
    h.add(E.WORKFLOW_TASK_FAILED, input_event_id=1, failure=bug)
    h.add(E.WORKFLOW_EXECUTION_TERMINATED, reason="stuck", details=[])
    return h


TASK_FAILURES: dict[str, Callable[[], H]] = {
    "task_failed_start_signal_held": h_task_failed_start_signal_held,
    "task_failed_activity": h_task_failed_activity,
    "task_failed_update": h_task_failed_update,
    "task_failed_nondeterminism": h_task_failed_nondeterminism,
    "task_failed_then_terminated": h_task_failed_then_terminated,
}

SCENARIOS: dict[str, Callable[[], H]] = {
    **TASK_FAILURES,
    "child_cancel": h_child_cancel,
    "child_start_failed": h_child_start_failed,
    "update_fail": h_update_fail,
    "three_activities": h_three_activities,
    "timer": h_timer,
    "signal": h_signal,
    "signal_with_start": h_signal_with_start,
    "patch": h_patch,
    "fail_caught": h_fail_caught,
    "timeout": h_timeout,
    "fail_uncaught": h_fail_uncaught,
    "child": h_child,
    "update": h_update,
    "cancel": h_cancel,
    "act_cancel_try": lambda: h_act_cancel(False),
    "act_cancel_wait": lambda: h_act_cancel(True),
    "act_cancel_try_then_canceled": h_act_cancel_try_then_canceled,
    "continue_as_new": h_continue_as_new,
    "fail": h_fail,
    "wait_timeout": h_wait_timeout,
    "wait_timeout_fired": h_wait_timeout_fired,
    "terminated": h_terminated,
    "timed_out": h_timed_out,
    "running": h_running,
    "ext_cancel": h_ext_cancel,
    "ext_cancel_target": h_ext_cancel_target,
}

# Event types (without EVENT_TYPE_) of the same workflows run on a Temporal dev server.
_WFT = ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"]
_ACT = ["ACTIVITY_TASK_SCHEDULED", "ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"]
_PATCH = ["MARKER_RECORDED", "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"]
_START = ["WORKFLOW_EXECUTION_STARTED", *_WFT]
_CHILD = ["START_CHILD_WORKFLOW_EXECUTION_INITIATED", "CHILD_WORKFLOW_EXECUTION_STARTED", *_WFT]
TEMPORAL_SHAPES: dict[str, list[str]] = {
    "child_cancel": [
        *_START,
        *_CHILD,
        "TIMER_STARTED",
        "TIMER_FIRED",
        *_WFT,
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        *_WFT,
        "CHILD_WORKFLOW_EXECUTION_CANCELED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "child_start_failed": [
        *_START,
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "START_CHILD_WORKFLOW_EXECUTION_FAILED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "update_fail": [
        *_START,
        *_WFT,
        "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "three_activities": [*_START, *(_ACT + _WFT) * 3, "WORKFLOW_EXECUTION_COMPLETED"],
    "timer": [*_START, "TIMER_STARTED", "TIMER_FIRED", *_WFT, "WORKFLOW_EXECUTION_COMPLETED"],
    "signal": [*_START, "WORKFLOW_EXECUTION_SIGNALED", *_WFT, "WORKFLOW_EXECUTION_COMPLETED"],
    "signal_with_start": [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "patch": [*_START, *_PATCH, *_ACT, *_WFT, *_PATCH, "WORKFLOW_EXECUTION_COMPLETED"],
    "fail_caught": [
        *_START,
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_FAILED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "timeout": [
        *_START,
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_TIMED_OUT",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "child": [
        *_START,
        *_CHILD,
        "CHILD_WORKFLOW_EXECUTION_COMPLETED",
        *_WFT,
        *_CHILD,
        "CHILD_WORKFLOW_EXECUTION_FAILED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "cancel": [
        *_START,
        "ACTIVITY_TASK_SCHEDULED",
        "TIMER_STARTED",
        "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        *_WFT,
        "TIMER_CANCELED",
        "WORKFLOW_EXECUTION_CANCELED",
    ],
    "act_cancel_try": [
        *_START,
        "ACTIVITY_TASK_SCHEDULED",
        "TIMER_STARTED",
        "TIMER_FIRED",
        *_WFT,
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "act_cancel_wait": [
        *_START,
        "ACTIVITY_TASK_SCHEDULED",
        "TIMER_STARTED",
        "TIMER_FIRED",
        *_WFT,
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "continue_as_new": [*_START, "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"],
    "fail": [*_START, "WORKFLOW_EXECUTION_FAILED"],
    "wait_timeout": [
        *_START,
        "TIMER_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        *_WFT,
        "TIMER_CANCELED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "terminated": [*_START, "WORKFLOW_EXECUTION_TERMINATED"],
    "ext_cancel": [
        *_START,
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        *_WFT,
        "WORKFLOW_EXECUTION_COMPLETED",
    ],
    "ext_cancel_target": [
        *_START,
        "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
        *_WFT,
        "WORKFLOW_EXECUTION_CANCELED",
    ],
}


def _types(history: WorkflowHistory) -> list[str]:
    return [TEventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events]


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())


# ---------------------------------------------------------------------------------------------
# the proof: Temporal's Replayer accepts the translation


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_temporal_replayer_accepts_translation(name: str, replayer: Replayer) -> None:
    history = to_temporal(SCENARIOS[name]().events)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, _types(history)


@pytest.mark.parametrize("name", sorted(TEMPORAL_SHAPES))
def test_translation_has_temporals_shape(name: str) -> None:
    assert _types(to_temporal(SCENARIOS[name]().events)) == TEMPORAL_SHAPES[name]


async def test_temporal_replayer_accepts_update_shape(replayer: Replayer) -> None:
    history = to_temporal(h_update().events)
    types = _types(history)
    # As Temporal records it: the accepted event follows the task that accepted the update.
    i = types.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    accepted = ["WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "WORKFLOW_EXECUTION_UPDATE_COMPLETED"]
    assert types[i - 3 : i + 2] == [*_WFT, *accepted]
    acc = history.events[i].workflow_execution_update_accepted_event_attributes
    assert acc.accepted_request_sequencing_event_id == history.events[i - 3].event_id
    assert acc.accepted_request.input.name == "add"
    done = history.events[i + 1].workflow_execution_update_completed_event_attributes
    assert done.accepted_event_id == history.events[i].event_id


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        ("three_activities", lambda h: h.events[3].attributes.update(activity_type="other")),
        ("three_activities", lambda h: h.events[3].attributes.update(activity_id="9")),
        ("timer", lambda h: h.events.pop(1) and None),
        ("patch", lambda h: h.events[1].attributes["details"].update(patch_id="zz")),
        ("child", lambda h: h.events[1].attributes.update(workflow_type="Other")),
        (
            "timer",
            lambda h: h.events.__setitem__(
                -1, Event(0, E.WORKFLOW_EXECUTION_FAILED, 0.0, {"failure": _app_failure("x", "X")})
            ),
        ),
    ],
)
async def test_temporal_replayer_rejects_a_different_history(
    name: str, mutate: Callable[[H], None], replayer: Replayer
) -> None:
    """The proof means something: a history that does not fit the code is refused."""
    h = SCENARIOS[name]()
    mutate(h)
    h.events = [
        Event(i + 1, e.event_type, e.timestamp, e.attributes) for i, e in enumerate(h.events)
    ]
    result = await replayer.replay_workflow(to_temporal(h.events), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)


# ---------------------------------------------------------------------------------------------
# ids and cross-references


def test_ids_and_cross_references_are_renumbered() -> None:
    history = to_temporal(h_three_activities().events)
    ev = {e.event_id: e for e in history.events}
    assert [e.event_id for e in history.events] == list(range(1, 24))
    sched = ev[5].activity_task_scheduled_event_attributes
    assert sched.workflow_task_completed_event_id == 4
    started = ev[6].activity_task_started_event_attributes
    assert (started.scheduled_event_id, started.attempt) == (5, 1)
    done = ev[7].activity_task_completed_event_attributes
    assert (done.scheduled_event_id, done.started_event_id) == (5, 6)
    task = ev[10].workflow_task_completed_event_attributes
    assert (task.scheduled_event_id, task.started_event_id) == (8, 9)
    assert list(ev[4].workflow_task_completed_event_attributes.sdk_metadata.core_used_flags) == [
        1,
        2,
        3,
        4,
    ]
    assert not ev[10].workflow_task_completed_event_attributes.sdk_metadata.core_used_flags
    assert (
        ev[23].workflow_execution_completed_event_attributes.workflow_task_completed_event_id == 22
    )
    assert history.workflow_id == "wf-1"
    assert history.run_id == "run-1"


def test_failure_refs_follow_renumbering() -> None:
    history = to_temporal(h_fail_uncaught().events)
    failed = history.events[-1].workflow_execution_failed_event_attributes.failure
    info = failed.activity_failure_info
    assert history.events[info.scheduled_event_id - 1].HasField(
        "activity_task_scheduled_event_attributes"
    )
    assert history.events[info.started_event_id - 1].HasField(
        "activity_task_started_event_attributes"
    )
    assert failed.cause.application_failure_info.type == "Invalid"
    assert failed.source == "fastcore"


def test_patch_marker_encoding_matches_sdk_core() -> None:
    history = to_temporal(h_patch().events)
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    m = markers[1].marker_recorded_event_attributes
    assert m.marker_name == "core_patch"
    (payload,) = m.details["patch-data"].payloads
    assert payload.metadata["encoding"] == b"json/plain"
    assert payload.data == b'{"id":"p2","deprecated":true}'
    up = history.events[markers[1].event_id]  # the event right after the marker
    sa = up.upsert_workflow_search_attributes_event_attributes.search_attributes
    version = sa.indexed_fields["TemporalChangeVersion"]
    assert version.data == b'["p1","p2"]'
    assert version.metadata["type"] == b"KeywordList"


def test_child_events_carry_execution() -> None:
    history = to_temporal(h_child().events)
    done = next(
        e.child_workflow_execution_completed_event_attributes
        for e in history.events
        if e.HasField("child_workflow_execution_completed_event_attributes")
    )
    assert done.workflow_execution.workflow_id == "parent-child"
    assert done.workflow_execution.run_id == "parent-child-run"
    assert done.workflow_type.name == "ChildWf"
    assert history.events[done.initiated_event_id - 1].HasField(
        "start_child_workflow_execution_initiated_event_attributes"
    )
    assert history.events[done.started_event_id - 1].HasField(
        "child_workflow_execution_started_event_attributes"
    )


def test_history_must_start_with_started() -> None:
    with pytest.raises(ValueError, match="starts with"):
        to_temporal([])
    h = h_timer()
    with pytest.raises(ValueError, match="starts with"):
        to_temporal(h.events[1:])


def test_command_without_input_is_refused() -> None:
    h = h_terminated()
    h.add(E.WORKFLOW_EXECUTION_COMPLETED, result=p(1))
    with pytest.raises(ValueError, match="follows no input"):
        to_temporal(h.events)


# ---------------------------------------------------------------------------------------------
# round trips


# Inputs that fastcore held back while blocked reach Temporal when fastcore delivered them,
# each in its own task; read back they are ordinary inputs at that place (same activations).
HELD_BACK = {"task_failed_start_signal_held"}


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - HELD_BACK))
def test_round_trip(name: str) -> None:
    events = SCENARIOS[name]().events
    assert from_temporal(to_temporal(events)) == events


def test_round_trip_of_held_back_input_keeps_activations() -> None:
    events = h_task_failed_start_signal_held().events
    back = from_temporal(to_temporal(events))
    assert [(e.event_type, e.attributes.get("input_event_id")) for e in back] == [
        (E.WORKFLOW_EXECUTION_STARTED, None),
        (E.WORKFLOW_TASK_FAILED, 1),
        (E.WORKFLOW_TASK_RETRIED, 1),
        (E.WORKFLOW_EXECUTION_SIGNALED, None),
        (E.WORKFLOW_EXECUTION_COMPLETED, None),
    ]
    assert back[3].attributes == events[2].attributes
    assert back[2].timestamp == events[3].timestamp
    assert from_temporal(to_temporal(back)) == back


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - HELD_BACK))
def test_json_round_trip(name: str) -> None:
    events = SCENARIOS[name]().events
    text = to_temporal_json(events)
    assert from_temporal(text) == events
    assert from_temporal(json.loads(text)) == events
    parsed = WorkflowHistory.from_json("wf-1", text)
    assert list(parsed.events) == list(to_temporal(events).events)
    assert from_temporal(parsed.to_json()) == events


def test_from_temporal_reads_history_proto() -> None:
    from temporalio.api.history.v1 import History

    events = h_child().events
    proto = History(events=to_temporal(events).events)
    assert from_temporal(proto) == events


def test_options_reach_events() -> None:
    history = to_temporal(
        h_three_activities().events, workflow_id="other", namespace="ns", task_queue="tq"
    )
    assert history.workflow_id == "other"
    start = history.events[0].workflow_execution_started_event_attributes
    assert start.task_queue.name == "tq"
    assert history.events[4].activity_task_scheduled_event_attributes.task_queue.name == "tq"
    ext = to_temporal(h_ext_cancel().events, namespace="ns").events[4]
    assert (
        ext.request_cancel_external_workflow_execution_initiated_event_attributes.namespace == "ns"
    )


def test_root_child_task_queue_cancel_reason_and_backoff_round_trip() -> None:
    """What the parity work records (a child's root and task queue, an external cancel's
    reason, continue-as-new's backoff) reaches Temporal's fields and reads back the same."""
    child = h_child()
    child.events[0].attributes["parent"] = {
        "workflow_id": "p",
        "run_id": "pr",
        "initiated_event_id": 5,
        "root": {"workflow_id": "root", "run_id": "rr"},
    }
    initiated = next(
        e for e in child.events if e.event_type is E.START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )
    initiated.attributes["task_queue"] = "elsewhere"
    cancel = h_ext_cancel()
    cancel.events[1].attributes["reason"] = "no longer needed"
    can = h_continue_as_new()
    can.events[-1].attributes["backoff_start_interval"] = 30.0
    for h in (child, cancel, can):
        assert from_temporal(to_temporal(h.events)) == h.events
    out = to_temporal(child.events).events
    assert out[0].workflow_execution_started_event_attributes.root_workflow_execution.run_id == (
        "rr"
    )
    (started_child,) = [
        e for e in out if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ][:1]
    assert (
        started_child.start_child_workflow_execution_initiated_event_attributes.task_queue.name
        == ("elsewhere")
    )
    (req,) = [
        e
        for e in to_temporal(cancel.events).events
        if e.HasField("request_cancel_external_workflow_execution_initiated_event_attributes")
    ]
    assert req.request_cancel_external_workflow_execution_initiated_event_attributes.reason == (
        "no longer needed"
    )
    last = to_temporal(can.events).events[-1]
    assert (
        last.workflow_execution_continued_as_new_event_attributes.backoff_start_interval.ToSeconds()
        == 30
    )


def test_started_attributes_round_trip() -> None:
    h = h_timer()
    h.events[0].attributes.update(
        parent={"workflow_id": "p", "run_id": "pr", "initiated_event_id": 5},
        continued_run_id="run-0",
        first_run_id="run-0",
        execution_timeout=3600.0,
        run_timeout=60.5,
        memo={"k": p({"a": 1})},
        retry_policy={
            "initial_interval": 0.25,
            "backoff_coefficient": 1.5,
            "maximum_interval": 10.0,
            "maximum_attempts": 5,
            "non_retryable_error_types": ["Invalid"],
        },
        attempt=2,
    )
    history = to_temporal(h.events)
    a = history.events[0].workflow_execution_started_event_attributes
    assert a.parent_workflow_execution.workflow_id == "p"
    assert a.continued_execution_run_id == "run-0"
    assert a.workflow_run_timeout.ToNanoseconds() == 60_500_000_000
    assert from_temporal(history) == h.events


def test_timestamps_round_trip() -> None:
    h = h_three_activities()
    for i, e in enumerate(h.events):
        e.timestamp = 1_780_000_000.0 + i * 0.123456789 + 1e-7 * i
    assert [e.timestamp for e in from_temporal(to_temporal(h.events))] == [
        e.timestamp for e in h.events
    ]


# ---------------------------------------------------------------------------------------------
# failures


@pytest.mark.parametrize(
    "exc",
    [
        ApplicationError("x", "d", type="T", non_retryable=True),
        TimeoutError("t", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[1]),
        ValueError("plain"),
    ],
)
def test_failure_round_trip(exc: BaseException) -> None:
    d = to_failure(exc, conv)
    assert failure_from_temporal(failure_to_temporal(d)) == d


def test_failure_chain_round_trip() -> None:
    cause = to_failure(KeyError("k"), conv)
    err = ActivityError(
        "Activity task failed",
        scheduled_event_id=7,
        activity_type="a",
        activity_id="1",
        retry_state=RetryState.TIMEOUT,
    )
    err.__cause__ = from_failure(cause, conv)
    d = to_failure(err, conv)
    f = failure_to_temporal(d)
    assert f.activity_failure_info.activity_type.name == "a"
    assert f.cause.application_failure_info.type == "KeyError"
    assert failure_from_temporal(f) == d


def test_temporal_failures_read_as_fastcore_errors() -> None:
    """A failure Temporal's own converter wrote decodes to the matching fastcore error."""
    import temporalio.converter

    f = _new_failure()
    temporalio.converter.DataConverter.default.failure_converter.to_failure(
        TApplicationError("nope", {"n": 1}, type="Invalid", non_retryable=True),
        temporalio.converter.PayloadConverter.default,
        f,
    )
    err = from_failure(failure_from_temporal(f), conv)
    assert isinstance(err, ApplicationError)
    assert (err.message, err.type, err.non_retryable, list(err.details)) == (
        "nope",
        "Invalid",
        True,
        [{"n": 1}],
    )


def _new_failure() -> Any:
    from temporalio.api.failure.v1 import Failure

    return Failure()


# ---------------------------------------------------------------------------------------------
# the reference history recorded from a real Temporal run


def test_reference_history_reads_back() -> None:
    events = from_temporal(REFERENCE.read_text())
    assert [e.event_type for e in events] == [
        E.WORKFLOW_EXECUTION_STARTED,
        *[E.ACTIVITY_TASK_SCHEDULED, E.ACTIVITY_TASK_COMPLETED] * 3,
        E.WORKFLOW_EXECUTION_COMPLETED,
    ]
    assert [e.event_id for e in events] == list(range(1, 9))
    start = events[0].attributes
    assert start["workflow_type"] == "ThreeActivities"
    assert start["workflow_id"] == "bench-sample-3-activities"
    assert conv.decode(start["input"]) == [10]
    for i, sched in ((1, 2), (3, 4), (5, 6)):
        a = events[i].attributes
        assert a["activity_type"] == "increment"
        assert a["activity_id"] == str((i + 1) // 2)
        assert a["start_to_close_timeout"] == 10.0
        assert a["schedule_to_close_timeout"] is None
        done = events[i + 1].attributes
        assert done["scheduled_event_id"] == sched
        assert done["attempt"] == 1
        assert conv.decode_one(done["result"]) == 11 + i // 2
    assert conv.decode_one(events[-1].attributes["result"]) == 13
    when = datetime(2026, 11, 28, 1, 28, 50, 895796, tzinfo=UTC).timestamp()
    assert events[0].timestamp == pytest.approx(when, abs=1e-6)


async def test_reference_history_survives_both_directions(replayer: Replayer) -> None:
    original = WorkflowHistory.from_json("bench", REFERENCE.read_text())
    assert (
        await replayer.replay_workflow(original, raise_on_replay_failure=False)
    ).replay_failure is None
    events = from_temporal(original)
    again = to_temporal(events)
    assert _types(again) == _types(original)
    assert from_temporal(again) == events
    result = await replayer.replay_workflow(again, raise_on_replay_failure=False)
    assert result.replay_failure is None


def test_unrepresentable_events_are_refused() -> None:
    history = to_temporal(h_timer().events)
    from temporalio.api.history.v1 import HistoryEvent

    extra = HistoryEvent(
        event_id=len(history.events) + 1,
        event_type=TEventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
    )
    with pytest.raises(ValueError, match="NEXUS_OPERATION_SCHEDULED"):
        from_temporal(WorkflowHistory("wf-1", [*history.events, extra]))


# ---------------------------------------------------------------------------------------------
# a workflow task failure recorded from a real Temporal run (stack traces etc. left out):
# the second task raised a bug, two signals arrived, the next task (fixed code) completed.

REAL_TASK_FAILURE_JSON = """{"events": [
{"eventId":"1","eventTime":"2026-11-28T02:35:25.046185349Z","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED","workflowExecutionStartedEventAttributes":{"workflowType":{"name":"Flaky"},"taskQueue":{"name":"tq-af037a","kind":"TASK_QUEUE_KIND_NORMAL"},"workflowTaskTimeout":"10s","originalExecutionRunId":"01a22001-e5f6-72cf-a80c-71dee72f50b3","firstExecutionRunId":"01a22001-e5f6-72cf-a80c-71dee72f50b3","attempt":1,"firstWorkflowTaskBackoff":"0s","workflowId":"flaky-2ceadb"}},
{"eventId":"2","eventTime":"2026-11-28T02:35:25.046282664Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_SCHEDULED","workflowTaskScheduledEventAttributes":{"taskQueue":{"name":"tq-af037a","kind":"TASK_QUEUE_KIND_NORMAL"},"startToCloseTimeout":"10s","attempt":1}},
{"eventId":"3","eventTime":"2026-11-28T02:35:25.058218043Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_STARTED","workflowTaskStartedEventAttributes":{"scheduledEventId":"2"}},
{"eventId":"4","eventTime":"2026-11-28T02:35:25.090076466Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_COMPLETED","workflowTaskCompletedEventAttributes":{"scheduledEventId":"2","startedEventId":"3","sdkMetadata":{"coreUsedFlags":[1,2,3,4],"sdkName":"temporal-python","sdkVersion":"1.35.0"}}},
{"eventId":"5","eventTime":"2026-11-28T02:35:25.090210976Z","eventType":"EVENT_TYPE_ACTIVITY_TASK_SCHEDULED","activityTaskScheduledEventAttributes":{"activityId":"1","activityType":{"name":"increment"},"taskQueue":{"name":"tq-af037a","kind":"TASK_QUEUE_KIND_NORMAL"},"input":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"MQ=="}]},"scheduleToCloseTimeout":"0s","scheduleToStartTimeout":"0s","startToCloseTimeout":"10s","heartbeatTimeout":"0s","workflowTaskCompletedEventId":"4","retryPolicy":{"initialInterval":"1s","backoffCoefficient":2.0,"maximumInterval":"100s"}}},
{"eventId":"6","eventTime":"2026-11-28T02:35:25.090270805Z","eventType":"EVENT_TYPE_ACTIVITY_TASK_STARTED","activityTaskStartedEventAttributes":{"scheduledEventId":"5","attempt":1}},
{"eventId":"7","eventTime":"2026-11-28T02:35:25.097113565Z","eventType":"EVENT_TYPE_ACTIVITY_TASK_COMPLETED","activityTaskCompletedEventAttributes":{"result":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"Mg=="}]},"scheduledEventId":"5","startedEventId":"6"}},
{"eventId":"8","eventTime":"2026-11-28T02:35:25.097133074Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_SCHEDULED","workflowTaskScheduledEventAttributes":{"taskQueue":{"name":"tq-af037a","kind":"TASK_QUEUE_KIND_NORMAL"},"startToCloseTimeout":"10s","attempt":1}},
{"eventId":"9","eventTime":"2026-11-28T02:35:25.099863966Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_STARTED","workflowTaskStartedEventAttributes":{"scheduledEventId":"8"}},
{"eventId":"10","eventTime":"2026-11-28T02:35:25.111135757Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_FAILED","workflowTaskFailedEventAttributes":{"scheduledEventId":"8","startedEventId":"9","cause":"WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE","failure":{"message":"bug","applicationFailureInfo":{"type":"RuntimeError"}}}},
{"eventId":"11","eventTime":"2026-11-28T02:35:25.556814509Z","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED","workflowExecutionSignaledEventAttributes":{"signalName":"go","input":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"ImEi"}]}}},
{"eventId":"12","eventTime":"2026-11-28T02:35:25.762595151Z","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED","workflowExecutionSignaledEventAttributes":{"signalName":"go","input":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"ImIi"}]}}},
{"eventId":"13","eventTime":"2026-11-28T02:35:35.117434960Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_SCHEDULED","workflowTaskScheduledEventAttributes":{"taskQueue":{"name":"tq-af037a","kind":"TASK_QUEUE_KIND_NORMAL"},"startToCloseTimeout":"10s","attempt":1}},
{"eventId":"14","eventTime":"2026-11-28T02:35:35.119922834Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_STARTED","workflowTaskStartedEventAttributes":{"scheduledEventId":"13"}},
{"eventId":"15","eventTime":"2026-11-28T02:35:35.128699479Z","eventType":"EVENT_TYPE_WORKFLOW_TASK_COMPLETED","workflowTaskCompletedEventAttributes":{"scheduledEventId":"13","startedEventId":"14","sdkMetadata":{}}},
{"eventId":"16","eventTime":"2026-11-28T02:35:35.128754962Z","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED","workflowExecutionCompletedEventAttributes":{"result":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"WyJhIiwiYiJd"}]},"workflowTaskCompletedEventId":"15"}}
]}"""


async def test_real_task_failure_history(replayer: Replayer) -> None:
    original = WorkflowHistory.from_json("flaky", REAL_TASK_FAILURE_JSON)
    ok = await replayer.replay_workflow(original, raise_on_replay_failure=False)
    assert ok.replay_failure is None
    events = from_temporal(original)
    assert [(e.event_type, e.attributes.get("input_event_id")) for e in events] == [
        (E.WORKFLOW_EXECUTION_STARTED, None),
        (E.ACTIVITY_TASK_SCHEDULED, None),
        (E.ACTIVITY_TASK_COMPLETED, None),
        (E.WORKFLOW_TASK_FAILED, 3),
        (E.WORKFLOW_EXECUTION_SIGNALED, None),
        (E.WORKFLOW_EXECUTION_SIGNALED, None),
        (E.WORKFLOW_TASK_RETRIED, 3),
        (E.WORKFLOW_TASK_RETRIED, 5),
        (E.WORKFLOW_TASK_RETRIED, 6),
        (E.WORKFLOW_EXECUTION_COMPLETED, None),
    ]
    err = from_failure(events[3].attributes["failure"], conv)
    assert isinstance(err, ApplicationError)
    assert (err.type, err.message) == ("RuntimeError", "bug")
    # fastcore delivers the held-back inputs one activation each; Temporal replays that too
    again = to_temporal(events)
    result = await replayer.replay_workflow(again, raise_on_replay_failure=False)
    assert result.replay_failure is None
    assert _types(again).count("WORKFLOW_TASK_FAILED") == 1
    assert from_temporal(to_temporal(from_temporal(again))) == from_temporal(again)


# ---------------------------------------------------------------------------------------------
# histories the fastcore engine records, replayed by Temporal against the temporalio twins


@fc_activity.defn(name="increment")
async def fc_increment(x: int) -> int:
    return x + 1


@fc_workflow.defn(name="ThreeActivities")
class FcThreeActivities:
    @fc_workflow.run
    async def run(self, x: int) -> int:
        for _ in range(3):
            x = await fc_workflow.execute_activity(
                fc_increment, x, start_to_close_timeout=timedelta(seconds=10)
            )
        return x


@fc_workflow.defn(name="TimerWf")
class FcTimerWf:
    @fc_workflow.run
    async def run(self) -> str:
        await fc_workflow.sleep(1)
        return "done"


@fc_workflow.defn(name="SignalWf")
class FcSignalWf:
    def __init__(self) -> None:
        self.got: list[str] = []

    @fc_workflow.signal
    def go(self, v: str) -> None:
        self.got.append(v)

    @fc_workflow.run
    async def run(self) -> list[str]:
        await fc_workflow.wait_condition(lambda: len(self.got) > 0)
        return self.got


@fc_workflow.defn(name="UpdateWf")
class FcUpdateWf:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @fc_workflow.update
    async def add(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @fc_workflow.signal
    def finish(self) -> None:
        self.done = True

    @fc_workflow.run
    async def run(self) -> list[str]:
        await fc_workflow.wait_condition(lambda: self.done)
        return self.items


@fc_workflow.defn(name="ChildWf")
class FcChildWf:
    @fc_workflow.run
    async def run(self, x: int) -> int:
        if x < 0:
            raise ApplicationError("neg", type="Neg")
        return x * 2


@fc_workflow.defn(name="ParentWf")
class FcParentWf:
    @fc_workflow.run
    async def run(self, x: int) -> int:
        wid = fc_workflow.info().workflow_id
        r: int = await fc_workflow.execute_child_workflow(FcChildWf.run, x, id=wid + "-child")
        try:
            await fc_workflow.execute_child_workflow(FcChildWf.run, -1, id=wid + "-child2")
        except ChildWorkflowError:
            pass
        return r


@fc_workflow.defn(name="WaitTimeoutWf")
class FcWaitTimeoutWf:
    def __init__(self) -> None:
        self.done = False

    @fc_workflow.signal
    def finish(self) -> None:
        self.done = True

    @fc_workflow.run
    async def run(self) -> bool:
        try:
            await fc_workflow.wait_condition(lambda: self.done, timeout=60)
        except builtins.TimeoutError:
            return False
        return True


@fc_workflow.defn(name="CanWf")
class FcCanWf:
    @fc_workflow.run
    async def run(self, n: int) -> int:
        if n > 0:
            fc_workflow.continue_as_new(n - 1)
        return n


@fc_workflow.defn(name="FailWf")
class FcFailWf:
    @fc_workflow.run
    async def run(self) -> int:
        raise ApplicationError("boom", type="Boom")


FC_TIER = SearchAttributeKey.for_keyword("Tier")
FC_SEATS = SearchAttributeKey.for_int("Seats")


@fc_workflow.defn(name="UpsertWf")
class FcUpsertWf:
    @fc_workflow.run
    async def run(self, seats: int) -> str:
        fc_workflow.upsert_search_attributes([FC_SEATS.value_set(seats)])
        await fc_workflow.sleep(1)
        fc_workflow.upsert_search_attributes([FC_TIER.value_unset()])
        return str(fc_workflow.info().typed_search_attributes.get(FC_SEATS))


@fc_workflow.defn(name="CronWf")
class FcCronWf:
    @fc_workflow.run
    async def run(self) -> int:
        last = fc_workflow.get_last_completion_result(int)
        return (last or 0) + 1


async def _drive_signal(h: Any) -> None:
    await h.signal("go", "a")


async def _drive_update(h: Any) -> None:
    assert await h.execute_update("add", "x") == 1
    await h.signal("finish")


async def _drive_finish(h: Any) -> None:
    await h.signal("finish")


ENGINE_RUNS: dict[str, tuple[Any, list[Any], Callable[[Any], Any] | None]] = {
    "timer": (FcTimerWf.run, [], None),
    "signal": (FcSignalWf.run, [], _drive_signal),
    "update": (FcUpdateWf.run, [], _drive_update),
    "child": (FcParentWf.run, [3], None),
    "wait_signal": (FcWaitTimeoutWf.run, [], _drive_finish),
    "wait_timeout": (FcWaitTimeoutWf.run, [], None),
    "continue_as_new": (FcCanWf.run, [1], None),
    "fail": (FcFailWf.run, [], None),
    "three_activities": (FcThreeActivities.run, [10], None),
    "upsert": (FcUpsertWf.run, [4], None),
}


@pytest.mark.parametrize("name", sorted(ENGINE_RUNS))
async def test_engine_history_replays_in_temporal(name: str, replayer: Replayer) -> None:
    run, args, drive = ENGINE_RUNS[name]
    async with Engine(
        workflows=[
            FcThreeActivities,
            FcTimerWf,
            FcSignalWf,
            FcUpdateWf,
            FcChildWf,
            FcParentWf,
            FcWaitTimeoutWf,
            FcCanWf,
            FcFailWf,
            FcUpsertWf,
        ],
        activities=[fc_increment],
        clock=VirtualClock(),
    ) as engine:
        tier = TypedSearchAttributes([SearchAttributePair(FC_TIER, "gold")])
        h = await engine.start_workflow(
            run, *args, id=f"engine-{name}", search_attributes=tier, task_queue="tq-" + name
        )
        if drive is not None:
            await drive(h)
        try:
            await asyncio.wait_for(h.result(), 10)
        except WorkflowFailureError:
            pass
        events = await h.fetch_history()
    history = to_temporal(events)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, _types(history)
    assert from_temporal(history) == list(events)


async def test_cron_runs_replay_in_temporal_and_read_back(replayer: Replayer) -> None:
    """A cron workflow's runs: the second's start carries the schedule, its backoff, the
    last completion result, and names its predecessor; Temporal replays both."""
    clock = VirtualClock(datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC))
    async with Engine(workflows=[FcCronWf], clock=clock) as engine:
        h = await engine.start_workflow(FcCronWf.run, id="engine-cron", cron_schedule="*/5 * * * *")
        assert h.result_run_id is not None
        first = engine.get_workflow_handle("engine-cron", run_id=h.result_run_id)
        assert await first.result(follow_runs=False) == 1
        first_events = await first.fetch_history()
        nxt = first_events[-1].attributes["new_execution_run_id"]
        second = engine.get_workflow_handle("engine-cron", run_id=nxt)
        assert await second.result(follow_runs=False) == 2
        second_events = await second.fetch_history()
    for events in (first_events, second_events):
        history = to_temporal(events)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, _types(history)
        assert from_temporal(history) == list(events)
    start_event = to_temporal(second_events).events[0]
    started = start_event.workflow_execution_started_event_attributes
    assert started.cron_schedule == "*/5 * * * *"
    # it begins on its slot: its start (the first run's close) plus the backoff
    begins = (
        start_event.event_time.ToDatetime(UTC) + started.first_workflow_task_backoff.ToTimedelta()
    )
    assert round(begins.timestamp()) == datetime(2025, 1, 1, 0, 10, tzinfo=UTC).timestamp()
    assert started.last_completion_result.payloads[0].data == b"1"
    assert started.continued_execution_run_id == h.result_run_id
    closed = to_temporal(first_events).events[-1].workflow_execution_completed_event_attributes
    assert closed.new_execution_run_id == nxt


def test_upsert_and_start_search_attributes_in_temporal_form() -> None:
    started = Event(
        1,
        E.WORKFLOW_EXECUTION_STARTED,
        1.0,
        {
            "workflow_type": "UpsertWf", "workflow_id": "u", "run_id": "r", "input": [],
            "attempt": 1, "parent": None, "continued_run_id": None, "first_run_id": "r",
            "execution_timeout": None, "run_timeout": None, "execution_deadline": None,
            "memo": {}, "retry_policy": None, "seed": 1, "task_queue": "billing",
            "search_attributes": {"Tier": {"type": "Keyword", "value": "gold"}},
        },
    )  # fmt: skip
    upsert = Event(
        2,
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        1.0,
        {"search_attributes": {"Tier": {"type": "Keyword", "value": None},
                               "Tags": {"type": "KeywordList", "value": ["a"]}}},
    )  # fmt: skip
    history = to_temporal([started, upsert])
    s = history.events[0].workflow_execution_started_event_attributes
    assert s.task_queue.name == "billing"
    tier = s.search_attributes.indexed_fields["Tier"]
    assert (dict(tier.metadata), tier.data) == (
        {"encoding": b"json/plain", "type": b"Keyword"}, b'"gold"'
    )  # fmt: skip
    [u] = [
        e
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    fields = u.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    assert dict(fields["Tier"].metadata) == {"encoding": b"binary/null"}  # an unset, as temporalio
    assert fields["Tags"].metadata["type"] == b"KeywordList"
    assert from_temporal(history) == [started, upsert]


def test_other_markers_and_unknown_child_causes_round_trip() -> None:
    h = h_child_start_failed()
    h.events[2].attributes["cause"] = "WORKFLOW_TYPE_NOT_REGISTERED"  # no Temporal equivalent
    h.events.insert(
        2,
        Event(
            3,
            E.MARKER_RECORDED,
            h.events[1].timestamp,
            {"marker_name": "side_effect", "details": {"data": [p(1), p("x")]}},
        ),
    )
    h.events = [
        Event(i + 1, e.event_type, e.timestamp, e.attributes) for i, e in enumerate(h.events)
    ]
    h.events[3].attributes["initiated_event_id"] = 2
    history = to_temporal(h.events)
    failed = next(
        e.start_child_workflow_execution_failed_event_attributes
        for e in history.events
        if e.HasField("start_child_workflow_execution_failed_event_attributes")
    )
    assert failed.cause == 0
    assert failed.control == "WORKFLOW_TYPE_NOT_REGISTERED"
    assert from_temporal(history) == h.events


@fc_workflow.defn
class FirstSight:
    """Records which signals its run method saw at its first step."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @fc_workflow.run
    async def run(self) -> list[str]:
        seen = list(self.got)
        await fc_workflow.wait_condition(lambda: "done" in self.got)
        return seen

    @fc_workflow.signal
    def s(self, x: str) -> None:
        self.got.append(x)


async def test_signals_during_a_start_delay_arrive_with_the_first_task() -> None:
    """As on Temporal: the first workflow task after a start delay carries the signals that
    came meanwhile; the history round-trips and Temporal's Replayer accepts it."""
    async with Engine(workflows=[FirstSight]) as engine:
        h = await engine.start_workflow(FirstSight.run, id="fs", start_delay=timedelta(hours=1))
        await h.signal(FirstSight.s, "a")
        await h.signal(FirstSight.s, "b")
        await engine.start_workflow(
            FirstSight.run, id="fs", start_signal="s", start_signal_args=["c"]
        )  # a signal-with-start: the delay ends
        await h.signal(FirstSight.s, "done")
        assert await h.result() == ["a", "b", "c"]
        events = await h.fetch_history()
    kinds = [e.event_type for e in events]
    assert kinds.count(E.WORKFLOW_TASK_RETRIED) == 1  # one activation: start and signals
    assert from_temporal(to_temporal(events)) == events
    history = to_temporal(events, workflow_id="fs")
    assert _types(history)[:5] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    replayer = Replayer(
        workflows=[as_temporal_workflow(FirstSight)], workflow_runner=UnsandboxedWorkflowRunner()
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
