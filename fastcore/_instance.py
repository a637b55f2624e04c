"""One workflow run's code, state and command/event matching (the replay machine).

The engine appends an input event, calls ``activate``; the instance delivers it to the code
and runs the private loop until everything is parked. Every command the code issues either
appends a new event (live) or must match the next recorded event (replay); a mismatch raises
``NondeterminismError`` naming the event. A run rebuilt after a crash replays its whole
history and then continues live from where it was, without running activities again.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._converter import DataConverter, Payload
from ._definitions import ActivityDefinition, HandlerDefinition, WorkflowDefinition
from ._failure import from_failure, to_failure
from ._loop import WorkflowLoop
from .common import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    WorkflowIDReusePolicy,
)
from .errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    InvalidArgumentError,
    NondeterminismError,
    RetryState,
    WorkflowAlreadyStartedError,
)
from .history import COMMAND_EVENTS, Event, EventType
from .workflow import ContinueAsNewError, Info, ParentInfo

if TYPE_CHECKING:
    from ._store import RunRecord

__all__ = ["WorkflowInstance"]

E = EventType
_PATCH_MARKER = "core_patch"
_DEFAULT_ACTIVITY_RETRY = RetryPolicy().to_dict()


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future[Any], err: BaseException) -> None:
    if not fut.done():
        fut.set_exception(err)


_FAILURE_ONLY: tuple[type[BaseException], ...] = (FailureError,)


class _Abort(BaseException):
    """Unwinds workflow code after a nondeterminism; not catchable by ``except Exception``."""


def _seconds(td: timedelta | None) -> float | None:
    return td.total_seconds() if td is not None else None


def is_cancellation(err: BaseException) -> bool:
    """Temporal's ``is_cancelled_exception``: a cancellation, or a failure caused by one."""
    if isinstance(err, asyncio.CancelledError | CancelledError):
        return True
    return isinstance(err, ActivityError | ChildWorkflowError) and isinstance(
        err.__cause__, CancelledError
    )


class _ActivityFuture(asyncio.Future):  # type: ignore[type-arg]
    """An activity's handle: awaitable; ``cancel()`` requests cancellation as temporalio does."""

    def __init__(
        self,
        instance: WorkflowInstance,
        seq: int,
        defn_name: str,
        activity_id: str,
        cancellation_type: ActivityCancellationType,
        hint: Any,
    ) -> None:
        super().__init__(loop=instance.loop)
        self._instance = instance
        self._seq = seq
        self.activity_type = defn_name
        self.activity_id = activity_id
        self._cancellation_type = cancellation_type
        self._hint = hint
        self._cancel_requested = False

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        if not self._cancel_requested:
            self._cancel_requested = True
            self._instance.request_cancel_activity(self)
        # The future stays pending until the cancellation resolves it (immediately for
        # TRY_CANCEL/ABANDON): the awaiting task sees ActivityError(CancelledError).
        return True


class _ChildHandle(asyncio.Future):  # type: ignore[type-arg]
    """A started child workflow: await it for the result; ``cancel()`` asks it to cancel."""

    def __init__(
        self,
        instance: WorkflowInstance,
        seq: int,
        workflow_id: str,
        workflow_type: str,
        cancellation_type: ChildWorkflowCancellationType,
        hint: Any,
    ) -> None:
        super().__init__(loop=instance.loop)
        self._instance = instance
        self._seq = seq
        self.id = workflow_id
        self.run_id: str | None = None
        self.first_execution_run_id: str | None = None
        self.workflow_type = workflow_type
        self._cancellation_type = cancellation_type
        self._hint = hint
        self._cancel_requested = False
        self._started = False

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        if not self._cancel_requested:
            self._cancel_requested = True
            self._instance.request_cancel_child(self)
        return True


class WorkflowInstance:
    """The live state of one workflow run and the runtime its code calls into."""

    __slots__ = (
        "_activities",
        "_activity_seq",
        "_children",
        "_conditions",
        "_failure_types",
        "_info",
        "_now",
        "_patches",
        "_random",
        "_read_only",
        "_running_handlers",
        "_started_attrs",
        "_timer_counter",
        "_timers",
        "blocked",
        "cancel_requested",
        "closed",
        "converter",
        "cursor",
        "deferred",
        "defn",
        "engine",
        "history",
        "loop",
        "main_task",
        "nondeterminism",
        "obj",
        "replay_end",
        "run",
        "task_failure",
    )

    def __init__(
        self,
        *,
        engine: Any,
        run: RunRecord,
        defn: WorkflowDefinition,
        converter: DataConverter,
    ) -> None:
        self.engine = engine
        self.run = run
        self.history = run.history
        self.defn = defn
        self.converter = converter
        self.loop = WorkflowLoop(self)  # type: ignore[abstract]
        self.cursor = 0  # index of the next history event to process or match
        self.replay_end = 0  # events below this index were recorded before this instance
        self.obj: Any = None
        self.main_task: asyncio.Task[Any] | None = None
        self.closed = False
        self.cancel_requested = False
        self.task_failure: BaseException | None = None
        self.nondeterminism: NondeterminismError | None = None
        self._now = 0.0
        self._random: _random.Random | None = None
        self._timers: dict[int, Callable[[], None]] = {}
        self._timer_counter = 0
        self._activity_seq = 0
        self._activities: dict[int, _ActivityFuture] = {}
        self._children: dict[int, tuple[asyncio.Future[Any], _ChildHandle]] = {}
        self._conditions: list[tuple[asyncio.Future[Any], Callable[[], bool]]] = []
        self._patches: dict[str, bool] = {}
        self._running_handlers = 0
        self._info: Info | None = None
        self._started_attrs: dict[str, Any] = {}
        self._read_only = False
        self.blocked = False
        self.deferred: list[Event] = []
        self._failure_types: tuple[type[BaseException], ...] = (
            (FailureError, *defn.failure_exception_types, *engine.failure_exception_types)
            if defn.failure_exception_types or engine.failure_exception_types
            else _FAILURE_ONLY
        )

    def dispose(self) -> None:
        """Drop the code's state once the run is closed (keeps memory and GC work small)."""
        self.closed = True
        self._activities.clear()
        self._timers.clear()
        self._children.clear()
        self._conditions.clear()
        self.main_task = None
        self.loop._ready.clear()

    # ------------------------------------------------------------------ runtime API

    def is_replaying(self) -> bool:
        return self.replay_end > 0

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    def random(self) -> _random.Random:
        if self._random is None:
            self._random = _random.Random(self._started_attrs.get("seed", 0))
        return self._random

    def info(self) -> Info:
        if self._info is None:
            self._info = self._make_info()
        return self._info

    def _make_info(self) -> Info:
        a = self._started_attrs
        parent = a.get("parent")
        run = self.run
        started = self.history[0].timestamp if self.history else self._now
        return Info(
            workflow_id=run.workflow_id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            attempt=int(a.get("attempt") or 1),
            namespace="default",
            task_queue="fastcore",
            start_time=datetime.fromtimestamp(started, UTC),
            run_timeout=timedelta(seconds=a["run_timeout"]) if a.get("run_timeout") else None,
            execution_timeout=(
                timedelta(seconds=a["execution_timeout"]) if a.get("execution_timeout") else None
            ),
            parent=(
                ParentInfo("default", parent["workflow_id"], parent["run_id"]) if parent else None
            ),
            continued_run_id=a.get("continued_run_id"),
            first_execution_run_id=a.get("first_run_id") or run.run_id,
            retry_policy=(
                RetryPolicy.from_dict(a["retry_policy"]) if a.get("retry_policy") else None
            ),
            _history_length=lambda: self.cursor,
        )

    def memo(self) -> Mapping[str, Any]:
        memo = self._started_attrs.get("memo") or {}
        return {k: self.converter.decode_one(v) for k, v in memo.items()}

    def instance(self) -> Any:
        return self.obj

    def all_handlers_finished(self) -> bool:
        return self._running_handlers == 0

    # ------------------------------------------------------------------ commands

    def _command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event:
        """Issue a command: append its event (live) or match the recorded one (replay)."""
        if self._read_only:
            raise RuntimeError("queries and update validators must not change workflow state")
        if self.closed:
            raise RuntimeError("the workflow has already completed")
        history = self.history
        while self.cursor < len(history):
            recorded = history[self.cursor]
            if recorded.event_type is etype and (not what or self._same(recorded, what, attrs)):
                self.cursor += 1
                return recorded
            if (
                recorded.event_type is E.MARKER_RECORDED
                and recorded.attributes.get("marker_name") == _PATCH_MARKER
                and recorded.attributes.get("details", {}).get("deprecated")
            ):
                # a deprecated patch whose call was removed from the code: skip it
                self.cursor += 1
                continue
            self._nondeterministic(recorded, etype, attrs)
        if self.replay_end:
            # replaying a recorded activation: it issued no more commands than this
            self._nondeterministic(None, etype, attrs)
        ev = Event(len(history) + 1, etype, self.engine.clock_now(), attrs)
        history.append(ev)
        self.cursor = len(history)
        return ev

    def _same(self, recorded: Event, what: str, attrs: dict[str, Any]) -> bool:
        return bool(recorded.attributes.get(what) == attrs.get(what))

    def _describe(self, etype: EventType, attrs: dict[str, Any]) -> str:
        detail = attrs.get("activity_type") or attrs.get("workflow_type") or ""
        if etype is E.MARKER_RECORDED:
            detail = attrs.get("details", {}).get("patch_id", "")
        return f"{etype.value}({detail})" if detail else etype.value

    def _nondeterministic(
        self, recorded: Event | None, etype: EventType | None, attrs: dict[str, Any] | None
    ) -> None:
        expected = (
            self._describe(recorded.event_type, recorded.attributes) if recorded else "nothing"
        )
        found = self._describe(etype, attrs or {}) if etype is not None else "nothing"
        index = recorded.event_id if recorded else len(self.history) + 1
        err = NondeterminismError(
            f"Nondeterminism in workflow {self.run.workflow_type!r} (id {self.run.workflow_id!r}) "
            f"at event {index}: history has {expected}, the code issued {found}",
            workflow_id=self.run.workflow_id,
            workflow_type=self.run.workflow_type,
            event_index=index,
            expected=expected,
            found=found,
        )
        self.nondeterminism = err
        raise _Abort()

    # ------------------------------------------------------------------ activities

    def _resolve_activity(self, activity: Any) -> tuple[str, ActivityDefinition | None]:
        if isinstance(activity, str):
            name = activity
            defn = self.engine.activity_definition(name)
        else:
            defn = ActivityDefinition.from_fn(activity)
            if defn.name is None:
                raise InvalidArgumentError("a dynamic activity must be called by name")
            name = defn.name
            registered = self.engine.activity_definition(name)
            if registered is not None or self.engine.strict_registry:
                defn = registered
        if defn is None and self.engine.strict_registry:
            raise InvalidArgumentError(
                f"activity {name!r} is not registered with this engine; pass it in "
                "Engine(activities=[...])"
            )
        return name, defn

    def start_activity(
        self,
        activity: Any,
        args: Sequence[Any],
        *,
        activity_id: str | None,
        result_type: type | None,
        schedule_to_close_timeout: timedelta | None,
        schedule_to_start_timeout: timedelta | None,
        start_to_close_timeout: timedelta | None,
        heartbeat_timeout: timedelta | None,
        retry_policy: RetryPolicy | None,
        cancellation_type: ActivityCancellationType,
    ) -> _ActivityFuture:
        if start_to_close_timeout is None and schedule_to_close_timeout is None:
            raise ValueError(
                "Activity must have start_to_close_timeout or schedule_to_close_timeout"
            )
        name, defn = self._resolve_activity(activity)
        if defn is not None and not defn.dynamic:
            defn.checker.check(f"activity {name!r}", args)
        payloads = self.converter.encode(args) if args else []
        self._activity_seq += 1  # Temporal numbers activities 1, 2, 3... per run
        ev = self._command(
            E.ACTIVITY_TASK_SCHEDULED,
            {
                "activity_id": activity_id or str(self._activity_seq),
                "activity_type": name,
                "input": payloads,
                "start_to_close_timeout": _seconds(start_to_close_timeout),
                "schedule_to_close_timeout": _seconds(schedule_to_close_timeout),
                "schedule_to_start_timeout": _seconds(schedule_to_start_timeout),
                "heartbeat_timeout": _seconds(heartbeat_timeout),
                "retry_policy": (
                    retry_policy.to_dict() if retry_policy is not None else _DEFAULT_ACTIVITY_RETRY
                ),
                "cancellation_type": int(cancellation_type),
            },
            "activity_type",
        )
        hint = result_type if result_type is not None else (defn.ret_hint if defn else None)
        fut = _ActivityFuture(
            self, ev.event_id, name, ev.attributes["activity_id"], cancellation_type, hint
        )
        self._activities[ev.event_id] = fut
        return fut

    async def execute_activity(self, activity: Any, args: Sequence[Any], **kw: Any) -> Any:
        return await self.start_activity(activity, args, **kw)

    def request_cancel_activity(self, fut: _ActivityFuture) -> None:
        if fut._cancellation_type != ActivityCancellationType.ABANDON:
            self._command(E.ACTIVITY_TASK_CANCEL_REQUESTED, {"scheduled_event_id": fut._seq})
        if fut._cancellation_type != ActivityCancellationType.WAIT_CANCELLATION_COMPLETED:
            self._activities.pop(fut._seq, None)
            fut.set_exception(self._activity_cancelled(fut))

    def _activity_cancelled(self, fut: _ActivityFuture) -> ActivityError:
        err = ActivityError(
            "Activity cancelled",
            scheduled_event_id=fut._seq,
            activity_type=fut.activity_type,
            activity_id=fut.activity_id,
            retry_state=RetryState.CANCEL_REQUESTED,
        )
        err.__cause__ = CancelledError("Activity cancelled")
        return err

    # ------------------------------------------------------------------ timers

    def start_timer(self, seconds: float, callback: Callable[[], None]) -> int:
        self._timer_counter += 1
        ev = self._command(
            E.TIMER_STARTED,
            {
                "timer_id": str(self._timer_counter),
                "start_to_fire_timeout": seconds,
                "fire_at": self._now + seconds,
            },
        )
        self._timers[ev.event_id] = callback
        return ev.event_id

    def cancel_timer(self, seq: int) -> None:
        if self._timers.pop(seq, None) is not None and not self.closed:
            timer_id = self.history[seq - 1].attributes.get("timer_id")
            self._command(E.TIMER_CANCELED, {"timer_id": timer_id, "started_event_id": seq})

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        fut = self.loop.create_future()
        seq = self.start_timer(seconds, lambda: _resolve(fut, None))
        try:
            await fut
        except asyncio.CancelledError:
            self.cancel_timer(seq)
            raise

    async def wait_condition(self, fn: Callable[[], bool], timeout: float | None) -> None:
        if fn():
            return
        fut = self.loop.create_future()
        self._conditions.append((fut, fn))
        if timeout is None:
            await fut
            return
        seq = self.start_timer(
            timeout,
            lambda: _fail(fut, TimeoutError("wait_condition timed out")),
        )
        try:
            await fut
        finally:
            if seq in self._timers:
                self.cancel_timer(seq)

    def _check_conditions(self) -> bool:
        progressed = False
        for item in list(self._conditions):
            fut, fn = item
            if fut.done():
                self._conditions.remove(item)
                continue
            try:
                ok = fn()
            except BaseException as err:
                self._conditions.remove(item)
                fut.set_exception(err)
                progressed = True
                continue
            if ok:
                self._conditions.remove(item)
                fut.set_result(None)
                progressed = True
        return progressed

    # ------------------------------------------------------------------ patches

    def patched(self, patch_id: str, *, deprecated: bool) -> bool:
        memo = self._patches.get(patch_id)
        if memo is not None:
            return memo
        if self.cursor < len(self.history):
            # Replaying: the new branch only if the recorded history has this marker here.
            recorded = self.history[self.cursor]
            if (
                recorded.event_type is E.MARKER_RECORDED
                and recorded.attributes.get("marker_name") == _PATCH_MARKER
                and recorded.attributes.get("details", {}).get("patch_id") == patch_id
            ):
                self.cursor += 1
                self._patches[patch_id] = True
                return True
            if not deprecated:
                self._patches[patch_id] = False
                return False
            self._patches[patch_id] = True
            return True
        self._command(
            E.MARKER_RECORDED,
            {
                "marker_name": _PATCH_MARKER,
                "details": {"patch_id": patch_id, "deprecated": deprecated},
            },
        )
        self._patches[patch_id] = True
        return True

    # ------------------------------------------------------------------ children

    async def start_child_workflow(
        self,
        workflow: Any,
        args: Sequence[Any],
        *,
        id: str | None,
        result_type: type | None,
        cancellation_type: ChildWorkflowCancellationType,
        parent_close_policy: ParentClosePolicy,
        execution_timeout: timedelta | None,
        run_timeout: timedelta | None,
        id_reuse_policy: WorkflowIDReusePolicy,
        retry_policy: RetryPolicy | None,
        memo: Mapping[str, Any] | None,
    ) -> _ChildHandle:
        del id_reuse_policy
        defn = self.engine.workflow_definition(workflow)
        if defn is not None and not defn.dynamic:
            defn.run_checker.check(f"workflow {defn.name!r}", args)
        wf_type = defn.name if defn is not None and defn.name else str(workflow)
        child_id = id if id is not None else str(self.uuid4())
        ev = self._command(
            E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": child_id,
                "workflow_type": wf_type,
                "input": self.converter.encode(args) if args else [],
                "parent_close_policy": int(parent_close_policy),
                "execution_timeout": _seconds(execution_timeout),
                "run_timeout": _seconds(run_timeout),
                "retry_policy": retry_policy.to_dict() if retry_policy else None,
                "cancellation_type": int(cancellation_type),
                "memo": {k: self.converter.encode_one(v) for k, v in (memo or {}).items()},
            },
            "workflow_type",
        )
        hint = result_type if result_type is not None else (defn.run_ret_hint if defn else None)
        handle = _ChildHandle(self, ev.event_id, child_id, wf_type, cancellation_type, hint)
        started: asyncio.Future[Any] = self.loop.create_future()
        self._children[ev.event_id] = (started, handle)
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            handle.cancel()
            raise
        return handle

    def uuid4(self) -> Any:
        import uuid

        return uuid.UUID(int=self.random().getrandbits(128), version=4)

    def request_cancel_child(self, handle: _ChildHandle) -> None:
        if handle._cancellation_type == ChildWorkflowCancellationType.ABANDON:
            self._resolve_child_cancelled(handle)
            return
        self._command(
            E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": handle.id,
                "child_workflow_only": True,
                "initiated_event_id": handle._seq,
            },
        )
        if handle._cancellation_type in (
            ChildWorkflowCancellationType.TRY_CANCEL,
            ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED,
        ):
            self._resolve_child_cancelled(handle)

    def _resolve_child_cancelled(self, handle: _ChildHandle) -> None:
        if handle.done():
            return
        started, _ = self._children.get(handle._seq, (None, None))
        err = self._child_error(handle, RetryState.CANCEL_REQUESTED)
        err.__cause__ = CancelledError("Child workflow cancelled")
        handle.set_exception(err)
        if started is not None and not started.done():
            started.set_exception(err)

    def _child_error(
        self, handle: _ChildHandle, retry_state: RetryState | None
    ) -> ChildWorkflowError:
        return ChildWorkflowError(
            "Child Workflow execution failed",
            workflow_id=handle.id,
            run_id=handle.run_id or "",
            workflow_type=handle.workflow_type,
            initiated_event_id=handle._seq,
            retry_state=retry_state,
        )

    # ------------------------------------------------------------------ activation

    def activate(self, event: Event, after: int | None = None) -> None:
        """Deliver one input event (already in ``history``) and run the code until parked.

        ``after`` is the id of the event the commands follow (the input itself, or the
        ``WORKFLOW_TASK_RETRIED`` marker that re-delivers it).
        """
        marker = self.history[after - 1] if after is not None else event
        self.cursor = marker.event_id  # the next event to match is the one after it
        self._now = marker.timestamp
        try:
            self._deliver(event)
            self._run()
        except _Abort:
            pass

    def _run(self) -> None:
        loop = self.loop
        while True:
            loop.run_once()
            if loop.errors:
                err = loop.errors.pop(0)
                loop.errors.clear()
                if isinstance(err, _Abort):
                    return
                self._fail_task(err)
                return
            if self.nondeterminism is not None or self.task_failure is not None:
                return
            if not self._conditions or not self._check_conditions():
                return

    def _fail_task(self, err: BaseException) -> None:
        if isinstance(err, NondeterminismError):
            self.nondeterminism = err
        elif self.task_failure is None:
            self.task_failure = err

    def _deliver(self, event: Event) -> None:
        et = event.event_type
        a = event.attributes
        if et is E.WORKFLOW_EXECUTION_STARTED:
            self._start(event)
        elif et is E.ACTIVITY_TASK_COMPLETED:
            fut = self._activities.pop(a["scheduled_event_id"], None)
            if fut is not None and not fut.done():
                fut.set_result(
                    self.converter.decode_one(a["result"], fut._hint)
                    if a.get("result") is not None
                    else None
                )
        elif et is E.ACTIVITY_TASK_FAILED or et is E.ACTIVITY_TASK_TIMED_OUT:
            fut = self._activities.pop(a["scheduled_event_id"], None)
            if fut is not None and not fut.done():
                err = ActivityError(
                    "Activity task failed"
                    if et is E.ACTIVITY_TASK_FAILED
                    else "Activity task timed out",
                    scheduled_event_id=fut._seq,
                    activity_type=fut.activity_type,
                    activity_id=fut.activity_id,
                    retry_state=RetryState(
                        a.get("retry_state") or RetryState.NON_RETRYABLE_FAILURE
                    ),
                )
                err.__cause__ = from_failure(a["failure"], self.converter)
                fut.set_exception(err)
        elif et is E.ACTIVITY_TASK_CANCELED:
            fut = self._activities.pop(a["scheduled_event_id"], None)
            if fut is not None and not fut.done():
                fut.set_exception(self._activity_cancelled(fut))
        elif et is E.TIMER_FIRED:
            cb = self._timers.pop(a["started_event_id"], None)
            if cb is not None:
                cb()
        elif et is E.WORKFLOW_EXECUTION_SIGNALED:
            self._signal(a["signal_name"], a.get("input") or [])
        elif et is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            self._accept_update(a["update_id"], a["name"], a.get("input") or [], event.event_id)
        elif et is E.WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            self.cancel_requested = True
            if self.main_task is not None and not self.main_task.done():
                self.main_task.cancel()
        elif et is E.CHILD_WORKFLOW_EXECUTION_STARTED:
            entry = self._children.get(a["initiated_event_id"])
            if entry is not None:
                started, handle = entry
                handle.run_id = a.get("run_id")
                handle.first_execution_run_id = a.get("run_id")
                handle._started = True
                if not started.done():
                    started.set_result(handle)
        elif et is E.START_CHILD_WORKFLOW_EXECUTION_FAILED:
            entry = self._children.pop(a["initiated_event_id"], None)
            if entry is not None:
                started, handle = entry
                if not started.done():
                    started.set_exception(
                        WorkflowAlreadyStartedError(
                            a.get("workflow_id", ""), a.get("workflow_type", "")
                        )
                    )
                if not handle.done():
                    handle.cancel = lambda msg=None: False  # type: ignore[method-assign]
        elif et in _CHILD_CLOSE:
            entry = self._children.pop(a["initiated_event_id"], None)
            if entry is None:
                return
            started, handle = entry
            if handle.done():
                return
            if et is E.CHILD_WORKFLOW_EXECUTION_COMPLETED:
                r = a.get("result")
                handle.set_result(
                    self.converter.decode_one(r, handle._hint) if r is not None else None
                )
            else:
                cerr = self._child_error(
                    handle, RetryState(a["retry_state"]) if a.get("retry_state") else None
                )
                if et is E.CHILD_WORKFLOW_EXECUTION_FAILED:
                    cerr.__cause__ = from_failure(a["failure"], self.converter)
                elif et is E.CHILD_WORKFLOW_EXECUTION_CANCELED:
                    cerr.__cause__ = CancelledError("Child workflow cancelled")
                elif et is E.CHILD_WORKFLOW_EXECUTION_TERMINATED:
                    from .errors import TerminatedError

                    cerr.__cause__ = TerminatedError("Child workflow terminated")
                else:
                    from .errors import TimeoutError as FcTimeoutError
                    from .errors import TimeoutType

                    cerr.__cause__ = FcTimeoutError(
                        "Child workflow timed out", type=TimeoutType.START_TO_CLOSE
                    )
                handle.set_exception(cerr)
                if not started.done():
                    started.set_exception(cerr)

    # ------------------------------------------------------------------ start & main

    def _start(self, event: Event) -> None:
        a = event.attributes
        self._started_attrs = a
        defn = self.defn
        if defn.dynamic:
            args: list[Any] = [self.converter.decode(a.get("input") or [])]
        else:
            args = self.converter.decode(a.get("input") or [], defn.run_arg_hints)
        token = self.loop.enter()
        try:
            if defn.init_takes_args:
                self.obj = defn.cls(*args)
            else:
                self.obj = defn.cls()
        finally:
            self.loop.leave(token)
        # Signals sent with the start are handled before the run method begins.
        i = event.event_id
        while i < len(self.history):
            nxt = self.history[i]
            if nxt.event_type is E.WORKFLOW_EXECUTION_SIGNALED and nxt.attributes.get("with_start"):
                self._signal(nxt.attributes["signal_name"], nxt.attributes.get("input") or [])
                i += 1
                if self.cursor < i:
                    self.cursor = i
            else:
                break
        self.main_task = self.loop.create_task(self._main(args))

    async def _main(self, args: list[Any]) -> None:
        defn = self.defn
        try:
            if defn.dynamic:
                result = await defn.run_fn(self.obj, *args)
            else:
                result = await defn.run_fn(self.obj, *args)
        except ContinueAsNewError as can:
            self._close(
                E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
                {
                    "new_execution_run_id": str(self.uuid4()),
                    "workflow_type": can.workflow or self.run.workflow_type,
                    "input": self.converter.encode(can.input_args),
                },
            )
        except _Abort:
            raise
        except asyncio.CancelledError as err:
            if self.cancel_requested:
                self._close(E.WORKFLOW_EXECUTION_CANCELED, {"details": []})
            else:
                self._fail_task(err)
        except BaseException as err:
            if isinstance(err, self._failure_types):
                if self.cancel_requested and is_cancellation(err):
                    self._close(E.WORKFLOW_EXECUTION_CANCELED, {"details": []})
                else:
                    self._close(
                        E.WORKFLOW_EXECUTION_FAILED, {"failure": to_failure(err, self.converter)}
                    )
            else:
                self._fail_task(err)
        else:
            self._close(
                E.WORKFLOW_EXECUTION_COMPLETED, {"result": self.converter.encode_one(result)}
            )

    def _close(self, etype: EventType, attrs: dict[str, Any]) -> None:
        self._command(etype, attrs)
        self.closed = True

    # ------------------------------------------------------------------ signals, updates

    def _handler_args(
        self, h: HandlerDefinition, name: str, payloads: Sequence[Payload]
    ) -> list[Any]:
        if h.dynamic:
            return [name, self.converter.decode(payloads)]
        return self.converter.decode(payloads, h.arg_hints)

    def _signal(self, name: str, payloads: Sequence[Payload]) -> None:
        h = self.defn.handler("signal", name)
        if h is None:
            return
        args = self._handler_args(h, name, payloads)
        if h.is_async:
            self._running_handlers += 1
            self.loop.create_task(self._run_async_signal(h, args))
        else:
            self.loop.call_soon(self._run_sync_signal, h, args)

    def _run_sync_signal(self, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            h.fn(self.obj, *args)
        except BaseException as err:
            self._handler_failed(err)

    async def _run_async_signal(self, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            await h.fn(self.obj, *args)
        except asyncio.CancelledError:
            pass
        except BaseException as err:
            self._handler_failed(err)
        finally:
            self._running_handlers -= 1

    def _handler_failed(self, err: BaseException) -> None:
        if isinstance(err, _Abort):
            raise err
        if isinstance(err, self._failure_types):
            if not self.closed:
                self._close(
                    E.WORKFLOW_EXECUTION_FAILED, {"failure": to_failure(err, self.converter)}
                )
                if self.main_task is not None and not self.main_task.done():
                    self.main_task.cancel()
        else:
            self._fail_task(err)

    def validate_update(self, name: str, args: Sequence[Any]) -> None:
        """Run the update's validator read-only; raises what it raises."""
        h = self.defn.handler("update", name)
        if h is None or h.validator is None:
            return
        token = self.loop.enter()
        self._read_only = True
        try:
            if h.dynamic:
                h.validator(self.obj, name, list(args))
            else:
                h.validator(self.obj, *args)
        finally:
            self._read_only = False
            self.loop.leave(token)

    def _accept_update(
        self, update_id: str, name: str, payloads: Sequence[Payload], accepted_id: int
    ) -> None:
        h = self.defn.handler("update", name)
        if h is None:
            return
        args = self._handler_args(h, name, payloads)
        self._running_handlers += 1
        self.loop.create_task(self._run_update(h, update_id, accepted_id, args))

    async def _run_update(
        self, h: HandlerDefinition, update_id: str, accepted_id: int, args: list[Any]
    ) -> None:
        try:
            if h.is_async:
                result = await h.fn(self.obj, *args)
            else:
                result = h.fn(self.obj, *args)
        except _Abort:
            raise
        except asyncio.CancelledError as err:
            self._update_done(
                update_id, accepted_id, None, CancelledError("Update cancelled") if err else None
            )
        except BaseException as err:
            if isinstance(err, self._failure_types):
                self._update_done(update_id, accepted_id, None, err)
            else:
                self._fail_task(err)
        else:
            self._update_done(update_id, accepted_id, result, None)
        finally:
            self._running_handlers -= 1

    def _update_done(
        self, update_id: str, accepted_id: int, result: Any, err: BaseException | None
    ) -> None:
        if self.closed:
            return
        self._command(
            E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            {
                "update_id": update_id,
                "accepted_event_id": accepted_id,
                "result": self.converter.encode_one(result) if err is None else None,
                "failure": to_failure(err, self.converter) if err is not None else None,
            },
        )

    def query(self, name: str, args: Sequence[Any]) -> Any:
        """Answer a query from the current state, read-only."""
        h = self.defn.handler("query", name)
        if h is None:
            raise InvalidArgumentError(f"workflow {self.run.workflow_type!r} has no query {name!r}")
        token = self.loop.enter()
        self._read_only = True
        try:
            if h.dynamic:
                return h.fn(self.obj, name, list(args))
            return h.fn(self.obj, *args)
        finally:
            self._read_only = False
            self.loop.leave(token)

    # ------------------------------------------------------------------ replay

    def replay(self) -> list[Event]:
        """Re-run the code against the whole recorded history.

        Returns the inputs that were held back by a failed workflow task and never
        re-delivered; the engine re-delivers them live. Sets ``nondeterminism`` or
        ``task_failure`` when the code no longer fits.
        """
        history = self.history
        n = len(history)
        self.replay_end = n
        deferred: list[Event] = []
        blocked = False
        i = 0
        try:
            while i < n and self.nondeterminism is None and self.task_failure is None:
                ev = history[i]
                et = ev.event_type
                if et in COMMAND_EVENTS:
                    self._skip_or_fail(ev)
                    i = self.cursor
                    continue
                if et is E.WORKFLOW_TASK_FAILED:
                    blocked = True
                    i += 1
                    continue
                if et is E.WORKFLOW_TASK_RETRIED:
                    if i + 1 < n and history[i + 1].event_type is E.WORKFLOW_TASK_FAILED:
                        i += 2  # the retry failed too: still held back
                        continue
                    target = ev.attributes["input_event_id"]
                    if not deferred or deferred[0].event_id != target:
                        self._nondeterministic(ev, None, None)
                    x = deferred.pop(0)
                    blocked = bool(deferred)
                    self.activate(x, after=ev.event_id)
                    i = self.cursor
                    continue
                if et in (E.WORKFLOW_EXECUTION_TERMINATED, E.WORKFLOW_EXECUTION_TIMED_OUT):
                    self.closed = True
                    self.cursor = i + 1
                    break
                # an input
                j = i + 1
                if et is E.WORKFLOW_EXECUTION_STARTED:
                    while (
                        j < n
                        and history[j].event_type is E.WORKFLOW_EXECUTION_SIGNALED
                        and history[j].attributes.get("with_start")
                    ):
                        j += 1
                if blocked or (j < n and history[j].event_type is E.WORKFLOW_TASK_FAILED):
                    deferred.append(ev)
                    blocked = True
                    i = j
                    continue
                self.activate(ev)
                i = self.cursor
        except _Abort:
            pass
        self.replay_end = 0
        return deferred

    def _skip_or_fail(self, ev: Event) -> None:
        if (
            ev.event_type is E.MARKER_RECORDED
            and ev.attributes.get("marker_name") == _PATCH_MARKER
            and ev.attributes.get("details", {}).get("deprecated")
        ):
            self.cursor = ev.event_id
            return
        if self.closed and ev.event_type is E.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            self.cursor = ev.event_id
            return
        try:
            self._nondeterministic(ev, None, None)
        except _Abort:
            self.cursor = ev.event_id
            raise


_CHILD_CLOSE = frozenset(
    {
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.CHILD_WORKFLOW_EXECUTION_FAILED,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    }
)

_ = ApplicationError
