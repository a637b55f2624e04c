"""The engine: client and worker in one object, driving workflow runs in-process.

Every change to a run goes through one path: an input event is queued, ``_drain`` appends it,
lets the run's code react (``WorkflowInstance.activate``), hands the new events to the store
in one append, and applies the commands' effects (start activities, arm timers, answer
waiters) once the store says they are durable. Work that completes without real I/O is
processed in the same pass, so a workflow of instant activities finishes inside one call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random as _random
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ._activities import ActivityTask
from ._clock import Clock, SystemClock
from ._converter import DataConverter, default_converter
from ._definitions import ActivityDefinition, WorkflowDefinition, handler_name
from ._failure import from_failure, to_failure
from ._handles import WorkflowExecutionDescription, WorkflowHandle
from ._instance import WorkflowInstance
from ._store import RunRecord, Store, open_store
from ._timers import TimerService
from .common import (
    ParentClosePolicy,
    RetryPolicy,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from .errors import (
    ApplicationError,
    CancelledError,
    InvalidArgumentError,
    TerminatedError,
    TimeoutType,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from .errors import TimeoutError as FcTimeoutError
from .history import CLOSE_EVENTS, Event, EventType

__all__ = ["Engine"]

E = EventType
S = WorkflowExecutionStatus

_CLOSE_STATUS = {
    E.WORKFLOW_EXECUTION_COMPLETED: S.COMPLETED,
    E.WORKFLOW_EXECUTION_FAILED: S.FAILED,
    E.WORKFLOW_EXECUTION_CANCELED: S.CANCELED,
    E.WORKFLOW_EXECUTION_TERMINATED: S.TERMINATED,
    E.WORKFLOW_EXECUTION_TIMED_OUT: S.TIMED_OUT,
    E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: S.CONTINUED_AS_NEW,
}

_ACTIVITY_DONE = frozenset({
    E.ACTIVITY_TASK_COMPLETED, E.ACTIVITY_TASK_FAILED, E.ACTIVITY_TASK_TIMED_OUT, E.ACTIVITY_TASK_CANCELED,
})

_ACTIVITY_OUTCOME = {
    "completed": E.ACTIVITY_TASK_COMPLETED,
    "failed": E.ACTIVITY_TASK_FAILED,
    "timed_out": E.ACTIVITY_TASK_TIMED_OUT,
    "canceled": E.ACTIVITY_TASK_CANCELED,
}


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def etype_is_start(event: Event) -> bool:
    return event.event_type is E.WORKFLOW_EXECUTION_STARTED


class _Run:
    """Engine-side state of one run: its record, code instance and what is in flight."""

    __slots__ = (
        "activities",
        "children",
        "children_closed",
        "close_waiters",
        "defn",
        "instance",
        "parent",
        "record",
        "retry_entry",
        "timeout_entry",
        "timers",
        "update_waiters",
        "watchers",
    )

    def __init__(self, record: RunRecord, defn: WorkflowDefinition) -> None:
        self.record = record
        self.defn = defn
        self.instance: WorkflowInstance | None = None
        self.activities: dict[int, ActivityTask] = {}
        self.timers: dict[int, Any] = {}
        self.children: dict[int, tuple[str, str]] = {}
        self.children_closed: set[int] = set()
        self.close_waiters: list[asyncio.Future[None]] = []
        self.update_waiters: dict[str, asyncio.Future[Event]] = {}
        self.watchers: list[asyncio.Future[None]] = []
        self.parent: tuple[str, str, int] | None = None
        self.retry_entry: Any = None
        self.timeout_entry: Any = None

    @property
    def open(self) -> bool:
        return self.record.status is S.RUNNING


class Engine:
    """An embedded workflow engine: ``async with Engine(workflows=[...], activities=[...])``.

    Args:
        store: ``"memory"`` (default), ``"sqlite:///path.db"`` or a ``Store`` instance.
        workflows: ``@workflow.defn`` classes this engine runs.
        activities: ``@activity.defn`` functions this engine runs.
        clock: where time comes from; ``fastcore.testing.VirtualClock()`` for tests.
        converter: the data converter (JSON by default).
        max_activity_threads: size of the thread pool for plain ``def`` activities.
        activity_executor: a pool of your own instead (not shut down by the engine).
        durability: for sqlite, ``"sync"`` (default) or ``"batch"``.
        retention: how long closed runs' histories are kept (None: forever).
        workflow_task_retry_interval: first delay before a failed workflow task is retried.
        failure_exception_types: exception types that fail any workflow instead of its task.
        identity: a name for this engine in activity errors and traces.
        tracer_provider, meter_provider: OpenTelemetry providers (globals when None).
    """

    def __init__(
        self,
        store: str | Store = "memory",
        *,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        clock: Clock | None = None,
        converter: DataConverter | None = None,
        max_activity_threads: int | None = None,
        activity_executor: concurrent.futures.Executor | None = None,
        durability: str | None = None,
        retention: timedelta | None = timedelta(days=7),
        workflow_task_retry_interval: timedelta = timedelta(seconds=1),
        failure_exception_types: Sequence[type[BaseException]] = (),
        identity: str | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        opts = {"durability": durability} if durability is not None else {}
        self.store: Store = open_store(store, **opts)
        self.clock: Clock = clock or SystemClock()
        self.converter = converter or default_converter
        self.identity = identity or f"fastcore@{uuid.uuid4().hex[:8]}"
        self.retention = retention
        self.workflow_task_retry_interval = workflow_task_retry_interval.total_seconds()
        self.failure_exception_types = tuple(failure_exception_types)
        self.strict_registry = True
        self._workflows: dict[str, WorkflowDefinition] = {}
        self._dynamic_workflow: WorkflowDefinition | None = None
        for cls in workflows:
            self._register_workflow(cls)
        self._activities: dict[str, ActivityDefinition] = {}
        self._dynamic_activity: ActivityDefinition | None = None
        for fn in activities:
            self._register_activity(fn)
        self._own_executor = activity_executor is None
        self._executor_size = max_activity_threads
        self._executor: concurrent.futures.Executor | None = activity_executor
        self.timers = TimerService(self.clock)
        self._runs: dict[str, _Run] = {}  # latest run per workflow id (open or recently closed)
        self._by_run_id: dict[str, _Run] = {}
        self._queue: deque[tuple[_Run, EventType, dict[str, Any], asyncio.Future[None] | None]] = deque()
        self._draining = False
        self._started = False
        self._closed = False
        self._inflight = 0
        self._result_waiters = 0
        self._pending_commits = 0
        self._skip_scheduled = False
        self._retention_task: asyncio.Task[None] | None = None
        self._rng = _random.Random()
        from ._telemetry import Telemetry  # noqa: PLC0415 - keeps the import cheap when unused

        self.telemetry = Telemetry(tracer_provider, meter_provider)

    # ------------------------------------------------------------------ registry

    def _register_workflow(self, cls: type) -> None:
        defn = WorkflowDefinition.from_class(cls)
        if defn.dynamic:
            self._dynamic_workflow = defn
            return
        assert defn.name is not None
        existing = self._workflows.get(defn.name)
        if existing is not None and existing.cls is not cls:
            raise ValueError(f"two workflows registered with the name {defn.name!r}")
        self._workflows[defn.name] = defn

    def _register_activity(self, fn: Callable[..., Any]) -> None:
        defn = ActivityDefinition.from_fn(fn)
        if defn.dynamic:
            self._dynamic_activity = defn
            return
        assert defn.name is not None
        existing = self._activities.get(defn.name)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"two activities registered with the name {defn.name!r}")
        self._activities[defn.name] = defn

    def activity_definition(self, name: str) -> ActivityDefinition | None:
        """The activity registered as ``name`` (or the dynamic one)."""
        return self._activities.get(name) or self._dynamic_activity

    def workflow_definition(self, ref: Any) -> WorkflowDefinition | None:
        """The workflow for a class, a run method, or a type name; None when unknown."""
        if isinstance(ref, str):
            return self._workflows.get(ref) or self._dynamic_workflow
        cls = ref if isinstance(ref, type) else None
        if cls is None:
            qual = getattr(ref, "__qualname__", "")
            for d in self._workflows.values():
                if d.run_fn is ref or getattr(d.cls, "__qualname__", None) == qual.rsplit(".", 1)[0]:
                    if d.run_fn is ref:
                        return d
            return None
        try:
            defn = WorkflowDefinition.from_class(cls)
        except InvalidArgumentError:
            return None
        return self._workflows.get(defn.name or "") if defn.name else self._dynamic_workflow

    def _workflow_for_start(self, ref: Any) -> tuple[WorkflowDefinition, str]:
        defn = self.workflow_definition(ref)
        if defn is None:
            label = ref if isinstance(ref, str) else getattr(ref, "__qualname__", repr(ref))
            raise InvalidArgumentError(
                f"workflow {label!r} is not registered with this engine; pass its class in "
                f"Engine(workflows=[...]) (registered: {sorted(self._workflows)})"
            )
        name = defn.name if defn.name is not None else str(ref)
        return defn, name

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The pool plain ``def`` activities run in."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._executor_size, thread_name_prefix="fastcore-activity"
            )
        return self._executor

    def clock_now(self) -> float:
        """The engine clock's time, epoch seconds."""
        return self.clock.now()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def start(self) -> None:
        """Open the store and recover every open workflow from it."""
        if self._started:
            return
        if self._closed:
            raise RuntimeError("this engine was shut down; make a new one")
        self._started = True
        self.timers.bind(asyncio.get_running_loop())
        if hasattr(self.clock, "_engines"):
            self.clock._engines.append(self)
        try:
            await self.store.open()
            if self.store.durable:
                await self._recover()
        except BaseException:
            self._started = False
            self._closed = True
            await self.store.close()
            raise
        if self.retention is not None:
            self._retention_task = asyncio.get_running_loop().create_task(self._retention_loop())

    async def shutdown(self) -> None:
        """Stop timers and activities, flush the store. Open workflows stay open in it."""
        if self._closed:
            return
        self._closed = True
        if self._retention_task is not None:
            self._retention_task.cancel()
        self.timers.close()
        tasks = []
        for run in list(self._runs.values()):
            for act in list(run.activities.values()):
                t = act._task
                act.abandon()
                if isinstance(t, asyncio.Task):
                    tasks.append(t)
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        for run in list(self._runs.values()):
            for w in run.close_waiters + list(run.update_waiters.values()) + run.watchers:
                if not w.done():
                    w.cancel()
        if hasattr(self.clock, "_engines") and self in self.clock._engines:
            self.clock._engines.remove(self)
        await self.store.close()
        if self._executor is not None and self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.telemetry.shutdown()

    async def _ensure_started(self) -> None:
        if not self._started:
            await self.start()
        elif self._closed:
            raise RuntimeError("this engine was shut down")

    # ------------------------------------------------------------------ starting runs

    async def start_workflow(
        self,
        workflow: Any,
        arg: Any = ...,
        *more: Any,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str | None = None,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.UNSPECIFIED,
        retry_policy: RetryPolicy | None = None,
        memo: Mapping[str, Any] | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        result_type: Any = None,
    ) -> WorkflowHandle:
        """Start a workflow (its run method, class or type name) and return its handle."""
        del task_queue
        await self._ensure_started()
        call_args = [] if arg is ... else [arg]
        call_args.extend(more)
        call_args.extend(args)
        if not isinstance(id, str) or not id:
            raise InvalidArgumentError("a workflow id (a non-empty string) is required")
        defn, name = self._workflow_for_start(workflow)
        if not defn.dynamic:
            defn.run_checker.check(f"workflow {name!r}", call_args)
        payloads = self.converter.encode(call_args)
        memo_p = {k: self.converter.encode_one(v) for k, v in (memo or {}).items()}
        signal_payloads = None
        if start_signal is not None:
            h = defn.handler("signal", start_signal)
            if h is None:
                raise InvalidArgumentError(f"workflow {name!r} has no signal {start_signal!r}")
            if not h.dynamic:
                h.checker.check(f"signal {start_signal!r}", start_signal_args)
            signal_payloads = self.converter.encode(list(start_signal_args))
        existing = await self._latest_run(id)
        if existing is not None:
            if existing.open:
                policy = id_conflict_policy
                if policy == WorkflowIDConflictPolicy.USE_EXISTING:
                    return self._handle(existing, result_type)
                if policy == WorkflowIDConflictPolicy.TERMINATE_EXISTING or (
                    id_reuse_policy == WorkflowIDReusePolicy.TERMINATE_IF_RUNNING
                ):
                    await self._terminate_run(existing, "terminated by a start with the same id", [])
                else:
                    raise WorkflowAlreadyStartedError(id, name, run_id=existing.record.run_id)
            else:
                st = existing.record.status
                if id_reuse_policy == WorkflowIDReusePolicy.REJECT_DUPLICATE or (
                    id_reuse_policy == WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
                    and st in (S.COMPLETED, S.CONTINUED_AS_NEW)
                ):
                    raise WorkflowAlreadyStartedError(id, name, run_id=existing.record.run_id)
        run, fut = self._new_run(
            defn,
            name,
            id,
            payloads,
            execution_timeout=execution_timeout.total_seconds() if execution_timeout else None,
            run_timeout=run_timeout.total_seconds() if run_timeout else None,
            retry_policy=retry_policy.to_dict() if retry_policy else None,
            memo=memo_p,
            signal=(start_signal, signal_payloads) if start_signal is not None else None,
        )
        if fut is not None:
            await fut
        return self._handle(run, result_type)

    async def execute_workflow(self, workflow: Any, arg: Any = ..., *more: Any, **kwargs: Any) -> Any:
        """Start a workflow and wait for its result."""
        handle = await self.start_workflow(workflow, arg, *more, **kwargs)
        return await handle.result()

    def get_workflow_handle(
        self,
        workflow_id: str,
        *,
        run_id: str | None = None,
        first_execution_run_id: str | None = None,
        result_type: Any = None,
    ) -> WorkflowHandle:
        """A handle to an existing workflow; methods raise ``WorkflowNotFoundError`` if unknown."""
        return WorkflowHandle(
            self,
            workflow_id,
            run_id=run_id,
            result_run_id=run_id,
            first_execution_run_id=first_execution_run_id,
            result_type=result_type,
        )

    def get_workflow_handle_for(self, workflow: Any, workflow_id: str, **kw: Any) -> WorkflowHandle:
        """Same as ``get_workflow_handle``; the run method is for typing only (temporalio)."""
        del workflow
        return self.get_workflow_handle(workflow_id, **kw)

    def _handle(self, run: _Run, result_type: Any = None) -> WorkflowHandle:
        r = run.record
        return WorkflowHandle(
            self, r.workflow_id, run_id=r.run_id, result_run_id=r.run_id,
            first_execution_run_id=r.run_id, result_type=result_type,
        )

    def _new_run(
        self,
        defn: WorkflowDefinition,
        name: str,
        workflow_id: str,
        payloads: list[Any],
        *,
        execution_timeout: float | None = None,
        run_timeout: float | None = None,
        retry_policy: dict[str, Any] | None = None,
        memo: dict[str, Any] | None = None,
        signal: tuple[str, Any] | None = None,
        parent: dict[str, Any] | None = None,
        continued_run_id: str | None = None,
        first_run_id: str | None = None,
        attempt: int = 1,
        run_id: str | None = None,
        execution_deadline: float | None = None,
    ) -> tuple[_Run, asyncio.Future[None] | None]:
        now = self.clock.now()
        run_id = run_id or str(uuid.uuid4())
        record = RunRecord(workflow_id, run_id, name, now)
        run = _Run(record, defn)
        if parent is not None:
            run.parent = (parent["workflow_id"], parent["run_id"], parent["initiated_event_id"])
        attrs = {
            "workflow_type": name,
            "workflow_id": workflow_id,
            "run_id": run_id,
            "input": payloads,
            "attempt": attempt,
            "parent": parent,
            "continued_run_id": continued_run_id,
            "first_run_id": first_run_id or run_id,
            "execution_timeout": execution_timeout,
            "run_timeout": run_timeout,
            "execution_deadline": execution_deadline
            or (now + execution_timeout if execution_timeout else None),
            "memo": memo or {},
            "retry_policy": retry_policy,
            "seed": self._rng.getrandbits(63),
        }
        prev = self._runs.get(workflow_id)
        self._runs[workflow_id] = run
        self._by_run_id[run_id] = run
        if prev is not None and not prev.open:
            self._by_run_id.pop(prev.record.run_id, None)
        started = Event(1, E.WORKFLOW_EXECUTION_STARTED, now, attrs)
        record.history.append(started)
        if signal is not None:
            record.history.append(
                Event(2, E.WORKFLOW_EXECUTION_SIGNALED, now,
                      {"signal_name": signal[0], "input": signal[1], "with_start": True})
            )
        self.telemetry.workflow_started(run)
        deadline: float | None = attrs["execution_deadline"]  # type: ignore[assignment]
        if run_timeout:
            deadline = min(deadline or now + run_timeout, now + run_timeout)
        if deadline:
            run.timeout_entry = self.timers.call_at(deadline, self._workflow_timed_out, run)
        run.instance = WorkflowInstance(engine=self, run=record, defn=defn, converter=self.converter)
        waiter: asyncio.Future[None] | None = None
        if self.store.durable:
            waiter = asyncio.get_running_loop().create_future()
        self._queue.append((run, E.WORKFLOW_EXECUTION_STARTED, {}, waiter))
        self._drain()
        if waiter is not None and waiter.done():
            return run, None
        return run, waiter

    # ------------------------------------------------------------------ the activation loop

    def _submit(self, run: _Run, etype: EventType, attrs: dict[str, Any], wait: bool = False) -> asyncio.Future[None] | None:
        waiter = asyncio.get_running_loop().create_future() if wait else None
        self._queue.append((run, etype, attrs, waiter))
        if not self._draining:
            self._drain()
        if waiter is not None and waiter.done():
            return None
        return waiter

    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        queue = self._queue
        try:
            while queue:
                run, etype, attrs, waiter = queue.popleft()
                try:
                    self._process(run, etype, attrs, waiter)
                except BaseException as err:  # an engine bug must not wedge every workflow
                    if waiter is not None and not waiter.done():
                        waiter.set_exception(err)
                    else:
                        raise
        finally:
            self._draining = False

    def _process(self, run: _Run, etype: EventType, attrs: dict[str, Any],
                 waiter: asyncio.Future[None] | None) -> None:
        record = run.record
        history = record.history
        if etype is E.WORKFLOW_EXECUTION_STARTED:
            start = 0
            event = history[0]
        else:
            if not run.open:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                return
            start = len(history)
            event = Event(start + 1, etype, self.clock.now(), attrs)
            history.append(event)
        inst = run.instance
        assert inst is not None
        if inst.blocked:
            # A failed workflow task holds inputs back; the retry delivers them in order.
            inst.deferred.append(event)
            self._commit(run, history[start:], waiter, [])
            return
        self._activate(run, inst, event, None, start, waiter)

    def _activate(self, run: _Run, inst: WorkflowInstance, event: Event, after: int | None,
                  start: int, waiter: asyncio.Future[None] | None) -> bool:
        """Run one activation live and commit it; False when the workflow task failed."""
        record = run.record
        history = record.history
        inst.activate(event, after)
        if inst.nondeterminism is not None or inst.task_failure is not None:
            # Drop the activation's commands, keep its input, mark the failure (Temporal).
            keep = (after if after is not None else event.event_id)
            if etype_is_start(event):
                while keep < len(history) and history[keep].event_type is E.WORKFLOW_EXECUTION_SIGNALED \
                        and history[keep].attributes.get("with_start"):
                    keep += 1
            del history[keep:]
            self._block(run, inst, event)
            self._commit(run, history[start:], waiter, [])
            return False
        new = history[start:]
        if inst.closed:
            close = new[-1]
            record.status = _CLOSE_STATUS[close.event_type]
            record.close_time = close.timestamp
        self._commit(run, new, waiter, new)
        return True

    def _block(self, run: _Run, inst: WorkflowInstance, event: Event | None) -> None:
        """Record a workflow task failure; the run stays open, blocked, until a retry works."""
        from .errors import NondeterminismError

        err = inst.nondeterminism or inst.task_failure
        assert err is not None
        record = run.record
        fail_types = run.defn.failure_exception_types + self.failure_exception_types
        if fail_types and isinstance(err, fail_types):
            # listed in failure_exception_types: the workflow fails instead
            inst.nondeterminism = None
            inst.task_failure = None
            ev = Event(len(record.history) + 1, E.WORKFLOW_EXECUTION_FAILED, self.clock.now(),
                       {"failure": to_failure(err, self.converter)})
            record.history.append(ev)
            record.status = S.FAILED
            record.close_time = ev.timestamp
            inst.closed = True
            return
        record.history.append(Event(
            len(record.history) + 1, E.WORKFLOW_TASK_FAILED, self.clock.now(),
            {"input_event_id": event.event_id if event is not None else None,
             "failure": to_failure(err, self.converter)},
        ))
        if event is not None and (not inst.deferred or inst.deferred[0] is not event):
            inst.deferred.insert(0, event)
        inst.blocked = True
        self.telemetry.workflow_task_failed(run, err)
        if run.retry_entry is None and not isinstance(err, NondeterminismError):
            run.retry_entry = self.timers.call_later(self.workflow_task_retry_interval, self._retry_task, run, 1)

    def _commit(self, run: _Run, new: list[Event], waiter: asyncio.Future[None] | None,
                effects: list[Event]) -> None:
        fut = self.store.append(run.record, new)
        # Internal effects (start activities, arm timers, start children) need not wait for
        # the commit: activities are at-least-once, and a crash before the commit replays
        # and issues them again. What a caller is told (start, signal and update acks,
        # results, watched events) waits until the events are durable.
        self._effects(run, effects)
        if fut is None:
            self._acknowledge(run, effects)
            self._notify_watchers(run)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        self._pending_commits += 1
        commit_started = self.telemetry.journal_commit_started()

        def committed(_: Any) -> None:
            self._pending_commits -= 1
            self.telemetry.journal_committed(commit_started)
            exc = None
            try:
                _.result()
            except BaseException as err:
                exc = err
            if exc is None:
                self._acknowledge(run, effects)
                self._notify_watchers(run)
                self._drain()
            if waiter is not None and not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)
            self._schedule_skip_check()

        asyncio.ensure_future(fut).add_done_callback(committed)

    def _effects(self, run: _Run, events: list[Event]) -> None:
        for ev in events:
            et = ev.event_type
            if et is E.ACTIVITY_TASK_SCHEDULED:
                self._dispatch_activity(run, ev)
            elif et is E.TIMER_STARTED:
                run.timers[ev.event_id] = self.timers.call_at(
                    ev.attributes["fire_at"], self._timer_fired, run, ev.event_id, ev.attributes["timer_id"]
                )
            elif et is E.TIMER_CANCELED:
                entry = run.timers.pop(ev.attributes["started_event_id"], None)
                if entry is not None:
                    entry.cancel()
            elif et is E.ACTIVITY_TASK_CANCEL_REQUESTED:
                act = run.activities.get(ev.attributes["scheduled_event_id"])
                if act is not None:
                    act.cancel()
            elif et is E.START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                self._start_child(run, ev)
            elif et is E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
                child = self._runs.get(ev.attributes["workflow_id"])
                if child is not None and child.open:
                    self._request_cancel(child)
            elif et in CLOSE_EVENTS:
                self._closed_run(run, ev)

    # ------------------------------------------------------------------ activities

    def _dispatch_activity(self, run: _Run, ev: Event) -> None:
        name = ev.attributes["activity_type"]
        defn = self.activity_definition(name)
        if defn is None:
            # Registered when the history was written, not now: fail it without retrying.
            err = ApplicationError(
                f"activity {name!r} is not registered with this engine", type="NotFoundError",
                non_retryable=True,
            )
            self._submit(run, E.ACTIVITY_TASK_FAILED, {
                "scheduled_event_id": ev.event_id, "failure": to_failure(err, self.converter),
                "attempt": 1, "retry_state": 2,
            })
            return
        task = ActivityTask(self, run, ev, defn)
        run.activities[ev.event_id] = task
        task.start()

    def _activity_started(self, task: ActivityTask) -> None:
        self._inflight += 1
        self.telemetry.activity_attempt_started(task)

    def _activity_ended(self, task: ActivityTask, err: BaseException | None = None) -> None:
        self._inflight -= 1
        self.telemetry.activity_attempt_ended(task, err)
        if self._inflight == 0:
            self._schedule_skip_check()

    def _activity_resolved(self, task: ActivityTask, outcome: str, attrs: dict[str, Any]) -> None:
        run = task.run
        sched = task.event.event_id
        if run.activities.pop(sched, None) is None or not run.open:
            return
        attrs["scheduled_event_id"] = sched
        self._submit(run, _ACTIVITY_OUTCOME[outcome], attrs)

    # ------------------------------------------------------------------ timers

    def _timer_fired(self, run: _Run, started_id: int, timer_id: str) -> None:
        if run.timers.pop(started_id, None) is None or not run.open:
            return
        self._submit(run, E.TIMER_FIRED, {"timer_id": timer_id, "started_event_id": started_id})
        self._schedule_skip_check()

    def _workflow_timed_out(self, run: _Run) -> None:
        if not run.open:
            return
        self._close_from_outside(run, E.WORKFLOW_EXECUTION_TIMED_OUT, {"retry_state": 3})

    # ------------------------------------------------------------------ closing

    def _close_from_outside(self, run: _Run, etype: EventType, attrs: dict[str, Any]) -> asyncio.Future[None] | None:
        record = run.record
        ev = Event(len(record.history) + 1, etype, self.clock.now(), attrs)
        record.history.append(ev)
        record.status = _CLOSE_STATUS[etype]
        record.close_time = ev.timestamp
        if run.instance is not None:
            run.instance.closed = True
        waiter = asyncio.get_running_loop().create_future()
        self._commit(run, [ev], waiter, [ev])
        return None if waiter.done() else waiter

    def _closed_run(self, run: _Run, ev: Event) -> None:
        record = run.record
        for act in list(run.activities.values()):
            act.abandon()
        run.activities.clear()
        for entry in run.timers.values():
            entry.cancel()
        run.timers.clear()
        if run.timeout_entry is not None:
            run.timeout_entry.cancel()
        if run.retry_entry is not None:
            run.retry_entry.cancel()
        self.telemetry.workflow_closed(run, ev)
        if run.instance is not None:
            # A closed run keeps its history only; a query rebuilds its state by replay.
            run.instance.dispose()
            run.instance = None
        # children, by their parent close policy
        for initiated_id, (child_id, child_run_id) in list(run.children.items()):
            child = self._by_run_id.get(child_run_id)
            if child is None or not child.open:
                continue
            policy = run.record.history[initiated_id - 1].attributes.get("parent_close_policy")
            if policy in (ParentClosePolicy.TERMINATE, ParentClosePolicy.UNSPECIFIED):
                self._close_from_outside(child, E.WORKFLOW_EXECUTION_TERMINATED,
                                         {"reason": "by parent close policy", "details": []})
            elif policy == ParentClosePolicy.REQUEST_CANCEL:
                self._request_cancel(child)
        # the parent learns how the child ended
        if run.parent is not None and ev.event_type is not E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self._notify_parent(run, ev)
        # a next run: continue-as-new, or a workflow retry
        nxt = None
        if ev.event_type is E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            nxt = self._continue(run, ev)
        elif ev.event_type is E.WORKFLOW_EXECUTION_FAILED:
            nxt = self._maybe_retry(run, ev)
        del nxt, record

    def _acknowledge(self, run: _Run, events: list[Event]) -> None:
        """Tell waiting callers what these (now durable) events mean."""
        for ev in events:
            et = ev.event_type
            if et is E.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                w = run.update_waiters.pop(ev.attributes["update_id"], None)
                if w is not None and not w.done():
                    w.set_result(ev)
            elif et in CLOSE_EVENTS:
                for w in list(run.update_waiters.values()):
                    if not w.done():
                        w.set_exception(WorkflowUpdateFailedError(
                            ApplicationError("the workflow closed before the update completed",
                                             type="WorkflowClosed")))
                run.update_waiters.clear()
                for cw in run.close_waiters:
                    if not cw.done():
                        cw.set_result(None)
                run.close_waiters.clear()

    def _notify_parent(self, run: _Run, ev: Event) -> None:
        assert run.parent is not None
        parent_id, parent_run_id, initiated = run.parent
        parent = self._by_run_id.get(parent_run_id)
        if parent is None or not parent.open or initiated in parent.children_closed:
            return
        parent.children_closed.add(initiated)
        started_id = 0
        for pe in parent.record.history:
            if pe.event_type is E.CHILD_WORKFLOW_EXECUTION_STARTED and pe.attributes.get("initiated_event_id") == initiated:
                started_id = pe.event_id
        base = {"initiated_event_id": initiated, "started_event_id": started_id,
                "workflow_id": run.record.workflow_id, "run_id": run.record.run_id}
        et = ev.event_type
        a = ev.attributes
        if et is E.WORKFLOW_EXECUTION_COMPLETED:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_COMPLETED, {**base, "result": a.get("result")})
        elif et is E.WORKFLOW_EXECUTION_FAILED:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_FAILED,
                         {**base, "failure": a.get("failure"), "retry_state": 2})
        elif et is E.WORKFLOW_EXECUTION_CANCELED:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_CANCELED, {**base, "details": []})
        elif et is E.WORKFLOW_EXECUTION_TERMINATED:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_TERMINATED, base)
        elif et is E.WORKFLOW_EXECUTION_TIMED_OUT:
            self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT, {**base, "retry_state": 3})

    def _continue(self, run: _Run, ev: Event) -> _Run | None:
        a = ev.attributes
        started = run.record.history[0].attributes
        defn = self.workflow_definition(a["workflow_type"]) or run.defn
        nxt, _ = self._new_run(
            defn, a["workflow_type"], run.record.workflow_id, a.get("input") or [],
            execution_timeout=started.get("execution_timeout"),
            run_timeout=started.get("run_timeout"),
            retry_policy=started.get("retry_policy"),
            memo=started.get("memo"),
            parent=started.get("parent"),
            continued_run_id=run.record.run_id,
            first_run_id=started.get("first_run_id"),
            run_id=a["new_execution_run_id"],
            execution_deadline=started.get("execution_deadline"),
        )
        nxt.parent = run.parent
        self._move_children_link(run, nxt)
        return nxt

    def _move_children_link(self, old: _Run, new: _Run) -> None:
        if old.parent is None:
            return
        parent = self._by_run_id.get(old.parent[1])
        if parent is not None:
            for k, (cid, crid) in list(parent.children.items()):
                if crid == old.record.run_id:
                    parent.children[k] = (cid, new.record.run_id)

    def _maybe_retry(self, run: _Run, ev: Event) -> _Run | None:
        started = run.record.history[0].attributes
        rp = started.get("retry_policy")
        if not rp:
            return None
        policy = RetryPolicy.from_dict(rp)
        attempt = int(started.get("attempt") or 1)
        failure = ev.attributes.get("failure") or {}
        info = failure.get("application_failure_info") or {}
        etype = info.get("type") or ""
        if info.get("non_retryable") or (policy.non_retryable_error_types and etype in policy.non_retryable_error_types):
            return None
        if policy.maximum_attempts and attempt >= policy.maximum_attempts:
            return None
        new_run_id = str(uuid.uuid4())
        ev.attributes["new_execution_run_id"] = new_run_id
        delay = policy.backoff(attempt)

        def begin() -> None:
            nxt, _ = self._new_run(
                run.defn, run.record.workflow_type, run.record.workflow_id, started.get("input") or [],
                execution_timeout=started.get("execution_timeout"), run_timeout=started.get("run_timeout"),
                retry_policy=rp, memo=started.get("memo"), parent=started.get("parent"),
                continued_run_id=run.record.run_id, first_run_id=started.get("first_run_id"),
                attempt=attempt + 1, run_id=new_run_id,
                execution_deadline=started.get("execution_deadline"),
            )
            nxt.parent = run.parent
            self._move_children_link(run, nxt)

        self.timers.call_later(delay, begin)
        return run

    # ------------------------------------------------------------------ children

    def _start_child(self, parent: _Run, ev: Event) -> None:
        a = ev.attributes
        defn = self.workflow_definition(a["workflow_type"])
        existing = self._runs.get(a["workflow_id"])
        if defn is None or (existing is not None and existing.open):
            if existing is not None and existing.parent == (parent.record.workflow_id, parent.record.run_id, ev.event_id):
                child = existing  # recovered: it was started before the crash
            else:
                self._submit(parent, E.START_CHILD_WORKFLOW_EXECUTION_FAILED, {
                    "initiated_event_id": ev.event_id, "workflow_id": a["workflow_id"],
                    "workflow_type": a["workflow_type"],
                    "cause": "WORKFLOW_ALREADY_EXISTS" if defn is not None else "WORKFLOW_TYPE_NOT_REGISTERED",
                })
                return
        else:
            ex = a.get("execution_timeout")
            child, _ = self._new_run(
                defn, a["workflow_type"], a["workflow_id"], a.get("input") or [],
                execution_timeout=ex, run_timeout=a.get("run_timeout"), retry_policy=a.get("retry_policy"),
                memo=a.get("memo"),
                parent={"workflow_id": parent.record.workflow_id, "run_id": parent.record.run_id,
                        "initiated_event_id": ev.event_id},
            )
        parent.children[ev.event_id] = (child.record.workflow_id, child.record.run_id)
        self._submit(parent, E.CHILD_WORKFLOW_EXECUTION_STARTED, {
            "initiated_event_id": ev.event_id, "workflow_id": child.record.workflow_id,
            "run_id": child.record.run_id, "workflow_type": child.record.workflow_type,
        })
        if not child.open:
            # it finished before its parent heard that it started (instant child)
            close = child.record.history[-1]
            self._notify_parent(child, close)

    # ------------------------------------------------------------------ task failures

    def _retry_task(self, run: _Run, attempt: int) -> None:
        run.retry_entry = None
        if not run.open:
            return
        self._rebuild(run)
        inst = run.instance
        if inst is None:
            return
        if inst.blocked and inst.task_failure is not None and run.retry_entry is None:
            delay = min(self.workflow_task_retry_interval * (2 ** attempt), 600.0)
            run.retry_entry = self.timers.call_later(delay, self._retry_task, run, attempt + 1)

    def _rebuild(self, run: _Run) -> None:
        """Replay the run's history into a fresh instance, then deliver held-back inputs live."""
        record = run.record
        inst = WorkflowInstance(engine=self, run=record, defn=run.defn, converter=self.converter)
        run.instance = inst
        deferred = inst.replay()
        if inst.nondeterminism is not None or inst.task_failure is not None:
            # The code no longer fits the history: blocked, visible in describe().
            inst.blocked = True
            inst.deferred = deferred
            last = record.history[-1] if record.history else None
            if last is None or last.event_type is not E.WORKFLOW_TASK_FAILED:
                start = len(record.history)
                self._block(run, inst, None)
                self._commit(run, record.history[start:], None, [])
            else:
                self.telemetry.workflow_task_failed(run, inst.nondeterminism or inst.task_failure)
            return
        if record.status is S.RUNNING and inst.closed:
            close = record.history[-1]
            record.status = _CLOSE_STATUS.get(close.event_type, S.RUNNING)
            record.close_time = close.timestamp
        inst.deferred = []
        inst.blocked = False
        self._resume_pending(run)
        while deferred and not inst.closed:
            x = deferred.pop(0)
            start = len(record.history)
            marker = Event(start + 1, E.WORKFLOW_TASK_RETRIED, self.clock.now(), {"input_event_id": x.event_id})
            record.history.append(marker)
            if not self._activate(run, inst, x, marker.event_id, start, None):
                inst.deferred.extend(deferred)
                return

    def _resume_pending(self, run: _Run) -> None:
        """After a replay: restart what the history says is in flight.

        Work whose outcome is already recorded (an input held back by a failed workflow task
        and not yet re-delivered) is not started again.
        """
        inst = run.instance
        if inst is None:
            return
        history = run.record.history
        resolved: set[int] = set()
        for ev in history:
            et = ev.event_type
            a = ev.attributes
            if et in _ACTIVITY_DONE:
                resolved.add(a["scheduled_event_id"])
            elif et is E.TIMER_FIRED or et is E.TIMER_CANCELED:
                resolved.add(a["started_event_id"])
            elif et is E.CHILD_WORKFLOW_EXECUTION_STARTED or et is E.START_CHILD_WORKFLOW_EXECUTION_FAILED:
                resolved.add(a["initiated_event_id"])
        for seq in list(inst._activities):
            if seq not in run.activities and seq not in resolved:
                self._dispatch_activity(run, history[seq - 1])
        for seq in list(inst._timers):
            if seq not in run.timers and seq not in resolved:
                a = history[seq - 1].attributes
                run.timers[seq] = self.timers.call_at(a["fire_at"], self._timer_fired, run, seq, a["timer_id"])
        for seq, (started, _handle) in list(inst._children.items()):
            if not started.done() and seq not in run.children and seq not in resolved:
                self._start_child(run, history[seq - 1])

    # ------------------------------------------------------------------ recovery

    async def _recover(self) -> None:
        records = await self.store.open_runs()
        runs: list[_Run] = []
        for record in records:
            defn = self.workflow_definition(record.workflow_type)
            if defn is None:
                continue  # its workflow is not registered here; leave it in the store
            run = _Run(record, defn)
            started = record.history[0].attributes if record.history else {}
            parent = started.get("parent")
            if parent:
                run.parent = (parent["workflow_id"], parent["run_id"], parent["initiated_event_id"])
            self._runs[record.workflow_id] = run
            self._by_run_id[record.run_id] = run
            runs.append(run)
        for run in runs:
            # children recorded as started in the parent
            for ev in run.record.history:
                if ev.event_type is E.CHILD_WORKFLOW_EXECUTION_STARTED:
                    run.children[ev.attributes["initiated_event_id"]] = (
                        ev.attributes["workflow_id"], ev.attributes["run_id"])
        for run in runs:
            self.telemetry.suppress_replay(run)
            self._rebuild(run)
            started = run.record.history[0].attributes
            deadline = started.get("execution_deadline")
            if deadline:
                run.timeout_entry = self.timers.call_at(deadline, self._workflow_timed_out, run)

    async def import_history(self, events: Sequence[Event]) -> WorkflowHandle:
        """Resume a run from a history recorded elsewhere (a checkpoint): replay it, then go on.

        Completed activities are not run again; activities and timers that were in flight
        are restarted. The run keeps its workflow id and run id. Raises
        ``WorkflowAlreadyStartedError`` if a run with that id is open here.
        """
        await self._ensure_started()
        events = list(events)
        if not events or events[0].event_type is not E.WORKFLOW_EXECUTION_STARTED:
            raise InvalidArgumentError("a history starts with WORKFLOW_EXECUTION_STARTED")
        a = events[0].attributes
        defn = self.workflow_definition(a["workflow_type"])
        if defn is None:
            raise InvalidArgumentError(f"workflow {a['workflow_type']!r} is not registered with this engine")
        existing = await self._latest_run(a["workflow_id"])
        if existing is not None and existing.record.run_id == a["run_id"]:
            return self._handle(existing)  # already here (a retry on the same engine)
        if existing is not None and existing.open:
            raise WorkflowAlreadyStartedError(a["workflow_id"], a["workflow_type"], run_id=existing.record.run_id)
        if await self.store.load_run(a["workflow_id"], a["run_id"]) is not None:
            raise WorkflowAlreadyStartedError(a["workflow_id"], a["workflow_type"], run_id=a["run_id"])
        record = RunRecord(a["workflow_id"], a["run_id"], a["workflow_type"], events[0].timestamp)
        record.history.extend(
            Event(i + 1, ev.event_type, ev.timestamp, ev.attributes) for i, ev in enumerate(events)
        )
        last = record.history[-1]
        if last.event_type in CLOSE_EVENTS:
            record.status = _CLOSE_STATUS[last.event_type]
            record.close_time = last.timestamp
        run = _Run(record, defn)
        if a.get("parent"):
            p = a["parent"]
            run.parent = (p["workflow_id"], p["run_id"], p["initiated_event_id"])
        self._runs[record.workflow_id] = run
        self._by_run_id[record.run_id] = run
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commit(run, list(record.history), waiter, [])
        if not waiter.done():
            await waiter
        if run.open:
            self.telemetry.suppress_replay(run)
            self._rebuild(run)
            deadline = a.get("execution_deadline")
            if deadline:
                run.timeout_entry = self.timers.call_at(deadline, self._workflow_timed_out, run)
        return self._handle(run)

    # ------------------------------------------------------------------ lookups

    async def _latest_run(self, workflow_id: str) -> _Run | None:
        run = self._runs.get(workflow_id)
        if run is not None:
            return run
        if not self.store.durable:
            return None
        record = await self.store.load_run(workflow_id)
        if record is None:
            return None
        return self._closed_run_from_record(record)

    def _closed_run_from_record(self, record: RunRecord) -> _Run | None:
        defn = self.workflow_definition(record.workflow_type)
        if defn is None:
            run = _Run(record, WorkflowDefinition.__new__(WorkflowDefinition))
            return run
        return _Run(record, defn)

    async def _get_run(self, workflow_id: str, run_id: str | None) -> _Run:
        if run_id is None:
            run = await self._latest_run(workflow_id)
        else:
            run = self._by_run_id.get(run_id)
            if run is None or run.record.workflow_id != workflow_id:
                run = None
                if self.store.durable or True:
                    record = await self.store.load_run(workflow_id, run_id)
                    if record is not None:
                        cur = self._runs.get(workflow_id)
                        run = cur if cur is not None and cur.record.run_id == run_id else self._closed_run_from_record(record)
        if run is None:
            raise WorkflowNotFoundError(
                f"workflow not found: id={workflow_id!r}" + (f", run_id={run_id!r}" if run_id else ""),
                workflow_id=workflow_id,
            )
        return run

    def _require_open(self, run: _Run, what: str) -> None:
        if not run.open:
            err = WorkflowNotFoundError(
                f"cannot {what} workflow {run.record.workflow_id!r}: it is closed "
                f"({run.record.status.name})",
                workflow_id=run.record.workflow_id,
            )
            err.closed_status = run.record.status
            raise err

    # ------------------------------------------------------------------ handle operations

    async def _result(self, workflow_id: str, run_id: str | None, *, follow_runs: bool, result_type: Any) -> Any:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        while True:
            if run.open:
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                run.close_waiters.append(fut)
                self._result_waiters += 1
                self._schedule_skip_check()
                try:
                    await fut
                finally:
                    self._result_waiters -= 1
                    if fut in run.close_waiters:
                        run.close_waiters.remove(fut)
            close = run.record.history[-1]
            et = close.event_type
            a = close.attributes
            if et is E.WORKFLOW_EXECUTION_COMPLETED:
                hint = result_type if result_type is not None else getattr(run.defn, "run_ret_hint", None)
                r = a.get("result")
                return self.converter.decode_one(r, hint) if r is not None else None
            nxt_id = a.get("new_execution_run_id")
            if follow_runs and nxt_id and et in (E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW, E.WORKFLOW_EXECUTION_FAILED):
                run = await self._wait_for_run(workflow_id, nxt_id)
                continue
            raise WorkflowFailureError(cause=self._close_cause(close))

    async def _wait_for_run(self, workflow_id: str, run_id: str) -> _Run:
        deadline_loops = 0
        while True:
            run = self._by_run_id.get(run_id)
            if run is not None:
                return run
            record = await self.store.load_run(workflow_id, run_id)
            if record is not None:
                cur = self._runs.get(workflow_id)
                if cur is not None and cur.record.run_id == run_id:
                    return cur
                r = self._closed_run_from_record(record)
                if r is not None:
                    return r
            # a retry run that is waiting for its backoff timer
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._result_waiters += 1
            self._schedule_skip_check()
            handle = self.timers.call_later(0.01, _resolve, fut, None)
            try:
                await fut
            finally:
                self._result_waiters -= 1
                handle.cancel()
            deadline_loops += 1

    def _close_cause(self, close: Event) -> BaseException:
        et = close.event_type
        a = close.attributes
        if et is E.WORKFLOW_EXECUTION_FAILED:
            return from_failure(a["failure"], self.converter)
        if et is E.WORKFLOW_EXECUTION_CANCELED:
            return CancelledError("Workflow cancelled")
        if et is E.WORKFLOW_EXECUTION_TERMINATED:
            details = self.converter.decode(a.get("details") or [])
            return TerminatedError(a.get("reason") or "Workflow terminated", *details)
        if et is E.WORKFLOW_EXECUTION_TIMED_OUT:
            return FcTimeoutError("Workflow execution timed out", type=TimeoutType.START_TO_CLOSE)
        return ApplicationError(f"workflow closed: {et.value}")

    async def _signal(self, workflow_id: str, run_id: str | None, signal: Any, args: list[Any]) -> None:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        name = handler_name("signal", signal)
        self._require_open(run, f"signal {name!r} to")
        h = run.defn.handler("signal", name)
        if h is None:
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no signal {name!r} "
                f"(signals: {sorted(run.defn.signals)})"
            )
        if not h.dynamic:
            h.checker.check(f"signal {name!r}", args)
        payloads = self.converter.encode(args)
        self.telemetry.signal_received(run, name)
        fut = self._submit(run, E.WORKFLOW_EXECUTION_SIGNALED, {"signal_name": name, "input": payloads},
                           wait=self.store.durable)
        if fut is not None:
            await fut

    async def _query(self, workflow_id: str, run_id: str | None, query: Any, args: list[Any], result_type: Any) -> Any:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        name = handler_name("query", query)
        h = run.defn.handler("query", name) if isinstance(run.defn, WorkflowDefinition) and hasattr(run.defn, "queries") else None
        if h is None:
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no query {name!r}"
                + (f" (queries: {sorted(run.defn.queries)})" if hasattr(run.defn, "queries") else "")
            )
        if not h.dynamic:
            h.checker.check(f"query {name!r}", args)
        payloads = self.converter.encode(args)
        inst = run.instance
        if inst is None:
            inst = self._replayed_instance(run)
        decoded = self.converter.decode(payloads, None if h.dynamic else h.arg_hints)
        with self.telemetry.query_span(run, name):
            try:
                value = inst.query(name, decoded)
            except InvalidArgumentError:
                raise
            except Exception as err:
                raise WorkflowQueryFailedError(f"query {name!r} failed: {err}") from err
        try:
            payload = self.converter.encode_one(value)
        except InvalidArgumentError as err:
            raise WorkflowQueryFailedError(f"query {name!r} returned an unconvertible value: {err}") from err
        return self.converter.decode_one(payload, result_type if result_type is not None else h.ret_hint)

    def _replayed_instance(self, run: _Run) -> WorkflowInstance:
        """An instance for a run that is not in memory (closed, loaded from the store)."""
        record = RunRecord(run.record.workflow_id, run.record.run_id, run.record.workflow_type,
                           run.record.start_time, run.record.status, run.record.close_time,
                           list(run.record.history))
        inst = WorkflowInstance(engine=self, run=record, defn=run.defn, converter=self.converter)
        self.telemetry.suppress_replay(run)
        inst.replay()
        return inst

    async def _update(self, workflow_id: str, run_id: str | None, update: Any, args: list[Any],
                      update_id: str | None, result_type: Any) -> Any:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        name = handler_name("update", update)
        self._require_open(run, f"update {name!r} on")
        h = run.defn.handler("update", name)
        if h is None:
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no update {name!r} "
                f"(updates: {sorted(run.defn.updates)})"
            )
        if not h.dynamic:
            h.checker.check(f"update {name!r}", args)
        payloads = self.converter.encode(args)
        decoded = self.converter.decode(payloads, None if h.dynamic else h.arg_hints)
        inst = run.instance
        assert inst is not None
        with self.telemetry.update_span(run, name):
            try:
                inst.validate_update(name, decoded)
            except Exception as err:
                raise WorkflowUpdateFailedError(err, rejected=True) from err
            uid = update_id or str(uuid.uuid4())
            waiter: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
            run.update_waiters[uid] = waiter
            self._submit(run, E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, {"update_id": uid, "name": name, "input": payloads})
            self._result_waiters += 1
            self._schedule_skip_check()
            try:
                ev = await waiter
            finally:
                self._result_waiters -= 1
        a = ev.attributes
        if a.get("failure") is not None:
            cause = from_failure(a["failure"], self.converter)
            raise WorkflowUpdateFailedError(cause) from cause
        r = a.get("result")
        hint = result_type if result_type is not None else h.ret_hint
        return self.converter.decode_one(r, hint) if r is not None else None

    def _request_cancel(self, run: _Run) -> asyncio.Future[None] | None:
        inst = run.instance
        if inst is not None and inst.cancel_requested:
            return None
        for ev in run.record.history:
            if ev.event_type is E.WORKFLOW_EXECUTION_CANCEL_REQUESTED:
                return None
        return self._submit(run, E.WORKFLOW_EXECUTION_CANCEL_REQUESTED, {"reason": ""}, wait=self.store.durable)

    async def _cancel(self, workflow_id: str, run_id: str | None) -> None:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        if not run.open:
            return  # a cancel to a closed workflow is a no-op
        fut = self._request_cancel(run)
        if fut is not None:
            await fut

    async def _terminate(self, workflow_id: str, run_id: str | None, reason: str | None, details: list[Any]) -> None:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        self._require_open(run, "terminate")
        await self._terminate_run(run, reason, details)

    async def _terminate_run(self, run: _Run, reason: str | None, details: list[Any]) -> None:
        fut = self._close_from_outside(
            run, E.WORKFLOW_EXECUTION_TERMINATED,
            {"reason": reason or "", "details": self.converter.encode(details)},
        )
        if fut is not None:
            await fut

    async def _describe(self, workflow_id: str, run_id: str | None) -> WorkflowExecutionDescription:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        r = run.record
        started = r.history[0].attributes if r.history else {}
        parent = started.get("parent") or {}
        inst = run.instance
        failure = None
        if inst is not None and run.open:
            failure = inst.nondeterminism or inst.task_failure
        return WorkflowExecutionDescription(
            id=r.workflow_id,
            run_id=r.run_id,
            workflow_type=r.workflow_type,
            status=r.status,
            start_time=datetime.fromtimestamp(r.start_time, UTC),
            close_time=datetime.fromtimestamp(r.close_time, UTC) if r.close_time is not None else None,
            history_length=len(r.history),
            memo={k: self.converter.decode_one(v) for k, v in (started.get("memo") or {}).items()},
            parent_id=parent.get("workflow_id"),
            parent_run_id=parent.get("run_id"),
            pending_activities=len(run.activities),
            pending_task_failure=failure,
        )

    async def _fetch_history(self, workflow_id: str, run_id: str | None) -> list[Event]:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        return list(run.record.history)

    async def _watch(self, workflow_id: str, run_id: str | None, from_event_id: int) -> AsyncIterator[Event]:
        await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        if from_event_id < 1:
            raise InvalidArgumentError("from_event_id starts at 1")
        next_id = from_event_id
        while True:
            history = run.record.history
            while next_id <= len(history):
                yield history[next_id - 1]
                next_id += 1
            if not run.open:
                return
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            run.watchers.append(fut)
            try:
                await fut
            finally:
                if fut in run.watchers:
                    run.watchers.remove(fut)

    def _notify_watchers(self, run: _Run) -> None:
        if run.watchers:
            ws = run.watchers
            run.watchers = []
            for w in ws:
                if not w.done():
                    w.set_result(None)

    async def list_workflows(
        self,
        *,
        status: WorkflowExecutionStatus | None = None,
        page_size: int = 100,
        next_page_token: bytes | None = None,
    ) -> tuple[list[WorkflowExecutionDescription], bytes | None]:
        """One page of runs (oldest first), optionally only those with ``status``."""
        await self._ensure_started()
        if page_size < 1:
            raise InvalidArgumentError("page_size must be at least 1")
        after = None
        if next_page_token:
            try:
                import json

                t = json.loads(next_page_token.decode())
                after = (float(t[0]), str(t[1]), str(t[2]))
            except Exception as err:
                raise InvalidArgumentError(f"bad next_page_token: {err}") from None
        records = await self.store.list_runs(status=status, limit=page_size + 1, after=after)
        more = len(records) > page_size
        records = records[:page_size]
        out = []
        for rec in records:
            run = self._by_run_id.get(rec.run_id)
            r = run.record if run is not None else rec
            out.append(WorkflowExecutionDescription(
                id=r.workflow_id, run_id=r.run_id, workflow_type=r.workflow_type, status=r.status,
                start_time=datetime.fromtimestamp(r.start_time, UTC),
                close_time=datetime.fromtimestamp(r.close_time, UTC) if r.close_time is not None else None,
                history_length=r.length,
            ))
        token = None
        if more and records:
            import json

            last = records[-1]
            token = json.dumps([last.start_time, last.workflow_id, last.run_id]).encode()
        return out, token

    # ------------------------------------------------------------------ virtual time

    def _schedule_skip_check(self) -> None:
        if not self.clock.skips or self._skip_scheduled or self._closed:
            return
        self._skip_scheduled = True
        asyncio.get_running_loop().call_soon(self._skip_check, 0)

    def _skip_check(self, rounds: int) -> None:
        self._skip_scheduled = False
        if self._closed or self._result_waiters == 0 or self._inflight or self._pending_commits or self._queue:
            return
        if rounds < 2:
            # let callbacks that are already queued run first
            self._skip_scheduled = True
            asyncio.get_running_loop().call_soon(self._skip_check, rounds + 1)
            return
        nxt = self.timers.next_deadline()
        if nxt is None:
            return
        if nxt > self.clock.now():
            self.clock.skip_to(nxt)
        self.timers.fire_due()
        self._schedule_skip_check()

    async def _on_clock_advanced(self) -> None:
        self.timers.fire_due()
        await asyncio.sleep(0)

    # ------------------------------------------------------------------ retention

    async def _retention_loop(self) -> None:
        assert self.retention is not None
        period = min(max(self.retention.total_seconds() / 10, 1.0), 3600.0)
        while True:
            await self.purge_closed()
            await asyncio.sleep(period)

    async def purge_closed(self) -> int:
        """Delete closed runs older than the retention now (it also runs periodically)."""
        if self.retention is None:
            return 0
        cutoff = self.clock.now() - self.retention.total_seconds()
        n = await self.store.purge_closed(cutoff)
        for wid, run in list(self._runs.items()):
            if not run.open and run.record.close_time is not None and run.record.close_time < cutoff:
                del self._runs[wid]
                self._by_run_id.pop(run.record.run_id, None)
        return n
