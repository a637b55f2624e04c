"""``fastcore-bridge``: run a worker, the demo, a dev stack; look at fastcore workflows.

Commands::

    fastcore-bridge demo                 every sample end to end on an embedded dev server
    fastcore-bridge dev                  dev server + worker + bridge, until Ctrl-C
    fastcore-bridge worker               a worker against an existing Temporal
    fastcore-bridge workflow list        fastcore workflows on a bridge
    fastcore-bridge workflow describe ID
    fastcore-bridge workflow show ID     a history (text, fastcore JSON or Temporal JSON)
    fastcore-bridge workflow signal ID NAME [--input JSON]...
    fastcore-bridge workflow query ID NAME [--input JSON]...
    fastcore-bridge compare-traces ...   one workflow's spans on each runtime, side by side

``worker`` reads its defaults from the environment (``bridge._settings``: the variables
``docker-compose.yml`` sets); flags override them. Servers bind 127.0.0.1 unless told
otherwise, and the bridge refuses a non-loopback address without TLS and a token unless
``--insecure`` says to serve it anyway.

Exit status: 0 on success, 1 when the command failed, 2 for a usage error, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from ._settings import DEFAULT_BRIDGE_ADDRESS, Settings

if TYPE_CHECKING:
    from temporalio.client import Client

    from fastcore import Engine, WorkflowExecutionDescription
    from fastcore.history import Event

    from ._auth import ServerTLSConfig, TLSConfig
    from ._client import BridgeClient

__all__ = ["build_parser", "main"]

PROG = "fastcore-bridge"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

READY_PREFIX = "fastcore-bridge worker ready:"
"""The first word of the line ``dev`` and ``worker`` print once they serve (tests and
scripts wait for it)."""

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A failure to report in one line (no traceback) with exit status 1, or ``status``."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (``main`` uses it; docs and tests may too)."""
    env = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="fastcore inside Temporal: workers, the gRPC bridge, the samples.",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="logging level (default: WARNING)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="run every sample end to end and print where each step ran and its latency",
        description="Start a Temporal dev server (unless --temporal-address is given) and a "
        "worker hosting fastcore, run every sample scenario end to end, print the results "
        "table, and exit 0 if every scenario succeeded.",
    )
    demo.add_argument(
        "--temporal-address",
        help="an existing Temporal frontend host:port (default: start an embedded dev server)",
    )
    demo.add_argument("--namespace", default="default", help="Temporal namespace")
    demo.add_argument(
        "--task-queue", help="task queue for the demo's worker (default: a fresh unique one)"
    )
    demo.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="run only this scenario (repeatable); one of: " + ", ".join(SCENARIOS),
    )
    demo.add_argument(
        "--json", action="store_true", help="print the full reports as JSON after the table"
    )
    demo.set_defaults(handler=_cmd_demo)

    dev = sub.add_parser(
        "dev",
        help="a Temporal dev server, a worker hosting fastcore and the samples, and the bridge",
        description="Start a Temporal dev server on loopback (unless --temporal-address is "
        "given), a worker hosting fastcore and the samples, and the gRPC bridge; print their "
        "addresses and run until Ctrl-C.",
    )
    dev.add_argument(
        "--temporal-address", help="use this Temporal frontend instead of starting a dev server"
    )
    dev.add_argument("--namespace", default="default", help="Temporal namespace")
    dev.add_argument("--task-queue", default=env.task_queue, help="task queue (%(default)s)")
    dev.add_argument(
        "--bridge-address",
        default=DEFAULT_BRIDGE_ADDRESS,
        help="host:port for the gRPC bridge, loopback only; port 0 picks a free port "
        "(%(default)s, where `workflow` commands look by default)",
    )
    dev.add_argument("--store", default="memory", help="fastcore store URL (%(default)s)")
    dev.add_argument("--ui", action="store_true", help="serve the Temporal Web UI too")
    dev.add_argument(
        "--db-filename", help="SQLite file for the dev server's state (default: in memory)"
    )
    dev.set_defaults(handler=_cmd_dev)

    worker = sub.add_parser(
        "worker",
        help="a worker hosting fastcore (and the samples) against an existing Temporal",
        description="Connect to Temporal, host a fastcore engine in a Temporal worker and serve "
        "the gRPC bridge, until SIGINT/SIGTERM. Defaults come from the environment "
        "(TEMPORAL_ADDRESS, FASTCORE_TASK_QUEUE, FASTCORE_BRIDGE_ADDRESS, FASTCORE_STORE, "
        "OTEL_EXPORTER_OTLP_ENDPOINT); flags override them.",
    )
    worker.add_argument(
        "--temporal-address", default=env.temporal_address, help="Temporal frontend (%(default)s)"
    )
    worker.add_argument("--namespace", default="default", help="Temporal namespace")
    worker.add_argument("--task-queue", default=env.task_queue, help="task queue (%(default)s)")
    worker.add_argument(
        "--bridge-address",
        default=env.bridge_address,
        help="host:port the gRPC bridge binds; 'off' for no bridge (%(default)s)",
    )
    worker.add_argument("--store", default=env.store, help="fastcore store URL (%(default)s)")
    worker.add_argument("--identity", help="worker identity (default: fastcore-bridge@HOST:PID)")
    worker.add_argument(
        "--otlp-endpoint",
        default=env.otlp_endpoint,
        help="export traces to this OTLP/gRPC collector (default: none)",
    )
    worker.add_argument(
        "--connect-timeout",
        type=float,
        default=60.0,
        help="seconds to keep retrying the connection to Temporal (%(default)s)",
    )
    _add_server_security(worker)
    worker.set_defaults(handler=_cmd_worker)

    wf = sub.add_parser("workflow", help="look at and talk to fastcore workflows through a bridge")
    wf_sub = wf.add_subparsers(dest="workflow_command", metavar="COMMAND", required=True)
    wf_list = wf_sub.add_parser("list", help="list workflow runs")
    _add_client_options(wf_list, env)
    wf_list.add_argument(
        "--status",
        choices=(
            "RUNNING",
            "COMPLETED",
            "FAILED",
            "CANCELED",
            "TERMINATED",
            "CONTINUED_AS_NEW",
            "TIMED_OUT",
        ),
        help="only runs with this status",
    )
    wf_list.add_argument("--limit", type=int, default=100, help="most runs to list (%(default)s)")
    wf_list.add_argument("--output", choices=("text", "json"), default="text")
    wf_list.set_defaults(handler=_cmd_workflow_list)

    wf_desc = wf_sub.add_parser("describe", help="a run's status, type, times, history length")
    _add_client_options(wf_desc, env)
    _add_workflow_ref(wf_desc)
    wf_desc.add_argument("--output", choices=("text", "json"), default="text")
    wf_desc.set_defaults(handler=_cmd_workflow_describe)

    wf_show = wf_sub.add_parser("show", help="a run's history")
    _add_client_options(wf_show, env)
    _add_workflow_ref(wf_show)
    wf_show.add_argument(
        "--output",
        choices=("text", "json", "temporal-json"),
        default="text",
        help="text; json: fastcore's own events; temporal-json: Temporal's history JSON, "
        "as `temporal workflow show --output json` writes it (%(default)s)",
    )
    wf_show.add_argument("--file", type=Path, help="write to this file instead of stdout")
    wf_show.set_defaults(handler=_cmd_workflow_show)

    wf_signal = wf_sub.add_parser("signal", help="send a signal")
    _add_client_options(wf_signal, env)
    _add_workflow_ref(wf_signal)
    wf_signal.add_argument("name", help="the signal name")
    _add_inputs(wf_signal)
    wf_signal.set_defaults(handler=_cmd_workflow_signal)

    wf_query = wf_sub.add_parser("query", help="run a query and print its answer as JSON")
    _add_client_options(wf_query, env)
    _add_workflow_ref(wf_query)
    wf_query.add_argument("name", help="the query name")
    _add_inputs(wf_query)
    wf_query.set_defaults(handler=_cmd_workflow_query)

    compare = sub.add_parser(
        "compare-traces",
        help="compare one workflow's spans on Temporal and on fastcore",
        description="Compare the OpenTelemetry spans of the same workflow on each runtime, "
        "span by span (`fastcore-bridge compare-traces --help` for its options).",
        add_help=False,  # its own parser (bridge._compare) answers --help
    )
    compare.set_defaults(handler=_cmd_compare_traces)
    return parser


def _add_server_security(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("bridge security")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="serve a non-loopback bridge address without TLS and a token",
    )
    group.add_argument("--token", help="require this bearer token on every bridge call")
    group.add_argument("--token-file", type=Path, help="read the bearer token from this file")
    group.add_argument("--tls-cert", type=Path, help="the bridge's PEM certificate chain")
    group.add_argument("--tls-key", type=Path, help="the bridge's PEM private key")
    group.add_argument(
        "--tls-client-ca", type=Path, help="require client certificates signed by this PEM CA"
    )


def _add_client_options(parser: argparse.ArgumentParser, env: Settings) -> None:
    parser.add_argument(
        "--address",
        default=_dialable(env.bridge_address),
        help="the bridge's host:port (%(default)s)",
    )
    parser.add_argument("--token", help="the bridge's bearer token")
    parser.add_argument("--token-file", type=Path, help="read the bearer token from this file")
    parser.add_argument(
        "--tls", action="store_true", help="use TLS (implied by the other --tls options)"
    )
    parser.add_argument("--tls-ca", type=Path, help="PEM CA the bridge's certificate chains to")
    parser.add_argument("--tls-server-name", help="name to check the bridge's certificate for")
    parser.add_argument("--tls-client-cert", type=Path, help="client PEM certificate (mTLS)")
    parser.add_argument("--tls-client-key", type=Path, help="client PEM private key (mTLS)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each call (%(default)s)"
    )


def _add_workflow_ref(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow_id", metavar="ID", help="the workflow id")
    parser.add_argument("--run-id", help="a specific run (default: the latest)")


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="JSON",
        help="an argument, as JSON (repeat for more arguments)",
    )


def _dialable(address: str) -> str:
    """A bind address as one to dial: a wildcard host means this machine."""
    host, sep, port = address.rpartition(":")
    if sep and host in ("0.0.0.0", "[::]", "::", ""):
        return f"127.0.0.1:{port}"
    return address


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` and return the exit status.

    With ``argv`` None (the program's own command line: the ``fastcore-bridge`` script,
    ``python -m bridge``) the process ends here, with ``os._exit`` once output is flushed:
    the Temporal SDK's native threads can crash the interpreter's finalization (seen on
    Python 3.11 as ``PyGILState_Release ... finalizing``), and by then nothing is left to
    clean up. Called with a list (tests, other programs), it returns.
    """
    status = _run(argv)
    if argv is None:
        _exit_now(status)
    return status


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    # compare-traces parses its own options (bridge._compare); everything else is ours.
    args, rest = parser.parse_known_args(argv)
    if args.command == "compare-traces":
        args.rest = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace], Coroutine[Any, Any, int]] = args.handler
    try:
        return asyncio.run(handler(args))
    except CommandError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return err.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _exit_now(status: int) -> NoReturn:
    """End the process with ``status`` after flushing output, skipping finalization."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


# --------------------------------------------------------------------------- helpers


def _read_token(token: str | None, token_file: Path | None) -> str | None:
    if token and token_file:
        raise CommandError("give --token or --token-file, not both", EXIT_USAGE)
    if token_file is not None:
        try:
            return token_file.read_text().strip() or None
        except OSError as err:
            raise CommandError(f"cannot read the token file: {err}") from None
    return token or None


def _server_tls(args: argparse.Namespace) -> ServerTLSConfig | None:
    from ._auth import ServerTLSConfig

    if args.tls_cert is None and args.tls_key is None:
        if args.tls_client_ca is not None:
            raise CommandError("--tls-client-ca needs --tls-cert and --tls-key", EXIT_USAGE)
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise CommandError("give both --tls-cert and --tls-key", EXIT_USAGE)
    try:
        return ServerTLSConfig(
            cert_chain=args.tls_cert.read_bytes(),
            private_key=args.tls_key.read_bytes(),
            client_ca_cert=(
                args.tls_client_ca.read_bytes() if args.tls_client_ca is not None else None
            ),
        )
    except OSError as err:
        raise CommandError(f"cannot read a TLS file: {err}") from None


def _client_tls(args: argparse.Namespace) -> TLSConfig | bool:
    from ._auth import TLSConfig

    files = (args.tls_ca, args.tls_client_cert, args.tls_client_key)
    if not args.tls and args.tls_server_name is None and all(f is None for f in files):
        return False
    if (args.tls_client_cert is None) != (args.tls_client_key is None):
        raise CommandError("give both --tls-client-cert and --tls-client-key", EXIT_USAGE)
    try:
        return TLSConfig(
            server_root_ca_cert=args.tls_ca.read_bytes() if args.tls_ca else None,
            domain=args.tls_server_name,
            client_cert=args.tls_client_cert.read_bytes() if args.tls_client_cert else None,
            client_private_key=args.tls_client_key.read_bytes() if args.tls_client_key else None,
        )
    except OSError as err:
        raise CommandError(f"cannot read a TLS file: {err}") from None


def _samples_worker() -> Any:
    """``samples.worker``, or a clear error when the samples are not importable."""
    try:
        import samples.worker
    except ImportError as err:
        # An editable install from a clone has the samples beside the bridge package even
        # when the distribution does not list them: use them from there.
        root = Path(__file__).resolve().parent.parent
        if (root / "samples" / "worker.py").is_file() and str(root) not in sys.path:
            sys.path.append(str(root))
            return _samples_worker()
        raise CommandError(
            f"cannot import the samples ({err}); install the project (`pip install -e .`) "
            "or run from the repository root"
        ) from None
    return samples.worker


@contextlib.asynccontextmanager
async def _dev_server(
    temporal_address: str | None, *, ui: bool = False, db_filename: str | None = None
) -> AsyncIterator[tuple[str, str | None]]:
    """The given Temporal address, or a dev server started (and stopped) for the block.

    Yields:
        The frontend address and the Web UI's URL (None when there is none).
    """
    if temporal_address is not None:
        yield temporal_address, None
        return
    from ._devserver import DevServer, DevServerError

    server = DevServer(time_skipping=True, ui=ui, db_filename=db_filename)
    try:
        await asyncio.to_thread(server.start)
    except DevServerError as err:
        raise CommandError(f"cannot start a Temporal dev server: {err}") from None
    try:
        yield server.target, server.ui_url
    finally:
        await asyncio.to_thread(server.stop)


async def _connect_temporal(
    address: str, namespace: str, *, timeout: float, plugins: Sequence[Any] = ()
) -> Client:
    """Connect to Temporal, retrying until ``timeout`` (a compose stack starts in any order)."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return await Client.connect(address, namespace=namespace, plugins=list(plugins))
        except (RPCError, RuntimeError, OSError) as err:
            if time.monotonic() >= deadline:
                raise CommandError(f"cannot connect to Temporal at {address}: {err}") from None
            logger.info("Temporal at %s not reachable yet (%s); retrying", address, err)
            await asyncio.sleep(0.5)  # retry pacing, not a wait for a known event


def _stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (graceful shutdown of ``dev`` and ``worker``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows / not main
            loop.add_signal_handler(sig, stop.set)
    return stop


@dataclass
class _Tracing:
    provider: Any
    plugins: list[Any]

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()  # flushes the batch exporter


def _tracing(endpoint: str | None, service_name: str) -> _Tracing:
    """One trace across Temporal and fastcore, exported over OTLP, when an endpoint is set.

    Temporal's ``OpenTelemetryPlugin`` spans the client, workflows and activities; it needs
    the global tracer provider to be its replay-safe one, which the engine (its
    ``RunWorkflow:``/``RunActivity:`` spans) shares, so a fastcore sub-workflow's spans
    hang under the Temporal activity that ran it.
    """
    if not endpoint:
        return _Tracing(None, [])
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        print(
            f"{PROG}: warning: OTLP endpoint {endpoint} set but the exporter is not installed "
            "(pip install 'fastcore-temporal[otlp]'); traces are not exported",
            file=sys.stderr,
        )
        return _Tracing(None, [])
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, create_tracer_provider

    provider = create_tracer_provider(
        resource=Resource.create({"service.name": service_name}), shutdown_on_exit=False
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=_plaintext(endpoint)))
    )
    trace.set_tracer_provider(provider)
    return _Tracing(provider, [OpenTelemetryPlugin(add_temporal_spans=True)])


def _plaintext(endpoint: str) -> bool:
    return endpoint.startswith("http://") or "://" not in endpoint


# --------------------------------------------------------------------------- dev / worker


@dataclass
class _WorkerConfig:
    temporal_address: str
    namespace: str
    task_queue: str
    bridge_address: str | None
    store: str
    identity: str
    insecure: bool = False
    token: str | None = None
    tls: ServerTLSConfig | None = None
    otlp_endpoint: str | None = None
    connect_timeout: float = 60.0


async def _serve_worker(
    config: _WorkerConfig,
    *,
    banner: Callable[[str | None], Sequence[str]] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run a worker (engine + bridge + Temporal worker) until SIGINT/SIGTERM."""
    out = out or sys.stdout
    from ._server import BridgeServer

    if config.bridge_address is not None:
        try:  # the bind rule first: refuse before connecting to anything
            from ._auth import check_bind

            check_bind(
                config.bridge_address,
                tls=config.tls is not None,
                token=bool(config.token),
                insecure=config.insecure,
            )
        except ValueError as err:
            raise CommandError(str(err), EXIT_USAGE) from None
    stop = _stop_event()
    samples_worker = _samples_worker()
    tracing = _tracing(config.otlp_endpoint, "fastcore-bridge")
    try:
        client = await _connect_temporal(
            config.temporal_address,
            config.namespace,
            timeout=config.connect_timeout,
            plugins=tracing.plugins,
        )
        engine_options: dict[str, Any] = {"identity": config.identity}
        if tracing.provider is not None:
            engine_options["tracer_provider"] = tracing.provider
        engine: Engine = samples_worker.make_engine(config.store, **engine_options)
        async with engine:
            server: BridgeServer | None = None
            if config.bridge_address is not None:
                server = BridgeServer(
                    engine,
                    address=config.bridge_address,
                    tls=config.tls,
                    token=config.token,
                    insecure=config.insecure,
                )
                try:
                    await server.start()
                except OSError as err:
                    raise CommandError(str(err)) from None
            try:
                worker = samples_worker.build_worker(
                    client,
                    engine,
                    task_queue=config.task_queue,
                    bridge_address=server.address if server is not None else None,
                    identity=config.identity,
                )
                async with worker:
                    for line in banner(server.address if server else None) if banner else ():
                        print(line, file=out)
                    print(
                        f"{READY_PREFIX} temporal={config.temporal_address} "
                        f"namespace={config.namespace} task_queue={config.task_queue} "
                        f"bridge={server.address if server is not None else 'off'} "
                        f"store={config.store} identity={config.identity} pid={os.getpid()}",
                        file=out,
                        flush=True,
                    )
                    await stop.wait()
                    print(f"{PROG}: shutting down", file=out, flush=True)
            finally:
                if server is not None:
                    await server.stop()
    finally:
        tracing.shutdown()
    return EXIT_OK


def _identity() -> str:
    return f"fastcore-bridge@{socket.gethostname()}:{os.getpid()}"


async def _cmd_worker(args: argparse.Namespace) -> int:
    bridge_address = (
        None if args.bridge_address.lower() in ("off", "none", "") else args.bridge_address
    )
    config = _WorkerConfig(
        temporal_address=args.temporal_address,
        namespace=args.namespace,
        task_queue=args.task_queue,
        bridge_address=bridge_address,
        store=args.store,
        identity=args.identity or _identity(),
        insecure=args.insecure,
        token=_read_token(args.token, args.token_file),
        tls=_server_tls(args),
        otlp_endpoint=args.otlp_endpoint,
        connect_timeout=args.connect_timeout,
    )
    return await _serve_worker(config)


async def _cmd_dev(args: argparse.Namespace) -> int:
    _samples_worker()  # fail before starting a server
    if args.temporal_address is None:
        print("starting a Temporal dev server ...", flush=True)
    async with _dev_server(args.temporal_address, ui=args.ui, db_filename=args.db_filename) as (
        target,
        ui_url,
    ):
        config = _WorkerConfig(
            temporal_address=target,
            namespace=args.namespace,
            task_queue=args.task_queue,
            bridge_address=args.bridge_address,
            store=args.store,
            identity=_identity(),
        )

        def banner(bridge_address: str | None) -> list[str]:
            return [
                f"Temporal frontend:  {target}",
                *([f"Temporal Web UI:    {ui_url}"] if ui_url else []),
                f"fastcore bridge:    {bridge_address}",
                f"task queue:         {args.task_queue}",
                "",
                "Try, in another terminal (the sample workflows run on this worker):",
                f"  temporal workflow execute --address {target} "
                f"--task-queue {args.task_queue} --type TradingOrderWorkflow "
                f"--workflow-id order-1 --input '{_EXAMPLE_ORDER}'",
                f"  {PROG} workflow list --address {bridge_address}",
                f"  {PROG} workflow show order-1/preflight --address {bridge_address}",
                "",
                "Press Ctrl-C to stop.",
            ]

        return await _serve_worker(config, banner=banner)


_EXAMPLE_ORDER = json.dumps(
    {
        "order_id": "order-1",
        "account": "acct-pro",
        "symbol": "ACME",
        "side": "buy",
        "qty": 100,
        "price": 182.25,
    },
    separators=(",", ":"),
)

# --------------------------------------------------------------------------- demo

SCENARIOS: tuple[str, ...] = (
    "trading_preflight",
    "iot_devices",
    "realtime_pipeline",
    "loan_approval",
    "data_migration",
)
"""The sample modules the demo runs, in order."""


async def _cmd_demo(args: argparse.Namespace) -> int:
    import importlib

    samples_worker = _samples_worker()
    from samples._common import format_table, summary_line

    chosen = args.scenarios or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise CommandError(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}",
            EXIT_USAGE,
        )
    # Temporal logs every failed activity attempt as a warning with a traceback; the
    # rejection scenario fails one on purpose, and the table says what happened.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    started = time.perf_counter()
    if args.temporal_address is None:
        print("starting a Temporal dev server ...", flush=True)
    async with _dev_server(args.temporal_address) as (target, _):
        client = await _connect_temporal(target, args.namespace, timeout=10.0)
        task_queue = args.task_queue or f"fastcore-demo-{uuid.uuid4().hex[:8]}"
        print(
            f"Temporal at {target}; worker with fastcore on task queue {task_queue}\n", flush=True
        )
        reports: list[dict[str, Any]] = []
        failures: list[str] = []
        async with samples_worker.running_worker(client, task_queue=task_queue) as (engine, _):
            for name in chosen:
                module = importlib.import_module(f"samples.{name}")
                try:
                    report = await asyncio.wait_for(
                        module.run_sample(client, task_queue, engine), timeout=60
                    )
                except Exception as err:  # report every scenario, then fail the command
                    failures.append(f"{name}: {type(err).__name__}: {err}")
                    logger.debug("scenario %s failed", name, exc_info=True)
                    continue
                reports.append(report)
    print(format_table(reports))
    print()
    if summary := summary_line(reports):
        print(summary)
    print(f"{len(reports)}/{len(chosen)} scenarios ran in {time.perf_counter() - started:.1f}s")
    if args.json:
        print(json.dumps(reports, indent=2, default=str))
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


# --------------------------------------------------------------------------- workflow


@contextlib.asynccontextmanager
async def _bridge_client(args: argparse.Namespace) -> AsyncIterator[BridgeClient]:
    from ._client import BridgeClient, RPCError

    token = _read_token(args.token, args.token_file)
    tls = _client_tls(args)
    try:
        client = await BridgeClient.connect(args.address, token=token, tls=tls)
    except RPCError as err:
        raise CommandError(str(err)) from None
    try:
        yield client
    finally:
        await client.close()


async def _call(args: argparse.Namespace, fn: Callable[[BridgeClient], Awaitable[int]]) -> int:
    """Run ``fn`` with a connected client, turning call failures into one-line errors."""
    from datetime import timedelta

    from fastcore.errors import FastcoreError

    from ._client import RPCError

    args.rpc_timeout = timedelta(seconds=args.timeout)
    async with _bridge_client(args) as client:
        try:
            return await fn(client)
        except (RPCError, FastcoreError) as err:
            raise CommandError(f"{type(err).__name__}: {err}") from None


def _json_value(value: Any) -> Any:
    """A decoded value as JSON-ready data."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    import dataclasses
    from datetime import datetime
    from enum import Enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return str(value)


def _parse_inputs(inputs: Sequence[str]) -> list[Any]:
    values = []
    for raw in inputs:
        try:
            values.append(json.loads(raw))
        except json.JSONDecodeError as err:
            raise CommandError(f"--input {raw!r} is not JSON: {err}", EXIT_USAGE) from None
    return values


def _describe_json(desc: WorkflowExecutionDescription) -> dict[str, Any]:
    return {
        "workflow_id": desc.id,
        "run_id": desc.run_id,
        "workflow_type": desc.workflow_type,
        "status": desc.status.name,
        "start_time": desc.start_time.isoformat() if desc.start_time else None,
        "close_time": desc.close_time.isoformat() if desc.close_time else None,
        "history_length": desc.history_length,
        "pending_activities": desc.pending_activities,
        "parent_id": desc.parent_id,
        "memo": _json_value(dict(desc.memo)),
        "pending_task_failure": (
            None if desc.pending_task_failure is None else _json_default(desc.pending_task_failure)
        ),
    }


def _print_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(header[i]), *(len(r[i]) for r in rows)]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


async def _cmd_workflow_list(args: argparse.Namespace) -> int:
    from fastcore import WorkflowExecutionStatus

    if args.limit <= 0:
        raise CommandError("--limit must be positive", EXIT_USAGE)
    status = WorkflowExecutionStatus[args.status] if args.status else None

    async def run(client: BridgeClient) -> int:
        found: list[WorkflowExecutionDescription] = []
        token: bytes | None = None
        while len(found) < args.limit:
            page, token = await client.list_workflows(
                status=status,
                page_size=min(args.limit - len(found), 1000),
                next_page_token=token,
                rpc_timeout=args.rpc_timeout,
            )
            found += page
            if token is None:
                break
        if args.output == "json":
            print(json.dumps([_describe_json(d) for d in found], indent=2))
            return EXIT_OK
        _print_rows(
            ("WORKFLOW ID", "TYPE", "STATUS", "STARTED", "CLOSED", "EVENTS"),
            [
                (
                    d.id,
                    d.workflow_type,
                    d.status.name,
                    d.start_time.isoformat(timespec="milliseconds") if d.start_time else "",
                    d.close_time.isoformat(timespec="milliseconds") if d.close_time else "",
                    str(d.history_length),
                )
                for d in found
            ],
        )
        return EXIT_OK

    return await _call(args, run)


async def _cmd_workflow_describe(args: argparse.Namespace) -> int:
    async def run(client: BridgeClient) -> int:
        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        desc = _describe_json(await handle.describe(rpc_timeout=args.rpc_timeout))
        if args.output == "json":
            print(json.dumps(desc, indent=2))
        else:
            width = max(len(k) for k in desc)
            for key, value in desc.items():
                shown = json.dumps(value) if isinstance(value, dict | list) else value
                print(f"{key.ljust(width)}  {'' if shown is None else shown}")
        return EXIT_OK

    return await _call(args, run)


def _event_line(event: Event) -> str:
    from datetime import UTC, datetime

    from fastcore.history import event_to_json

    when = datetime.fromtimestamp(event.timestamp, UTC).isoformat(timespec="microseconds")
    attrs = event_to_json(event)["attributes"]
    brief = {
        k: v
        for k, v in attrs.items()
        if k
        in (
            "workflow_type",
            "activity_type",
            "activity_id",
            "signal_name",
            "name",
            "timer_id",
            "start_to_fire_timeout",
            "scheduled_event_id",
            "attempt",
            "reason",
            "workflow_id",
        )
    }
    extra = " ".join(f"{k}={json.dumps(v)}" for k, v in brief.items())
    return f"{event.event_id:>5}  {when}  {event.event_type.value:<44} {extra}".rstrip()


async def _cmd_workflow_show(args: argparse.Namespace) -> int:
    async def run(client: BridgeClient) -> int:
        from fastcore.history import event_to_json

        from .history import to_temporal_json

        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        events = await handle.fetch_history(rpc_timeout=args.rpc_timeout)
        if args.output == "temporal-json":
            text = to_temporal_json(events, workflow_id=args.workflow_id)
        elif args.output == "json":
            text = json.dumps([event_to_json(e) for e in events], indent=2)
        else:
            text = "\n".join(_event_line(e) for e in events)
        if args.file is not None:
            try:
                args.file.write_text(text + "\n")
            except OSError as err:
                raise CommandError(f"cannot write {args.file}: {err}") from None
            print(f"wrote {len(events)} events to {args.file}", file=sys.stderr)
        else:
            print(text)
        return EXIT_OK

    return await _call(args, run)


async def _cmd_workflow_signal(args: argparse.Namespace) -> int:
    values = _parse_inputs(args.input)

    async def run(client: BridgeClient) -> int:
        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        await handle.signal(args.name, args=values, rpc_timeout=args.rpc_timeout)
        print(f"signal {args.name!r} sent to {args.workflow_id}")
        return EXIT_OK

    return await _call(args, run)


async def _cmd_workflow_query(args: argparse.Namespace) -> int:
    values = _parse_inputs(args.input)

    async def run(client: BridgeClient) -> int:
        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        answer = await handle.query(args.name, args=values, rpc_timeout=args.rpc_timeout)
        print(json.dumps(_json_value(answer), indent=2))
        return EXIT_OK

    return await _call(args, run)


# --------------------------------------------------------------------------- compare-traces


async def _cmd_compare_traces(args: argparse.Namespace) -> int:
    import importlib

    try:
        compare = importlib.import_module("bridge._compare")
    except ImportError as err:
        raise CommandError(f"compare-traces is not available: {err}") from None
    result = compare.main(list(args.rest))
    if asyncio.iscoroutine(result):
        result = await result
    return int(result or 0)
