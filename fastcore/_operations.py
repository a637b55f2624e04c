"""What handles do: result, signal, query, cancel, terminate, describe, history, watch.

Each operation finds its run (in memory, or closed in the store), checks the call against the
workflow's definition and the run's state, and turns it into an input for the pipeline or an
answer from the run's state. Failures a caller can cause raise at the call: an unknown run
(``WorkflowNotFoundError``), a closed one where it must be open, a handler the workflow does
not define or arguments that do not fit (``InvalidArgumentError``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from ._converter import DataConverter, encode_arguments
from ._definitions import _HANDLER_ATTR, HandlerDefinition, handler_name
from ._description import WorkflowExecutionDescription
from ._environment import WorkflowEnvironment
from ._event_types import (
    ET_WORKFLOW_EXECUTION_CANCELED,
    ET_WORKFLOW_EXECUTION_FAILED,
    ET_WORKFLOW_EXECUTION_SIGNALED,
    ET_WORKFLOW_EXECUTION_TERMINATED,
    ET_WORKFLOW_EXECUTION_TIMED_OUT,
)
from ._failure import from_failure
from ._handlers import unknown_query
from ._instance import WorkflowInstance
from ._lifecycle import Lifecycle
from ._notify import Notifier
from ._pipeline import Pipeline
from ._requests import current_request_id
from ._run import Run, closed_error
from ._run_table import RunTable
from ._search_attributes import decode as decode_search_attributes
from ._store import RunRecord, Store
from ._telemetry import Telemetry
from ._updates import Updates, signal_requests
from ._validate import check_id, check_text
from .common import QueryRejectCondition, WorkflowExecutionStatus
from .errors import (
    ApplicationError,
    CancelledError,
    InvalidArgumentError,
    TerminatedError,
    TimeoutType,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from .errors import TimeoutError as FcTimeoutError
from .history import Event, EventType

_RUNNING = WorkflowExecutionStatus.RUNNING

__all__ = ["BUILTIN_QUERIES", "METADATA_QUERY", "STACK_TRACE_QUERY", "HandleOperations"]

STACK_TRACE_QUERY = "__stack_trace"
"""The query every run answers with its coroutine stacks (``temporal workflow stack``)."""

METADATA_QUERY = "__temporal_workflow_metadata"
"""The query every run answers with its type, its handlers and ``workflow.set_current_details``'
text, shaped as temporalio's ``WorkflowMetadata`` (a dict: fastcore has no protobuf)."""

BUILTIN_QUERIES = (STACK_TRACE_QUERY, METADATA_QUERY)


class HandleOperations:
    """The engine side of ``WorkflowHandle``: one method per handle call (updates are the
    ``Updates`` part's, reached as ``updates``).

    Each call checks ``Lifecycle.ready`` and finds its run itself, not through a helper
    coroutine: one coroutine less per call on the hot path.
    """

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        runs: RunTable,
        store: Store,
        env: WorkflowEnvironment,
        converter: DataConverter,
        telemetry: Telemetry,
        pipeline: Pipeline,
        notifier: Notifier,
        close_from_outside: Callable[[Run, EventType, dict[str, Any]], asyncio.Future[None] | None],
        request_cancel: Callable[[Run, str], asyncio.Future[None] | None],
        updates: Updates,
        end_start_delay: Callable[[Run], None],
        identity: str = "",
    ) -> None:
        self.identity = identity
        self._life = lifecycle
        self._runs = runs
        self._store = store
        self._env = env
        self._converter = converter
        self.telemetry = telemetry
        self._submit = pipeline.submit
        self._notifier = notifier
        self._close_from_outside = close_from_outside
        self._request_cancel = request_cancel
        self._end_start_delay = end_start_delay
        #: what ``start_update`` and update handles do (the ``Updates`` part)
        self.updates = updates

    @staticmethod
    def _require_open(run: Run, what: str) -> None:
        if not run.open:
            raise closed_error(run, what)

    # ------------------------------------------------------------------ result

    async def result(
        self, workflow_id: str, run_id: str | None, *, follow_runs: bool, result_type: Any
    ) -> Any:
        """Wait for the run's close; its result, or ``WorkflowFailureError`` with the cause."""
        if not self._life.ready:
            await self._life.ensure_started()
        run = self._runs.by_run_id.get(run_id) if run_id is not None else None
        if run is None or run.record.workflow_id != workflow_id or run.record.damage is not None:
            run = await self._runs.find(workflow_id, run_id)
        while True:
            if run.record.status is _RUNNING:
                await self._notifier.closed(run)
            close = run.record.last_event()
            et = close.event_type
            a = close.attributes
            nxt_id = a.get("new_execution_run_id")
            if follow_runs and nxt_id:
                # continue-as-new, a retry or a cron workflow's next run (temporalio follows)
                run = await self._runs.next_run(workflow_id, nxt_id)
                continue
            if et is EventType.WORKFLOW_EXECUTION_COMPLETED:
                hint = (
                    result_type
                    if result_type is not None
                    else getattr(run.defn, "run_ret_hint", None)
                )
                r = a.get("result")
                return self._converter.decode_one(r, hint) if r is not None else None
            raise WorkflowFailureError(cause=self._close_cause(close))

    def _close_cause(self, close: Event) -> BaseException:
        et = close.event_type
        a = close.attributes
        if et is ET_WORKFLOW_EXECUTION_FAILED:
            return from_failure(a["failure"], self._converter)
        if et is ET_WORKFLOW_EXECUTION_CANCELED:
            return CancelledError("Workflow cancelled")
        if et is ET_WORKFLOW_EXECUTION_TERMINATED:
            details = self._converter.decode(a.get("details") or [])
            return TerminatedError(a.get("reason") or "Workflow terminated", *details)
        if et is ET_WORKFLOW_EXECUTION_TIMED_OUT:
            return FcTimeoutError("Workflow execution timed out", type=TimeoutType.START_TO_CLOSE)
        return ApplicationError(f"workflow closed: {et.value}")

    # ------------------------------------------------------------------ signal, query, update

    async def signal(
        self,
        workflow_id: str,
        run_id: str | None,
        signal: Any,
        args: list[Any],
        *,
        with_start: bool = False,
    ) -> None:
        """Deliver a signal; returns once it is durable.

        ``with_start``: a signal-with-start that found the run open, which ends the run's
        start delay (Temporal's first workflow task backoff) as Temporal does; a plain
        signal waits for the delay.
        """
        if not self._life.ready:
            await self._life.ensure_started()
        run = self._runs.by_workflow_id.get(workflow_id) if run_id is None else None
        if run is None or run.record.damage is not None:
            run = await self._runs.find(workflow_id, run_id)
        name = check_id(
            signal if type(signal) is str else handler_name("signal", signal), "signal_name"
        )
        request = current_request_id()
        if request and request in signal_requests(run):
            return  # a retry of a signal this run received: applied once
        if run.record.status is not _RUNNING:
            self._require_open(run, f"signal {name!r} to")
        inst = run.instance
        h = inst.handler("signal", name) if inst is not None else run.defn.handler("signal", name)
        if h is None:
            known = inst.handler_names("signal") if inst is not None else sorted(run.defn.signals)
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no signal {name!r} (signals: {known})"
            )
        # Decoded here, once: input a handler could not read is refused at the call, and the
        # handler gets these values (a replay decodes the recorded payloads instead).
        payloads, decoded = encode_arguments(
            self._converter, args, h.dynamic, h.checker, h.arg_hints, "signal", name
        )
        inst = run.instance
        if inst is not None:
            handlers = inst.handlers or inst.make_handlers()
            handlers.pending_signals[id(payloads)] = (payloads, decoded)
        if self.telemetry.enabled:
            self.telemetry.signal_received(run, name)
        attrs: dict[str, Any] = {"signal_name": name, "input": payloads}
        if request:
            attrs["request_id"] = request
        if with_start:
            attrs["ends_start_delay"] = True
        fut = self._submit(run, ET_WORKFLOW_EXECUTION_SIGNALED, attrs, wait=self._store.durable)
        if fut is not None:
            await fut
        if with_start:
            self._end_start_delay(run)

    async def query(
        self,
        workflow_id: str,
        run_id: str | None,
        query: Any,
        args: list[Any],
        result_type: Any,
        *,
        reject_condition: QueryRejectCondition | None = None,
    ) -> Any:
        """Answer a query from the run's state (a closed run's is rebuilt by replay).

        Raises:
            WorkflowQueryRejectedError: The run is closed and ``reject_condition`` says no.
        """
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._runs.find(workflow_id, run_id)
        status = run.record.status
        if status is not WorkflowExecutionStatus.RUNNING and (
            reject_condition == QueryRejectCondition.NOT_OPEN
            or (
                reject_condition == QueryRejectCondition.NOT_COMPLETED_CLEANLY
                and status is not WorkflowExecutionStatus.COMPLETED
            )
        ):
            raise WorkflowQueryRejectedError(status)
        name = check_id(handler_name("query", query), "query_type")
        if not hasattr(run.defn, "queries"):
            # its workflow is not registered here any more: nothing can replay the history
            raise WorkflowQueryFailedError(
                f"Workflow class {run.record.workflow_type} is not registered on this engine: "
                "a query on a closed run replays its history with its workflow class "
                "(pass it in Engine(workflows=[...]))"
            )
        inst = run.instance
        if inst is None:
            inst = self._replayed_instance(run)
        if inst.obj is None:
            # As Temporal answers WorkflowNotReady: no workflow task has run, so no state.
            raise WorkflowQueryFailedError(
                f"workflow {workflow_id!r} is not ready for queries: its first workflow task "
                "has not run yet (a retry waiting out its backoff, or a task that failed)"
            )
        h = inst.handler("query", name)
        if h is None and name == STACK_TRACE_QUERY and not args:
            return inst.stack_trace()  # the built-in query, as temporalio's
        if h is None and name == METADATA_QUERY and not args:
            return inst.metadata(BUILTIN_QUERIES)  # the built-in query, as temporalio's
        if h is None:
            raise unknown_query(name, sorted([*inst.handler_names("query"), *BUILTIN_QUERIES]))
        converter = self._converter
        _, decoded = encode_arguments(
            converter, args, h.dynamic, h.checker, h.arg_hints, "query", name
        )
        with self.telemetry.query_span(run, name):
            try:
                value = (inst.handlers or inst.make_handlers()).query(name, decoded)
            except InvalidArgumentError:
                raise
            except Exception as err:
                raise WorkflowQueryFailedError(f"query {name!r} failed: {err}") from err
        try:
            payload = converter.encode_one(value)
        except InvalidArgumentError as err:
            raise WorkflowQueryFailedError(
                f"query {name!r} returned an unconvertible value: {err}"
            ) from err
        return converter.decode_one(payload, result_type if result_type is not None else h.ret_hint)

    def update_ret_hint(self, update: Any) -> Any:
        """The return hint of a ``@workflow.update`` method (None for a name)."""
        h = handler_definition_of(update)
        return h.ret_hint if h is not None and h.kind == "update" else None

    def _replayed_instance(self, run: Run) -> WorkflowInstance:
        """An instance for a run that is not in memory (closed, loaded from the store)."""
        inst = WorkflowInstance(
            env=self._env, run=run.record.copy(), defn=run.defn, converter=self._converter
        )
        self.telemetry.suppress_replay(run)
        inst.replay()
        return inst

    # ------------------------------------------------------------------ cancel, terminate

    async def _find_in_chain(
        self, workflow_id: str, run_id: str | None, first_run_id: str | None
    ) -> Run:
        """The run ``run_id`` names, or the latest, which must belong to ``first_run_id``'s
        chain when one is given (temporalio's ``first_execution_run_id``)."""
        run = await self._runs.find(workflow_id, run_id)
        if run_id is None and first_run_id:
            started = run.record.history[0].attributes if run.record.history else {}
            if (started.get("first_run_id") or run.record.run_id) != first_run_id:
                raise WorkflowNotFoundError(
                    f"workflow {workflow_id!r}: its latest run {run.record.run_id!r} does not "
                    f"belong to the chain started by run {first_run_id!r}",
                    workflow_id=workflow_id,
                )
        return run

    async def cancel(
        self,
        workflow_id: str,
        run_id: str | None,
        first_run_id: str | None = None,
        reason: str = "",
    ) -> None:
        """Request cancellation; a no-op on a closed workflow (as Temporal)."""
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._find_in_chain(workflow_id, run_id, first_run_id)
        if not run.open:
            return  # a cancel to a closed workflow is a no-op
        fut = self._request_cancel(run, reason)
        if fut is not None:
            await fut

    async def terminate(
        self,
        workflow_id: str,
        run_id: str | None,
        reason: str | None,
        details: list[Any],
        first_run_id: str | None = None,
    ) -> None:
        """End the run at once; ``WorkflowNotFoundError`` if it is closed."""
        if not self._life.ready:
            await self._life.ensure_started()
        if reason is not None:
            check_text(reason, "reason")
        run = await self._find_in_chain(workflow_id, run_id, first_run_id)
        self._require_open(run, "terminate")
        await self.terminate_run(run, reason, details)

    async def terminate_run(self, run: Run, reason: str | None, details: list[Any]) -> None:
        """Terminate the open ``run``; returns once that is durable."""
        fut = self._close_from_outside(
            run,
            ET_WORKFLOW_EXECUTION_TERMINATED,
            {"reason": reason or "", "details": self._converter.encode(details)},
        )
        if fut is not None:
            await fut

    # ------------------------------------------------------------------ reading

    async def describe(self, workflow_id: str, run_id: str | None) -> WorkflowExecutionDescription:
        """Status, type, times, history length, memo, search attributes, parent and pending
        work of the run."""
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._runs.find(workflow_id, run_id)
        inst = run.instance
        failure = None
        if inst is not None and run.open:
            failure = inst.nondeterminism or inst.task_failure
        desc = self.description(run.record)
        desc.pending_activities = [
            t.pending_info(self.identity) for t in run.activities.values() if not t.local
        ]
        desc.pending_task_failure = failure
        return desc

    def description(self, r: RunRecord) -> WorkflowExecutionDescription:
        """What a list row shows of a run: identity, status, times, memo, search attributes."""
        raw_memo = r.memo or {}
        return WorkflowExecutionDescription(
            id=r.workflow_id,
            run_id=r.run_id,
            workflow_type=r.workflow_type,
            status=r.status,
            start_time=datetime.fromtimestamp(r.start_time, UTC),
            close_time=datetime.fromtimestamp(r.close_time, UTC)
            if r.close_time is not None
            else None,
            history_length=r.length,
            memo={k: self._converter.decode_one(v) for k, v in raw_memo.items()},
            typed_search_attributes=decode_search_attributes(r.search_attributes),
            task_queue=r.task_queue,
            execution_time=datetime.fromtimestamp(r.execution_time or r.start_time, UTC),
            raw_memo=dict(raw_memo),
            parent_id=r.parent[0] if r.parent else None,
            parent_run_id=r.parent[1] if r.parent else None,
        )

    async def fetch_history(self, workflow_id: str, run_id: str | None) -> list[Event]:
        """A copy of the run's events."""
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._runs.find(workflow_id, run_id)
        return list(run.record.history)

    async def watch(
        self, workflow_id: str, run_id: str | None, from_event_id: int
    ) -> AsyncIterator[Event]:
        """The run's events from ``from_event_id`` on, then live, until it closes."""
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._runs.find(workflow_id, run_id)
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
            await self._notifier.history_grew(run)


def handler_definition_of(fn: Any) -> HandlerDefinition | None:
    """The definition a ``@workflow.signal/query/update`` decorator attached, or None."""
    defn = getattr(fn, _HANDLER_ATTR, None)
    return defn if isinstance(defn, HandlerDefinition) else None
