"""What workflow code asks of its run: activities, timers, conditions, patches, children.

``Commands`` is the runtime ``fastcore.workflow`` calls (the workflow loop points to it), so
it also answers the read-only questions (time, info, random, memo). It owns what the code
waits on (activity futures, timers, conditions, child handles) and resolves them when their
outcome is delivered; every command goes through the run's ``command`` (append live, match on
replay), which ``WorkflowInstance`` provides.
"""

from __future__ import annotations

import asyncio
import random as _random
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ._converter import DataConverter
from ._definitions import ActivityDefinition, HandlerDefinition
from ._environment import WorkflowEnvironment
from ._event_types import (
    ET_ACTIVITY_TASK_CANCEL_REQUESTED,
    ET_ACTIVITY_TASK_FAILED,
    ET_ACTIVITY_TASK_SCHEDULED,
    ET_MARKER_RECORDED,
    ET_TIMER_CANCELED,
    ET_TIMER_STARTED,
    ET_WORKFLOW_PROPERTIES_MODIFIED,
)
from ._failure import from_failure
from ._futures import (
    _ActivityFuture,
    _ChildHandle,
    _fail,
    _LocalActivityFuture,
    _resolve,
)
from ._local_activities import LOCAL_ACTIVITY_MARKER, LocalActivities
from ._loop import WorkflowLoop
from ._main_task import WakeFuture
from ._metric_meter import otel_meter
from ._other_workflows import OtherWorkflows
from ._payload import Payload
from ._run_attributes import (
    RunAttributes,
    has_last_completion_result,
    last_completion_result,
    last_failure,
)
from ._search_attributes import Encoded, decode, untyped
from ._store import DEFAULT_TASK_QUEUE, RunRecord
from ._validate import check_id, check_timeout
from .common import (
    ActivityCancellationType,
    RetryPolicy,
)
from .errors import (
    ActivityError,
    CancelledError,
    InvalidArgumentError,
    RetryState,
)
from .history import Event, EventType
from .workflow import Info, ParentInfo, RootInfo

_NO_TIME = timedelta()

if TYPE_CHECKING:
    from ._handlers import Handlers

__all__ = ["LOCAL_ACTIVITY_MARKER", "PATCH_MARKER", "CommandIssuer", "Commands"]

PATCH_MARKER = "core_patch"
_DEFAULT_ACTIVITY_RETRY = RetryPolicy().to_dict()
_NONE: dict[Any, Any] = {}  # shared and never written: replaced by a dict on first write
_SCHEDULED = ET_ACTIVITY_TASK_SCHEDULED


_EVENT_OVERHEAD = 48  # bytes an event's id, type, time and framing take, serialized


def _event_size(ev: Event) -> int:
    return _EVENT_OVERHEAD + _value_size(ev.attributes)


def _value_size(value: Any) -> int:
    if isinstance(value, Payload):
        return len(value.data) + sum(len(k) + len(v) for k, v in value.metadata.items())
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + _value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_value_size(v) for v in value)
    return 8


class CommandIssuer(Protocol):
    """The run commands belong to (``WorkflowInstance``): its history and activation state."""

    run: RunRecord
    history: list[Event]
    converter: DataConverter
    env: WorkflowEnvironment
    #: index of the next history event to process or match
    cursor: int
    #: events below this index were recorded before this instance (0: not replaying)
    replay_end: int
    #: the workflow time of the activation being processed
    now: float
    closed: bool
    obj: Any
    started_attrs: dict[str, Any]
    #: a query or an update validator runs: commands are refused
    read_only: bool
    #: what fails the workflow rather than its task
    failure_types: tuple[type[BaseException], ...]
    #: the reason of the run's cancel request (None: not asked to cancel)
    cancel_reason: str | None

    def command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event:
        """Append the command's event (live) or match the recorded one (replay)."""
        ...

    def all_handlers_finished(self) -> bool:
        """Whether no signal or update handler is still running."""
        ...

    def make_handlers(self) -> Handlers:
        """The run's handlers (made on first use)."""
        ...


class Commands:
    """The runtime workflow code calls into, and what it waits on."""

    __slots__ = (
        "_activity_seq",
        "_details",
        "_info",
        "_memo",
        "_meter",
        "_random",
        "_run",
        "_search_attributes",
        "_size",
        "_timer_counter",
        "activities",
        "conditions",
        "local",
        "loop",
        "others",
        "patches",
        "timers",
    )

    def __init__(self, run: CommandIssuer) -> None:
        self._run = run
        # (asyncio's loop ABC marks what a workflow loop never offers, I/O, as abstract)
        self.loop = WorkflowLoop(self)  # type: ignore[abstract]
        # the dicts start as one shared empty dict, replaced on first write: a run parked on
        # a signal or a condition carries none of its own
        #: activity futures by the event id that scheduled them
        self.activities: dict[int, _ActivityFuture] = _NONE
        #: timer callbacks by the event id that started them
        self.timers: dict[int, Callable[[], None]] = _NONE
        self.conditions: list[tuple[asyncio.Future[Any], Callable[[], bool]]] = []
        self.patches: dict[str, bool] = _NONE
        #: the run's local activities (made on the first one)
        self.local: LocalActivities | None = None
        #: the run's children and requests to other workflows (made on the first one)
        self.others: OtherWorkflows | None = None
        self._memo: dict[str, Any] | None = None  # the memo as upserted (made on first upsert)
        self._activity_seq = 0
        self._timer_counter = 0
        self._random: _random.Random | None = None
        self._info: Info | None = None
        #: the run's search attributes as the code has seen them so far (None: the start's)
        self._search_attributes: RunAttributes | None = None  # made on first use
        self._size = (0, 0)  # (events counted, their estimated bytes)
        self._details = ""  # ``workflow.set_current_details``
        self._meter: Any = None  # ``workflow.metric_meter()`` (made on first use)

    def detach(self) -> None:
        """Drop everything the code waits on, and the links back to the run (it closed): no
        reference cycle is left for the cyclic collector, so refcounting frees its code."""
        if self.activities:
            self.activities.clear()
        if self.timers:
            self.timers.clear()
        if self.others is not None:
            self.others.detach()
        if self.local is not None:
            self.local.pending.clear()
        if self.conditions:
            self.conditions.clear()
        loop = self.loop
        loop._ready.clear()
        del loop._fastcore_runtime
        del self._run

    # ------------------------------------------------------------------ read-only questions

    def is_replaying(self) -> bool:
        """Whether the code is re-running against recorded history."""
        return self._run.replay_end > 0

    def is_read_only(self) -> bool:
        """Whether a query or an update validator runs (``workflow.unsafe.is_read_only``)."""
        return self._run.read_only

    def time(self) -> float:
        """The workflow time of the event being processed, epoch seconds."""
        return self._run.now

    def now(self) -> datetime:
        """``time()`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self._run.now, UTC)

    def random(self) -> _random.Random:
        """A generator seeded per run (recorded at start), so replay draws the same numbers."""
        if self._random is None:
            self._random = _random.Random(self._run.started_attrs.get("seed", 0))
        return self._random

    def random_seed(self) -> int:
        """The seed ``random()`` was made from (recorded when the run started)."""
        return int(self._run.started_attrs.get("seed", 0))

    def register_random_seed_callback(self, callback: Callable[[int], None]) -> None:
        """A run's seed never changes on fastcore: there is nothing to call back."""
        del callback

    def time_ns(self) -> int:
        """``time()`` in nanoseconds."""
        return round(self._run.now * 1_000_000_000)

    def is_failure_exception(self, err: BaseException) -> bool:
        """Whether ``err`` fails the workflow (not its task), as the run classifies it."""
        return isinstance(err, self._run.failure_types)

    def cancellation_reason(self) -> str | None:
        """The reason of the run's cancel request, None before one arrived."""
        return self._run.cancel_reason

    def get_current_details(self) -> str:
        """``workflow.get_current_details``."""
        return self._details

    def set_current_details(self, description: str) -> None:
        """``workflow.set_current_details``."""
        self._details = description

    def payload_converter(self) -> Any:
        """The engine's payload converter."""
        return self._run.converter.payload_converter

    def metric_meter(self) -> Any:
        """A meter tagged with this run's namespace, task queue and workflow type, as
        temporalio tags it; it records nothing while the code replays."""
        if self._meter is None:
            info = self.info()
            self._meter = otel_meter(
                self._run.env.meter(),
                {
                    "namespace": info.namespace,
                    "task_queue": info.task_queue,
                    "workflow_type": info.workflow_type,
                },
                lambda: not self.is_replaying(),
            )
        return self._meter

    def uuid4(self) -> uuid.UUID:
        """A deterministic UUID4 drawn from ``random()``."""
        return uuid.UUID(int=self.random().getrandbits(128), version=4)

    def info(self) -> Info:
        """What the workflow knows about itself (built on first use)."""
        if self._info is None:
            self._info = self._make_info()
        return self._info

    def _make_info(self) -> Info:
        inst = self._run
        a = inst.started_attrs
        parent = a.get("parent")
        run = inst.run
        started = inst.history[0].timestamp if inst.history else inst.now
        return Info(
            workflow_id=run.workflow_id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            attempt=int(a.get("attempt") or 1),
            namespace="default",
            start_time=datetime.fromtimestamp(started, UTC),
            run_timeout=timedelta(seconds=a["run_timeout"]) if a.get("run_timeout") else None,
            execution_timeout=(
                timedelta(seconds=a["execution_timeout"]) if a.get("execution_timeout") else None
            ),
            parent=(
                ParentInfo("default", parent["workflow_id"], parent["run_id"]) if parent else None
            ),
            root=(
                RootInfo(parent["root"]["run_id"], parent["root"]["workflow_id"])
                if parent and parent.get("root")
                else None
            ),
            original_execution_run_id=run.run_id,
            workflow_start_time=datetime.fromtimestamp(started, UTC),
            raw_memo=dict(a.get("memo") or {}),
            continued_run_id=a.get("continued_run_id"),
            first_execution_run_id=a.get("first_run_id") or run.run_id,
            retry_policy=(
                RetryPolicy.from_dict(a["retry_policy"]) if a.get("retry_policy") else None
            ),
            _history_length=lambda: inst.cursor,
            cron_schedule=a.get("cron_schedule") or None,
            typed_search_attributes=decode(self.search_attributes()),
            search_attributes=untyped(self.search_attributes()),
            task_queue=a.get("task_queue") or DEFAULT_TASK_QUEUE,
            _history_size=self.history_size,
            _continue_as_new_suggested=self.continue_as_new_suggested,
        )

    def history_size(self) -> int:
        """The estimated bytes of the history so far (counted once per event)."""
        run = self._run
        counted, total = self._size
        end = run.cursor
        if end < counted:
            counted, total = 0, 0
        history = run.history
        for i in range(counted, min(end, len(history))):
            total += _event_size(history[i])
        self._size = (end, total)
        return total

    def continue_as_new_suggested(self) -> bool:
        """Whether the history passed the environment's continue-as-new thresholds."""
        env = self._run.env
        return (
            self._run.cursor >= env.continue_as_new_suggested_events
            or self.history_size() >= env.continue_as_new_suggested_bytes
        )

    # ------------------------------------------------------------------ search attributes

    def _attributes(self) -> RunAttributes:
        attrs = self._search_attributes
        if attrs is None:
            attrs = self._search_attributes = RunAttributes(self._run)
        return attrs

    def search_attributes(self) -> Encoded | None:
        """The run's search attributes at this point of its code (the JSON form)."""
        return self._attributes().current()

    def upsert_search_attributes(self, attributes: Any) -> None:
        """``workflow.upsert_search_attributes``: record the change (a command)."""
        self._attributes().upsert(attributes, self._info)

    def has_last_completion_result(self) -> bool:
        """Whether an earlier run of this cron (or retried) workflow completed."""
        return has_last_completion_result(self._run)

    def last_completion_result(self, type_hint: Any = None) -> Any:
        """The result of the latest completed earlier run, decoded (None when none)."""
        return last_completion_result(self._run, type_hint)

    def last_failure(self) -> BaseException | None:
        """The failure of the run before this one, if it failed (a retry or cron run)."""
        return last_failure(self._run)

    def memo(self) -> Mapping[str, Any]:
        """The run's memo, decoded: as started, with ``upsert_memo``'s changes."""
        memo = self._memo
        if memo is None:
            memo = self._run.started_attrs.get("memo") or {}
        return {k: self._run.converter.decode_one(v) for k, v in memo.items()}

    def upsert_memo(self, updates: Mapping[str, Any]) -> None:
        """Change the memo: set each key, remove those set to None (a command, as Temporal's)."""
        converter = self._run.converter
        encoded = {k: converter.encode_one(v) for k, v in updates.items()}
        self._run.command(ET_WORKFLOW_PROPERTIES_MODIFIED, {"upserted_memo": encoded})
        memo = self._memo
        if memo is None:
            memo = self._memo = dict(self._run.started_attrs.get("memo") or {})
        for k, v in updates.items():
            if v is None:
                memo.pop(k, None)
            else:
                memo[k] = encoded[k]
        record = self._run.run
        record.memo = dict(memo) or None  # what describe() and list rows show
        record.visibility_changed = True

    # ------------------------------------------------------------------ handlers set at run time

    def set_handler(
        self,
        kind: str,
        name: str | None,
        fn: Callable[..., Any] | None,
        validator: Callable[..., Any] | None = None,
    ) -> None:
        """``workflow.set_signal_handler`` and the like: None unsets."""
        h = None if fn is None else HandlerDefinition.of_callable(kind, name, fn, validator)
        self._run.make_handlers().set(kind, name, h)

    def get_handler(self, kind: str, name: str | None) -> Any:
        """``workflow.get_signal_handler`` and the like: the callable, or None."""
        return self._run.make_handlers().get(kind, name)

    # ------------------------------------------------------------------ other workflows

    def other_workflows(self) -> OtherWorkflows:
        """The run's children and requests to other workflows (made on first use)."""
        others = self.others
        if others is None:
            others = self.others = OtherWorkflows(self._run, self.loop, self.uuid4)
        return others

    def start_child_workflow(
        self, workflow: Any, args: Sequence[Any], **kw: Any
    ) -> Coroutine[Any, Any, _ChildHandle]:
        """Start a child workflow (see ``OtherWorkflows.start_child_workflow``)."""
        return self.other_workflows().start_child_workflow(workflow, args, **kw)

    def signal_external(
        self, workflow_id: str, run_id: str | None, signal: str, args: Sequence[Any]
    ) -> Coroutine[Any, Any, None]:
        """Signal another workflow (``ExternalWorkflowHandle.signal``)."""
        return self.other_workflows().signal_external(workflow_id, run_id, signal, args)

    def cancel_external(
        self, workflow_id: str, run_id: str | None, reason: str | None = None
    ) -> Coroutine[Any, Any, None]:
        """Ask another workflow to cancel (``ExternalWorkflowHandle.cancel``)."""
        return self.other_workflows().cancel_external(workflow_id, run_id, reason)

    # ------------------------------------------------------------------ the run

    def instance(self) -> Any:
        """The workflow object whose code runs."""
        return self._run.obj

    def all_handlers_finished(self) -> bool:
        """Whether no signal or update handler is still running."""
        return self._run.all_handlers_finished()

    # ------------------------------------------------------------------ activities

    def _resolve_activity(self, activity: Any) -> tuple[str, ActivityDefinition | None]:
        env = self._run.env
        if isinstance(activity, str):
            name = activity
            defn = env.activity_definition(name)
        else:
            defn = ActivityDefinition.from_fn(activity)
            if defn.name is None:
                raise InvalidArgumentError("a dynamic activity must be called by name")
            name = defn.name
            registered = env.activity_definition(name)
            if registered is not None or env.strict_registry:
                defn = registered
        if defn is None and env.strict_registry:
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
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> _ActivityFuture:
        """Schedule an activity; returns its awaitable, cancellable future."""
        if start_to_close_timeout is None and schedule_to_close_timeout is None:
            raise ValueError(
                "Activity must have start_to_close_timeout or schedule_to_close_timeout"
            )
        if activity_id is not None:
            check_id(activity_id, "activity_id")
        # as Temporal refuses the command (a task failure); the common values need no call
        s2c = start_to_close_timeout
        if s2c is not None and (type(s2c) is not timedelta or s2c < _NO_TIME):
            check_timeout(s2c, "start_to_close_timeout")
        if schedule_to_close_timeout is not None:
            check_timeout(schedule_to_close_timeout, "schedule_to_close_timeout")
        if schedule_to_start_timeout is not None:
            check_timeout(schedule_to_start_timeout, "schedule_to_start_timeout")
        if heartbeat_timeout is not None:
            check_timeout(heartbeat_timeout, "heartbeat_timeout")
        run = self._run
        found = run.env.activity_cache.get(activity)
        if found is None:
            name, defn = self._resolve_activity(activity)
            if defn is not None:
                run.env.activity_cache[activity] = (name, defn)
        else:
            name, defn = found
        if defn is not None and not defn.dynamic:
            checker = defn.checker
            n = len(args)
            if n < checker.min_args or (n > checker.max_args and not checker.varargs):
                checker.check(f"activity {name!r}", args)
        if len(args) == 1:  # (a comprehension is a frame of its own)
            payloads = [run.converter.encode_one(args[0])]
        elif args:
            encode_one = run.converter.encode_one
            payloads = [encode_one(v) for v in args]
        else:
            payloads = []
        self._activity_seq += 1  # Temporal numbers activities 1, 2, 3... per run
        activity_id = activity_id or str(self._activity_seq)
        ev = run.command(
            _SCHEDULED,
            {
                "activity_id": activity_id,
                "activity_type": name,
                "input": payloads,
                "start_to_close_timeout": (
                    start_to_close_timeout.total_seconds()
                    if start_to_close_timeout is not None
                    else None
                ),
                "schedule_to_close_timeout": (
                    schedule_to_close_timeout.total_seconds()
                    if schedule_to_close_timeout is not None
                    else None
                ),
                "schedule_to_start_timeout": (
                    schedule_to_start_timeout.total_seconds()
                    if schedule_to_start_timeout is not None
                    else None
                ),
                "heartbeat_timeout": (
                    heartbeat_timeout.total_seconds() if heartbeat_timeout is not None else None
                ),
                "retry_policy": (
                    retry_policy.to_dict() if retry_policy is not None else _DEFAULT_ACTIVITY_RETRY
                ),
                "cancellation_type": int(cancellation_type),
            },
            "activity_type",
        )
        fut = _ActivityFuture(
            self,
            self.loop,
            ev.event_id,
            name,
            activity_id,
            cancellation_type,
            result_type if result_type is not None else (defn.ret_hint if defn else None),
        )
        if self.activities is _NONE:
            self.activities = {}
        self.activities[ev.event_id] = fut
        return fut

    async def execute_activity(self, activity: Any, args: Sequence[Any], **kw: Any) -> Any:
        """Schedule an activity and wait for its result."""
        return await self.start_activity(activity, args, **kw)

    def start_local_activity(self, activity: Any, args: Sequence[Any], **kw: Any) -> Any:
        """Run a local activity (see ``LocalActivities.start``)."""
        return self._locals().start(activity, args, **kw)

    def _locals(self) -> LocalActivities:
        la = self.local
        if la is None:
            la = self.local = LocalActivities(self, self._run)
        return la

    def local_resolved(self, a: dict[str, Any]) -> bool:
        """Deliver a local activity's marker (False: no local activity waits for it)."""
        return self._locals().resolved(a)

    def request_cancel_activity(self, fut: _ActivityFuture) -> None:
        """Cancel the activity behind ``fut`` as its cancellation type says."""
        if isinstance(fut, _LocalActivityFuture):
            self._locals().cancel(fut)
            return
        if fut._cancellation_type != ActivityCancellationType.ABANDON:
            self._run.command(ET_ACTIVITY_TASK_CANCEL_REQUESTED, {"scheduled_event_id": fut._seq})
        if fut._cancellation_type != ActivityCancellationType.WAIT_CANCELLATION_COMPLETED:
            self.activities.pop(fut._seq, None)
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

    def activity_completed(self, a: dict[str, Any]) -> None:
        """Deliver ACTIVITY_TASK_COMPLETED to the future waiting for it."""
        fut = self.activities.pop(a["scheduled_event_id"], None)
        if fut is not None and not fut.done():
            fut.set_result(
                self._run.converter.decode_one(a["result"], fut._hint)
                if a.get("result") is not None
                else None
            )

    def activity_failed(self, et: EventType, a: dict[str, Any]) -> None:
        """Deliver ACTIVITY_TASK_FAILED/TIMED_OUT as ``ActivityError`` caused by the failure."""
        fut = self.activities.pop(a["scheduled_event_id"], None)
        if fut is not None and not fut.done():
            err = ActivityError(
                "Activity task failed"
                if et is ET_ACTIVITY_TASK_FAILED
                else "Activity task timed out",
                scheduled_event_id=fut._seq,
                activity_type=fut.activity_type,
                activity_id=fut.activity_id,
                retry_state=RetryState(a.get("retry_state") or RetryState.NON_RETRYABLE_FAILURE),
            )
            err.__cause__ = from_failure(a["failure"], self._run.converter)
            fut.set_exception(err)

    def activity_canceled(self, a: dict[str, Any]) -> None:
        """Deliver ACTIVITY_TASK_CANCELED (its details on the ``CancelledError`` cause)."""
        fut = self.activities.pop(a["scheduled_event_id"], None)
        if fut is not None and not fut.done():
            err = self._activity_cancelled(fut)
            details = a.get("details")
            if details:
                err.__cause__ = CancelledError(
                    "Activity cancelled", *self._run.converter.decode(details)
                )
            fut.set_exception(err)

    # ------------------------------------------------------------------ timers

    def start_timer(self, seconds: float, callback: Callable[[], None]) -> int:
        """Start a durable timer that calls ``callback`` when fired; returns its event id."""
        self._timer_counter += 1
        ev = self._run.command(
            ET_TIMER_STARTED,
            {
                "timer_id": str(self._timer_counter),
                "start_to_fire_timeout": seconds,
                "fire_at": self._run.now + seconds,
            },
        )
        if self.timers is _NONE:
            self.timers = {}
        self.timers[ev.event_id] = callback
        return ev.event_id

    def cancel_timer(self, seq: int) -> None:
        """Cancel the timer started by event ``seq`` if it has not fired."""
        run = self._run
        if self.timers.pop(seq, None) is not None and not run.closed:
            timer_id = run.history[seq - 1].attributes.get("timer_id")
            run.command(ET_TIMER_CANCELED, {"timer_id": timer_id, "started_event_id": seq})

    def timer_fired(self, a: dict[str, Any]) -> None:
        """Deliver TIMER_FIRED to the timer's callback."""
        cb = self.timers.pop(a["started_event_id"], None)
        if cb is not None:
            cb()

    async def sleep(self, seconds: float) -> None:
        """Wait on a durable timer (``workflow.sleep``)."""
        if seconds <= 0:
            return
        fut = WakeFuture(loop=self.loop)
        seq = self.start_timer(seconds, lambda: _resolve(fut, None))
        try:
            await fut
        except asyncio.CancelledError:
            self.cancel_timer(seq)
            raise

    async def wait_condition(self, fn: Callable[[], bool], timeout: float | None) -> None:
        """Wait until ``fn()`` holds, checked after every activation; built-in
        ``TimeoutError`` after ``timeout`` seconds."""
        if fn():
            return
        fut = WakeFuture(loop=self.loop)
        self.conditions.append((fut, fn))
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
            if seq in self.timers:
                self.cancel_timer(seq)

    def check_conditions(self) -> bool:
        """Resolve the conditions that hold now; True if any did (the code may go on)."""
        progressed = False
        # (the conditions are workflow code: the instance runs them with its loop current)
        for item in list(self.conditions):
            fut, fn = item
            if fut.done():
                self.conditions.remove(item)
                continue
            try:
                ok = fn()
            except BaseException as err:
                self.conditions.remove(item)
                fut.set_exception(err)
                progressed = True
                continue
            if ok:
                self.conditions.remove(item)
                fut.set_result(None)
                progressed = True
        return progressed

    # ------------------------------------------------------------------ patches

    def _patch_memo(self) -> dict[str, bool]:
        if not self.patches:
            self.patches = dict[str, bool]()  # the first patch (the empty one is shared)
        return self.patches

    def patched(self, patch_id: str, *, deprecated: bool) -> bool:
        """Whether to take the new branch of patch ``patch_id`` (a marker in the history)."""
        memo = self.patches.get(patch_id)
        if memo is not None:
            return memo
        run = self._run
        if run.cursor < len(run.history):
            # Replaying: the new branch only if the recorded history has this marker here.
            recorded = run.history[run.cursor]
            if (
                recorded.event_type is ET_MARKER_RECORDED
                and recorded.attributes.get("marker_name") == PATCH_MARKER
                and recorded.attributes.get("details", {}).get("patch_id") == patch_id
            ):
                run.cursor += 1
                self._patch_memo()[patch_id] = True
                return True
            if not deprecated:
                self._patch_memo()[patch_id] = False
                return False
            self._patch_memo()[patch_id] = True
            return True
        run.command(
            ET_MARKER_RECORDED,
            {
                "marker_name": PATCH_MARKER,
                "details": {"patch_id": patch_id, "deprecated": deprecated},
            },
        )
        self._patch_memo()[patch_id] = True
        return True
