"""``FrontendServicer``: Temporal's ``WorkflowService`` in terms of one fastcore engine.

Each RPC below is translated to the engine's public handle API and each answer to
Temporal's messages; every error becomes a real status code with Temporal's typed details
(``_errors``). Every other method of the service answers ``UNIMPLEMENTED`` with "unknown
method ..." as Temporal's Go server does (the Python client refuses to connect on grpc's
default "Method not implemented!"). The namespace is one (``default`` unless told).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.namespace.v1 import NamespaceConfig, NamespaceInfo
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    CountWorkflowExecutionsResponse,
    DescribeNamespaceRequest,
    DescribeNamespaceResponse,
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    ExecuteMultiOperationRequest,
    ExecuteMultiOperationResponse,
    GetSystemInfoRequest,
    GetSystemInfoResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    ListWorkflowExecutionsRequest,
    ListWorkflowExecutionsResponse,
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowExecutionUpdateResponse,
    QueryWorkflowRequest,
    QueryWorkflowResponse,
    RequestCancelWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionResponse,
    SignalWithStartWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionResponse,
    SignalWorkflowExecutionRequest,
    SignalWorkflowExecutionResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
    TerminateWorkflowExecutionRequest,
    TerminateWorkflowExecutionResponse,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import (
    WorkflowServiceServicer,
    add_WorkflowServiceServicer_to_server,
)

from fastcore.integration import request_id

from ._describe import describe_response
from ._errors import abort, invalid, namespace_not_found, not_found, status_of
from ._history import HistoryReader
from ._listing import Lister
from ._payloads import encoded
from ._queries import Queries
from ._start import Starter
from ._updates import Updates

__all__ = ["SERVED_METHODS", "SERVICE_NAME", "FrontendServicer"]

logger = logging.getLogger("bridge.frontend")

SERVICE_NAME = "temporal.api.workflowservice.v1.WorkflowService"
"""The gRPC service name (for health checking and reflection)."""

SERVER_VERSION = "1.32.0"
"""The Temporal server version whose frontend API this serves (the dev server's, same run)."""

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


# temporalio's typed stubs declare each method synchronous (grpc's sync server); grpc.aio
# serves coroutines, so the base is untyped here.
_Servicer: Any = WorkflowServiceServicer


class FrontendServicer(_Servicer):  # type: ignore[misc]
    """Temporal's frontend API for one engine.

    Args:
        engine: The fastcore ``Engine``.
        namespace: The one namespace served.
        long_poll_cap: Longest wait of a long poll whose client set no deadline (seconds).
        query_timeout: Longest a query may take (seconds; the CLI sets no deadline).
    """

    def __init__(
        self,
        engine: Any,
        *,
        namespace: str = "default",
        long_poll_cap: float = 60.0,
        query_timeout: float = 20.0,
    ) -> None:
        self._engine = engine
        self._namespace = namespace
        self._closing = asyncio.Event()
        self._histories = HistoryReader(
            engine, self._closing, namespace=namespace, long_poll_cap=long_poll_cap
        )
        self._starter = Starter(engine)
        self._updates = Updates(engine, self._histories, self._closing, long_poll_cap)
        self._queries = Queries(engine, self._histories, query_timeout)
        self._lister = Lister(engine)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        """Register this servicer on ``server`` (before it starts)."""
        add_WorkflowServiceServicer_to_server(self, server)

    def close(self) -> None:
        """Wake every long poll and stop following updates (the bridge is stopping)."""
        self._closing.set()
        self._updates.close()

    async def _serve(
        self,
        request: _Req,
        context: grpc.aio.ServicerContext,
        call: Callable[[_Req], Awaitable[_Resp]],
    ) -> _Resp:
        """Check the namespace, run ``call``, and turn any error into its status."""
        try:
            namespace = getattr(request, "namespace", "")
            if namespace and namespace != self._namespace:
                raise namespace_not_found(namespace, self._namespace)
            return await call(request)
        except grpc.aio.AbortError:
            raise
        except Exception as err:
            await abort(context, status_of(err))

    # ------------------------------------------------------------------ service info

    async def GetSystemInfo(
        self, request: GetSystemInfoRequest, context: grpc.aio.ServicerContext
    ) -> GetSystemInfoResponse:
        """The server's version and capabilities, as clients check them on connect."""
        caps = GetSystemInfoResponse.Capabilities(
            signal_and_query_header=True,
            internal_error_differentiation=True,
            activity_failure_include_heartbeat=True,
            upsert_memo=False,
            eager_workflow_start=False,
            sdk_metadata=True,
            count_group_by_execution_status=True,
        )
        return GetSystemInfoResponse(server_version=SERVER_VERSION, capabilities=caps)

    async def DescribeNamespace(
        self, request: DescribeNamespaceRequest, context: grpc.aio.ServicerContext
    ) -> DescribeNamespaceResponse:
        """The one namespace this bridge serves."""

        async def describe(req: DescribeNamespaceRequest) -> DescribeNamespaceResponse:
            retention = Duration()
            retention.FromTimedelta(self._engine.retention or _FOREVER)
            return DescribeNamespaceResponse(
                namespace_info=NamespaceInfo(
                    name=self._namespace,
                    id=self._namespace,
                    state=NamespaceState.NAMESPACE_STATE_REGISTERED,
                    description="a fastcore engine, served by its bridge",
                ),
                config=NamespaceConfig(workflow_execution_retention_ttl=retention),
            )

        return await self._serve(request, context, describe)

    # ------------------------------------------------------------------ starting

    async def StartWorkflowExecution(
        self, request: StartWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> StartWorkflowExecutionResponse:
        """Start a run (idempotent on ``request_id``)."""
        return await self._serve(request, context, self._starter.start)

    async def SignalWithStartWorkflowExecution(
        self, request: SignalWithStartWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> SignalWithStartWorkflowExecutionResponse:
        """Signal the open run, or start one with the signal."""
        return await self._serve(request, context, self._starter.signal_with_start)

    async def ExecuteMultiOperation(
        self, request: ExecuteMultiOperationRequest, context: grpc.aio.ServicerContext
    ) -> ExecuteMultiOperationResponse:
        """Update-with-start."""
        return await self._serve(
            request, context, lambda r: self._updates.update_with_start(r, context, self._starter)
        )

    # ------------------------------------------------------------------ messages

    async def SignalWorkflowExecution(
        self, request: SignalWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> SignalWorkflowExecutionResponse:
        """Deliver a signal (once per ``request_id``)."""

        async def signal(req: SignalWorkflowExecutionRequest) -> SignalWorkflowExecutionResponse:
            wid = req.workflow_execution.workflow_id
            if not wid:
                raise invalid("WorkflowExecution.WorkflowId is not set on request.")
            if not req.signal_name:
                raise invalid("SignalName is not set on request.")
            handle = self._engine.get_workflow_handle(
                wid, run_id=req.workflow_execution.run_id or None
            )
            with request_id(req.request_id):  # recorded: a retry is not applied twice
                await handle.signal(req.signal_name, args=encoded(req.input.payloads))
            return SignalWorkflowExecutionResponse()

        return await self._serve(request, context, signal)

    async def QueryWorkflow(
        self, request: QueryWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> QueryWorkflowResponse:
        """Answer a query (``__stack_trace`` and ``__temporal_workflow_metadata`` too)."""
        return await self._serve(request, context, lambda r: self._queries.query(r, context))

    async def UpdateWorkflowExecution(
        self, request: UpdateWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> UpdateWorkflowExecutionResponse:
        """Run an update once per update id, reporting the stage reached."""
        return await self._serve(request, context, lambda r: self._updates.update(r, context))

    async def PollWorkflowExecutionUpdate(
        self, request: PollWorkflowExecutionUpdateRequest, context: grpc.aio.ServicerContext
    ) -> PollWorkflowExecutionUpdateResponse:
        """The stage and outcome of an update, waiting for it when asked."""
        return await self._serve(request, context, lambda r: self._updates.poll(r, context))

    async def RequestCancelWorkflowExecution(
        self, request: RequestCancelWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> RequestCancelWorkflowExecutionResponse:
        """Request cancellation; a closed run is ``NOT_FOUND``, as Temporal answers."""

        async def cancel(
            req: RequestCancelWorkflowExecutionRequest,
        ) -> RequestCancelWorkflowExecutionResponse:
            run = await self._histories.read(
                req.workflow_execution.workflow_id, req.workflow_execution.run_id or None
            )
            if run.closed:
                raise not_found("workflow execution already completed")
            handle = self._engine.get_workflow_handle(run.workflow_id, run_id=run.run_id)
            await handle.cancel()
            return RequestCancelWorkflowExecutionResponse()

        return await self._serve(request, context, _needs_id(cancel))

    async def TerminateWorkflowExecution(
        self, request: TerminateWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> TerminateWorkflowExecutionResponse:
        """Terminate a run; a closed run is ``NOT_FOUND``."""

        async def terminate(
            req: TerminateWorkflowExecutionRequest,
        ) -> TerminateWorkflowExecutionResponse:
            details = encoded(req.details.payloads)
            handle = self._engine.get_workflow_handle(
                req.workflow_execution.workflow_id, run_id=req.workflow_execution.run_id or None
            )
            await handle.terminate(*details, reason=req.reason or None)
            return TerminateWorkflowExecutionResponse()

        return await self._serve(request, context, _needs_id(terminate))

    # ------------------------------------------------------------------ reading

    async def GetWorkflowExecutionHistory(
        self, request: GetWorkflowExecutionHistoryRequest, context: grpc.aio.ServicerContext
    ) -> GetWorkflowExecutionHistoryResponse:
        """A page of the run's history in Temporal's format; long-polls when asked."""
        return await self._serve(request, context, lambda r: self._histories.serve(r, context))

    async def DescribeWorkflowExecution(
        self, request: DescribeWorkflowExecutionRequest, context: grpc.aio.ServicerContext
    ) -> DescribeWorkflowExecutionResponse:
        """Describe a run."""

        async def describe(
            req: DescribeWorkflowExecutionRequest,
        ) -> DescribeWorkflowExecutionResponse:
            wid, rid = req.execution.workflow_id, req.execution.run_id or None
            if not wid:
                raise invalid("Execution.WorkflowId is not set on request.")
            run = await self._histories.read(wid, rid)
            description = await self._engine.get_workflow_handle(wid, run_id=run.run_id).describe()
            return describe_response(run, description, self._engine.converter)

        return await self._serve(request, context, describe)

    async def ListWorkflowExecutions(
        self, request: ListWorkflowExecutionsRequest, context: grpc.aio.ServicerContext
    ) -> ListWorkflowExecutionsResponse:
        """Runs matching a visibility query, newest first."""
        return await self._serve(request, context, self._lister.list)

    async def CountWorkflowExecutions(
        self, request: CountWorkflowExecutionsRequest, context: grpc.aio.ServicerContext
    ) -> CountWorkflowExecutionsResponse:
        """How many runs match a visibility query."""
        return await self._serve(request, context, self._lister.count)


def _needs_id(
    call: Callable[[Any], Awaitable[_Resp]],
) -> Callable[[Any], Awaitable[_Resp]]:
    """``call``, refusing a request whose ``workflow_execution`` names no workflow id."""

    async def checked(request: Any) -> _Resp:
        if not request.workflow_execution.workflow_id:
            raise invalid("WorkflowExecution.WorkflowId is not set on request.")
        return await call(request)

    return checked


_FOREVER = timedelta(days=36500)

SERVED_METHODS: frozenset[str] = frozenset(
    name
    for name, value in vars(FrontendServicer).items()
    if name[:1].isupper() and callable(value) and name in vars(WorkflowServiceServicer)
)
"""The RPCs this frontend serves; every other one of the service is unknown here."""


def _unknown(name: str) -> Callable[..., Awaitable[Any]]:
    async def unknown(
        self: FrontendServicer, request: Any, context: grpc.aio.ServicerContext
    ) -> Any:
        message = f"unknown method {name} for service {SERVICE_NAME}"
        logger.debug("frontend: %s", message)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, message)

    unknown.__name__ = name
    unknown.__doc__ = f"``{name}`` is not served by the fastcore bridge: UNIMPLEMENTED."
    return unknown


for _name, _value in list(vars(WorkflowServiceServicer).items()):
    if _name[:1].isupper() and callable(_value) and _name not in SERVED_METHODS:
        setattr(FrontendServicer, _name, _unknown(_name))
