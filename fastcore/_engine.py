"""The engine: client and worker in one object, driving workflow runs in-process.

Every change to a run goes through one path (``_pipeline``): an input event is queued,
``_drain`` appends it, lets the run's code react (``WorkflowInstance.activate``), hands the
new events to the store in one append and applies the commands' effects (start activities,
arm timers, start children) at once; what callers are told (acknowledgments, results,
watched events) waits until the store says the events are durable. Work that completes
without real I/O is processed in the same pass, so a workflow of instant activities
finishes inside one call. Closing runs is ``_closing``; what handles do is ``_operations``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random as _random
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ._clock import Clock, SystemClock
from ._converter import DataConverter, default_converter
from ._definitions import ActivityDefinition, WorkflowDefinition
from ._handles import WorkflowHandle
from ._instance import WorkflowInstance
from ._store import RunRecord, Store, open_store
from ._telemetry import Telemetry
from ._timers import TimerService
from .common import (
    RetryPolicy,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from .errors import (
    InvalidArgumentError,
    WorkflowAlreadyStartedError,
)
from .history import CLOSE_EVENTS, Event, EventType

__all__ = ["Engine"]

from ._closing import _Closing
from ._operations import _Operations
from ._pipeline import _Pipeline
from ._run_state import (
    _CLOSE_STATUS,
    E,
    S,
    _Run,
    new_id,
)


class Engine(_Operations, _Closing, _Pipeline):
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
        self._queue: deque[tuple[_Run, EventType, dict[str, Any], asyncio.Future[None] | None]] = (
            deque()
        )
        self._draining: bool = False
        self._started = False
        self._closed = False
        self._ready = False  # started and not shut down: the fast check before every call
        self._inflight = 0
        self._result_waiters = 0
        self._pending_commits = 0
        self._skip_scheduled = False
        self._retention_task: asyncio.Task[None] | None = None
        self._rng = _random.Random()
        self.telemetry: Telemetry = Telemetry(tracer_provider, meter_provider)

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
            attached = getattr(ref, "__fastcore_workflow_definition__", None)
            if isinstance(attached, WorkflowDefinition) and attached.run_fn is ref:
                if attached.name is None:
                    return self._dynamic_workflow
                found = self._workflows.get(attached.name)
                if found is not None and found.run_fn is ref:
                    return found
            # a run method shared by several registered classes (subclasses)
            for d in self._workflows.values():
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
        self._ready = True

    async def shutdown(self) -> None:
        """Stop timers and activities, flush the store. Open workflows stay open in it."""
        if self._closed:
            return
        self._closed = True
        self._ready = False
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
        if not self._ready:
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
        existing = self._runs.get(id)  # every open run is in memory
        prior = existing.record if existing is not None else None
        if prior is None and self.store.durable:
            prior = await self.store.latest_run_info(id)  # a closed run from earlier
        if existing is not None or prior is not None:
            if existing is not None and existing.open:
                policy = id_conflict_policy
                if policy == WorkflowIDConflictPolicy.USE_EXISTING:
                    return self._handle(existing, result_type)
                if policy == WorkflowIDConflictPolicy.TERMINATE_EXISTING or (
                    id_reuse_policy == WorkflowIDReusePolicy.TERMINATE_IF_RUNNING
                ):
                    await self._terminate_run(
                        existing, "terminated by a start with the same id", []
                    )
                else:
                    raise WorkflowAlreadyStartedError(id, name, run_id=existing.record.run_id)
            elif prior is not None:
                st = prior.status
                if id_reuse_policy == WorkflowIDReusePolicy.REJECT_DUPLICATE or (
                    id_reuse_policy == WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
                    and st in (S.COMPLETED, S.CONTINUED_AS_NEW)
                ):
                    raise WorkflowAlreadyStartedError(id, name, run_id=prior.run_id)
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

    async def execute_workflow(
        self, workflow: Any, arg: Any = ..., *more: Any, **kwargs: Any
    ) -> Any:
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
            self,
            r.workflow_id,
            run_id=r.run_id,
            result_run_id=r.run_id,
            first_execution_run_id=r.run_id,
            result_type=result_type,
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
        first_task_backoff: float | None = None,
    ) -> tuple[_Run, asyncio.Future[None] | None]:
        now = self.clock.now()
        run_id = run_id or new_id()
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
        if first_task_backoff:
            attrs["first_task_backoff"] = first_task_backoff
        prev = self._runs.get(workflow_id)
        self._runs[workflow_id] = run
        self._by_run_id[run_id] = run
        if prev is not None and not prev.open:
            self._by_run_id.pop(prev.record.run_id, None)
        started = Event(1, E.WORKFLOW_EXECUTION_STARTED, now, attrs)
        record.history.append(started)
        if signal is not None:
            record.history.append(
                Event(
                    2,
                    E.WORKFLOW_EXECUTION_SIGNALED,
                    now,
                    {"signal_name": signal[0], "input": signal[1], "with_start": True},
                )
            )
        self.telemetry.workflow_started(run)
        deadline: float | None = attrs["execution_deadline"]  # type: ignore[assignment]
        if run_timeout:
            deadline = min(deadline or now + run_timeout, now + run_timeout)
        if deadline:
            run.timeout_entry = self.timers.call_at(deadline, self._workflow_timed_out, run)
        run.instance = WorkflowInstance(
            engine=self, run=record, defn=defn, converter=self.converter
        )
        if first_task_backoff:
            # A retry run: recorded now (durable), its code first runs after the backoff;
            # inputs meanwhile wait, as for a blocked run (Temporal's first task backoff).
            run.instance.blocked = True
            run.instance.deferred = [started]
            self._commit(run, list(record.history), None, [])
            run.retry_entry = self.timers.call_at(
                now + first_task_backoff, self._retry_task, run, 0
            )
            return run, None
        waiter: asyncio.Future[None] | None = None
        if self.store.durable:
            waiter = asyncio.get_running_loop().create_future()
        self._queue.append((run, E.WORKFLOW_EXECUTION_STARTED, {}, waiter))
        self._drain()
        if waiter is not None and waiter.done():
            return run, None
        return run, waiter

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
                    if not run.children:
                        run.children = {}
                    run.children[ev.attributes["initiated_event_id"]] = (
                        ev.attributes["workflow_id"],
                        ev.attributes["run_id"],
                    )
        for run in runs:
            self.telemetry.suppress_replay(run)
            self._rebuild(run)
            self._arm_run_deadline(run)

    async def import_history(self, events: Sequence[Event]) -> WorkflowHandle:
        """Resume a run from a history recorded elsewhere (a checkpoint): replay it, then go on.

        Completed activities are not run again; activities and timers that were in flight
        are restarted. The run keeps its workflow id and run id. Raises
        ``WorkflowAlreadyStartedError`` if a run with that id is open here.
        """
        if not self._ready:
            await self._ensure_started()
        events = list(events)
        if not events or events[0].event_type is not E.WORKFLOW_EXECUTION_STARTED:
            raise InvalidArgumentError("a history starts with WORKFLOW_EXECUTION_STARTED")
        a = events[0].attributes
        defn = self.workflow_definition(a["workflow_type"])
        if defn is None:
            raise InvalidArgumentError(
                f"workflow {a['workflow_type']!r} is not registered with this engine"
            )
        existing = await self._latest_run(a["workflow_id"])
        if existing is not None and existing.record.run_id == a["run_id"]:
            return self._handle(existing)  # already here (a retry on the same engine)
        if existing is not None and existing.open:
            raise WorkflowAlreadyStartedError(
                a["workflow_id"], a["workflow_type"], run_id=existing.record.run_id
            )
        if await self.store.load_run(a["workflow_id"], a["run_id"]) is not None:
            raise WorkflowAlreadyStartedError(
                a["workflow_id"], a["workflow_type"], run_id=a["run_id"]
            )
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
            self._arm_run_deadline(run)
        return self._handle(run)

    def _arm_run_deadline(self, run: _Run) -> None:
        """Re-arm a rebuilt run's execution/run timeout at its original deadline."""
        if not run.open or run.timeout_entry is not None:
            return
        first = run.record.history[0]
        deadline: float | None = first.attributes.get("execution_deadline")
        run_timeout = first.attributes.get("run_timeout")
        if run_timeout:
            end = first.timestamp + float(run_timeout)
            deadline = min(deadline, end) if deadline else end
        if deadline:
            run.timeout_entry = self.timers.call_at(deadline, self._workflow_timed_out, run)

    # ------------------------------------------------------------------ virtual time

    def _schedule_skip_check(self) -> None:
        if not self.clock.skips or self._skip_scheduled or self._closed:
            return
        self._skip_scheduled = True
        asyncio.get_running_loop().call_soon(self._skip_check, 0)

    def _skip_check(self, rounds: int) -> None:
        self._skip_scheduled = False
        if (
            self._closed
            or self._result_waiters == 0
            or self._inflight
            or self._pending_commits
            or self._queue
        ):
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
            if (
                not run.open
                and run.record.close_time is not None
                and run.record.close_time < cutoff
            ):
                del self._runs[wid]
                self._by_run_id.pop(run.record.run_id, None)
        return n
