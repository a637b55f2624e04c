"""``BridgeClient``: a fastcore engine's handle API, served by a ``BridgeServer`` elsewhere.

The methods take and return Python values and fastcore types; payloads are encoded with
the client's ``DataConverter``. A failed call raises what the engine itself would have
raised (``WorkflowNotFoundError``, ``WorkflowAlreadyStartedError``, ``InvalidArgumentError``,
``WorkflowUpdateFailedError``, ...); a failure fastcore has no exception for (a bad token,
an exceeded limit or deadline, an unreachable server) raises ``RPCError`` with its status.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import timedelta
from enum import IntEnum
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fastcore.common import (
    RetryPolicy,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from fastcore.errors import (
    InvalidArgumentError,
    NondeterminismError,
    StoreError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from fastcore.history import CLOSE_EVENTS, Event
from fastcore.integration import (
    DataConverter,
    WorkflowDefinition,
    WorkflowExecutionDescription,
    default_converter,
    handler_definition_of,
    handler_name,
)

from .._proto.v1 import bridge_pb2 as pb
from .._proto.v1 import bridge_pb2_grpc as pb_grpc
from . import _convert as cv
from ._auth import TLSConfig, bearer_metadata, check_token
from ._local import advertised
from ._server import ERROR_DETAIL_KEY, SERVICE_NAME
from ._tracing import UnaryTracing, stream_interceptors

__all__ = ["BridgeClient", "BridgeWorkflowHandle", "RPCError", "RPCStatusCode"]

_T = TypeVar("_T")
_log = logging.getLogger(__name__)
_FULL_NAMES = {
    m.name: f"/{SERVICE_NAME}/{m.name}"
    for m in pb.DESCRIPTOR.services_by_name["BridgeService"].methods
}


class RPCStatusCode(IntEnum):
    """gRPC status codes, as ``temporalio.service.RPCStatusCode`` names them."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class RPCError(Exception):
    """A bridge call failed for a reason fastcore has no exception for (auth, limits, network).

    Attributes:
        message: The server's (or the gRPC runtime's) message.
        status: The gRPC status code.
    """

    def __init__(self, message: str, status: RPCStatusCode) -> None:
        super().__init__(f"{status.name}: {message}")
        self.message = message
        self.status = status


def _status_code(err: grpc.aio.AioRpcError) -> RPCStatusCode:
    return RPCStatusCode(err.code().value[0])


def _error_detail(err: grpc.aio.AioRpcError) -> pb.ErrorDetail | None:
    for key, value in err.trailing_metadata() or ():
        if key == ERROR_DETAIL_KEY and isinstance(value, bytes):
            detail = pb.ErrorDetail()
            detail.ParseFromString(value)
            return detail
    return None


def _from_rpc_error(err: grpc.aio.AioRpcError, converter: DataConverter) -> Exception:
    """The exception the engine would have raised for the failed call ``err``."""
    message = err.details() or ""
    detail = _error_detail(err)
    kind = detail.error_type if detail is not None else ""
    exc: Exception
    if detail is not None and kind == "WorkflowNotFoundError":
        exc = WorkflowNotFoundError(message, workflow_id=detail.workflow_id or None)
        closed = cv.status_from_proto(detail.closed_status)
        if closed is not None:
            exc.closed_status = closed
    elif detail is not None and kind == "WorkflowAlreadyStartedError":
        exc = WorkflowAlreadyStartedError(
            detail.workflow_id, detail.workflow_type, run_id=detail.run_id or None
        )
    elif kind == "InvalidArgumentError":
        exc = InvalidArgumentError(message)
    elif kind == "WorkflowQueryFailedError":
        exc = WorkflowQueryFailedError(message.removeprefix("query failed: "))
    elif detail is not None and kind == "WorkflowUpdateFailedError":
        cause = (
            cv.exception_from_proto(detail.cause, converter)
            if detail.HasField("cause")
            else RPCError(message, _status_code(err))
        )
        exc = WorkflowUpdateFailedError(cause)
    elif detail is not None and kind == "NondeterminismError":
        exc = NondeterminismError(
            message, workflow_id=detail.workflow_id, workflow_type=detail.workflow_type
        )
    elif kind == "StoreError":
        exc = StoreError(
            message,
            workflow_id=detail.workflow_id or None if detail is not None else None,
            run_id=detail.run_id or None if detail is not None else None,
        )
    else:
        exc = RPCError(message, _status_code(err))
    exc.__suppress_context__ = True  # the AioRpcError says nothing more
    return exc


def _timeout(rpc_timeout: timedelta | None) -> float | None:
    return rpc_timeout.total_seconds() if rpc_timeout is not None else None


def _workflow_ref(workflow: Any) -> tuple[str, Any]:
    """The workflow type name and result type hint of a name, a class or its run method."""
    if isinstance(workflow, str):
        if not workflow:
            raise InvalidArgumentError("the workflow type name must not be empty")
        return workflow, None
    if isinstance(workflow, type):
        defn = WorkflowDefinition.from_class(workflow)
        return defn.name or workflow.__name__, defn.run_ret_hint
    qualname: str = getattr(workflow, "__qualname__", "")
    parts = qualname.split(".")
    if len(parts) < 2:
        raise InvalidArgumentError(
            f"{workflow!r} is not a workflow: pass its @workflow.run method, its class or its "
            "registered name"
        )
    owner: Any = sys.modules.get(getattr(workflow, "__module__", ""), None)
    for part in parts[:-1]:
        owner = getattr(owner, part, None)
    if isinstance(owner, type):
        return _workflow_ref(owner)
    # A class defined inside a function cannot be reached by name; its default name is it.
    return parts[-2], None


def _args(arg: Any, args: Sequence[Any]) -> list[Any]:
    """temporalio's calling convention: one ``arg``, or several in ``args``."""
    out = [] if arg is ... else [arg]
    out.extend(args)
    return out


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
        client: BridgeClient,
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
        await c._call(
            "SignalWorkflow",
            pb.SignalWorkflowRequest(
                workflow_id=self._id,
                run_id=self._run_id or "",
                signal_name=name,
                args=cv.payloads_to_proto(c._converter.encode(_args(arg, args))),
            ),
            rpc_timeout,
        )

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
        resp = await c._call(
            "QueryWorkflow",
            pb.QueryWorkflowRequest(
                workflow_id=self._id,
                run_id=self._run_id or "",
                query_name=name,
                args=cv.payloads_to_proto(c._converter.encode(_args(arg, args))),
            ),
            rpc_timeout,
        )
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
        resp = await c._call(
            "UpdateWorkflow",
            pb.UpdateWorkflowRequest(
                workflow_id=self._id,
                run_id=self._run_id or "",
                update_name=name,
                args=cv.payloads_to_proto(c._converter.encode(_args(arg, args))),
                update_id=id or "",
            ),
            rpc_timeout,
        )
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
                    raise _from_rpc_error(err, c._converter)  # noqa: B904 - keeps its __cause__
                now = time.monotonic()
                broken_at = broken_at if broken_at is not None else now
                remaining = reconnect_timeout.total_seconds() - (now - broken_at)
                if remaining <= 0:
                    raise RPCError(
                        f"watch stream of {self._id!r} lost and not reopened within "
                        f"{reconnect_timeout}: {err.details()}",
                        _status_code(err),
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


async def _check(channel: grpc.aio.Channel, timeout: float) -> tuple[str, str] | None:
    """Health-check the bridge service; the unix socket and instance the answer names.

    Raises:
        grpc.aio.AioRpcError: The call failed.
        RPCError: The bridge answered that it is not serving.
    """
    call = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=timeout
    )
    resp = await call
    if resp.status != health_pb2.HealthCheckResponse.SERVING:
        raise RPCError("not serving", RPCStatusCode.UNAVAILABLE)
    return advertised(await call.initial_metadata())


async def _open_local(
    local: tuple[str, str], options: list[tuple[str, Any]], chain: list[Any], timeout: float
) -> grpc.aio.Channel | None:
    """A channel to the bridge's unix socket, if it is on this machine and the same server."""
    path, instance = local
    if not os.path.exists(path):
        return None  # the bridge is on another machine (or in another filesystem)
    channel = grpc.aio.insecure_channel(f"unix:{path}", options, interceptors=chain)
    try:
        again = await _check(channel, timeout)
    except (grpc.aio.AioRpcError, RPCError) as err:
        _log.debug("the bridge's unix socket %s does not answer: %s", path, err)
        again = None
    if again is None or again[1] != instance:
        await channel.close()
        return None
    return channel


class BridgeClient:
    """A client of a ``BridgeServer``, shaped like the fastcore ``Engine``'s client side.

    Make one with ``await BridgeClient.connect(address, ...)``; close it with ``close()`` or
    use it as an async context manager.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        token: str | None = None,
        data_converter: DataConverter | None = None,
    ) -> None:
        self._channel = channel
        self._stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata: tuple[tuple[str, str], ...] = tuple(bearer_metadata(token)) if token else ()
        self._converter = data_converter or default_converter
        #: unary calls traced inline (``connect`` sets it; a channel given to the constructor
        #: traces with its own interceptors, if any)
        self._tracing: UnaryTracing | None = None
        #: where calls go: ``unix:<path>`` when ``connect`` found the server's unix socket
        self.target = ""

    @classmethod
    async def connect(
        cls,
        address: str,
        *,
        token: str | None = None,
        tls: TLSConfig | bool = False,
        data_converter: DataConverter | None = None,
        max_message_bytes: int = 4 * 1024 * 1024,
        connect_timeout: timedelta = timedelta(seconds=10),
        interceptors: Sequence[Any] = (),
        tracer_provider: Any = None,
        prefer_unix_socket: bool = True,
    ) -> BridgeClient:
        """Connect to a bridge and check that it serves.

        A bridge on this machine serving without TLS names its unix socket in its health
        check answer; the client then talks to it through that socket (no TCP stack), once
        it has met the same server there. ``target`` says which one it uses.

        Args:
            address: ``host:port`` of the bridge.
            token: The bridge's bearer token, if it requires one.
            tls: TLS settings; ``True`` for TLS with the system's root certificates.
            data_converter: Encodes arguments and decodes results (JSON by default).
            max_message_bytes: Largest message this client sends or receives.
            connect_timeout: How long to wait for the bridge to answer its health check.
            interceptors: More ``grpc.aio`` client interceptors.
            tracer_provider: OpenTelemetry provider for the client's spans (the global one
                when None); the W3C trace context travels either way.
            prefer_unix_socket: Use the bridge's unix socket when it is on this machine.

        Raises:
            RPCError: The bridge cannot be reached, the TLS handshake failed, or the bridge
                is not serving.
        """
        if token is not None:
            check_token(token)
        if isinstance(max_message_bytes, bool) or max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes must be positive, not {max_message_bytes!r}")
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # A restarted local bridge is back in well under a second; do not wait 1 s+.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]
        chain = [*stream_interceptors(tracer_provider=tracer_provider), *interceptors]
        if tls:
            config = tls if isinstance(tls, TLSConfig) else TLSConfig()
            channel = grpc.aio.secure_channel(
                address,
                config.credentials(),
                options + config.channel_options(),
                interceptors=chain,
            )
        else:
            channel = grpc.aio.insecure_channel(address, options, interceptors=chain)
        timeout = connect_timeout.total_seconds()
        try:
            local = await _check(channel, timeout)
        except grpc.aio.AioRpcError as err:
            await channel.close()
            raise RPCError(
                f"cannot reach the bridge at {address}: {err.details()}", _status_code(err)
            ) from None
        except RPCError:
            await channel.close()
            raise RPCError(
                f"the bridge at {address} is not serving", RPCStatusCode.UNAVAILABLE
            ) from None
        target = address
        if local is not None and prefer_unix_socket and not tls:
            unix = await _open_local(local, options, chain, min(timeout, 2.0))
            if unix is not None:
                await channel.close()
                channel, target = unix, f"unix:{local[0]}"
        client = cls(channel, token=token, data_converter=data_converter)
        client._tracing = UnaryTracing(tracer_provider)
        client.target = target
        return client

    async def close(self) -> None:
        """Close the connection; calls in progress are cancelled."""
        await self._channel.close()

    async def __aenter__(self) -> BridgeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def data_converter(self) -> DataConverter:
        """The converter that encodes arguments and decodes results."""
        return self._converter

    async def _call(self, name: str, request: Any, rpc_timeout: timedelta | None) -> Any:
        method = getattr(self._stub, name)
        timeout = rpc_timeout.total_seconds() if rpc_timeout is not None else None
        try:
            tracing = self._tracing
            if tracing is None or tracing.idle():
                return await method(request, metadata=self._metadata, timeout=timeout)
            return await tracing.call(method, _FULL_NAMES[name], request, self._metadata, timeout)
        except grpc.aio.AioRpcError as err:
            # Not ``from None``: that would erase a WorkflowUpdateFailedError's __cause__; the
            # AioRpcError context is suppressed by _from_rpc_error instead.
            raise _from_rpc_error(err, self._converter)  # noqa: B904

    async def start_workflow(
        self,
        workflow: str | type | Callable[..., Any],
        *args: Any,
        id: str,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy | None = None,
        id_conflict_policy: WorkflowIDConflictPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        memo: Mapping[str, Any] | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        result_type: Any = None,
        rpc_timeout: timedelta | None = None,
    ) -> BridgeWorkflowHandle:
        """Start a workflow on the bridge's engine.

        Args:
            workflow: The ``@workflow.run`` method, the workflow class or its registered name.
            *args: Arguments to the run method.
            id: The workflow id.
            execution_timeout: Limit on the whole workflow.
            run_timeout: Limit on one run.
            id_reuse_policy: Whether a closed workflow's id may be reused.
            id_conflict_policy: What to do when a run with this id is open.
            retry_policy: How the workflow is retried.
            memo: Values recorded with the start.
            start_signal: A signal delivered with the start.
            start_signal_args: Arguments of ``start_signal``.
            result_type: The type ``result()`` converts to (default: the run's return hint).
            rpc_timeout: Give up after this long.

        Returns:
            A handle pinned to the new run.

        Raises:
            WorkflowAlreadyStartedError: A run with this id is open.
            InvalidArgumentError: Unknown workflow type, or arguments that do not fit.
        """
        name, hint = _workflow_ref(workflow)
        enc = self._converter
        request = pb.StartWorkflowRequest(
            workflow_type=name,
            workflow_id=id,
            args=cv.payloads_to_proto(enc.encode(args)),
            id_reuse_policy=int(id_reuse_policy or 0),  # type: ignore[arg-type]
            id_conflict_policy=int(id_conflict_policy or 0),  # type: ignore[arg-type]
            start_signal=start_signal or "",
            start_signal_args=cv.payloads_to_proto(enc.encode(start_signal_args)),
        )
        if execution_timeout is not None:
            request.execution_timeout.CopyFrom(cv.duration_to_proto(execution_timeout))
        if run_timeout is not None:
            request.run_timeout.CopyFrom(cv.duration_to_proto(run_timeout))
        if retry_policy is not None:
            request.retry_policy.CopyFrom(cv.retry_policy_to_proto(retry_policy))
        for key, value in (memo or {}).items():
            request.memo[key].CopyFrom(cv.payload_to_proto(enc.encode_one(value)))
        resp = await self._call("StartWorkflow", request, rpc_timeout)
        run_id = resp.run_id or None
        return BridgeWorkflowHandle(
            self,
            id,
            result_run_id=run_id,
            first_execution_run_id=run_id,
            result_type=result_type or hint,
        )

    async def execute_workflow(
        self, workflow: str | type | Callable[..., Any], *args: Any, id: str, **options: Any
    ) -> Any:
        """Start a workflow and wait for its result (``start_workflow`` then ``result``)."""
        handle = await self.start_workflow(workflow, *args, id=id, **options)
        return await handle.result()

    def get_workflow_handle(
        self, id: str, *, run_id: str | None = None, result_type: Any = None
    ) -> BridgeWorkflowHandle:
        """A handle to an existing workflow (its latest run unless ``run_id`` is given)."""
        return BridgeWorkflowHandle(
            self, id, run_id=run_id, result_run_id=run_id, result_type=result_type
        )

    async def list_workflows(
        self,
        *,
        status: WorkflowExecutionStatus | None = None,
        page_size: int = 100,
        next_page_token: bytes | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> tuple[list[WorkflowExecutionDescription], bytes | None]:
        """One page of workflow runs, optionally only those with ``status``.

        Returns:
            The runs, and the token of the next page (None after the last page).
        """
        resp = await self._call(
            "ListWorkflows",
            pb.ListWorkflowsRequest(
                status=cv.status_to_proto(status),
                page_size=page_size,
                next_page_token=next_page_token or b"",
            ),
            rpc_timeout,
        )
        return (
            [cv.description_from_proto(m, self._converter) for m in resp.executions],
            resp.next_page_token or None,
        )
