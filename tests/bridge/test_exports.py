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


SUBPACKAGES = ("subworkflow", "on_temporal", "rpc", "history", "compare", "cli")


def test_each_subpackage_says_what_lives_there_and_exports_its_names() -> None:
    import importlib

    exported_by_subpackages: set[str] = set()
    for name in SUBPACKAGES:
        module = importlib.import_module(f"bridge.{name}")
        doc = (module.__doc__ or "").strip()
        assert doc and doc.splitlines()[0].endswith("."), f"bridge.{name}: no one-line summary"
        assert module.__all__, f"bridge.{name} exports nothing"
        for public in module.__all__:
            assert getattr(module, public) is not None, f"bridge.{name}.{public}"
        exported_by_subpackages |= set(module.__all__)
    # every name bridge exports comes from a subpackage, but the failure mapping's one
    assert set(bridge.__all__) - exported_by_subpackages <= {"history", "to_temporal_error"}
