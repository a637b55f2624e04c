"""``BridgeClient``: a fastcore engine's handle API, served by a ``BridgeServer`` elsewhere.

The methods take and return Python values and fastcore types; payloads are encoded with
the client's ``DataConverter``. A failed call raises what the engine itself would have
raised (``WorkflowNotFoundError``, ``WorkflowAlreadyStartedError``, ``InvalidArgumentError``,
``WorkflowUpdateFailedError``, ...); a failure fastcore has no exception for (a bad token,
an exceeded limit or deadline, an unreachable server) raises ``RPCError`` with its status.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fastcore import (
    WorkflowExecutionAsyncIterator,
    WorkflowExecutionCount,
    WorkflowExecutionCountAggregationGroup,
)
from fastcore.common import (
    RetryPolicy,
    SearchAttributes,
    TypedSearchAttributes,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from fastcore.errors import (
    InvalidArgumentError,
)
from fastcore.integration import (
    DataConverter,
    WorkflowDefinition,
    default_converter,
)

from .._proto.v1 import bridge_pb2 as pb
from .._proto.v1 import bridge_pb2_grpc as pb_grpc
from . import _convert as cv
from ._auth import bearer_metadata, check_token
from ._connect import channel_settings, refuse_unsupported
from ._errors import RPCError, RPCStatusCode, from_rpc_error, status_code
from ._handle import BridgeWorkflowHandle
from ._local import advertised
from ._server import SERVICE_NAME
from ._tracing import UnaryTracing, stream_interceptors

__all__ = ["BridgeClient", "BridgeWorkflowHandle", "RPCError", "RPCStatusCode"]

_T = TypeVar("_T")
_log = logging.getLogger(__name__)
_FULL_NAMES = {
    m.name: f"/{SERVICE_NAME}/{m.name}"
    for m in pb.DESCRIPTOR.services_by_name["BridgeService"].methods
}


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

    Make one with ``await BridgeClient.connect(address, ...)`` (``temporalio.client.Client
    .connect``'s arguments); close it with ``close()`` or use it as an async context manager.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        token: str | None = None,
        data_converter: DataConverter | None = None,
        metadata: Sequence[tuple[str, str | bytes]] | None = None,
        namespace: str = "default",
        identity: str | None = None,
    ) -> None:
        self._channel = channel
        self._stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        if metadata is None:
            metadata = bearer_metadata(token) if token else ()
        self._metadata: tuple[tuple[str, str | bytes], ...] = tuple(metadata)
        self._converter = data_converter or default_converter
        #: unary calls traced inline (``connect`` sets it; a channel given to the constructor
        #: traces with its own interceptors, if any)
        self._tracing: UnaryTracing | None = None
        #: where calls go: ``unix:<path>`` when ``connect`` found the server's unix socket
        self.target = ""
        self._namespace = namespace
        self._identity = identity or f"{os.getpid()}@{socket.gethostname()}"

    @classmethod
    async def connect(
        cls,
        target_host: str,
        *,
        namespace: str = "default",
        api_key: str | None = None,
        token: str | None = None,
        data_converter: DataConverter | None = None,
        plugins: Sequence[Any] = (),
        interceptors: Sequence[Any] = (),
        default_workflow_query_reject_condition: Any = None,
        tls: Any = None,
        retry_config: Any = None,
        keep_alive_config: Any = None,
        connect_timeout: timedelta | None = None,
        rpc_metadata: Mapping[str, str | bytes] | None = None,
        identity: str | None = None,
        lazy: bool = False,
        runtime: Any = None,
        http_connect_proxy_config: Any = None,
        dns_load_balancing_config: Any = None,
        grpc_compression: Any = None,
        payload_limits: Any = None,
        header_codec_behavior: Any = None,
        max_message_bytes: int = 4 * 1024 * 1024,
        tracer_provider: Any = None,
        prefer_unix_socket: bool = True,
    ) -> BridgeClient:
        """Connect to a bridge (``temporalio.client.Client.connect``'s arguments) and check
        that it serves.

        A bridge on this machine serving without TLS names its unix socket in its health
        check answer; the client then talks to it through that socket (no TCP stack), once
        it has met the same server there. ``target`` says which one it uses.

        Args:
            target_host: ``host:port`` of the bridge.
            namespace: ``default``, the one namespace a fastcore engine has.
            api_key: The bridge's bearer token, sent as ``authorization: Bearer <key>``
                (unless ``rpc_metadata`` has an ``authorization``), as temporalio sends it.
            token: The same, under fastcore's older name.
            data_converter: fastcore's ``DataConverter`` (JSON by default).
            plugins: Refused when given (temporalio client plugins do not apply).
            interceptors: ``grpc.aio`` client interceptors (temporalio's client
                interceptors do not apply to the bridge's service).
            default_workflow_query_reject_condition: Refused when given.
            tls: ``True`` (system roots), fastcore's or temporalio's ``TLSConfig``.
            retry_config: Refused when given: a failed call raises at once.
            keep_alive_config: HTTP/2 keep-alive (``interval_millis``, ``timeout_millis``,
                as temporalio's ``KeepAliveConfig``); none by default.
            connect_timeout: How long to wait for the bridge's health check (10 s).
            rpc_metadata: gRPC metadata sent with every call.
            identity: This client's name (``identity``); recorded nowhere, as the bridge's
                calls carry no identity.
            lazy: Do not check the bridge at once; the first call connects.
            runtime, http_connect_proxy_config, dns_load_balancing_config, payload_limits,
                header_codec_behavior: Refused when given.
            grpc_compression: temporalio's ``GrpcCompression.GZIP`` compresses the calls;
                ``NONE`` (the default here, a bridge is usually on loopback) does not.
            max_message_bytes: Largest message this client sends or receives.
            tracer_provider: OpenTelemetry provider for the client's spans (the global one
                when None); the W3C trace context travels either way.
            prefer_unix_socket: Use the bridge's unix socket when it is on this machine.

        Raises:
            InvalidArgumentError: An option that does not apply, or a bad value.
            RPCError: The bridge cannot be reached, the TLS handshake failed, or the bridge
                is not serving.
        """
        for key in (token, api_key):
            if key is not None:
                check_token(key)
        if isinstance(max_message_bytes, bool) or max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes must be positive, not {max_message_bytes!r}")
        refuse_unsupported(
            plugins=plugins,
            default_workflow_query_reject_condition=default_workflow_query_reject_condition,
            retry_config=retry_config,
            runtime=runtime,
            http_connect_proxy_config=http_connect_proxy_config,
            dns_load_balancing_config=dns_load_balancing_config,
            payload_limits=payload_limits,
            header_codec_behavior=header_codec_behavior,
        )
        if data_converter is not None and not isinstance(data_converter, DataConverter):
            raise InvalidArgumentError(
                "data_converter must be fastcore's DataConverter (the bridge decodes with "
                f"fastcore's converters), not {type(data_converter).__name__}"
            )
        settings = channel_settings(
            namespace=namespace,
            token=token,
            api_key=api_key,
            tls=tls,
            rpc_metadata=rpc_metadata or {},
            keep_alive_config=keep_alive_config,
            grpc_compression=grpc_compression,
        )
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # A restarted local bridge is back in well under a second; do not wait 1 s+.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
            *settings.options,
        ]
        chain = [*stream_interceptors(tracer_provider=tracer_provider), *interceptors]
        if settings.tls is not None:
            channel = grpc.aio.secure_channel(
                target_host,
                settings.tls.credentials(),
                options + settings.tls.channel_options(),
                compression=settings.compression,
                interceptors=chain,
            )
        else:
            channel = grpc.aio.insecure_channel(
                target_host, options, compression=settings.compression, interceptors=chain
            )
        client = cls(
            channel,
            data_converter=data_converter,
            metadata=settings.metadata,
            namespace=namespace,
            identity=identity,
        )
        client._tracing = UnaryTracing(tracer_provider)
        client.target = target_host
        if lazy:
            return client
        timeout = (connect_timeout or timedelta(seconds=10)).total_seconds()
        try:
            local = await _check(channel, timeout)
        except grpc.aio.AioRpcError as err:
            await channel.close()
            raise RPCError(
                f"cannot reach the bridge at {target_host}: {err.details()}", status_code(err)
            ) from None
        except RPCError:
            await channel.close()
            raise RPCError(
                f"the bridge at {target_host} is not serving", RPCStatusCode.UNAVAILABLE
            ) from None
        if local is not None and prefer_unix_socket and settings.tls is None:
            unix = await _open_local(local, options, chain, min(timeout, 2.0))
            if unix is not None:
                await channel.close()
                client._channel = unix
                client._stub = pb_grpc.BridgeServiceStub(unix)  # type: ignore[no-untyped-call]
                client.target = f"unix:{local[0]}"
        return client

    @property
    def namespace(self) -> str:
        """The namespace (always ``default``: a fastcore engine has one)."""
        return self._namespace

    @property
    def identity(self) -> str:
        """This client's name."""
        return self._identity

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

    async def _call(
        self,
        name: str,
        request: Any,
        rpc_timeout: timedelta | None,
        rpc_metadata: Mapping[str, str | bytes] | None = None,
    ) -> Any:
        method = getattr(self._stub, name)
        timeout = rpc_timeout.total_seconds() if rpc_timeout is not None else None
        metadata: Any = self._metadata
        if rpc_metadata:
            metadata = metadata + tuple((k.lower(), v) for k, v in rpc_metadata.items())
        try:
            tracing = self._tracing
            if tracing is None or tracing.idle():
                return await method(request, metadata=metadata, timeout=timeout)
            return await tracing.call(method, _FULL_NAMES[name], request, metadata, timeout)
        except grpc.aio.AioRpcError as err:
            # Not ``from None``: that would erase a WorkflowUpdateFailedError's __cause__; the
            # AioRpcError context is suppressed by from_rpc_error instead.
            raise from_rpc_error(err, self._converter)  # noqa: B904

    async def start_workflow(
        self,
        workflow: str | type | Callable[..., Any],
        *more: Any,
        args: Sequence[Any] = (),
        id: str,
        task_queue: str | None = None,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        task_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy | None = None,
        id_conflict_policy: WorkflowIDConflictPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        cron_schedule: str = "",
        memo: Mapping[str, Any] | None = None,
        search_attributes: TypedSearchAttributes | SearchAttributes | None = None,
        static_summary: str | None = None,
        static_details: str | None = None,
        start_delay: timedelta | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        result_type: Any = None,
        request_eager_start: bool = False,
        rpc_metadata: Mapping[str, str | bytes] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> BridgeWorkflowHandle:
        """Start a workflow on the bridge's engine (``temporalio.client.Client.start_workflow``'s
        arguments).

        Args:
            workflow: The ``@workflow.run`` method, the workflow class or its registered name.
            *more: Arguments to the run method (temporalio passes one, ``arg``).
            args: More arguments, as temporalio's ``args=``.
            id: The workflow id.
            task_queue: Recorded and shown (``describe()``, list filters): the engine runs
                every workflow it has registered, whatever the queue.
            execution_timeout: Limit on the whole workflow.
            run_timeout: Limit on one run.
            task_timeout: Refused when given (fastcore has no workflow task timeout).
            id_reuse_policy: Whether a closed workflow's id may be reused.
            id_conflict_policy: What to do when a run with this id is open.
            retry_policy: How the workflow is retried.
            cron_schedule: A cron schedule; each run starts at its schedule time.
            memo: Values recorded with the start.
            search_attributes: The run's search attributes.
            static_summary, static_details: Accepted and not kept (no UI shows them).
            start_delay: Record the run now and run its code after this delay.
            start_signal: A signal delivered with the start (signal-with-start: a running
                workflow with the id gets it, and a start delay it waits out ends).
            start_signal_args: Arguments of ``start_signal``.
            result_type: The type ``result()`` converts to (default: the run's return hint).
            request_eager_start: Accepted; every start on an engine is eager already.
            rpc_metadata: gRPC metadata for this call.
            rpc_timeout: Give up after this long.

        Returns:
            A handle pinned to the new run.

        Raises:
            WorkflowAlreadyStartedError: A run with this id is open.
            InvalidArgumentError: Unknown workflow type, arguments that do not fit, a bad
                cron schedule or search attribute, or an option the engine cannot honour.
        """
        del static_summary, static_details, request_eager_start
        if task_timeout is not None:
            raise InvalidArgumentError(
                "task_timeout is not supported: fastcore has no task timeout"
            )
        name, hint = _workflow_ref(workflow)
        enc = self._converter
        request = pb.StartWorkflowRequest(
            workflow_type=name,
            workflow_id=id,
            args=cv.payloads_to_proto(enc.encode([*more, *args])),
            id_reuse_policy=int(id_reuse_policy or 0),  # type: ignore[arg-type]
            id_conflict_policy=int(id_conflict_policy or 0),  # type: ignore[arg-type]
            start_signal=start_signal or "",
            start_signal_args=cv.payloads_to_proto(enc.encode(start_signal_args)),
            task_queue=task_queue or "",
            cron_schedule=cron_schedule,
        )
        if execution_timeout is not None:
            request.execution_timeout.CopyFrom(cv.duration_to_proto(execution_timeout))
        if run_timeout is not None:
            request.run_timeout.CopyFrom(cv.duration_to_proto(run_timeout))
        if start_delay is not None:
            request.start_delay.CopyFrom(cv.duration_to_proto(start_delay))
        if retry_policy is not None:
            request.retry_policy.CopyFrom(cv.retry_policy_to_proto(retry_policy))
        for key, value in (memo or {}).items():
            request.memo[key].CopyFrom(cv.payload_to_proto(enc.encode_one(value)))
        for key, payload in cv.search_attributes_to_proto(search_attributes).items():
            request.search_attributes[key].CopyFrom(payload)
        resp = await self._call("StartWorkflow", request, rpc_timeout, rpc_metadata)
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

    def list_workflows(
        self,
        query: str | None = None,
        *,
        status: WorkflowExecutionStatus | None = None,
        limit: int | None = None,
        page_size: int = 1000,
        next_page_token: bytes | None = None,
        rpc_metadata: Mapping[str, str | bytes] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowExecutionAsyncIterator:
        """Runs matching a visibility query, newest first (``temporalio``'s
        ``list_workflows``): ``async for`` walks them all, ``await`` gives one page and the
        next page's token (None after the last page).

        Raises:
            InvalidArgumentError: (when read) the query is malformed or names what is not
                supported, or a token of another query.
        """

        async def fetch(size: int, token: bytes | None) -> tuple[list[Any], bytes | None]:
            resp = await self._call(
                "ListWorkflows",
                pb.ListWorkflowsRequest(
                    status=cv.status_to_proto(status),
                    page_size=min(size, 1000),
                    next_page_token=token or b"",
                    query=query or "",
                ),
                rpc_timeout,
                rpc_metadata,
            )
            return (
                [cv.description_from_proto(m, self._converter) for m in resp.executions],
                resp.next_page_token or None,
            )

        return WorkflowExecutionAsyncIterator(
            fetch, page_size=page_size, next_page_token=next_page_token, limit=limit
        )

    async def count_workflows(
        self,
        query: str | None = None,
        *,
        rpc_metadata: Mapping[str, str | bytes] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> WorkflowExecutionCount:
        """How many runs match a visibility query; per status with ``GROUP BY
        ExecutionStatus`` (``temporalio``'s ``count_workflows``)."""
        resp = await self._call(
            "CountWorkflows",
            pb.CountWorkflowsRequest(query=query or ""),
            rpc_timeout,
            rpc_metadata,
        )
        groups = [
            WorkflowExecutionCountAggregationGroup(
                count=g.count,
                group_values=[
                    self._converter.decode_one(cv.payload_from_proto(v)) for v in g.group_values
                ],
            )
            for g in resp.groups
        ]
        return WorkflowExecutionCount(count=resp.count, groups=groups)
