"""Who may talk to a bridge: TLS settings, the bearer-token check and the bind rule.

A bridge serves loopback in the clear by default. Anything else must be asked for: TLS
(a server certificate, and a CA that client certificates must chain to when given), a
bearer token that every call but health checking must carry as ``authorization: Bearer
<token>``, and, to serve a non-loopback address without both, ``insecure=True``.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

__all__ = [
    "ServerTLSConfig",
    "TLSConfig",
    "TokenAuthInterceptor",
    "bearer_metadata",
    "check_bind",
    "check_token",
    "is_loopback",
    "split_address",
]

HEALTH_METHOD_PREFIX = "/grpc.health.v1.Health/"
"""Health checking answers without a token, so load balancers and probes need none."""


def _read(value: bytes | str | Path | None) -> bytes | None:
    """PEM bytes as given, or read from a path."""
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).read_bytes()


def _check_pem(value: bytes | str | Path | None, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``value`` is (or names a file of) PEM."""
    if value is None:
        return
    try:
        data = _read(value)
    except OSError as err:
        where = str(value) if not isinstance(value, bytes) else "bytes"
        raise ValueError(f"cannot read the {what} from {where}: {err.strerror or err}") from None
    if not data or b"-----BEGIN " not in data:
        source = "" if isinstance(value, bytes) else f" in {value}"
        raise ValueError(f"the {what}{source} is not PEM (no '-----BEGIN' line)")


@dataclass(frozen=True)
class ServerTLSConfig:
    """TLS for a ``BridgeServer``: its certificate and, optionally, client certificates.

    Attributes:
        cert_chain: The server's PEM certificate chain (bytes, or a path to read).
        private_key: The server's PEM private key (bytes, or a path to read).
        client_ca_cert: PEM CA certificate(s); when set, every client must present a
            certificate signed by one of them (mutual TLS).
    """

    cert_chain: bytes | str | Path
    private_key: bytes | str | Path
    client_ca_cert: bytes | str | Path | None = None

    def __post_init__(self) -> None:
        """Check the files and PEM now, so a bad setting fails where it is made."""
        _check_pem(self.cert_chain, "TLS certificate chain")
        _check_pem(self.private_key, "TLS private key")
        _check_pem(self.client_ca_cert, "TLS client CA certificate")

    def credentials(self) -> grpc.ServerCredentials:
        """The gRPC server credentials these settings describe."""
        cert, key = _read(self.cert_chain), _read(self.private_key)
        assert cert is not None and key is not None
        client_ca = _read(self.client_ca_cert)
        return grpc.ssl_server_credentials(
            [(key, cert)],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )


@dataclass(frozen=True)
class TLSConfig:
    """TLS for a ``BridgeClient``; the names are ``temporalio.service.TLSConfig``'s.

    Attributes:
        server_root_ca_cert: PEM CA certificate(s) that the server's certificate must chain
            to; the system's roots when None.
        domain: The name to check the server's certificate against, when it differs from
            the host being dialled.
        client_cert: The client's PEM certificate chain, for servers that require one.
        client_private_key: The client's PEM private key.
    """

    server_root_ca_cert: bytes | str | Path | None = None
    domain: str | None = None
    client_cert: bytes | str | Path | None = None
    client_private_key: bytes | str | Path | None = None

    def __post_init__(self) -> None:
        """Check the files and PEM now, so a bad setting fails where it is made."""
        _check_pem(self.server_root_ca_cert, "TLS server CA certificate")
        _check_pem(self.client_cert, "TLS client certificate")
        _check_pem(self.client_private_key, "TLS client private key")
        if (self.client_cert is None) != (self.client_private_key is None):
            raise ValueError("give both client_cert and client_private_key, or neither")

    def credentials(self) -> grpc.ChannelCredentials:
        """The gRPC channel credentials these settings describe."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.server_root_ca_cert),
            private_key=_read(self.client_private_key),
            certificate_chain=_read(self.client_cert),
        )

    def channel_options(self) -> list[tuple[str, Any]]:
        """Channel options for ``domain``."""
        return [("grpc.ssl_target_name_override", self.domain)] if self.domain else []


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries ``token``."""
    return (("authorization", f"Bearer {token}"),)


def check_token(token: str) -> None:
    """Raise ``ValueError`` unless ``token`` can travel as ``authorization: Bearer <token>``."""
    if (
        not isinstance(token, str)
        or not token
        or not token.isascii()
        or not token.isprintable()
        or " " in token
    ):
        raise ValueError("the bearer token must be non-empty printable ASCII without spaces")


class TokenAuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses, with UNAUTHENTICATED, every call without ``authorization: Bearer <token>``.

    Health checking is exempt. Tokens are compared in constant time.
    """

    def __init__(self, token: str) -> None:
        check_token(token)
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Let an authenticated call through; answer any other with UNAUTHENTICATED."""
        method: str = handler_call_details.method
        if method.startswith(HEALTH_METHOD_PREFIX):
            return await continuation(handler_call_details)
        sent = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                sent = value
                break
        if sent is not None and hmac.compare_digest(
            sent.encode() if isinstance(sent, str) else bytes(sent), self._expected
        ):
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: let gRPC answer UNIMPLEMENTED
            return None
        if sent is None:
            message = (
                "missing bearer token: send the metadata 'authorization: Bearer <token>' "
                "(BridgeClient.connect(..., token=...))"
            )
        else:
            message = "invalid bearer token: check the token this bridge was started with"
        return _refusing(handler, grpc.StatusCode.UNAUTHENTICATED, message)


def _ignore(_data: bytes) -> None:
    return None


def _refusing(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that fails every call with ``code``."""

    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, message)

    # The request is never decoded: a refused caller's bytes cost nothing and log nothing.
    kwargs = {
        "request_deserializer": _ignore,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse, **kwargs)
    return grpc.unary_unary_rpc_method_handler(refuse, **kwargs)


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``"[v6]:port"`` for IPv6) as host and port.

    Raises:
        ValueError: The address has no port, or the port is not a number.
    """
    host, sep, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
    if not sep or not host or not port.isdigit() or not port.isascii() or int(port) > 65535:
        raise ValueError(
            f"bridge address {address!r} must be host:port with a port up to 65535, "
            "e.g. 127.0.0.1:7233"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve anywhere
        return False


def check_bind(address: str, *, tls: bool, token: bool, insecure: bool) -> None:
    """Refuse to serve a non-loopback address without TLS and a token, unless told to.

    Args:
        address: The address to bind, ``host:port``.
        tls: Whether TLS is configured.
        token: Whether a bearer token is configured.
        insecure: The user said ``--insecure``: serve anyway.

    Raises:
        ValueError: The address is not loopback and TLS or a token is missing.
    """
    host, _ = split_address(address)
    if is_loopback(host) or (tls and token) or insecure:
        return
    missing = " and ".join(
        what for what, have in (("TLS", tls), ("a bearer token", token)) if not have
    )
    raise ValueError(
        f"refusing to serve the bridge on {address} without {missing}: anyone who can reach "
        "it could start, signal and terminate workflows. Give a TLS certificate and key and a "
        "token (--tls-cert/--tls-key/--token), bind 127.0.0.1, or pass --insecure "
        "(insecure=True) to serve it anyway"
    )
