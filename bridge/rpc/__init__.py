"""The gRPC bridge: ``BridgeServer`` serves an engine's workflows, ``BridgeClient`` calls them.

``_server`` is the service (``proto/fastcore/bridge/v1/bridge.proto``, with gRPC health
checking and reflection), ``_client`` the typed client with the engine's client API (its
``connect`` takes temporalio's ``Client.connect`` options: ``_connect``), ``_handle`` its
workflow handles, ``_errors`` failed calls as exceptions, ``_convert`` the values between
Python and the wire, ``_auth`` the bind rule, TLS and the bearer token, and ``_tracing`` the
interceptors that carry one OpenTelemetry trace across.
"""

from __future__ import annotations

from ._auth import ServerTLSConfig, TLSConfig
from ._client import BridgeClient, BridgeWorkflowHandle, RPCError, RPCStatusCode
from ._server import BridgeServer

__all__ = [
    "BridgeClient",
    "BridgeServer",
    "BridgeWorkflowHandle",
    "RPCError",
    "RPCStatusCode",
    "ServerTLSConfig",
    "TLSConfig",
]
