"""bridge: fastcore and Temporal, joined.

The gRPC bridge serves a fastcore engine's workflows (``BridgeServer``) to clients in this
or any other process or language (``BridgeClient``, or any gRPC client of
``proto/fastcore/bridge/v1/bridge.proto``).

fastcore workflows run inside Temporal activities: a worker registers
``fastcore_activities(engine, workflows=[...])`` and Temporal workflow code calls
``await execute_fastcore_workflow(Checkout.run, order, ...)``.
"""

from . import history
from ._activity import FastcoreCheckpoint, fastcore_activities, to_temporal_error
from ._auth import ServerTLSConfig, TLSConfig
from ._client import BridgeClient, BridgeWorkflowHandle, RPCError, RPCStatusCode
from ._forwarding import BridgeForwarder, forwarding_activities
from ._mirror import (
    FORWARD_ACTIVITY_NAME,
    MIRROR_QUERY,
    MIRROR_SIGNAL,
    FastcoreForwardInput,
    FastcoreLocation,
    FastcoreMirror,
    execute_fastcore_update,
    query_fastcore_workflow,
    signal_fastcore_workflow,
)
from ._server import BridgeServer
from ._temporal_activity import as_temporal_activities, as_temporal_activity
from ._temporal_workflow import as_temporal_workflow, sandbox_restrictions
from ._workflow_side import (
    FASTCORE_ACTIVITY_NAME,
    FastcoreWorkflowInput,
    execute_fastcore_workflow,
    fastcore_workflow_name,
    start_fastcore_workflow,
)

__all__ = [
    "FASTCORE_ACTIVITY_NAME",
    "FORWARD_ACTIVITY_NAME",
    "MIRROR_QUERY",
    "MIRROR_SIGNAL",
    "BridgeClient",
    "BridgeForwarder",
    "BridgeServer",
    "BridgeWorkflowHandle",
    "FastcoreCheckpoint",
    "FastcoreForwardInput",
    "FastcoreLocation",
    "FastcoreMirror",
    "FastcoreWorkflowInput",
    "RPCError",
    "RPCStatusCode",
    "ServerTLSConfig",
    "TLSConfig",
    "as_temporal_activities",
    "as_temporal_activity",
    "as_temporal_workflow",
    "execute_fastcore_update",
    "execute_fastcore_workflow",
    "fastcore_activities",
    "fastcore_workflow_name",
    "forwarding_activities",
    "history",
    "query_fastcore_workflow",
    "sandbox_restrictions",
    "signal_fastcore_workflow",
    "start_fastcore_workflow",
    "to_temporal_error",
]
