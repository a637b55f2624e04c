"""Environment variables the bridge worker reads, their names and defaults.

One place names them so the CLI (``bridge.cli``), ``docker-compose.yml`` and the tests
that pin the two together cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ADVERTISE_ADDRESS_ENV",
    "BRIDGE_ADDRESS_ENV",
    "DEFAULT_ADVERTISE_ADDRESS",
    "DEFAULT_BRIDGE_ADDRESS",
    "DEFAULT_OTLP_ENDPOINT",
    "DEFAULT_STORE",
    "DEFAULT_TASK_QUEUE",
    "DEFAULT_TEMPORAL_ADDRESS",
    "DEFAULT_WORKFLOWS",
    "ENV_DEFAULTS",
    "OTLP_ENDPOINT_ENV",
    "STORE_ENV",
    "TASK_QUEUE_ENV",
    "TEMPORAL_ADDRESS_ENV",
    "WORKFLOWS_ENV",
    "Settings",
]

TEMPORAL_ADDRESS_ENV = "TEMPORAL_ADDRESS"
"""Temporal frontend ``host:port`` the worker connects to."""
DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"

BRIDGE_ADDRESS_ENV = "FASTCORE_BRIDGE_ADDRESS"
"""``host:port`` the bridge gRPC service binds (loopback unless told otherwise)."""
DEFAULT_BRIDGE_ADDRESS = "127.0.0.1:7600"

ADVERTISE_ADDRESS_ENV = "FASTCORE_ADVERTISE_ADDRESS"
"""``host:port`` other workers and clients dial to reach this worker's bridge (what its
fastcore sub-workflows report as their location). Unset: the bridge's bound address, or,
when that is a wildcard (``0.0.0.0``), this machine's hostname with the bound port: in a
container, the container's hostname, which the compose network resolves."""
DEFAULT_ADVERTISE_ADDRESS: str | None = None

STORE_ENV = "FASTCORE_STORE"
"""fastcore store URL: ``memory`` or ``sqlite:///path/to/fastcore.db``."""
DEFAULT_STORE = "memory"

TASK_QUEUE_ENV = "FASTCORE_TASK_QUEUE"
"""Temporal task queue the worker polls."""
DEFAULT_TASK_QUEUE = "fastcore-bridge"

WORKFLOWS_ENV = "FASTCORE_WORKFLOWS"
"""The module whose ``make_engine`` and ``build_worker`` make what the worker hosts."""
DEFAULT_WORKFLOWS: str | None = None

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""OTLP collector endpoint (standard OpenTelemetry name); unset means no export."""
DEFAULT_OTLP_ENDPOINT: str | None = None

ENV_DEFAULTS: Mapping[str, str | None] = {
    TEMPORAL_ADDRESS_ENV: DEFAULT_TEMPORAL_ADDRESS,
    BRIDGE_ADDRESS_ENV: DEFAULT_BRIDGE_ADDRESS,
    ADVERTISE_ADDRESS_ENV: DEFAULT_ADVERTISE_ADDRESS,
    STORE_ENV: DEFAULT_STORE,
    TASK_QUEUE_ENV: DEFAULT_TASK_QUEUE,
    WORKFLOWS_ENV: DEFAULT_WORKFLOWS,
    OTLP_ENDPOINT_ENV: DEFAULT_OTLP_ENDPOINT,
}
"""Every environment variable the worker reads, with its default."""


@dataclass(frozen=True)
class Settings:
    """Worker settings, resolved from the environment (command-line flags override).

    Attributes:
        temporal_address: Temporal frontend ``host:port``.
        bridge_address: ``host:port`` the bridge gRPC service binds.
        advertise_address: ``host:port`` others dial for this bridge, or ``None`` to derive
            it from the bound address.
        store: fastcore store URL.
        task_queue: Temporal task queue to poll.
        workflows: The workflows module to host, or ``None`` when none is set.
        otlp_endpoint: OTLP collector endpoint, or ``None`` for no export.
    """

    temporal_address: str = DEFAULT_TEMPORAL_ADDRESS
    bridge_address: str = DEFAULT_BRIDGE_ADDRESS
    advertise_address: str | None = DEFAULT_ADVERTISE_ADDRESS
    store: str = DEFAULT_STORE
    task_queue: str = DEFAULT_TASK_QUEUE
    workflows: str | None = DEFAULT_WORKFLOWS
    otlp_endpoint: str | None = DEFAULT_OTLP_ENDPOINT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``); empty means unset."""
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            return env.get(name) or default

        return cls(
            temporal_address=get(TEMPORAL_ADDRESS_ENV, DEFAULT_TEMPORAL_ADDRESS),
            bridge_address=get(BRIDGE_ADDRESS_ENV, DEFAULT_BRIDGE_ADDRESS),
            advertise_address=env.get(ADVERTISE_ADDRESS_ENV) or DEFAULT_ADVERTISE_ADDRESS,
            store=get(STORE_ENV, DEFAULT_STORE),
            task_queue=get(TASK_QUEUE_ENV, DEFAULT_TASK_QUEUE),
            workflows=env.get(WORKFLOWS_ENV) or DEFAULT_WORKFLOWS,
            otlp_endpoint=env.get(OTLP_ENDPOINT_ENV) or DEFAULT_OTLP_ENDPOINT,
        )
