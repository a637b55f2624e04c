"""Client-side handles to workflows, shaped as ``temporalio.client.WorkflowHandle``.

Every method of temporalio's handle is here with its arguments. ``rpc_metadata`` and
``rpc_timeout`` are accepted so code moves unchanged; an embedded engine makes no RPC, so
they change nothing. ``fetch_history`` gives fastcore's own events (``bridge.history``
translates them to Temporal's ``WorkflowHistory``). ``watch`` is fastcore's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from enum import IntEnum
from typing import Any

from ._description import WorkflowExecutionDescription
from ._operations import HandleOperations
from ._update_handle import WorkflowUpdateHandle, sent_update_handle
from ._updates import StartedUpdate, WorkflowUpdateStage
from .common import QueryRejectCondition
from .errors import InvalidArgumentError
from .history import CLOSE_EVENTS, Event

__all__ = ["WorkflowHandle", "WorkflowHistoryEventFilterType", "call_args"]

_NO_METADATA: Mapping[str, str | bytes] = {}


class WorkflowHistoryEventFilterType(IntEnum):
    """Which events ``fetch_history``/``fetch_history_events`` give (temporalio's values)."""

    ALL_EVENT = 1
    CLOSE_EVENT = 2


_ALL_EVENTS = WorkflowHistoryEventFilterType.ALL_EVENT


class WorkflowHandle:
    """A handle to a workflow: signal, query, update, cancel, terminate, describe, result."""

    def __init__(
        self,
        operations: HandleOperations,
        id: str,
        *,
        run_id: str | None = None,
        result_run_id: str | None = None,
        first_execution_run_id: str | None = None,
        result_type: Any = None,
    ) -> None:
        self._ops = operations
        self._id = id
        self._run_id = run_id
        self._result_run_id = result_run_id
        self._first_execution_run_id = first_execution_run_id
        self._result_type = result_type

    @property
    def id(self) -> str:
        """The workflow id."""
        return self._id

    @property
    def run_id(self) -> str | None:
        """The run this handle targets (None: the latest run of the id, as for a handle a
        start returned: it follows continue-as-new)."""
        return self._run_id

    @property
    def result_run_id(self) -> str | None:
        """The run whose result ``result()`` starts from."""
        return self._result_run_id

    @property
    def first_execution_run_id(self) -> str | None:
        """The first run of the chain this handle was made for."""
        return self._first_execution_run_id

    def __repr__(self) -> str:
        return f"WorkflowHandle(id={self._id!r}, run_id={self._run_id!r})"

    async def result(
        self,
        *,
        follow_runs: bool = True,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
        result_type: Any = None,
    ) -> Any:
        """Wait for the workflow's result; failures raise ``WorkflowFailureError``."""
        return await self._ops.result(
            self._id,
            self._result_run_id or self._run_id,
            follow_runs=follow_runs,
            result_type=result_type if result_type is not None else self._result_type,
        )

    async def signal(
        self,
        signal: Any,
        arg: Any = ...,
        *more: Any,
        args: Sequence[Any] = (),
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Send a signal (a ``@workflow.signal`` method or its name); returns once durable."""
        await self._ops.signal(self._id, self._run_id, signal, call_args(arg, more, args))

    async def query(
        self,
        query: Any,
        arg: Any = ...,
        *more: Any,
        args: Sequence[Any] = (),
        result_type: Any = None,
        reject_condition: QueryRejectCondition | None = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """Ask a query (a ``@workflow.query`` method or its name); answered from live state.

        ``reject_condition`` refuses the query of a closed workflow with
        ``WorkflowQueryRejectedError``: ``NOT_OPEN`` when it is closed at all,
        ``NOT_COMPLETED_CLEANLY`` when it closed other than by completing.
        """
        return await self._ops.query(
            self._id,
            self._run_id,
            query,
            call_args(arg, more, args),
            result_type,
            reject_condition=reject_condition,
        )

    async def execute_update(
        self,
        update: Any,
        arg: Any = ...,
        *more: Any,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: Any = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """Run an update and return its result; a rejection or a failure raises
        ``WorkflowUpdateFailedError``. An ``id`` the run has seen runs nothing again: the
        call gets the first outcome."""
        sent = await self._send_update(update, arg, more, args, id, WorkflowUpdateStage.COMPLETED)
        outcome = sent.outcome
        if outcome is None:  # (never for COMPLETED: the outcome is what it waited for)
            return await self.get_update_handle(id or sent.update_id).result()
        updates = self._ops.updates
        hint = result_type
        if hint is None:
            hint = sent.ret_hint
            if hint is None:
                hint = updates.result_hint(sent.workflow_id, sent.run_id, sent.name)
        return updates.value(outcome, hint)

    async def start_update(
        self,
        update: Any,
        arg: Any = ...,
        *more: Any,
        wait_for_stage: WorkflowUpdateStage,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: Any = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowUpdateHandle[Any]:
        """Send an update and return its handle once it reached ``wait_for_stage``
        (``ACCEPTED`` or ``COMPLETED``, both durable). A rejection is the handle's outcome:
        ``result()`` raises it, as in temporalio."""
        sent = await self._send_update(
            update, arg, more, args, id, WorkflowUpdateStage(wait_for_stage)
        )
        return sent_update_handle(
            self._ops.updates, sent, workflow_run_id=self._run_id, result_type=result_type
        )

    async def _send_update(
        self,
        update: Any,
        arg: Any,
        more: tuple[Any, ...],
        args: Sequence[Any],
        id: str | None,
        stage: WorkflowUpdateStage,
    ) -> StartedUpdate:
        """Send an update to this handle's workflow (``execute_update``/``start_update``)."""
        return await self._ops.updates.start(
            self._id, self._run_id, update, call_args(arg, more, args), id, stage
        )

    def get_update_handle(
        self, id: str, *, workflow_run_id: str | None = None, result_type: Any = None
    ) -> WorkflowUpdateHandle[Any]:
        """A handle to the update ``id`` sent earlier (also before a restart)."""
        return WorkflowUpdateHandle(
            self._ops.updates,
            id,
            self._id,
            workflow_run_id=workflow_run_id or self._run_id,
            result_type=result_type,
        )

    def get_update_handle_for(
        self, update: Any, id: str, *, workflow_run_id: str | None = None
    ) -> WorkflowUpdateHandle[Any]:
        """``get_update_handle`` typed by the update method (its return hint)."""
        return self.get_update_handle(
            id, workflow_run_id=workflow_run_id, result_type=self._ops.update_ret_hint(update)
        )

    async def cancel(
        self,
        *,
        reason: str = "",
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Request cancellation: workflow code sees ``asyncio.CancelledError`` at its await;
        ``reason`` is recorded with the request.

        A handle without a run id reaches the latest run, if it belongs to the chain that
        ``first_execution_run_id`` started (as temporalio's).
        """
        await self._ops.cancel(self._id, self._run_id, self._first_execution_run_id, reason)

    async def terminate(
        self,
        *args: Any,
        reason: str | None = None,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """End the workflow at once; no workflow code runs (temporalio's signature: ``args``
        are details recorded with the ``reason``). The same run as ``cancel`` is reached."""
        await self._ops.terminate(
            self._id, self._run_id, reason, list(args), self._first_execution_run_id
        )

    async def describe(
        self,
        *,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowExecutionDescription:
        """Status, type, times and history length of the run."""
        return await self._ops.describe(self._id, self._run_id)

    async def fetch_history(
        self,
        *,
        event_filter_type: WorkflowHistoryEventFilterType = _ALL_EVENTS,
        skip_archival: bool = False,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> list[Event]:
        """The run's events (fastcore's own model; ``bridge.history`` converts to Temporal's);
        with ``CLOSE_EVENT``, only its close event (none while it is open)."""
        events = await self._ops.fetch_history(self._id, self._run_id)
        if event_filter_type == WorkflowHistoryEventFilterType.CLOSE_EVENT:
            return [e for e in events if e.event_type in CLOSE_EVENTS]
        return events

    def fetch_history_events(
        self,
        *,
        page_size: int | None = None,
        next_page_token: bytes | None = None,
        wait_new_event: bool = False,
        event_filter_type: WorkflowHistoryEventFilterType = _ALL_EVENTS,
        skip_archival: bool = False,
        rpc_metadata: Mapping[str, str | bytes] = _NO_METADATA,
        rpc_timeout: timedelta | None = None,
    ) -> AsyncIterator[Event]:
        """The run's events as an async iterator; with ``wait_new_event``, live until the run
        closes. ``next_page_token`` (the bytes of an event id) starts after that event."""
        start = 1
        if next_page_token:
            try:
                start = int(next_page_token.decode()) + 1
            except ValueError:
                raise InvalidArgumentError(f"bad next_page_token {next_page_token!r}") from None
        close_only = event_filter_type == WorkflowHistoryEventFilterType.CLOSE_EVENT
        return self._events(start, wait_new_event, close_only)

    async def _events(self, start: int, follow: bool, close_only: bool) -> AsyncIterator[Event]:
        if follow:
            async for ev in self._ops.watch(self._id, self._run_id, start):
                if not close_only or ev.event_type in CLOSE_EVENTS:
                    yield ev
            return
        for ev in (await self._ops.fetch_history(self._id, self._run_id))[start - 1 :]:
            if not close_only or ev.event_type in CLOSE_EVENTS:
                yield ev

    def watch(self, from_event_id: int = 1) -> AsyncIterator[Event]:
        """Events from ``from_event_id`` on, then live as appended, until the run closes."""
        return self._ops.watch(self._id, self._run_id, from_event_id)


def call_args(arg: Any, more: tuple[Any, ...], args: Sequence[Any]) -> list[Any]:
    """A client call's arguments: ``arg`` (unless left out), the further positional ones,
    then ``args``, as temporalio's client takes them."""
    out = [] if arg is ... else [arg]
    out.extend(more)
    out.extend(args)
    return out
