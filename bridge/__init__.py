"""bridge: fastcore and Temporal, joined.

The gRPC bridge serves a fastcore engine's workflows (``BridgeServer``) to clients in this
or any other process or language (``BridgeClient``, or any gRPC client of
``proto/fastcore/bridge/v1/bridge.proto``).
"""

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
