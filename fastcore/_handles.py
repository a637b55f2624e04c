"""Client-side handles to workflows, shaped as ``temporalio.client.WorkflowHandle``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ._description import WorkflowExecutionDescription
from ._operations import HandleOperations
from .history import Event

__all__ = ["WorkflowHandle"]


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

    async def result(self, *, follow_runs: bool = True, result_type: Any = None) -> Any:
        """Wait for the workflow's result; failures raise ``WorkflowFailureError``."""
        return await self._ops.result(
            self._id,
            self._result_run_id or self._run_id,
            follow_runs=follow_runs,
            result_type=result_type if result_type is not None else self._result_type,
        )

    async def signal(self, signal: Any, arg: Any = ..., *more: Any, args: Any = ()) -> None:
        """Send a signal (a ``@workflow.signal`` method or its name)."""
        await self._ops.signal(self._id, self._run_id, signal, _args(arg, more, args))

    async def query(
        self, query: Any, arg: Any = ..., *more: Any, args: Any = (), result_type: Any = None
    ) -> Any:
        """Ask a query (a ``@workflow.query`` method or its name); answered from live state."""
        return await self._ops.query(
            self._id, self._run_id, query, _args(arg, more, args), result_type
        )

    async def execute_update(
        self,
        update: Any,
        arg: Any = ...,
        *more: Any,
        args: Any = (),
        id: str | None = None,
        result_type: Any = None,
    ) -> Any:
        """Run an update and return its result; rejection or failure raises
        ``WorkflowUpdateFailedError``."""
        return await self._ops.update(
            self._id, self._run_id, update, _args(arg, more, args), id, result_type
        )

    async def cancel(self) -> None:
        """Request cancellation: workflow code sees ``asyncio.CancelledError`` at its await.

        A handle without a run id reaches the latest run, if it belongs to the chain that
        ``first_execution_run_id`` started (as temporalio's).
        """
        await self._ops.cancel(self._id, self._run_id, self._first_execution_run_id)

    async def terminate(self, *args: Any, reason: str | None = None) -> None:
        """End the workflow at once; no workflow code runs (temporalio's signature: ``args``
        are details recorded with the ``reason``). The same run as ``cancel`` is reached."""
        await self._ops.terminate(
            self._id, self._run_id, reason, list(args), self._first_execution_run_id
        )

    async def describe(self) -> WorkflowExecutionDescription:
        """Status, type, times and history length of the run."""
        return await self._ops.describe(self._id, self._run_id)

    async def fetch_history(self) -> list[Event]:
        """The run's events (fastcore's own model; ``bridge.history`` converts to Temporal's)."""
        return await self._ops.fetch_history(self._id, self._run_id)

    def watch(self, from_event_id: int = 1) -> AsyncIterator[Event]:
        """Events from ``from_event_id`` on, then live as appended, until the run closes."""
        return self._ops.watch(self._id, self._run_id, from_event_id)


def _args(arg: Any, more: tuple[Any, ...], args: Any) -> list[Any]:
    out = [] if arg is ... else [arg]
    out.extend(more)
    out.extend(args)
    return out
