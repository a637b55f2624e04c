"""Who may talk to a bridge: bearer tokens, TLS, client certificates, and the bind rule."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge import BridgeClient, BridgeServer, RPCError, RPCStatusCode, ServerTLSConfig, TLSConfig
from bridge._proto.v1 import bridge_pb2 as pb
from bridge._proto.v1 import bridge_pb2_grpc as pb_grpc
from bridge.rpc._auth import TokenAuthInterceptor, check_bind, is_loopback, split_address
from fastcore import Engine, workflow

TOKEN = "s3cret-token"


@workflow.defn
class Echo:
    """Returns its argument once told to finish."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self, value: str) -> str:
        await workflow.wait_condition(lambda: self.done)
        return value

    @workflow.signal
    def finish(self) -> None:
        self.done = True


# -- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A throwaway CA with a server certificate (127.0.0.1, localhost) and a client one."""

    ca: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes
    other_ca: bytes
    other_client_cert: bytes
    other_client_key: bytes


def _make_pki() -> Pki:
    # cryptography is a test-only dependency; only the tests that need certificates skip
    # without it (the token and bind tests always run).
    pytest.importorskip("cryptography", reason="certificate tests need the cryptography package")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k: ec.EllipticCurvePrivateKey) -> bytes:
        return k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def pem(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def cert(
        subject: str,
        k: ec.EllipticCurvePrivateKey,
        issuer: x509.Certificate | None,
        issuer_key: ec.EllipticCurvePrivateKey,
        *,
        ca: bool = False,
        server: bool = False,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer.subject if issuer is not None else name)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        else:
            usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, other_ca_key = key(), key()
    ca = cert("bridge test CA", ca_key, None, ca_key, ca=True)
    other_ca = cert("some other CA", other_ca_key, None, other_ca_key, ca=True)
    server_key, client_key, other_client_key = key(), key(), key()
    return Pki(
        ca=pem(ca),
        server_cert=pem(cert("bridge", server_key, ca, ca_key, server=True)),
        server_key=pem_key(server_key),
        client_cert=pem(cert("trusted client", client_key, ca, ca_key)),
        client_key=pem_key(client_key),
        other_ca=pem(other_ca),
        other_client_cert=pem(cert("stranger", other_client_key, other_ca, other_ca_key)),
        other_client_key=pem_key(other_client_key),
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    return _make_pki()


@pytest_asyncio.fixture(loop_scope="function")
async def engine() -> AsyncIterator[Engine]:
    async with Engine("memory", workflows=[Echo]) as e:
        yield e


# -- bearer token -------------------------------------------------------------------------


async def test_token_accepted(engine: Engine, unique_id: str) -> None:
    async with (
        BridgeServer(engine, token=TOKEN) as server,
        await BridgeClient.connect(server.address, token=TOKEN) as client,
    ):
        h = await client.start_workflow(Echo.run, "hi", id=unique_id)
        await h.signal(Echo.finish)
        assert await h.result() == "hi"
        assert [e async for e in h.watch()][-1].event_id == len(await h.fetch_history())


async def test_token_refused_and_nothing_changes(engine: Engine, unique_id: str) -> None:
    async with BridgeServer(engine, token=TOKEN) as server:
        # health checking needs no token, so connect succeeds and the first call is refused
        for token in (None, "wrong-token"):
            async with await BridgeClient.connect(server.address, token=token) as client:
                with pytest.raises(RPCError) as info:
                    await client.start_workflow(Echo.run, "hi", id=unique_id)
                assert info.value.status is RPCStatusCode.UNAUTHENTICATED
                assert ("missing" if token is None else "invalid") in info.value.message
                with pytest.raises(RPCError) as watch_info:
                    await anext(client.get_workflow_handle(unique_id).watch())
                assert watch_info.value.status is RPCStatusCode.UNAUTHENTICATED
        assert (await engine.list_workflows())[0] == []
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.BridgeServiceStub(channel)
            for metadata in ((), (("authorization", TOKEN),), (("authorization", "Bearer x"),)):
                with pytest.raises(grpc.aio.AioRpcError) as raw:
                    await stub.ListWorkflows(pb.ListWorkflowsRequest(), metadata=metadata)
                assert raw.value.code() is grpc.StatusCode.UNAUTHENTICATED
            ok = await stub.ListWorkflows(
                pb.ListWorkflowsRequest(), metadata=(("authorization", f"Bearer {TOKEN}"),)
            )
            assert list(ok.executions) == []
            health = health_pb2_grpc.HealthStub(channel)
            resp = await health.Check(health_pb2.HealthCheckRequest())
            assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_token_must_be_sane() -> None:
    for bad in ("", "has space", "tab\t"):
        with pytest.raises(ValueError, match="bearer token"):
            TokenAuthInterceptor(bad)


# -- TLS ------------------------------------------------------------------------------------


async def test_tls_accepted(engine: Engine, pki: Pki, unique_id: str, tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_bytes(pki.server_cert)
    (tmp_path / "key.pem").write_bytes(pki.server_key)
    tls = ServerTLSConfig(cert_chain=tmp_path / "cert.pem", private_key=str(tmp_path / "key.pem"))
    async with BridgeServer(engine, tls=tls, token=TOKEN) as server:
        config = TLSConfig(server_root_ca_cert=pki.ca)
        async with await BridgeClient.connect(server.address, tls=config, token=TOKEN) as client:
            h = await client.start_workflow(Echo.run, "over tls", id=unique_id)
            await h.signal(Echo.finish)
            assert await h.result() == "over tls"
        # the certificate names localhost too
        port = server.address.rpartition(":")[2]
        named = TLSConfig(server_root_ca_cert=pki.ca, domain="localhost")
        async with await BridgeClient.connect(f"127.0.0.1:{port}", tls=named, token=TOKEN) as c:
            assert (await c.get_workflow_handle(unique_id).describe()).workflow_type == "Echo"


async def test_tls_refused(engine: Engine, pki: Pki) -> None:
    tls = ServerTLSConfig(cert_chain=pki.server_cert, private_key=pki.server_key)
    async with BridgeServer(engine, tls=tls) as server:
        with pytest.raises(RPCError) as plain:
            await BridgeClient.connect(server.address)  # plaintext to a TLS port
        assert plain.value.status is RPCStatusCode.UNAVAILABLE
        with pytest.raises(RPCError) as untrusted:
            await BridgeClient.connect(
                server.address, tls=TLSConfig(server_root_ca_cert=pki.other_ca)
            )
        assert untrusted.value.status is RPCStatusCode.UNAVAILABLE
        with pytest.raises(RPCError):
            await BridgeClient.connect(
                server.address,
                tls=TLSConfig(server_root_ca_cert=pki.ca, domain="elsewhere.example"),
            )


async def test_client_certificates(engine: Engine, pki: Pki, unique_id: str) -> None:
    tls = ServerTLSConfig(
        cert_chain=pki.server_cert, private_key=pki.server_key, client_ca_cert=pki.ca
    )
    async with BridgeServer(engine, tls=tls) as server:
        trusted = TLSConfig(
            server_root_ca_cert=pki.ca,
            client_cert=pki.client_cert,
            client_private_key=pki.client_key,
        )
        async with await BridgeClient.connect(server.address, tls=trusted) as client:
            await client.start_workflow(Echo.run, "mtls", id=unique_id)
        with pytest.raises(RPCError) as anonymous:
            await BridgeClient.connect(server.address, tls=TLSConfig(server_root_ca_cert=pki.ca))
        assert anonymous.value.status is RPCStatusCode.UNAVAILABLE
        stranger = TLSConfig(
            server_root_ca_cert=pki.ca,
            client_cert=pki.other_client_cert,
            client_private_key=pki.other_client_key,
        )
        with pytest.raises(RPCError) as refused:
            await BridgeClient.connect(server.address, tls=stranger)
        assert refused.value.status is RPCStatusCode.UNAVAILABLE
    assert len((await engine.list_workflows())[0]) == 1


# -- where a bridge may listen ----------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]", "10.1.2.3", "bridge.internal"])
def test_refuses_non_loopback_without_tls_and_token(engine: Engine, host: str) -> None:
    fake = b"-----BEGIN CERTIFICATE-----\nunused: never bound\n-----END CERTIFICATE-----\n"
    tls = ServerTLSConfig(cert_chain=fake, private_key=fake)
    address = f"{host}:7777"
    with pytest.raises(ValueError, match=r"without TLS and a bearer token.*--insecure"):
        BridgeServer(engine, address=address)
    with pytest.raises(ValueError, match="without a bearer token"):
        BridgeServer(engine, address=address, tls=tls)
    with pytest.raises(ValueError, match="without TLS"):
        BridgeServer(engine, address=address, token=TOKEN)
    # allowed (constructed, never bound here): TLS and a token, or an explicit --insecure
    BridgeServer(engine, address=address, tls=tls, token=TOKEN)
    BridgeServer(engine, address=address, insecure=True)


def test_loopback_needs_nothing() -> None:
    for address in ("127.0.0.1:0", "127.9.9.9:1", "localhost:5", "[::1]:0"):
        check_bind(address, tls=False, token=False, insecure=False)
    assert is_loopback("::1") and not is_loopback("192.168.0.1")
    assert split_address("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError, match="host:port"):
        split_address("127.0.0.1")


# -- settings are checked where they are made -----------------------------------------------


def test_server_settings_fail_at_construction(engine: Engine, tmp_path: Path) -> None:
    for bad in (" ", "", "two words", "tab\t", "caf\u00e9"):
        with pytest.raises(ValueError, match="bearer token"):
            BridgeServer(engine, token=bad)
    for option, value in (
        ("max_concurrent_rpcs", 0),
        ("max_message_bytes", -1),
        ("max_concurrent_streams", 0),
        ("max_watch_streams", True),
    ):
        with pytest.raises(ValueError, match=option):
            BridgeServer(engine, **{option: value})
    with pytest.raises(ValueError, match="shutdown_grace"):
        BridgeServer(engine, shutdown_grace=dt.timedelta(seconds=-1))
    full_width_seven = "\uff17"
    for address in ("127.0.0.1:99999", "127.0.0.1", ":7600", f"127.0.0.1:{full_width_seven}"):
        with pytest.raises(ValueError, match="host:port"):
            BridgeServer(engine, address=address)
    BridgeServer(engine, max_concurrent_rpcs=None)  # no limit is a choice


def test_tls_settings_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot read the TLS certificate chain from .*missing"):
        ServerTLSConfig(cert_chain=tmp_path / "missing.pem", private_key=b"-----BEGIN ")
    (tmp_path / "junk.pem").write_bytes(b"not a certificate")
    with pytest.raises(ValueError, match=r"TLS private key in .*junk.pem is not PEM"):
        ServerTLSConfig(cert_chain=b"-----BEGIN ", private_key=tmp_path / "junk.pem")
    with pytest.raises(ValueError, match="client CA certificate is not PEM"):
        ServerTLSConfig(cert_chain=b"-----BEGIN ", private_key=b"-----BEGIN ", client_ca_cert=b"")
    with pytest.raises(ValueError, match="server CA certificate is not PEM"):
        TLSConfig(server_root_ca_cert=b"nope")
    with pytest.raises(ValueError, match="both client_cert and client_private_key"):
        TLSConfig(client_cert=b"-----BEGIN CERTIFICATE-----")


async def test_client_token_fails_before_connecting() -> None:
    with pytest.raises(ValueError, match="bearer token"):
        await BridgeClient.connect("127.0.0.1:1", token=" ")
