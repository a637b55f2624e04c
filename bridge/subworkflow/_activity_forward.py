"""Worker side: the local activity that forwards workflow code's calls to bridged workflows.

``bridge.forwarding_activities()`` (or a :class:`BridgeForwarder`, which can be
closed) is the local activity that ``bridge.signal_fastcore_workflow``,
``execute_fastcore_update`` and ``query_fastcore_workflow`` run: register it on the worker of
the Temporal workflows that forward. It keeps one ``BridgeClient`` per bridge address and
carries the caller's trace context to the bridge (W3C ``traceparent`` in the call metadata).
Errors come back as ``ApplicationError``s typed after the fastcore error; those no retry can
change are non-retryable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import grpc
import grpc.aio
import temporalio.exceptions as texc
from temporalio import activity

import fastcore.errors as fc
from fastcore.integration import DataConverter

from .._failures import application_failure
from ..rpc import BridgeClient, RPCError, RPCStatusCode, TLSConfig
from ..rpc._tracing import client_interceptors
from ._workflow_forward import FORWARD_ACTIVITY_NAME, FastcoreForwardInput

__all__ = ["BridgeForwarder", "forwarding_activities"]

_NON_RETRYABLE_RPC = (
    RPCStatusCode.INVALID_ARGUMENT,
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.ALREADY_EXISTS,
    RPCStatusCode.PERMISSION_DENIED,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.UNIMPLEMENTED,
    RPCStatusCode.UNAUTHENTICATED,
)


# ---------------------------------------------------------------- forwarding


class BridgeForwarder:
    """The forwarding local activity, with its bridge clients (one per address).

    ``async with BridgeForwarder() as forwarder: Worker(..., activities=[...,
    *forwarder.activities])``; ``forwarding_activities()`` is the same without the ``close``.

    Args:
        token: The bridges' bearer token, if they require one.
        tls: TLS settings for the bridges; ``True`` for TLS with the system's roots.
        data_converter: Encodes the forwarded arguments for fastcore (JSON by default).
        tracer_provider: Where the gRPC client spans go (the global provider when None);
            the trace context travels either way.
        activity_name: The activity's name (``FORWARD_ACTIVITY_NAME``, the helpers' default).
        max_message_bytes: Largest message a client sends or receives.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        tls: TLSConfig | bool = False,
        data_converter: DataConverter | None = None,
        tracer_provider: Any = None,
        activity_name: str = FORWARD_ACTIVITY_NAME,
        max_message_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._token = token
        self._tls = tls
        self._converter = data_converter
        self._tracer_provider = tracer_provider
        self._max_message_bytes = max_message_bytes
        self._clients: dict[str, BridgeClient] = {}

        async def forward_to_fastcore(input: FastcoreForwardInput) -> Any:
            return await self.forward(input)

        forward_to_fastcore.__doc__ = "Forward a signal, update or query to a bridged workflow."
        self._activities: list[Callable[[FastcoreForwardInput], Awaitable[Any]]] = [
            activity.defn(name=activity_name)(forward_to_fastcore)
        ]

    @property
    def activities(self) -> list[Callable[[FastcoreForwardInput], Awaitable[Any]]]:
        """The forwarding activity, for a worker's ``activities``."""
        return list(self._activities)

    def client(self, address: str) -> BridgeClient:
        """The (cached) bridge client for ``address``; it connects on its first call."""
        client = self._clients.get(address)
        if client is None:
            options: list[tuple[str, Any]] = [
                ("grpc.max_receive_message_length", self._max_message_bytes),
                ("grpc.max_send_message_length", self._max_message_bytes),
                ("grpc.initial_reconnect_backoff_ms", 100),
                ("grpc.min_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 2000),
            ]
            interceptors = client_interceptors(tracer_provider=self._tracer_provider)
            if self._tls:
                config = self._tls if isinstance(self._tls, TLSConfig) else TLSConfig()
                channel = grpc.aio.secure_channel(
                    address,
                    config.credentials(),
                    options + config.channel_options(),
                    interceptors=interceptors,
                )
            else:
                channel = grpc.aio.insecure_channel(address, options, interceptors=interceptors)
            client = BridgeClient(channel, token=self._token, data_converter=self._converter)
            self._clients[address] = client
        return client

    async def forward(self, input: FastcoreForwardInput) -> Any:
        """Make the call ``input`` describes; errors as the module doc says."""
        handle = self.client(input.bridge_address).get_workflow_handle(
            input.workflow_id, run_id=input.run_id or None
        )
        try:
            if input.kind == "signal":
                await handle.signal(input.name, args=input.args)
                return None
            if input.kind == "update":
                return await handle.execute_update(
                    input.name, args=input.args, id=input.update_id, result_type=object
                )
            if input.kind == "query":
                return await handle.query(input.name, args=input.args, result_type=object)
        except fc.WorkflowUpdateFailedError as err:
            raise _error(err, "update failed", err.cause)  # noqa: B904 - _error sets the cause
        except (fc.FastcoreError, RPCError) as err:
            raise _error(err, str(err), None)  # noqa: B904 - _error suppresses the context
        raise texc.ApplicationError(
            f"unknown forward kind {input.kind!r}", type="InvalidArgumentError", non_retryable=True
        )

    async def close(self) -> None:
        """Close every bridge client."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    async def __aenter__(self) -> BridgeForwarder:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _error(err: Exception, message: str, cause: BaseException | None) -> texc.ApplicationError:
    """The activity failure for a failed forward: typed after the error, retryable or not."""
    if isinstance(err, RPCError):
        kind = f"RPCError:{err.status.name}"
        non_retryable = err.status in _NON_RETRYABLE_RPC
    else:
        kind = type(err).__name__
        non_retryable = not isinstance(err, fc.StoreError)
    return application_failure(message, type=kind, non_retryable=non_retryable, cause=cause)


def forwarding_activities(
    *,
    token: str | None = None,
    tls: TLSConfig | bool = False,
    data_converter: DataConverter | None = None,
    tracer_provider: Any = None,
    activity_name: str = FORWARD_ACTIVITY_NAME,
) -> list[Callable[[FastcoreForwardInput], Awaitable[Any]]]:
    """The local activity that forwards signals, updates and queries to bridged workflows.

    Register it on the worker of the Temporal workflows that call
    ``bridge.signal_fastcore_workflow`` (``execute_fastcore_update``,
    ``query_fastcore_workflow``, or a ``FastcoreMirror``'s methods). Its bridge clients live
    as long as the process; a :class:`BridgeForwarder` can close them.

    Args:
        token: The bridges' bearer token, if they require one.
        tls: TLS settings for the bridges.
        data_converter: Encodes the forwarded arguments for fastcore.
        tracer_provider: Where the gRPC client spans go.
        activity_name: The activity's name.

    Returns:
        A list with the one activity.
    """
    return BridgeForwarder(
        token=token,
        tls=tls,
        data_converter=data_converter,
        tracer_provider=tracer_provider,
        activity_name=activity_name,
    ).activities
