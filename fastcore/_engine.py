"""The engine: client and worker in one object, driving workflow runs in-process.

``Engine`` is a facade over parts that each own their state (``fastcore._parts`` makes them
and hands each, once, what it needs from the others); its methods are temporalio's client and
worker calls, each passed on to the part that does it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ._async_activity import AsyncActivityHandle
from ._backup import backup_store
from ._clock import Clock, SystemClock
from ._converter import DataConverter, default_converter
from ._definitions import ActivityDefinition, WorkflowDefinition
from ._environment import WorkflowEnvironment
from ._handles import WorkflowHandle, call_args
from ._lifecycle import Lifecycle
from ._listing import WorkflowExecutionAsyncIterator, WorkflowExecutionCount
from ._open_store import open_store
from ._parts import connect_parts
from ._registry import Registry
from ._run import Run
from ._search_attributes import SearchAttributeRegistry
from ._store import Store
from ._telemetry import Telemetry
from ._timers import TimerService
from ._update_handle import WorkflowUpdateHandle, sent_update_handle
from ._updates import WorkflowUpdateStage
from ._with_start import WithStartWorkflowOperation
from .common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributes,
    TypedSearchAttributes,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from .errors import InvalidArgumentError, StoreError
from .history import Event

__all__ = ["Engine"]

_NO_METADATA: Mapping[str, str | bytes] = {}
_COMPLETED = WorkflowExecutionStatus.COMPLETED


def _refuse_versioning(versioning_override: Any) -> None:
    if versioning_override is not None:
        raise InvalidArgumentError(
            "versioning_override is not supported: an embedded engine has no worker "
            "versioning (one engine runs the code it was given)"
        )


class Engine:
    """An embedded workflow engine: ``async with Engine(workflows=[...], activities=[...])``.

    Args:
        store: ``"memory"`` (default), ``"sqlite:///path.db"`` or a ``Store`` instance.
        workflows: ``@workflow.defn`` classes this engine runs.
        activities: ``@activity.defn`` functions this engine runs.
        clock: where time comes from; ``fastcore.testing.VirtualClock()`` for tests.
        data_converter: the data converter (``fastcore.converter``; JSON by default), as
            ``temporalio.client.Client.connect(data_converter=...)``; ``converter`` is the
            same option by fastcore's older name.
        max_activity_threads: size of the thread pool for plain ``def`` activities.
        activity_executor: a thread pool of your own instead (not shut down by the engine);
            a ``ProcessPoolExecutor`` is refused (see the README's deviations).
        graceful_shutdown_timeout: how long ``shutdown()`` lets running activities finish
            (their outcomes are recorded) before it cancels them, as temporalio's ``Worker``.
        durability: for sqlite, ``"sync"`` (default) or ``"batch"``.
        retention: how long closed runs' histories are kept (None: forever).
        max_closed_runs: how many closed runs the engine keeps in memory (None: no limit);
            the memory store forgets the oldest beyond it, a durable store keeps them on
            disk (in memory it keeps the latest 256 at most).
        workflow_task_retry_interval: first delay before a failed workflow task is retried.
        failure_exception_types: exception types that fail any workflow instead of its task.
        continue_as_new_suggested_events, continue_as_new_suggested_bytes: from how many
            events or bytes of history ``workflow.info().is_continue_as_new_suggested()`` is
            True (Temporal's defaults: 4,096 events, 4 MiB).
        identity: a name for this engine in activity errors and traces.
        tracer_provider, meter_provider: OpenTelemetry providers (globals when None).
        search_attribute_keys: custom search attributes (``SearchAttributeKey.for_*``)
            known from the start, so list queries may name them before any run sets them.
            Others are learned on first use; an attribute keeps its first type.
    """

    def __init__(
        self,
        store: str | Store = "memory",
        *,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        clock: Clock | None = None,
        data_converter: DataConverter | None = None,
        converter: DataConverter | None = None,
        max_activity_threads: int | None = None,
        activity_executor: concurrent.futures.Executor | None = None,
        graceful_shutdown_timeout: timedelta = timedelta(),
        durability: str | None = None,
        retention: timedelta | None = timedelta(days=7),
        max_closed_runs: int | None = 100_000,
        workflow_task_retry_interval: timedelta = timedelta(seconds=1),
        failure_exception_types: Sequence[type[BaseException]] = (),
        continue_as_new_suggested_events: int = 4096,
        continue_as_new_suggested_bytes: int = 4 * 1024 * 1024,
        identity: str | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        search_attribute_keys: Sequence[SearchAttributeKey[Any]] = (),
    ) -> None:
        if isinstance(activity_executor, concurrent.futures.ProcessPoolExecutor):
            raise InvalidArgumentError(
                "Engine(activity_executor=ProcessPoolExecutor(...)) is not supported: plain def "
                "activities run in the engine's process, where activity.heartbeat(), "
                "is_cancelled() and their cancellation reach them. Pass a ThreadPoolExecutor "
                "(or none), and send CPU-bound work to your process pool from inside the "
                "activity (await loop.run_in_executor(pool, fn, ...))."
            )
        # Settings are checked here, where they are made, not when first used.
        if retention is not None and (
            not isinstance(retention, timedelta) or retention <= timedelta(0)
        ):
            raise InvalidArgumentError(
                f"retention must be a positive timedelta or None, not {retention!r}"
            )
        if not isinstance(
            workflow_task_retry_interval, timedelta
        ) or workflow_task_retry_interval <= timedelta(0):
            raise InvalidArgumentError(
                "workflow_task_retry_interval must be a positive timedelta, not "
                f"{workflow_task_retry_interval!r}"
            )
        if max_activity_threads is not None and (
            isinstance(max_activity_threads, bool)
            or not isinstance(max_activity_threads, int)
            or max_activity_threads < 1
        ):
            raise InvalidArgumentError(
                "max_activity_threads must be a positive integer or None, not "
                f"{max_activity_threads!r}"
            )
        opts = {"durability": durability} if durability is not None else {}
        self._search_attributes = SearchAttributeRegistry()
        for key in search_attribute_keys:
            self._search_attributes.register_key(key)
        self.store: Store = open_store(store, **opts)
        self.clock: Clock = clock or SystemClock()
        if data_converter is not None and converter is not None and data_converter is not converter:
            raise InvalidArgumentError("pass data_converter or converter, not both")
        self.converter: DataConverter = data_converter or converter or default_converter
        self.identity = identity or f"fastcore@{uuid.uuid4().hex[:8]}"
        self.retention = retention
        if max_closed_runs is not None and (
            not isinstance(max_closed_runs, int) or max_closed_runs < 1
        ):
            raise InvalidArgumentError(
                f"max_closed_runs must be a positive int or None, not {max_closed_runs!r}"
            )
        self.max_closed_runs = max_closed_runs
        self.graceful_shutdown_timeout = graceful_shutdown_timeout
        self._registry = registry = Registry(workflows, activities)
        self._env = WorkflowEnvironment(
            clock_now=self.clock.now,
            activity_definition=registry.activity_definition,
            workflow_definition=registry.workflow_definition,
            failure_exception_types=tuple(failure_exception_types),
            strict_registry=True,
            search_attributes=self._search_attributes,
            continue_as_new_suggested_events=continue_as_new_suggested_events,
            continue_as_new_suggested_bytes=continue_as_new_suggested_bytes,
        )
        self.timers = TimerService(self.clock)
        self._life = Lifecycle(self.start)
        self._retention_task: asyncio.Task[None] | None = None
        self._telemetry = Telemetry(tracer_provider, meter_provider)
        self._env.meter = lambda: self._telemetry.meter
        self._parts = parts = connect_parts(
            store=self.store,
            clock=self.clock,
            timers=self.timers,
            converter=self.converter,
            telemetry=self._telemetry,
            registry=registry,
            env=self._env,
            lifecycle=self._life,
            search_attributes=self._search_attributes,
            identity=self.identity,
            max_closed_runs=self.max_closed_runs,
            executor=activity_executor,
            max_threads=max_activity_threads,
            retry_interval=workflow_task_retry_interval.total_seconds(),
        )
        parts.dispatcher.client = self  # what activity.client() answers
        # the parts the facade calls (on the hot path: one attribute away)
        self._table = parts.table
        #: the latest run per workflow id (tests and tools read it)
        self._runs = parts.table.by_workflow_id
        self._dispatcher = parts.dispatcher
        self._recovery = parts.recovery
        self._ops = parts.ops
        self._updates = parts.updates
        self._starts = parts.starts

    @property
    def data_converter(self) -> DataConverter:
        """The data converter (``temporalio.client.Client.data_converter``)."""
        return self.converter

    @property
    def failure_exception_types(self) -> tuple[type[BaseException], ...]:
        """Exception types that fail any workflow instead of its workflow task."""
        return self._env.failure_exception_types

    @failure_exception_types.setter
    def failure_exception_types(self, value: Sequence[type[BaseException]]) -> None:
        self._env.failure_exception_types = tuple(value)

    @property
    def workflow_task_retry_interval(self) -> float:
        """Seconds before a failed workflow task is first retried (doubling after that)."""
        return self._recovery.retry_interval

    @workflow_task_retry_interval.setter
    def workflow_task_retry_interval(self, value: float) -> None:
        self._recovery.retry_interval = value

    @property
    def strict_registry(self) -> bool:
        """Whether workflow code may only schedule activities registered here (always, by
        default: an embedded engine knows its registry)."""
        return self._env.strict_registry

    @strict_registry.setter
    def strict_registry(self, value: bool) -> None:
        self._env.strict_registry = value

    @property
    def telemetry(self) -> Telemetry:
        """Spans and metrics of this engine (no-ops without OpenTelemetry providers)."""
        return self._telemetry

    @telemetry.setter
    def telemetry(self, value: Telemetry) -> None:
        self._telemetry = value
        self._parts.set_telemetry(value)

    # ------------------------------------------------------------------ registry

    def activity_definition(self, name: str) -> ActivityDefinition | None:
        """The activity registered as ``name`` (or the dynamic one)."""
        return self._registry.activity_definition(name)

    def workflow_definition(self, ref: Any) -> WorkflowDefinition | None:
        """The workflow for a class, a run method, or a type name; None when unknown."""
        return self._registry.workflow_definition(ref)

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The pool plain ``def`` activities run in."""
        return self._dispatcher.executor

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
        life = self._life
        if life.started:
            return
        if life.closed:
            raise RuntimeError("this engine was shut down; make a new one")
        life.started = True
        self.timers.bind(asyncio.get_running_loop())
        if hasattr(self.clock, "_engines"):
            self.clock._engines.append(self)
        try:
            await self.store.open()
            for name, type_name in (await self.store.search_attribute_types()).items():
                try:
                    self._search_attributes.register(name, type_name, source="the store")
                except InvalidArgumentError as err:
                    raise StoreError(
                        f"search_attribute_keys disagree with the store: {err}"
                    ) from None
            if self.store.durable:
                await self._recovery.recover()
        except BaseException:
            life.started = False
            life.closed = True
            await self.store.close()
            raise
        if self.retention is not None:
            self._retention_task = asyncio.get_running_loop().create_task(self._retention_loop())
        life.ready = True

    async def shutdown(self) -> None:
        """Stop timers and activities, flush the store. Open workflows stay open in it.

        Running activities get ``graceful_shutdown_timeout`` to finish (their outcomes are
        recorded; no new activity or attempt starts), then are cancelled: an async one at its
        await, a plain ``def`` one by ``CancelledError`` in its thread. One that has not
        stopped a moment later is named in a WARNING (a thread cannot be killed).
        """
        life = self._life
        if life.closed:
            return
        life.closed = True
        life.ready = False
        if self._retention_task is not None:
            self._retention_task.cancel()
        dispatcher = self._dispatcher
        dispatcher.begin_shutdown()
        grace = self.graceful_shutdown_timeout.total_seconds()
        if grace > 0:
            await dispatcher.let_finish(list(self._runs.values()), grace)
        self.timers.close()
        await dispatcher.abandon_all(list(self._runs.values()))
        self._parts.notifier.cancel_all(list(self._runs.values()))
        if hasattr(self.clock, "_engines") and self in self.clock._engines:
            self.clock._engines.remove(self)
        await self.store.close()
        self._dispatcher.shutdown_executor()
        self.telemetry.shutdown()

    # ------------------------------------------------------------------ starting runs

    async def start_workflow(
        self,
        workflow: Any,
        arg: Any = ...,
        *more: Any,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str | None = None,
        result_type: Any = None,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        task_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.UNSPECIFIED,
        retry_policy: RetryPolicy | None = None,
        cron_schedule: str = "",
        memo: Mapping[str, Any] | None = None,
        search_attributes: TypedSearchAttributes | SearchAttributes | None = None,
        static_summary: str | None = None,
        static_details: str | None = None,
        start_delay: timedelta | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
        request_eager_start: bool = False,
        priority: Any = None,
        versioning_override: Any = None,
        stack_level: int = 2,
    ) -> WorkflowHandle:
        """Start a workflow (its run method, class or type name) and return its handle.

        The arguments are ``temporalio.client.Client.start_workflow``'s. ``task_queue`` is
        recorded (``workflow.info().task_queue``, ``describe()``, list filters), not used for
        routing: one engine runs every workflow it registered. ``search_attributes`` are the
        run's initial search attributes. With ``cron_schedule`` (``"*/5 * * * *"``,
        ``"@every 1h"``, ...) the first run waits for the first schedule time and each run
        that completes, fails or times out is followed by a new run of the same id at the
        next schedule time, until the workflow is cancelled or terminated. ``start_delay``
        records the run now and runs its code after the delay (Temporal's first workflow
        task backoff). With ``start_signal`` this is Temporal's signal-with-start: a running
        workflow with the id gets the signal (its handle is returned, and a start delay it
        still waits out ends), unless ``id_conflict_policy`` is ``TERMINATE_EXISTING``;
        ``FAIL`` is refused. What an embedded engine has no use for is accepted and changes
        nothing: ``task_timeout`` (a workflow task runs in-process), ``static_summary``/``_details``
        (no UI), ``rpc_metadata``/``rpc_timeout`` (no RPC), ``request_eager_start`` (every
        start is eager here), ``priority`` (one queue). ``versioning_override`` (worker
        versioning) is refused.
        """
        _refuse_versioning(versioning_override)
        call_args = [] if arg is ... else [arg]
        call_args.extend(more)
        call_args.extend(args)
        run, _ = await self._starts.start(
            workflow,
            call_args,
            id=id,
            task_queue=task_queue,
            execution_timeout=execution_timeout,
            run_timeout=run_timeout,
            id_reuse_policy=id_reuse_policy,
            id_conflict_policy=id_conflict_policy,
            retry_policy=retry_policy,
            memo=memo,
            start_delay=start_delay,
            start_signal=start_signal,
            start_signal_args=start_signal_args,
            search_attributes=search_attributes,
            cron_schedule=cron_schedule,
        )
        return self._handle(run, result_type)

    async def execute_workflow(
        self,
        workflow: Any,
        arg: Any = ...,
        *more: Any,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str | None = None,
        result_type: Any = None,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        task_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.UNSPECIFIED,
        retry_policy: RetryPolicy | None = None,
        cron_schedule: str = "",
        memo: Mapping[str, Any] | None = None,
        search_attributes: TypedSearchAttributes | SearchAttributes | None = None,
        static_summary: str | None = None,
        static_details: str | None = None,
        start_delay: timedelta | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
        request_eager_start: bool = False,
        priority: Any = None,
        versioning_override: Any = None,
    ) -> Any:
        """Start a workflow and wait for its result (``start_workflow``'s arguments)."""
        if versioning_override is not None:
            _refuse_versioning(versioning_override)
        run, _ = await self._starts.start(
            workflow,
            # (made in the call: the start drops it before it waits for the commit)
            call_args(arg, more, args),
            id=id,
            task_queue=task_queue,
            execution_timeout=execution_timeout,
            run_timeout=run_timeout,
            id_reuse_policy=id_reuse_policy,
            id_conflict_policy=id_conflict_policy,
            retry_policy=retry_policy,
            memo=memo,
            start_delay=start_delay,
            start_signal=start_signal,
            start_signal_args=start_signal_args,
            search_attributes=search_attributes,
            cron_schedule=cron_schedule,
        )
        rec = run.record
        if rec.status is _COMPLETED:
            # completed within the start (no I/O on the way): its result, as ``result`` reads
            # it (unless a next run, a cron workflow's, follows it: ``result`` goes on there)
            h = rec._history  # (held packed while a durable commit kept it waiting)
            a = (h[-1] if h is not None else rec.last_event()).attributes
            r = a.get("result")
            if "new_execution_run_id" in a:
                return await self._ops.result(
                    rec.workflow_id, rec.run_id, follow_runs=True, result_type=result_type
                )
            if r is None:
                return None
            hint = result_type if result_type is not None else run.defn.run_ret_hint
            return self.converter.decode_one(r, hint)
        return await self._ops.result(
            rec.workflow_id, rec.run_id, follow_runs=True, result_type=result_type
        )

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
            self._ops,
            workflow_id,
            run_id=run_id,
            result_run_id=run_id,
            first_execution_run_id=first_execution_run_id,
            result_type=result_type,
        )

    def get_workflow_handle_for(
        self,
        workflow: Any,
        workflow_id: str,
        *,
        run_id: str | None = None,
        first_execution_run_id: str | None = None,
    ) -> WorkflowHandle:
        """``get_workflow_handle`` typed by the workflow's run method (its result hint)."""
        defn = self._registry.workflow_definition(workflow)
        return self.get_workflow_handle(
            workflow_id,
            run_id=run_id,
            first_execution_run_id=first_execution_run_id,
            result_type=defn.run_ret_hint if defn is not None else None,
        )

    def get_workflow_update_handle(
        self,
        update_id: str,
        workflow_id: str,
        *,
        workflow_run_id: str | None = None,
        result_type: Any = None,
    ) -> WorkflowUpdateHandle[Any]:
        """A handle to update ``update_id`` of a workflow (also one sent before a restart);
        ``get_workflow_handle(workflow_id).get_update_handle(update_id)`` in one call."""
        return WorkflowUpdateHandle(
            self._updates,
            update_id,
            workflow_id,
            workflow_run_id=workflow_run_id,
            result_type=result_type,
        )

    # ------------------------------------------------------------------ update-with-start

    async def start_update_with_start_workflow(
        self,
        update: Any,
        arg: Any = ...,
        *more: Any,
        start_workflow_operation: WithStartWorkflowOperation,
        wait_for_stage: WorkflowUpdateStage,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: Any = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowUpdateHandle[Any]:
        """Send an update to the workflow the operation names, starting it unless it runs.

        A new run gets the update in its first activation (validator, then handler, before
        the run method); a running one (``USE_EXISTING``) gets it as any update. Returns the
        update's handle once it reached ``wait_for_stage``; the operation's
        ``workflow_handle()`` gives the workflow's handle.
        """
        if wait_for_stage == WorkflowUpdateStage.ADMITTED:
            raise ValueError("ADMITTED wait stage not supported")
        op = start_workflow_operation
        op._mark_used()
        try:
            if not self._life.ready:
                await self._life.ensure_started()
            sent, _ = await self._parts.with_start.send(
                op, update, call_args(arg, more, args), id, WorkflowUpdateStage(wait_for_stage)
            )
        except BaseException as err:
            if op._handle is None:
                op._set_error(err)
            raise
        return sent_update_handle(
            self._updates, sent, workflow_run_id=None, result_type=result_type
        )

    async def execute_update_with_start_workflow(
        self,
        update: Any,
        arg: Any = ...,
        *more: Any,
        start_workflow_operation: WithStartWorkflowOperation,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: Any = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """``start_update_with_start_workflow`` up to ``COMPLETED``, then the update's result
        (``WorkflowUpdateFailedError`` when it was rejected or failed)."""
        handle = await self.start_update_with_start_workflow(
            update,
            arg,
            *more,
            start_workflow_operation=start_workflow_operation,
            wait_for_stage=WorkflowUpdateStage.COMPLETED,
            args=args,
            id=id,
            result_type=result_type,
        )
        return await handle.result()

    def _handle(self, run: Run, result_type: Any = None) -> WorkflowHandle:
        """The handle a start returns, as temporalio's: no ``run_id``, so ``describe``,
        ``signal``, ``query`` and the rest reach the latest run of the id (the chain goes on
        through continue-as-new and retries); ``result()`` starts from this run and follows
        the chain; ``cancel`` and ``terminate`` act only within this run's chain."""
        r = run.record
        first = r.history[0].attributes.get("first_run_id") if r.history else None
        return WorkflowHandle(
            self._ops,
            r.workflow_id,
            run_id=None,
            result_run_id=r.run_id,
            first_execution_run_id=first or r.run_id,
            result_type=result_type,
        )

    def get_async_activity_handle(
        self,
        *,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
        task_token: bytes | None = None,
    ) -> AsyncActivityHandle:
        """A handle to complete an activity that called ``activity.raise_complete_async()``:
        by its ``activity.info().task_token``, or by workflow id (and run id) and activity id.
        """
        return AsyncActivityHandle(
            self._parts.async_activities,
            task_token=task_token,
            workflow_id=workflow_id,
            run_id=run_id,
            activity_id=activity_id,
        )

    async def import_history(self, events: Sequence[Event]) -> WorkflowHandle:
        """Resume a run from a history recorded elsewhere (a checkpoint): replay it, then go on.

        Completed activities are not run again; activities and timers that were in flight
        are restarted. The run keeps its workflow id and run id. Raises
        ``WorkflowAlreadyStartedError`` if a run with that id is open here.
        """
        if not self._life.ready:
            await self._life.ensure_started()
        return self._handle(await self._recovery.import_history(events))

    def list_workflows(
        self,
        query: str | None = None,
        *,
        status: WorkflowExecutionStatus | None = None,
        limit: int | None = None,
        page_size: int = 1000,
        next_page_token: bytes | None = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowExecutionAsyncIterator:
        """Runs matching a visibility query, newest first, as temporalio's.

        ``query`` is Temporal's list filter (``WorkflowType = 'Checkout' AND
        ExecutionStatus = 'Running'``, ``CustomerId IN ('a', 'b')``, ``StartTime BETWEEN
        '2025-01-01T00:00:00Z' AND '2025-02-01T00:00:00Z'``, ``WorkflowId STARTS_WITH
        'order-'``, ...) over the built-in attributes and custom search attributes; None or
        empty lists every run. ``status`` is a shortcut for ``ExecutionStatus = ...``.
        ``rpc_metadata``/``rpc_timeout`` are accepted so code ports (there is no RPC).

        ``async for desc in engine.list_workflows(q)`` yields every match (at most ``limit``);
        ``await engine.list_workflows(q, page_size=...)`` gives one page and the next
        page's token (pass it back as ``next_page_token``; None after the last page).

        Raises:
            InvalidArgumentError: (when read) the query is malformed or names what is not
                supported (an unknown attribute, ``LIKE``, ``ORDER BY``, ...).
        """
        del rpc_metadata, rpc_timeout
        lister = self._parts.lister

        async def fetch(size: int, token: bytes | None) -> tuple[list[Any], bytes | None]:
            return await lister.page(query, status, size, token)

        return WorkflowExecutionAsyncIterator(
            fetch, page_size=page_size, next_page_token=next_page_token, limit=limit
        )

    async def count_workflows(
        self,
        query: str | None = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowExecutionCount:
        """How many runs match a visibility query; with ``GROUP BY ExecutionStatus``, also
        per status (``groups``), as temporalio's ``count_workflows`` (``rpc_metadata``/
        ``rpc_timeout`` are accepted so code ports).

        Raises:
            InvalidArgumentError: The query is malformed or names what is not supported.
        """
        del rpc_metadata, rpc_timeout
        return await self._parts.lister.count(query)

    @property
    def search_attribute_keys(self) -> Mapping[str, SearchAttributeKey[Any]]:
        """The custom search attributes this engine knows (given or used), by name."""
        return self._search_attributes.keys()

    # ------------------------------------------------------------------ time and retention

    async def _on_clock_advanced(self) -> None:
        """Called by ``VirtualClock.advance``: fire the timers that fell due."""
        await self._parts.skipper.on_clock_advanced()

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
        self._table.forget_closed_before(cutoff)
        return n

    async def backup(self, path: str | os.PathLike[str]) -> None:
        """Write a consistent copy of every workflow to ``path`` while the engine runs.

        The copy is one SQLite file that opens as a store (``Engine(store="sqlite:///path")``)
        and holds everything acknowledged before the call; it is checked and then renamed
        into place, so ``path`` never holds half a backup. It works for the memory store too.

        Raises:
            StoreError: The copy could not be made, or ``path`` is the file of a store an
                engine has open.
            InvalidArgumentError: ``path`` is a directory, in a missing one, or the store.
        """
        if not self._life.ready:
            await self._life.ensure_started()
        await backup_store(self.store, path)
