"""The bridge's unix socket: the fastest way to it for a client on the same machine.

A ``BridgeServer`` that serves without TLS also listens on a unix domain socket, in a
directory only its user can enter (``$TMPDIR/fastcore-bridge-<uid>``, mode 0700), named
after its TCP address, so a server restarted on the same address listens on the same path.
It tells clients where in the initial metadata of its health check answer (the check
``BridgeClient.connect`` makes anyway), with an id of its own. A client that can open that
path and meets the same id there is on the same machine and talks to the server through
it; otherwise it stays on TCP. A gRPC unary call over a unix socket skips the TCP stack:
``benchmarks`` measures the difference next to the other ways of calling.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import tempfile
from typing import Any

import grpc.aio
from grpc_health.v1 import health

__all__ = [
    "INSTANCE_KEY",
    "SOCKET_KEY",
    "AdvertisingHealthServicer",
    "advertised",
    "socket_path_for",
]

logger = logging.getLogger(__name__)

SOCKET_KEY = "fastcore-bridge-unix-socket"
"""Health check answer metadata: the path of the server's unix socket."""

INSTANCE_KEY = "fastcore-bridge-instance"
"""Health check answer metadata: an id of the serving process's server (to confirm a path)."""

_MAX_PATH = 100  # sun_path holds 104-108 bytes, depending on the system


def _private_dir() -> str | None:
    """This user's socket directory (made 0700 if missing); None if it is not safely ours."""
    if sys.platform == "win32" or not hasattr(os, "getuid"):
        return None
    path = os.path.join(tempfile.gettempdir(), f"fastcore-bridge-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as err:
        logger.warning("no unix socket for the bridge: cannot make %s: %s", path, err)
        return None
    try:
        st = os.lstat(path)
    except OSError as err:
        logger.warning("no unix socket for the bridge: %s: %s", path, err)
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        logger.warning(
            "no unix socket for the bridge: %s is not a directory only this user can enter",
            path,
        )
        return None
    return path


def socket_path_for(host: str, port: int) -> str | None:
    """The unix socket path of the server bound to ``host:port`` (None: none is possible)."""
    directory = _private_dir()
    if directory is None:
        return None
    name = re.sub(r"[^A-Za-z0-9.]", "_", host) + f"-{port}.sock"
    path = os.path.join(directory, name)
    if len(path.encode()) > _MAX_PATH:
        logger.warning("no unix socket for the bridge: the path %s is too long", path)
        return None
    return path


class AdvertisingHealthServicer(health.aio.HealthServicer):  # type: ignore[misc]
    """gRPC health checking whose answers for ``service`` name the server's unix socket
    and instance (other checks, a load balancer's, answer as usual, without the extra
    metadata)."""

    def __init__(self, service: str, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__()
        self.service = service
        self.metadata = metadata

    async def Check(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if self.metadata and request.service == self.service:
            await context.send_initial_metadata(self.metadata)
        return await super().Check(request, context)


def advertised(metadata: Any) -> tuple[str, str] | None:
    """The (socket path, instance id) a health check answer named, if both are there."""
    found = dict((k, v) for k, v in metadata or () if isinstance(v, str))
    path, instance = found.get(SOCKET_KEY), found.get(INSTANCE_KEY)
    if path and instance:
        return path, instance
    return None
