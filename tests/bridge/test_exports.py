"""bridge's public names are pinned: a change here is a change of the contract."""

from __future__ import annotations

import bridge

EXPECTED = {
    # fastcore inside Temporal activities
    "fastcore_activities",
    "execute_fastcore_workflow",
    "start_fastcore_workflow",
    "fastcore_workflow_name",
    "FastcoreWorkflowInput",
    "FastcoreCheckpoint",
    "FASTCORE_ACTIVITY_NAME",
    "to_temporal_error",
    # one class, both runtimes
    "as_temporal_workflow",
    "as_temporal_activities",
    "as_temporal_activity",
    "sandbox_restrictions",
    # the gRPC bridge
    "BridgeServer",
    "BridgeClient",
    "BridgeWorkflowHandle",
    "RPCError",
    "RPCStatusCode",
    "ServerTLSConfig",
    "TLSConfig",
    # across runtimes
    "FastcoreMirror",
    "FastcoreLocation",
    "FastcoreForwardInput",
    "BridgeForwarder",
    "forwarding_activities",
    "signal_fastcore_workflow",
    "execute_fastcore_update",
    "query_fastcore_workflow",
    "MIRROR_SIGNAL",
    "MIRROR_QUERY",
    "FORWARD_ACTIVITY_NAME",
    # history translation
    "history",
}


def test_bridge_exports() -> None:
    assert set(bridge.__all__) == EXPECTED
    for name in bridge.__all__:
        assert getattr(bridge, name) is not None


def test_history_module_exports() -> None:
    for name in ("to_temporal", "to_temporal_json", "from_temporal"):
        assert callable(getattr(bridge.history, name))
