"""``BridgeServer``: serve one fastcore engine's workflows over gRPC (``grpc.aio``).

Payloads pass through as they arrived (``fastcore.integration.EncodedValue``): the engine
records the client's bytes and turns them into values once, at the call it serves (a request
whose payloads the workflow could not read fails there and changes nothing), and results,
query answers and update outcomes come back as the engine holds them, never decoded here. A
client and the engine share one data converter (its codec included). Each fastcore error
maps to one precise status code (the table is ``_status_of``), with an ``ErrorDetail`` in the
``fastcore-error-bin`` trailer that lets ``BridgeClient`` raise the same exception the engine
raised.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, NoReturn

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from fastcore.errors import (
    FastcoreError,
    InvalidArgumentError,
    NondeterminismError,
    StoreError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from fastcore.history import Event, EventType
from fastcore.integration import EncodedValue, Payload

from .. import frontend
from .._proto.v1 import bridge_pb2 as pb
from .._proto.v1 import bridge_pb2_grpc as pb_grpc
from . import _convert as cv
from ._auth import (
    ServerTLSConfig,
    TokenAuthInterceptor,
    check_bind,
    check_token,
    split_address,
)
from ._guard import DecodeGuardInterceptor
from ._local import INSTANCE_KEY, SOCKET_KEY, AdvertisingHealthServicer, socket_path_for
from ._methods import MethodTable

__all__ = ["SERVICE_NAME", "BridgeServer"]

logger = logging.getLogger(__name__)

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["BridgeService"].full_name
"""``fastcore.bridge.v1.BridgeService``: the name health checks and reflection use."""

ERROR_DETAIL_KEY = "fastcore-error-bin"
"""Trailing metadata key of the serialized ``ErrorDetail`` of a failed call."""

_DEFAULT_PAGE_SIZE = 100
_MAX_PAGE_SIZE = 1000
_WATCH_QUEUE = 1024  # events a watch buffers ahead of a slow client before pausing the engine
_WATCH_BATCH = 256  # most events in one stream message


class _Limits:
    __slots__ = ("max_message_bytes", "max_watch_streams")

    def __init__(self, max_message_bytes: int, max_watch_streams: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_watch_streams = max_watch_streams


def _status_of(err: BaseException) -> tuple[grpc.StatusCode, str, pb.ErrorDetail | None]:
    """The status code, message and detail for an error the engine raised."""
    detail = pb.ErrorDetail(error_type=type(err).__name__)
    if isinstance(err, WorkflowNotFoundError):
        detail.workflow_id = err.workflow_id or ""
        closed = getattr(err, "closed_status", None)
        if closed is not None:
            detail.closed_status = cv.status_to_proto(closed)
            return grpc.StatusCode.FAILED_PRECONDITION, str(err), detail
        return grpc.StatusCode.NOT_FOUND, str(err), detail
    if isinstance(err, WorkflowAlreadyStartedError):
        detail.workflow_id = err.workflow_id
        detail.workflow_type = err.workflow_type or ""
        detail.run_id = err.run_id or ""
        return grpc.StatusCode.ALREADY_EXISTS, str(err), detail
    if isinstance(err, InvalidArgumentError):
        return grpc.StatusCode.INVALID_ARGUMENT, str(err), detail
    if isinstance(err, WorkflowQueryFailedError):
        # As Temporal's frontend does for a failed query (QueryFailed is INVALID_ARGUMENT).
        return grpc.StatusCode.INVALID_ARGUMENT, f"query failed: {err}", detail
    if isinstance(err, NondeterminismError):
        detail.workflow_id = err.workflow_id
        detail.workflow_type = err.workflow_type
        return grpc.StatusCode.FAILED_PRECONDITION, str(err), detail
    if isinstance(err, StoreError):
        if err.run_id:  # one run's rows cannot be read (Temporal answers DATA_LOSS for that)
            detail.workflow_id = err.workflow_id or ""
            detail.run_id = err.run_id
            return grpc.StatusCode.DATA_LOSS, str(err), detail
        return grpc.StatusCode.UNAVAILABLE, f"the engine's store is unavailable: {err}", detail
    if isinstance(err, builtins.TimeoutError):
        return grpc.StatusCode.DEADLINE_EXCEEDED, str(err) or "timed out", None
    if isinstance(err, FastcoreError):
        return grpc.StatusCode.FAILED_PRECONDITION, str(err), detail
    return grpc.StatusCode.INTERNAL, f"internal error: {type(err).__name__}: {err}", None


async def _abort(
    context: grpc.aio.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    detail: pb.ErrorDetail | None = None,
) -> NoReturn:
    trailer = ((ERROR_DETAIL_KEY, detail.SerializeToString()),) if detail is not None else ()
    await context.abort(code, message, trailing_metadata=trailer)
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


async def _fail(context: grpc.aio.ServicerContext, err: Exception) -> NoReturn:
    """End the call with the status that fits ``err``."""
    if isinstance(err, grpc.aio.AbortError):
        raise err
    code, message, detail = _status_of(err)
    if code is grpc.StatusCode.INTERNAL:
        logger.exception("bridge call failed unexpectedly", exc_info=err)
    await _abort(context, code, message, detail)


_HANDLES_KEPT = 1024  # engine handles the servicer keeps for signals and queries
_SIGNALED = pb.SignalWorkflowResponse()  # empty, never changed: one for every call


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgumentError(f"{field} is required")
    return value


class _Servicer(pb_grpc.BridgeServiceServicer):
    """Each RPC in terms of the engine's handle API."""

    def __init__(self, engine: Any, limits: _Limits) -> None:
        self._engine = engine
        self._converter = engine.converter
        self._limits = limits
        self._handles: dict[tuple[str, str], Any] = {}  # engine handles of signal/query
        self._watch_queues: set[asyncio.Queue[Any]] = set()
        self._watching = 0
        self._closing = False

    def _cached_handle(self, key: tuple[str, str]) -> Any:
        """The engine's handle for ``(workflow_id, run_id)``, kept for the next call (a handle
        holds only the ids: one without a run id finds the latest run at each call)."""
        handles = self._handles
        if len(handles) >= _HANDLES_KEPT:
            handles.clear()
        handle = handles[key] = self._engine.get_workflow_handle(key[0], run_id=key[1] or None)
        return handle

    def _handle(self, workflow_id: str, run_id: str) -> Any:
        return self._engine.get_workflow_handle(
            _required(workflow_id, "workflow_id"), run_id=run_id or None
        )

    def _encode_one(self, value: Any) -> Payload:
        return self._converter.encode_one(value)  # type: ignore[no-any-return]

    def _encode(self, value: Any) -> pb.Payload:
        if isinstance(value, EncodedValue):
            return cv.payload_to_proto(value.payload)
        return cv.payload_to_proto(self._converter.encode_one(value))

    async def StartWorkflow(
        self, request: pb.StartWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartWorkflowResponse:
        """Start a run; ALREADY_EXISTS when the id is taken."""
        try:
            workflow_type = _required(request.workflow_type, "workflow_type")
            workflow_id = _required(request.workflow_id, "workflow_id")
            args = cv.encoded_args(request.args)
            options: dict[str, Any] = {}
            if request.HasField("execution_timeout"):
                options["execution_timeout"] = cv.duration_from_proto(
                    request.execution_timeout, "execution_timeout"
                )
            if request.HasField("run_timeout"):
                options["run_timeout"] = cv.duration_from_proto(request.run_timeout, "run_timeout")
            if (reuse := cv.reuse_policy_from_proto(request.id_reuse_policy)) is not None:
                options["id_reuse_policy"] = reuse
            if (conflict := cv.conflict_policy_from_proto(request.id_conflict_policy)) is not None:
                options["id_conflict_policy"] = conflict
            if request.memo:
                options["memo"] = {
                    k: EncodedValue(cv.payload_from_proto(v)) for k, v in request.memo.items()
                }
            if request.start_signal:
                options["start_signal"] = request.start_signal
                options["start_signal_args"] = cv.encoded_args(request.start_signal_args)
            elif request.start_signal_args:
                raise InvalidArgumentError("start_signal_args given without start_signal")
            if request.HasField("retry_policy"):
                options["retry_policy"] = cv.retry_policy_from_proto(request.retry_policy)
            if request.task_queue:
                options["task_queue"] = request.task_queue
            if request.search_attributes:
                options["search_attributes"] = cv.search_attributes_from_proto(
                    request.search_attributes
                )
            if request.cron_schedule:
                options["cron_schedule"] = request.cron_schedule
            if request.HasField("start_delay"):
                options["start_delay"] = cv.duration_from_proto(request.start_delay, "start_delay")
            handle = await self._engine.start_workflow(
                workflow_type, args=args, id=workflow_id, **options
            )
        except Exception as err:
            await _fail(context, err)
        run_id = getattr(handle, "result_run_id", None) or handle.run_id
        return pb.StartWorkflowResponse(run_id=run_id or "")

    async def SignalWorkflow(
        self, request: pb.SignalWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignalWorkflowResponse:
        """Deliver a signal; FAILED_PRECONDITION when the workflow is closed."""
        try:  # the checks of _required and _handle inline: a hot path
            name = request.signal_name
            if not name:
                raise InvalidArgumentError("signal_name is required")
            workflow_id = request.workflow_id
            if not workflow_id:
                raise InvalidArgumentError("workflow_id is required")
            args = cv.encoded_args(request.args)
            key = (workflow_id, request.run_id)
            handle = self._handles.get(key)
            if handle is None:
                handle = self._cached_handle(key)
            await handle.signal(name, args=args)
        except Exception as err:
            await _fail(context, err)
        return _SIGNALED

    async def QueryWorkflow(
        self, request: pb.QueryWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.QueryWorkflowResponse:
        """Answer a query from the workflow's live state."""
        try:  # the checks of _required and _handle inline: a hot path
            name = request.query_name
            if not name:
                raise InvalidArgumentError("query_name is required")
            workflow_id = request.workflow_id
            if not workflow_id:
                raise InvalidArgumentError("workflow_id is required")
            args = cv.encoded_args(request.args)
            key = (workflow_id, request.run_id)
            handle = self._handles.get(key)
            if handle is None:
                handle = self._cached_handle(key)
            value = await handle.query(name, args=args, result_type=EncodedValue)
            p = value.payload if isinstance(value, EncodedValue) else self._encode_one(value)
            response = pb.QueryWorkflowResponse()
            cv.fill_payload(response.result, p)
        except Exception as err:
            await _fail(context, err)
        return response

    async def UpdateWorkflow(
        self, request: pb.UpdateWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateWorkflowResponse:
        """Run an update: a rejection is FAILED_PRECONDITION, a handler failure an outcome."""
        update_id = request.update_id or str(uuid.uuid4())
        try:
            name = _required(request.update_name, "update_name")
            args = cv.encoded_args(request.args)
            handle = self._handle(request.workflow_id, request.run_id)
            try:
                value = await handle.execute_update(
                    name, args=args, id=update_id, result_type=EncodedValue
                )
            except WorkflowUpdateFailedError as failed:
                cause = failed.__cause__ or failed
                if not await self._update_accepted(handle, update_id):
                    detail = pb.ErrorDetail(
                        error_type=type(failed).__name__,
                        workflow_id=request.workflow_id,
                        run_id=handle.run_id or "",
                        cause=cv.exception_to_proto(cause, self._converter),
                    )
                    await _abort(
                        context,
                        grpc.StatusCode.FAILED_PRECONDITION,
                        f"update {name!r} was rejected: {cause}",
                        detail,
                    )
                return pb.UpdateWorkflowResponse(
                    update_id=update_id,
                    failure=cv.exception_to_proto(cause, self._converter),
                )
            return pb.UpdateWorkflowResponse(update_id=update_id, success=self._encode(value))
        except Exception as err:
            await _fail(context, err)

    async def _update_accepted(self, handle: Any, update_id: str) -> bool:
        """Whether the history records that the update was accepted (so it was not rejected)."""
        events: list[Event] = await handle.fetch_history()
        return any(
            e.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            and e.attributes.get("update_id") == update_id
            for e in events
        )

    async def CancelWorkflow(
        self, request: pb.CancelWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelWorkflowResponse:
        """Request cancellation (a no-op for a closed workflow)."""
        try:
            await self._handle(request.workflow_id, request.run_id).cancel()
        except Exception as err:
            await _fail(context, err)
        return pb.CancelWorkflowResponse()

    async def TerminateWorkflow(
        self, request: pb.TerminateWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.TerminateWorkflowResponse:
        """Terminate a run; FAILED_PRECONDITION when it is already closed."""
        try:
            details = cv.encoded_args(request.details)
            handle = self._handle(request.workflow_id, request.run_id)
            await handle.terminate(*details, reason=request.reason or None)
        except Exception as err:
            await _fail(context, err)
        return pb.TerminateWorkflowResponse()

    async def DescribeWorkflow(
        self, request: pb.DescribeWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.DescribeWorkflowResponse:
        """Describe a run."""
        try:
            desc = await self._handle(request.workflow_id, request.run_id).describe()
            info = cv.description_to_proto(desc, self._converter)
        except Exception as err:
            await _fail(context, err)
        return pb.DescribeWorkflowResponse(execution_info=info)

    async def ListWorkflows(
        self, request: pb.ListWorkflowsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWorkflowsResponse:
        """One page of runs matching a visibility query (and a status), newest first."""
        try:
            if request.page_size < 0:
                raise InvalidArgumentError(
                    f"page_size must not be negative, got {request.page_size}"
                )
            page_size = min(request.page_size or _DEFAULT_PAGE_SIZE, _MAX_PAGE_SIZE)
            descs, token = await self._engine.list_workflows(
                request.query or None,
                status=cv.status_from_proto(request.status),
                page_size=page_size,
                next_page_token=request.next_page_token or None,
            )
            executions = [cv.description_to_proto(d, self._converter) for d in descs]
        except Exception as err:
            await _fail(context, err)
        return pb.ListWorkflowsResponse(executions=executions, next_page_token=token or b"")

    async def CountWorkflows(
        self, request: pb.CountWorkflowsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountWorkflowsResponse:
        """How many runs match a visibility query (per status with GROUP BY)."""
        try:
            counted = await self._engine.count_workflows(request.query or None)
            response = pb.CountWorkflowsResponse(count=counted.count)
            for group in counted.groups:
                response.groups.add(
                    count=group.count,
                    group_values=[
                        cv.payload_to_proto(self._converter.encode_one(v))
                        for v in group.group_values
                    ],
                )
        except Exception as err:
            await _fail(context, err)
        return response

    async def GetWorkflowHistory(
        self, request: pb.GetWorkflowHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetWorkflowHistoryResponse:
        """Every event of a run so far."""
        try:
            events = await self._handle(request.workflow_id, request.run_id).fetch_history()
            msgs = [cv.event_to_proto(e) for e in events]
        except Exception as err:
            await _fail(context, err)
        return pb.GetWorkflowHistoryResponse(events=msgs)

    async def GetWorkflowResult(
        self, request: pb.GetWorkflowResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetWorkflowResultResponse:
        """Wait for the run to close; its result, or why it did not complete."""
        try:
            handle = self._handle(request.workflow_id, request.run_id)
            try:
                value = await handle.result(
                    follow_runs=not request.no_follow_runs, result_type=EncodedValue
                )
            except WorkflowFailureError as failed:
                cause = failed.__cause__ or failed
                return pb.GetWorkflowResultResponse(
                    failure=cv.exception_to_proto(cause, self._converter)
                )
            return pb.GetWorkflowResultResponse(result=self._encode(value))
        except Exception as err:
            await _fail(context, err)

    async def WatchWorkflow(
        self, request: pb.WatchWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchWorkflowResponse]:
        """Stream a run's events from ``from_event_id``, live, until it closes."""
        if self._watching >= self._limits.max_watch_streams:
            await _abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"too many open watch streams (the limit is {self._limits.max_watch_streams}): "
                "close one, or start the bridge with a higher max_watch_streams",
            )
        if self._closing:
            await _abort(context, grpc.StatusCode.UNAVAILABLE, "the bridge is shutting down")
        self._watching += 1
        try:
            async for msg in self._watch(request, context):
                yield msg
        finally:
            self._watching -= 1

    async def _watch(
        self, request: pb.WatchWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchWorkflowResponse]:
        try:
            if request.from_event_id < 0:
                raise InvalidArgumentError("from_event_id must not be negative")
            # Pin the run, so a reconnect resumes the same one, and fail before streaming.
            desc = await self._handle(request.workflow_id, request.run_id).describe()
            run_id: str = desc.run_id
            handle = self._engine.get_workflow_handle(request.workflow_id, run_id=run_id)
        except Exception as err:
            await _fail(context, err)
        next_id = max(request.from_event_id, 1)
        queue: asyncio.Queue[Any] = asyncio.Queue(_WATCH_QUEUE)
        pump = asyncio.create_task(self._pump(handle, next_id, queue))
        self._watch_queues.add(queue)
        budget = self._limits.max_message_bytes // 2
        try:
            while True:
                item = await queue.get()
                batch: list[pb.HistoryEvent] = []
                size = 0
                done = False
                while True:
                    if isinstance(item, Event):
                        msg = cv.event_to_proto(item)
                        batch.append(msg)
                        next_id = item.event_id + 1
                        size += msg.ByteSize()
                    elif item is _END:
                        done = True
                        break
                    elif item is _SHUTDOWN or self._closing:
                        if batch:
                            yield pb.WatchWorkflowResponse(run_id=run_id, events=batch)
                        await _abort(
                            context,
                            grpc.StatusCode.UNAVAILABLE,
                            "the bridge is shutting down; reconnect with "
                            f"from_event_id={next_id} to resume",
                        )
                    else:  # the engine's watch raised
                        if batch:
                            yield pb.WatchWorkflowResponse(run_id=run_id, events=batch)
                        await _fail(context, item)
                    if len(batch) >= _WATCH_BATCH or size >= budget or queue.empty():
                        break
                    item = queue.get_nowait()
                if batch:
                    yield pb.WatchWorkflowResponse(run_id=run_id, events=batch)
                if done:
                    return
        finally:
            self._watch_queues.discard(queue)
            pump.cancel()

    @staticmethod
    async def _pump(handle: Any, from_event_id: int, queue: asyncio.Queue[Any]) -> None:
        """Feed the engine's watch into ``queue``; end with ``_END`` or the error."""
        try:
            async for event in handle.watch(from_event_id=from_event_id):
                await queue.put(event)
            await queue.put(_END)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            await queue.put(err)

    def close_watches(self) -> None:
        """Tell every open watch stream to end with UNAVAILABLE (the bridge is stopping)."""
        self._closing = True
        for q in self._watch_queues:
            try:
                q.put_nowait(_SHUTDOWN)
            except asyncio.QueueFull:  # its consumer is busy and checks _closing next
                pass


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_END = _Marker("END")
_SHUTDOWN = _Marker("SHUTDOWN")


class BridgeServer:
    """A gRPC server for one engine's workflows, with health checking and reflection.

    Use it as ``async with BridgeServer(engine) as server:``; ``server.address`` is the
    address it bound (the real port when asked for port 0).

    Args:
        engine: The fastcore ``Engine`` whose workflows to serve.
        address: ``host:port`` to bind; loopback by default. A non-loopback address needs
            ``tls`` and ``token``, or ``insecure=True``.
        tls: Serve TLS with this certificate (and require client certificates when it names
            a client CA).
        token: Require ``authorization: Bearer <token>`` on every call but health checks.
        insecure: Serve a non-loopback address without TLS and a token anyway.
        max_message_bytes: Largest message received or sent; larger ones fail with
            RESOURCE_EXHAUSTED.
        max_concurrent_streams: Most concurrent calls (HTTP/2 streams) on one connection.
        max_concurrent_rpcs: Most calls in progress on the whole server; more fail with
            RESOURCE_EXHAUSTED. None for no limit.
        max_watch_streams: Most open ``WatchWorkflow`` streams; more fail with
            RESOURCE_EXHAUSTED.
        shutdown_grace: How long ``stop`` lets calls in progress finish.
        interceptors: More ``grpc.aio`` server interceptors (after the token check).
        tracer_provider: OpenTelemetry provider for the server's spans (the engine's, or the
            global one, when the engine traces).
        unix_socket: Also listen on a unix socket (only without TLS) and name it in health
            check answers, so a ``BridgeClient`` on this machine skips the TCP stack.
    """

    def __init__(
        self,
        engine: Any,
        *,
        address: str = "127.0.0.1:0",
        tls: ServerTLSConfig | None = None,
        token: str | None = None,
        insecure: bool = False,
        max_message_bytes: int = 4 * 1024 * 1024,
        max_concurrent_streams: int = 100,
        max_concurrent_rpcs: int | None = 1000,
        max_watch_streams: int = 100,
        shutdown_grace: timedelta = timedelta(seconds=2),
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        tracer_provider: Any = None,
        unix_socket: bool = True,
    ) -> None:
        # Every setting is checked here, where it is made, not at start().
        if token is not None:
            check_token(token)
        check_bind(address, tls=tls is not None, token=token is not None, insecure=insecure)
        if tls is not None and not isinstance(tls, ServerTLSConfig):
            raise ValueError(f"tls must be a ServerTLSConfig, not {type(tls).__name__}")
        for name, value in (
            ("max_message_bytes", max_message_bytes),
            ("max_concurrent_streams", max_concurrent_streams),
            ("max_watch_streams", max_watch_streams),
            ("max_concurrent_rpcs", max_concurrent_rpcs),
        ):
            if value is None and name == "max_concurrent_rpcs":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if shutdown_grace < timedelta(0):
            raise ValueError(f"shutdown_grace must not be negative, not {shutdown_grace}")
        self._engine = engine
        self._requested = address
        self._tls = tls
        self._token = token
        self._max_message_bytes = max_message_bytes
        self._max_concurrent_streams = max_concurrent_streams
        self._max_concurrent_rpcs = max_concurrent_rpcs
        self._grace = shutdown_grace.total_seconds()
        extra = list(interceptors)
        telemetry = getattr(engine, "telemetry", None)
        from ._tracing import TracingServerInterceptor, server_interceptor

        traced = any(isinstance(i, TracingServerInterceptor) for i in extra)
        if not traced and (tracer_provider is not None or getattr(telemetry, "enabled", False)):
            # W3C trace context from the caller's metadata: one trace across processes
            provider = tracer_provider or getattr(telemetry, "tracer_provider", None)
            extra.append(server_interceptor(tracer_provider=provider))
        self._interceptors = extra
        self._servicer = _Servicer(engine, _Limits(max_message_bytes, max_watch_streams))
        self._server: grpc.aio.Server | None = None
        self._health: Any = None
        self._frontend: Any = None
        self._address: str | None = None
        self._want_unix = unix_socket and tls is None
        self._unix_path: str | None = None

    @property
    def unix_address(self) -> str | None:
        """``unix:<path>`` of the unix socket it also listens on, or None."""
        return f"unix:{self._unix_path}" if self._unix_path else None

    @property
    def address(self) -> str:
        """The bound address, ``host:port``.

        Raises:
            RuntimeError: The server has not started.
        """
        if self._address is None:
            raise RuntimeError("the bridge server has not started")
        return self._address

    async def start(self) -> None:
        """Bind and start serving.

        Raises:
            OSError: The address cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the bridge server is already started")
        host, wanted_port = split_address(self._requested)
        if wanted_port:  # a clear error here, before gRPC core logs its own at the bind
            _check_port_free(host, wanted_port, self._requested)
        options = [
            ("grpc.max_receive_message_length", self._max_message_bytes),
            ("grpc.max_send_message_length", self._max_message_bytes),
            ("grpc.max_concurrent_streams", self._max_concurrent_streams),
            # A second server on a bound port must fail, not silently share its traffic.
            ("grpc.so_reuseport", 0),
            # gRPC's "overload protection" refuses a new stream (RST_STREAM REFUSED_STREAM,
            # which a client sees as UNAVAILABLE) while more streams than the advertised
            # limit are still allocated: grpc.aio frees a finished call's stream a little
            # later, so a client that keeps exactly max_concurrent_streams calls open (as
            # it must) had some of 1,500 concurrent calls refused. The advertised limit
            # (clients queue beyond it) and max_concurrent_rpcs still bound the load.
            ("grpc.http.overload_protection", 0),
        ]
        # Auth first (a refused call's request is never decoded), then undecodable requests
        # (INVALID_ARGUMENT, no traceback), then the rest: a refused call gets no span. With
        # no interceptor after it, the decode guard wraps each method once (MethodTable)
        # instead of running as an interceptor at every call.
        interceptors: list[Any] = [TokenAuthInterceptor(self._token)] if self._token else []
        if self._interceptors:
            interceptors.append(DecodeGuardInterceptor())
            interceptors += self._interceptors
        server = grpc.aio.server(
            interceptors=interceptors,
            options=options,
            maximum_concurrent_rpcs=self._max_concurrent_rpcs,
        )
        methods = MethodTable(guard=not self._interceptors)
        pb_grpc.add_BridgeServiceServicer_to_server(self._servicer, methods)  # type: ignore[no-untyped-call]
        self._frontend = frontend.FrontendServicer(self._engine)  # Temporal's own API
        self._frontend.add_to_server(methods)
        self._health = AdvertisingHealthServicer(SERVICE_NAME)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, methods)
        services = [SERVICE_NAME, frontend.SERVICE_NAME]
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection.aio.ReflectionServicer(
                [*services, health.SERVICE_NAME, reflection.SERVICE_NAME]
            ),
            methods,
        )
        server.add_generic_rpc_handlers((methods,))
        try:
            if self._tls is not None:
                port = server.add_secure_port(self._requested, self._tls.credentials())
            else:
                port = server.add_insecure_port(self._requested)
        except RuntimeError as err:
            raise OSError(f"cannot bind the bridge to {self._requested}: {err}") from None
        if not port:
            raise OSError(f"cannot bind the bridge to {self._requested}")
        if self._want_unix:
            self._listen_unix(server, host, port)
        await server.start()
        serving = health_pb2.HealthCheckResponse.SERVING
        await self._health.set("", serving)
        for name in services:
            await self._health.set(name, serving)
        self._server = server
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        logger.info("bridge serving %s on %s", SERVICE_NAME, self._address)

    async def stop(self, grace: timedelta | None = None) -> None:
        """Stop serving: health turns NOT_SERVING, watch streams end with UNAVAILABLE (so
        clients reconnect elsewhere or later), other calls get ``grace`` to finish."""
        server, self._server = self._server, None
        if server is None:
            return
        await self._health.enter_graceful_shutdown()
        self._servicer.close_watches()
        self._frontend.close()
        await server.stop(grace.total_seconds() if grace is not None else self._grace)
        path, self._unix_path = self._unix_path, None
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _listen_unix(self, server: grpc.aio.Server, host: str, port: int) -> None:
        """Listen on this address's unix socket too and name it in health answers."""
        path = socket_path_for(host, port)
        if path is None:
            return
        try:
            if os.path.exists(path):
                os.unlink(path)  # left by a server of this address that died; the port is ours
            bound = server.add_insecure_port(f"unix:{path}")
        except (OSError, RuntimeError) as err:
            logger.warning("the bridge serves TCP only: cannot listen on %s: %s", path, err)
            return
        if not bound:
            logger.warning("the bridge serves TCP only: cannot listen on %s", path)
            return
        self._unix_path = path
        self._health.metadata = ((SOCKET_KEY, path), (INSTANCE_KEY, uuid.uuid4().hex))

    async def wait_for_termination(self) -> None:
        """Wait until the server stops (for the ``dev``/``worker`` commands)."""
        if self._server is not None:
            await self._server.wait_for_termination()

    async def __aenter__(self) -> BridgeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _check_port_free(host: str, port: int, address: str) -> None:
    """Raise ``OSError`` naming ``address`` when ``port`` is already taken on ``host``.

    It binds as gRPC does (``SO_REUSEADDR``, no ``SO_REUSEPORT``), so a port gRPC could
    take passes; without this check a clash also prints gRPC core's ``Failed to add port``
    lines on stderr before our error.
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # an unresolvable host: gRPC reports it at the bind
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError as err:
                if err.errno == errno.EADDRINUSE:
                    raise OSError(
                        f"cannot bind the bridge to {address}: port {port} is already in use "
                        "(another process listens there; choose another port, or 0 for any "
                        "free one)",
                    ) from None
                # anything else (an address not on this machine, ...) gRPC reports
