"""``BridgeClient.connect``'s options, as ``temporalio.client.Client.connect`` names them.

Client code written for Temporal connects to a bridge with the same call: ``namespace``
(a fastcore engine has one, ``default``), ``api_key`` (the bridge's bearer token, as
temporalio sends it: ``authorization: Bearer <key>``), ``tls`` (``True``, fastcore's
``TLSConfig`` or temporalio's ``TLSConfig``), ``rpc_metadata`` (sent with every call),
``identity``, ``lazy``, ``connect_timeout``, ``keep_alive_config`` and ``grpc_compression``
mean what they mean there. Options that cannot mean anything for one engine behind one
gRPC port (``plugins``, temporalio client ``interceptors``, ``retry_config``,
``runtime``, an HTTP CONNECT proxy, DNS load balancing, a query reject condition, payload
limits, a header codec) are refused by name when given, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from fastcore.errors import InvalidArgumentError

from ._auth import TLSConfig, bearer_metadata

__all__ = ["ChannelSettings", "channel_settings", "refuse_unsupported"]

DEFAULT_NAMESPACE = "default"


@dataclass
class ChannelSettings:
    """What a channel to the bridge is built with."""

    metadata: tuple[tuple[str, str | bytes], ...]
    options: list[tuple[str, Any]] = field(default_factory=list)
    tls: TLSConfig | None = None
    compression: grpc.Compression | None = None


def _tls(tls: Any) -> TLSConfig | None:
    """fastcore's ``TLSConfig`` for ``tls`` (a bool, ours, or temporalio's)."""
    if tls is None or tls is False:
        return None
    if tls is True:
        return TLSConfig()
    if isinstance(tls, TLSConfig):
        return tls
    names = ("server_root_ca_cert", "domain", "client_cert", "client_private_key")
    if all(hasattr(tls, n) for n in names):  # temporalio.service.TLSConfig
        if getattr(tls, "verification_server_name", None):
            raise InvalidArgumentError(
                "tls.verification_server_name is not supported by the bridge client; use domain"
            )
        return TLSConfig(**{n: getattr(tls, n) for n in names})
    raise InvalidArgumentError(f"tls must be a bool or a TLSConfig, not {type(tls).__name__}")


def _compression(value: Any) -> grpc.Compression | None:
    if value is None:
        return None
    name = str(getattr(value, "name", None) or getattr(value, "_name", None) or value).upper()
    if "GZIP" in name:
        return grpc.Compression.Gzip
    if "NONE" in name:
        return None
    raise InvalidArgumentError(f"grpc_compression must be NONE or GZIP, not {value!r}")


def channel_settings(
    *,
    namespace: str,
    token: str | None,
    api_key: str | None,
    tls: Any,
    rpc_metadata: Mapping[str, str | bytes],
    keep_alive_config: Any,
    grpc_compression: Any,
) -> ChannelSettings:
    """Check the options and turn them into channel settings.

    Raises:
        InvalidArgumentError: Another namespace, both ``token`` and ``api_key``, or an
            option of the wrong kind.
    """
    if namespace != DEFAULT_NAMESPACE:
        raise InvalidArgumentError(
            f"namespace {namespace!r}: a fastcore engine has one namespace, 'default'"
        )
    if token is not None and api_key is not None and token != api_key:
        raise InvalidArgumentError("give the bearer token as token= or api_key=, not both")
    key = token if token is not None else api_key
    metadata: list[tuple[str, str | bytes]] = []
    for name, value in rpc_metadata.items():
        if not isinstance(name, str) or not isinstance(value, str | bytes):
            raise InvalidArgumentError(f"rpc_metadata {name!r}: names are str, values str or bytes")
        lower = name.lower()
        if lower.endswith("-bin") != isinstance(value, bytes):
            raise InvalidArgumentError(
                f"rpc_metadata {name!r}: bytes values go with names ending in '-bin' (gRPC)"
            )
        metadata.append((lower, value))
    if key and not any(n == "authorization" for n, _ in metadata):  # as temporalio: only
        metadata.extend(bearer_metadata(key))  # when rpc_metadata has no authorization
    settings = ChannelSettings(
        tuple(metadata), tls=_tls(tls), compression=_compression(grpc_compression)
    )
    if keep_alive_config is not None:
        interval = int(getattr(keep_alive_config, "interval_millis", 30000))
        timeout = int(getattr(keep_alive_config, "timeout_millis", 15000))
        settings.options += [
            ("grpc.keepalive_time_ms", interval),
            ("grpc.keepalive_timeout_ms", timeout),
            ("grpc.keepalive_permit_without_calls", 1),
        ]
    return settings


def refuse_unsupported(**options: Any) -> None:
    """Refuse, by name, temporalio connect options the bridge cannot honour.

    Raises:
        InvalidArgumentError: One of ``options`` was given (not None, not empty).
    """
    given = sorted(name for name, value in options.items() if value not in (None, (), [], {}))
    if given:
        raise InvalidArgumentError(
            f"BridgeClient.connect does not support {', '.join(given)}: the bridge is one "
            "engine behind one gRPC port (see bridge.rpc._connect for what is supported)"
        )
