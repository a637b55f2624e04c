"""The bridge's .proto and its generated code: fresh, documented, and in step with fastcore."""

from __future__ import annotations

import filecmp
import importlib.util
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from bridge._proto.v1 import bridge_pb2 as pb
from fastcore.common import WorkflowExecutionStatus, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from fastcore.errors import RetryState, TimeoutType
from fastcore.history import EventType

ROOT = Path(__file__).resolve().parents[3]
PROTO = ROOT / "proto" / "fastcore" / "bridge" / "v1" / "bridge.proto"
GENERATED = ROOT / "bridge" / "_proto"


def _load_generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(root: Path) -> set[Path]:
    return {
        p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    """Regenerating from the .proto gives the committed files byte for byte."""
    out = tmp_path / "_proto"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _tree(out) == _tree(GENERATED), "run: python scripts/gen_protos.py"
    stale = [
        str(rel) for rel in sorted(_tree(out)) if not filecmp.cmp(out / rel, GENERATED / rel, False)
    ]
    assert not stale, f"generated code is stale ({stale}); run: python scripts/gen_protos.py"


def test_generated_code_imports_the_bridge_package_not_the_proto_package() -> None:
    for path in [*GENERATED.rglob("*.py"), *GENERATED.rglob("*.pyi")]:
        for line in path.read_text().splitlines():
            if line.startswith(("from ", "import ")):
                module = line.split(" as ")[0]
                assert "fastcore" not in module, f"{path.name}: {line}"
                assert "temporal.api" not in module, f"{path.name}: {line}"
    assert pb.Payload.__module__ == "bridge._proto.v1.bridge_pb2"
    assert pb.DESCRIPTOR.package == "fastcore.bridge.v1"


def test_generator_refuses_another_grpcio_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _load_generator()
    monkeypatch.setattr(gen, "GRPCIO_TOOLS_VERSION", "0.0.1")
    with pytest.raises(SystemExit, match="grpcio-tools"):
        gen.generate(Path("unused"))  # type: ignore[attr-defined]


def test_temporal_proto_sources_are_where_the_generator_looks() -> None:
    """The generator's include path for Temporal's protos (fails loudly if the wheel moves)."""
    gen = _load_generator()
    path = gen._temporal_proto_dir()  # type: ignore[attr-defined]
    assert (path / "temporal" / "api" / "common" / "v1" / "message.proto").is_file()


def _descriptor_with_comments(tmp_path: Path) -> descriptor_pb2.FileDescriptorProto:
    from grpc_tools import protoc  # type: ignore[import-untyped]

    out = tmp_path / "bridge.pb"
    rc = protoc.main(
        [
            "protoc",
            f"-I{ROOT / 'proto'}",
            f"-I{resources.files('grpc_tools') / '_proto'}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            "fastcore/bridge/v1/bridge.proto",
        ]
    )
    assert rc == 0
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(out.read_bytes())
    (fd,) = fds.file
    return fd


def test_every_element_of_the_proto_is_commented(tmp_path: Path) -> None:
    """STYLE.md 6: every service, rpc, message, field, enum and value has a comment."""
    fd = _descriptor_with_comments(tmp_path)
    commented = {
        tuple(loc.path) for loc in fd.source_code_info.location if loc.leading_comments.strip()
    }
    missing: list[str] = []

    def need(path: tuple[int, ...], name: str) -> None:
        if path not in commented:
            missing.append(name)

    def message(path: tuple[int, ...], m: descriptor_pb2.DescriptorProto) -> None:
        need(path, m.name)
        for i, f in enumerate(m.field):
            need((*path, 2, i), f"{m.name}.{f.name}")
        for i, o in enumerate(m.oneof_decl):
            need((*path, 8, i), f"{m.name}.{o.name}")
        for i, nested in enumerate(m.nested_type):
            if not nested.options.map_entry:
                message((*path, 3, i), nested)

    for i, m in enumerate(fd.message_type):
        message((4, i), m)
    for i, e in enumerate(fd.enum_type):
        need((5, i), e.name)
        for j, v in enumerate(e.value):
            need((5, i, 2, j), v.name)
    for i, s in enumerate(fd.service):
        need((6, i), s.name)
        for j, rpc in enumerate(s.method):
            need((6, i, 2, j), rpc.name)
    assert not missing, f"uncommented: {missing}"


def test_one_request_and_response_message_per_rpc() -> None:
    service = pb.DESCRIPTOR.services_by_name["BridgeService"]
    seen: set[str] = set()
    for method in service.methods:
        assert method.input_type.name == f"{method.name}Request"
        assert method.output_type.name == f"{method.name}Response"
        seen |= {method.input_type.name, method.output_type.name}
    assert len(seen) == 2 * len(service.methods)
    assert {m.name for m in service.methods} == {
        "StartWorkflow",
        "SignalWorkflow",
        "QueryWorkflow",
        "UpdateWorkflow",
        "CancelWorkflow",
        "TerminateWorkflow",
        "DescribeWorkflow",
        "ListWorkflows",
        "CountWorkflows",
        "GetWorkflowHistory",
        "GetWorkflowResult",
        "WatchWorkflow",
    }
    assert service.methods_by_name["WatchWorkflow"].server_streaming


def test_every_fastcore_event_type_has_its_temporal_number() -> None:
    """Temporal's kinds keep Temporal's numbers; fastcore's own are numbered from 1000."""
    import temporalio.api.enums.v1 as temporal_enums

    ours, temporals = set(pb.EventType.keys()), set(temporal_enums.EventType.keys())
    for t in EventType:
        name = f"EVENT_TYPE_{t.value}"
        assert name in ours, f"add {name} to bridge.proto's EventType"
        if name in temporals:
            assert pb.EventType.Value(name) == temporal_enums.EventType.Value(name), name
        else:
            assert pb.EventType.Value(name) >= 1000, name
    assert len(pb.EventType.keys()) == len(EventType) + 1  # + UNSPECIFIED


@pytest.mark.parametrize(
    ("enum", "proto", "prefix"),
    [
        (WorkflowExecutionStatus, pb.WorkflowExecutionStatus, "WORKFLOW_EXECUTION_STATUS_"),
        (WorkflowIDReusePolicy, pb.WorkflowIdReusePolicy, "WORKFLOW_ID_REUSE_POLICY_"),
        (WorkflowIDConflictPolicy, pb.WorkflowIdConflictPolicy, "WORKFLOW_ID_CONFLICT_POLICY_"),
        (TimeoutType, pb.TimeoutType, "TIMEOUT_TYPE_"),
        (RetryState, pb.RetryState, "RETRY_STATE_"),
    ],
)
def test_enums_have_fastcores_values(enum: type, proto: object, prefix: str) -> None:
    for member in enum:  # type: ignore[attr-defined]
        assert proto.Value(prefix + member.name) == member.value  # type: ignore[attr-defined]


def test_payload_is_wire_compatible_with_temporals() -> None:
    from temporalio.api.common.v1 import Payload as TemporalPayload

    ours = pb.Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    theirs = TemporalPayload.FromString(ours.SerializeToString())
    assert dict(theirs.metadata) == {"encoding": b"json/plain"}
    assert theirs.data == b'{"a":1}'
    assert pb.Payload.FromString(theirs.SerializeToString()) == ours
