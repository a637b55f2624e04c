"""``BridgeWorkflowHandle``: one workflow reached through a bridge, the engine handle's methods.

Arguments are encoded with the client's converter, results decoded with the handler's or run
method's return hint; a failed call raises what the engine would have raised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol, TypeVar

import grpc
import grpc.aio

from fastcore.errors import (
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from fastcore.history import CLOSE_EVENTS, Event
from fastcore.integration import (
    DataConverter,
    WorkflowExecutionDescription,
    handler_definition_of,
    handler_name,
)

from .._proto.v1 import bridge_pb2 as pb
from . import _convert as cv
from ._errors import RPCError, from_rpc_error, status_code

__all__ = ["BridgeWorkflowHandle", "ClientCalls"]

_T = TypeVar("_T")


class ClientCalls(Protocol):
    """What a handle uses of its ``BridgeClient`` (a protocol, so neither module imports the
    other)."""

    _stub: Any
    _channel: grpc.aio.Channel
    _converter: DataConverter
    _metadata: tuple[tuple[str, str | bytes], ...]

    def _call(
        self,
        name: str,
        request: Any,
        rpc_timeout: timedelta | None,
        rpc_metadata: Mapping[str, str | bytes] | None = None,
    ) -> Awaitable[Any]:
        """Make one unary call; failures raise the engine's exceptions."""
        ...


_HANDLERS: dict[tuple[str, Any], tuple[str, Any]] = {}


def _handler(kind: str, ref: Any) -> tuple[str, Any]:
    """A handler's registered name and its result type hint (looked up once per ref)."""
    key = (kind, ref)
    try:
        found = _HANDLERS.get(key)
    except TypeError:  # an unhashable ref: look it up each time
        found = None
        key = None  # type: ignore[assignment]
    if found is None:
        defn = handler_definition_of(ref)
        found = (handler_name(kind, ref), defn.ret_hint if defn is not None else None)
        if key is not None and len(_HANDLERS) < 4096:
            _HANDLERS[key] = found
    return found


class BridgeWorkflowHandle:
    """One workflow, reached through a bridge; the methods of the engine's handles."""

    def __init__(
        self,
        client: ClientCalls,
        id: str,
        *,
        run_id: str | None = None,
        result_run_id: str | None = None,
        first_execution_run_id: str | None = None,
        result_type: Any = None,
    ) -> None:
        self._client = client
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
        """The run this handle targets; None for the latest run."""
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
        return f"BridgeWorkflowHandle(id={self._id!r}, run_id={self._run_id!r})"

    async def signal(
        self,
        signal: str | Callable[..., Any],
        arg: Any = ...,
        *,
        args: Sequence[Any] = (),
        rpc_timeout: timedelta | None = None,
    ) -> None:
        """Send a signal, by name or ``@workflow.signal`` method.

        Raises:
            WorkflowNotFoundError: No such workflow, or it is closed (``closed_status`` set).
            InvalidArgumentError: The workflow has no such signal, or the arguments do not fit.
        """
        name, _ = _handler("signal", signal)
        c = self._client
        request = pb.SignalWorkflowRequest(
            workflow_id=self._id, run_id=self._run_id or "", signal_name=name
        )
        cv.add_args(request.args, c._converter, arg, args)
        await c._call("SignalWorkflow", request, rpc_timeout)

    async def query(
        self,
        query: str | Callable[..., Any],
        arg: Any = ...,
        *,
        args: Sequence[Any] = (),
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """Run a query, by name or ``@workflow.query`` method, and return its answer.

        Raises:
            WorkflowNotFoundError: No such workflow.
            InvalidArgumentError: The workflow has no such query, or the arguments do not fit.
            WorkflowQueryFailedError: The query handler raised.
        """
        name, hint = _handler("query", query)
        c = self._client
        request = pb.QueryWorkflowRequest(
            workflow_id=self._id, run_id=self._run_id or "", query_name=name
        )
        cv.add_args(request.args, c._converter, arg, args)
        resp = await c._call("QueryWorkflow", request, rpc_timeout)
        return c._converter.decode_one(
            cv.payload_from_proto(resp.result), result_type if result_type is not None else hint
        )

    async def execute_update(
        self,
        update: str | Callable[..., Any],
        arg: Any = ...,
        *,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """Run an update, by name or ``@workflow.update`` method, and return its result.

        Raises:
            WorkflowUpdateFailedError: The validator rejected the update (nothing was
                recorded) or the handler failed; the reason is ``__cause__``.
            WorkflowNotFoundError: No such workflow, or it is closed.
            InvalidArgumentError: The workflow has no such update, or the arguments do not fit.
        """
        name, hint = _handler("update", update)
        c = self._client
        request = pb.UpdateWorkflowRequest(
            workflow_id=self._id, run_id=self._run_id or "", update_name=name, update_id=id or ""
        )
        cv.add_args(request.args, c._converter, arg, args)
        resp = await c._call("UpdateWorkflow", request, rpc_timeout)
        if resp.WhichOneof("outcome") == "failure":
            raise WorkflowUpdateFailedError(cv.exception_from_proto(resp.failure, c._converter))
        return c._converter.decode_one(
            cv.payload_from_proto(resp.success), result_type if result_type is not None else hint
        )

    async def cancel(self, *, rpc_timeout: timedelta | None = None) -> None:
        """Request cancellation; a no-op for a closed workflow.

        Raises:
            WorkflowNotFoundError: No such workflow.
        """
        c = self._client
        await c._call(
            "CancelWorkflow",
            pb.CancelWorkflowRequest(workflow_id=self._id, run_id=self._run_id or ""),
            rpc_timeout,
        )

    async def terminate(
        self, *details: Any, reason: str | None = None, rpc_timeout: timedelta | None = None
    ) -> None:
        """Terminate the workflow at once; ``details`` are recorded with the reason.

        Raises:
            WorkflowNotFoundError: No such workflow, or it is closed (``closed_status`` set).
        """
        c = self._client
        await c._call(
            "TerminateWorkflow",
            pb.TerminateWorkflowRequest(
                workflow_id=self._id,
                run_id=self._run_id or "",
                reason=reason or "",
                details=cv.payloads_to_proto(c._converter.encode(details)),
            ),
            rpc_timeout,
        )

    async def describe(
        self, *, rpc_timeout: timedelta | None = None
    ) -> WorkflowExecutionDescription:
        """The run's status, type, times and history length.

        Raises:
            WorkflowNotFoundError: No such workflow.
        """
        c = self._client
        resp = await c._call(
            "DescribeWorkflow",
            pb.DescribeWorkflowRequest(workflow_id=self._id, run_id=self._run_id or ""),
            rpc_timeout,
        )
        return cv.description_from_proto(resp.execution_info, c._converter)

    async def fetch_history(self, *, rpc_timeout: timedelta | None = None) -> list[Event]:
        """Every event recorded for the run so far.

        Raises:
            WorkflowNotFoundError: No such workflow.
        """
        c = self._client
        resp = await c._call(
            "GetWorkflowHistory",
            pb.GetWorkflowHistoryRequest(workflow_id=self._id, run_id=self._run_id or ""),
            rpc_timeout,
        )
        return [cv.event_from_proto(e) for e in resp.events]

    async def result(
        self,
        *,
        follow_runs: bool = True,
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        """Wait for the workflow to close and return its result.

        Args:
            follow_runs: Follow continue-as-new to the last run's result.
            result_type: Convert the result to this type (defaults to the run method's
                return hint when the handle came from ``start_workflow(Cls.run, ...)``).
            rpc_timeout: Give up waiting after this long (``RPCError`` DEADLINE_EXCEEDED).

        Raises:
            WorkflowFailureError: The workflow failed, was cancelled, terminated or timed
                out; the reason is ``__cause__``.
            WorkflowNotFoundError: No such workflow.
        """
        c = self._client
        resp = await c._call(
            "GetWorkflowResult",
            pb.GetWorkflowResultRequest(
                workflow_id=self._id,
                run_id=self._result_run_id or self._run_id or "",
                no_follow_runs=not follow_runs,
            ),
            rpc_timeout,
        )
        if resp.WhichOneof("outcome") == "failure":
            raise WorkflowFailureError(cause=cv.exception_from_proto(resp.failure, c._converter))
        hint = result_type if result_type is not None else self._result_type
        return c._converter.decode_one(cv.payload_from_proto(resp.result), hint)

    async def watch(
        self, from_event_id: int = 1, *, reconnect_timeout: timedelta = timedelta(seconds=30)
    ) -> AsyncIterator[Event]:
        """The run's events from ``from_event_id``: those recorded, then each new one as it is
        appended, ending after the event that closes the run.

        A stream the server or the network drops is reopened from the event after the last
        one received, so no event is missed or repeated.

        Args:
            from_event_id: The first event id to yield.
            reconnect_timeout: How long to keep trying to reopen a dropped stream.

        Raises:
            WorkflowNotFoundError: No such workflow.
            RPCError: The stream could not be reopened in time, or another call failure.
        """
        c = self._client
        next_id = max(from_event_id, 1)
        run_id = self._run_id or ""
        broken_at: float | None = None
        attempt = 0
        while True:
            call = c._stub.WatchWorkflow(
                pb.WatchWorkflowRequest(workflow_id=self._id, run_id=run_id, from_event_id=next_id),
                metadata=c._metadata,
            )
            try:
                async for resp in call:
                    broken_at, attempt = None, 0
                    run_id = run_id or resp.run_id
                    for msg in resp.events:
                        if msg.event_id < next_id:  # already yielded before a reconnect
                            continue
                        event = cv.event_from_proto(msg)
                        next_id = event.event_id + 1
                        yield event
                        if event.event_type in CLOSE_EVENTS:
                            return
                return
            except grpc.aio.AioRpcError as err:
                code = err.code()
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    raise from_rpc_error(err, c._converter)  # noqa: B904 - keeps its __cause__
                now = time.monotonic()
                broken_at = broken_at if broken_at is not None else now
                remaining = reconnect_timeout.total_seconds() - (now - broken_at)
                if remaining <= 0:
                    raise RPCError(
                        f"watch stream of {self._id!r} lost and not reopened within "
                        f"{reconnect_timeout}: {err.details()}",
                        status_code(err),
                    ) from None
                # Back off a little between attempts, then wait for the channel to be up.
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0, remaining))
                attempt += 1
                try:
                    await asyncio.wait_for(c._channel.channel_ready(), remaining)
                except TimeoutError:  # asyncio.wait_for raises the builtin
                    continue
            finally:
                call.cancel()
