"""The frontend as a gRPC service: what it serves, what it does not, who may call it.

Every method of ``WorkflowService`` it does not serve answers ``UNIMPLEMENTED`` with
"unknown method" (sdk-core's connect accepts that, not grpc's default message); health
checking and reflection name the service; the bridge's token and TLS settings apply to
Temporal's clients too; stopping the bridge ends long polls at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from dataclasses import dataclass
from datetime import timedelta

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetSystemInfoRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_service
from temporalio.client import Client
from temporalio.service import TLSConfig

from bridge import BridgeServer, ServerTLSConfig
from bridge.frontend import SERVED_METHODS, SERVICE_NAME
from fastcore import Engine
from tests.bridge.frontend import defs
from tests.bridge.frontend.conftest import Bridge, CallLog

TOKEN = "frontend-token"

ISSUE_RPCS = {
    "GetSystemInfo",
    "StartWorkflowExecution",
    "GetWorkflowExecutionHistory",
    "SignalWorkflowExecution",
    "SignalWithStartWorkflowExecution",
    "QueryWorkflow",
    "DescribeWorkflowExecution",
    "ListWorkflowExecutions",
    "CountWorkflowExecutions",
    "RequestCancelWorkflowExecution",
    "TerminateWorkflowExecution",
    "UpdateWorkflowExecution",
    "PollWorkflowExecutionUpdate",
    "ExecuteMultiOperation",
}


def test_served_methods_cover_the_issue() -> None:
    assert ISSUE_RPCS <= SERVED_METHODS
    assert {"DescribeNamespace"} == SERVED_METHODS - ISSUE_RPCS


async def test_every_other_method_is_an_unknown_method(bridge: Bridge) -> None:
    service = workflow_service.DESCRIPTOR.services_by_name["WorkflowService"]
    others = [m for m in service.methods if m.name not in SERVED_METHODS]
    assert len(others) > 50
    async with grpc.aio.insecure_channel(bridge.server.address) as channel:
        for method in others:
            call = channel.unary_unary(f"/{SERVICE_NAME}/{method.name}")
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(b"")
            assert err.value.code() is grpc.StatusCode.UNIMPLEMENTED, method.name
            assert f"unknown method {method.name}" in (err.value.details() or "")


async def test_health_and_reflection_name_the_service(bridge: Bridge) -> None:
    async with grpc.aio.insecure_channel(bridge.server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        resp = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = refl.ServerReflectionInfo()
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        listed = await call.read()
        await call.done_writing()
        assert SERVICE_NAME in {s.name for s in listed.list_services_response.service}


async def test_system_info_and_namespace(bridge: Bridge) -> None:
    info = await bridge.client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version and info.capabilities.count_group_by_execution_status
    ns = await bridge.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    assert ns.namespace_info.name == "default"
    assert ns.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=7)


@dataclass(frozen=True)
class _Cert:
    ca: bytes
    cert: bytes
    key: bytes


def _certificates() -> _Cert:
    """A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost."""
    pytest.importorskip("cryptography", reason="the TLS test needs the cryptography package")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject: str, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        build("frontend test CA", ca_key)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frontend test CA")]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        build("bridge", key)
        .issuer_name(ca.subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = serialization.Encoding.PEM
    return _Cert(ca.public_bytes(pem), leaf.public_bytes(pem), key_pem)


async def test_token_and_tls_apply_to_temporal_clients(unique_id: str) -> None:
    tls = _certificates()
    async with (
        Engine(workflows=defs.WORKFLOWS, activities=defs.ACTIVITIES) as engine,
        BridgeServer(
            engine, token=TOKEN, tls=ServerTLSConfig(cert_chain=tls.cert, private_key=tls.key)
        ) as server,
    ):
        client_tls = TLSConfig(server_root_ca_cert=tls.ca, domain="localhost")
        client = await Client.connect(server.address, api_key=TOKEN, tls=client_tls)
        assert await client.execute_workflow("Echo", "hi", id=unique_id, task_queue="q") == "hi"
        with pytest.raises(RuntimeError) as refused:  # connect's GetSystemInfo is refused
            await Client.connect(server.address, api_key="wrong", tls=client_tls)
        assert "invalid bearer token" in str(refused.value)
        with pytest.raises(RuntimeError):
            await Client.connect(server.address, tls=client_tls)  # no token at all
        with pytest.raises(RuntimeError):
            await Client.connect(server.address, api_key=TOKEN, tls=False)  # no TLS


async def test_stopping_the_bridge_ends_long_polls(unique_id: str) -> None:
    calls = CallLog()
    async with Engine(workflows=defs.WORKFLOWS, activities=defs.ACTIVITIES) as engine:
        server = BridgeServer(engine, interceptors=[calls], shutdown_grace=timedelta(seconds=30))
        await server.start()
        try:
            client = await Client.connect(server.address)
            handle = await client.start_workflow("Cart", "a", id=unique_id, task_queue="q")
            request = GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id=unique_id),
                wait_new_event=True,
                next_page_token=f'{{"run": "{handle.result_run_id}", "next": 1000}}'.encode(),
            )
            poll = asyncio.ensure_future(
                client.workflow_service.get_workflow_execution_history(
                    request, retry=False, timeout=timedelta(seconds=60)
                )
            )
            await calls.wait_for("GetWorkflowExecutionHistory", 1)
        finally:
            await server.stop()
        # Woken by the stop, the poll answered (an empty page that says "ask again") within
        # the grace period; had it kept waiting, the stop would have cancelled it.
        page = await poll
        assert len(page.history.events) == 0 and page.next_page_token
