"""bridge: fastcore and Temporal, joined.

One subpackage per role: ``subworkflow`` (fastcore sub-workflows hosted inside Temporal
activities, and the Temporal workflow code that calls them), ``on_temporal`` (one class on
both runtimes), ``rpc`` (the gRPC service and client), ``history`` (Temporal's history
format), ``compare`` (trace comparison) and ``cli`` (the ``fastcore-bridge`` command);
``_failures`` maps failures between the two runtimes for all of them.

The gRPC bridge serves a fastcore engine's workflows (``BridgeServer``) to clients in this
or any other process or language (``BridgeClient``, or any gRPC client of
``proto/fastcore/bridge/v1/bridge.proto``).

fastcore workflows run inside Temporal activities: a worker registers
``fastcore_activities(engine, workflows=[...])`` and Temporal workflow code calls
``await execute_fastcore_workflow(Checkout.run, order, ...)``.
"""

from . import history
from ._failures import to_temporal_error
from .on_temporal import (
    as_temporal_activities,
    as_temporal_activity,
    as_temporal_workflow,
    sandbox_restrictions,
)
from .rpc import (
    BridgeClient,
    BridgeServer,
    BridgeWorkflowHandle,
    RPCError,
    RPCStatusCode,
    ServerTLSConfig,
    TLSConfig,
)
from .subworkflow import (
    FASTCORE_ACTIVITY_NAME,
    FORWARD_ACTIVITY_NAME,
    MIRROR_QUERY,
    MIRROR_SIGNAL,
    BridgeForwarder,
    FastcoreCheckpoint,
    FastcoreForwardInput,
    FastcoreLocation,
    FastcoreMirror,
    FastcoreWorkflowInput,
    execute_fastcore_update,
    execute_fastcore_workflow,
    fastcore_activities,
    fastcore_workflow_name,
    forwarding_activities,
    query_fastcore_workflow,
    signal_fastcore_workflow,
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
