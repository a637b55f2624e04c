"""``fastcore-bridge worker`` and ``dev``: a Temporal worker hosting fastcore.

``worker`` serves against an existing Temporal, ``dev`` against a dev server it starts,
both with the gRPC bridge, until SIGINT/SIGTERM. Also the pieces they share: the dev server,
the connection to Temporal, OTLP tracing and the user's workflows module (``--workflows``),
whose ``make_engine(store, **engine_options)`` makes the fastcore engine and
``build_worker(client, engine, *, task_queue, bridge_address, identity)`` the Temporal
worker (``samples/worker.py`` is one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO

from .._user_module import import_user_module
from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
    _read_token,
    logger,
)
from ._settings import WORKFLOWS_ENV

if TYPE_CHECKING:
    from temporalio.client import Client

    from fastcore import Engine

    from ..rpc import ServerTLSConfig


DEV_WORKFLOWS = "bridge.cli.demo"
"""What ``dev`` hosts when ``--workflows`` names nothing: ``Greeter`` (a signal, a query and
an update), so ``fastcore-bridge dev`` runs with no options."""

READY_PREFIX = "fastcore-bridge worker ready:"
"""The first word of the line ``dev`` and ``worker`` print once they serve (tests and
scripts wait for it)."""


def _server_tls(args: argparse.Namespace) -> ServerTLSConfig | None:
    from ..rpc import ServerTLSConfig

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


_WORKER_FACTORIES = ("make_engine", "build_worker")


def _workflows_module(name: str | None) -> ModuleType:
    """The module ``--workflows`` names, imported from the current directory as ``python -m`` does.

    Raises:
        CommandError: No module was named, it cannot be imported, or it lacks
            ``make_engine`` or ``build_worker``.
    """
    if not name:
        raise CommandError(
            f"no workflows to host: give --workflows MODULE (or set {WORKFLOWS_ENV}), a module "
            "with make_engine() and build_worker(), e.g. samples.worker",
            EXIT_USAGE,
        )
    try:
        module = import_user_module(name, what="the workflows module ")
    except ImportError as err:
        raise CommandError(str(err)) from None
    missing = [f for f in _WORKER_FACTORIES if not callable(getattr(module, f, None))]
    if missing:
        raise CommandError(
            f"the workflows module {name!r} has no {' and no '.join(f + '()' for f in missing)}"
        )
    return module


@contextlib.asynccontextmanager
async def _dev_server(
    temporal_address: str | None,
    *,
    port: int = 0,
    ui: bool = False,
    db_filename: str | None = None,
) -> AsyncIterator[tuple[str, str | None]]:
    """The given Temporal address, or a dev server started (and stopped) for the block.

    Args:
        temporal_address: An existing Temporal frontend; None starts a dev server.
        port: The dev server's frontend port; 0 for any free one.
        ui: Serve the Web UI too.
        db_filename: SQLite file for the dev server's state.

    Yields:
        The frontend address and the Web UI's URL (None when there is none).
    """
    if temporal_address is not None:
        yield temporal_address, None
        return
    from .._devserver import DevServer, DevServerError

    if port and not _port_free("127.0.0.1", port):
        raise CommandError(
            f"cannot start a Temporal dev server on 127.0.0.1:{port}: the port is taken. If "
            f"a Temporal runs there, use it: --temporal-address 127.0.0.1:{port}; else pick "
            "another port: --temporal-port PORT (0: any free one)"
        )
    server = DevServer(time_skipping=True, ui=ui, db_filename=db_filename, port=port or None)
    try:
        await server.start_async()
    except DevServerError as err:
        raise CommandError(f"cannot start a Temporal dev server: {err}") from None
    try:
        yield server.target, server.ui_url
    finally:
        await server.stop_async()


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


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
    workflows: str | None
    insecure: bool = False
    token: str | None = None
    tls: ServerTLSConfig | None = None
    otlp_endpoint: str | None = None
    connect_timeout: float = 60.0
    advertise_address: str | None = None


async def _serve_worker(
    config: _WorkerConfig,
    *,
    banner: Callable[[str | None], Sequence[str]] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run a worker (engine + bridge + Temporal worker) until SIGINT/SIGTERM."""
    out = out or sys.stdout
    from ..rpc import BridgeServer
    from ..rpc._auth import check_bind, split_address

    if config.bridge_address is not None:
        try:  # the bind rule first: refuse before connecting to anything
            check_bind(
                config.bridge_address,
                tls=config.tls is not None,
                token=bool(config.token),
                insecure=config.insecure,
            )
        except ValueError as err:
            raise CommandError(str(err), EXIT_USAGE) from None
    if config.advertise_address is not None:
        try:
            split_address(config.advertise_address)
        except ValueError as err:
            raise CommandError(f"--advertise-address: {err}", EXIT_USAGE) from None
    stop = _stop_event()
    workflows = _workflows_module(config.workflows)
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
        engine: Engine = workflows.make_engine(config.store, **engine_options)
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
            advertised = (
                None
                if server is None
                else advertise_address(server.address, config.advertise_address)
            )
            try:
                worker = workflows.build_worker(
                    client,
                    engine,
                    task_queue=config.task_queue,
                    bridge_address=advertised,
                    identity=config.identity,
                )
                async with worker:
                    for line in banner(server.address if server else None) if banner else ():
                        print(line, file=out)
                    print(
                        f"{READY_PREFIX} temporal={config.temporal_address} "
                        f"namespace={config.namespace} task_queue={config.task_queue} "
                        f"bridge={server.address if server is not None else 'off'} "
                        f"advertise={advertised or 'off'} "
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


_WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


def advertise_address(bound: str, given: str | None = None) -> str:
    """The address others dial for a bridge bound at ``bound``.

    ``given`` when set (``--advertise-address``); else ``bound`` itself, unless its host is
    a wildcard, which no one can dial: then this machine's hostname with the bound port (in
    a container, its hostname, which Docker's network DNS resolves for the others).
    """
    if given:
        return given
    host, sep, port = bound.rpartition(":")
    if sep and host in _WILDCARD_HOSTS:
        return f"{socket.gethostname()}:{port}"
    return bound


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
        workflows=args.workflows,
        insecure=args.insecure,
        token=_read_token(args.token, args.token_file),
        tls=_server_tls(args),
        otlp_endpoint=args.otlp_endpoint,
        connect_timeout=args.connect_timeout,
        advertise_address=args.advertise_address,
    )
    return await _serve_worker(config)


def _check_dev_addresses(args: argparse.Namespace) -> None:
    """Refuse a bad ``dev`` address before anything starts (no dev server to clean up).

    ``dev`` serves the bridge on loopback without TLS or a token, so any other host is
    refused; the bridge port must be free; a given Temporal address must be ``host:port``.
    """
    from ..rpc._auth import check_bind, split_address

    try:
        check_bind(args.bridge_address, tls=False, token=False, insecure=False)
        if args.temporal_address is not None:
            split_address(args.temporal_address)
    except ValueError as err:
        raise CommandError(str(err), EXIT_USAGE) from None
    host, port = split_address(args.bridge_address)
    if port and not _port_free(host, port):
        raise CommandError(
            f"cannot serve the bridge on {args.bridge_address}: the port is taken (another "
            "bridge running? pass --bridge-address 127.0.0.1:0 for any free port)"
        )


async def _cmd_dev(args: argparse.Namespace) -> int:
    module = _workflows_module(args.workflows)  # fail before starting a server
    _check_dev_addresses(args)
    if args.temporal_address is None:
        print("starting a Temporal dev server ...", flush=True)
    async with _dev_server(
        args.temporal_address,
        port=args.temporal_port,
        ui=args.ui,
        db_filename=args.db_filename,
    ) as (target, ui_url):
        config = _WorkerConfig(
            temporal_address=target,
            namespace=args.namespace,
            task_queue=args.task_queue,
            bridge_address=args.bridge_address,
            store=args.store,
            identity=_identity(),
            workflows=args.workflows,
        )

        def banner(bridge_address: str | None) -> list[str]:
            lines = [
                f"Temporal frontend:  {target}",
                *([f"Temporal Web UI:    {ui_url}"] if ui_url else []),
                f"fastcore bridge:    {bridge_address}  (Temporal's API too: fastcore's workflows)",
                f"task queue:         {args.task_queue}",
                f"hosting:            {args.workflows}",
                "",
            ]
            if bridge_address is not None:
                lines += _try_lines(module, args.workflows, bridge_address, target, args)
            return [*lines, "Press Ctrl-C to stop.", ""]

        return await _serve_worker(config, banner=banner)


def _try_lines(
    module: ModuleType, name: str, bridge: str, temporal: str, args: argparse.Namespace
) -> list[str]:
    """Commands to try from another terminal, with full paths so a fresh shell runs them."""
    from .._devserver import DevServerError, find_temporal_cli

    try:
        cli = find_temporal_cli()
    except DevServerError:
        cli = "temporal"
    me = _own_command()
    queue = args.task_queue
    if name == DEV_WORKFLOWS:
        wid = "greet-1"
        return [
            "Try, from any terminal (Greeter runs on fastcore through the bridge's address; "
            f"with --address {temporal} the same commands run it on Temporal):",
            f"  {cli} workflow start --address {bridge} --task-queue {queue} --type Greeter "
            f"--workflow-id {wid} --input '\"world\"'",
            f"  {cli} workflow update execute --address {bridge} --workflow-id {wid} "
            "--name add_name --input '\"fastcore\"'",
            f"  {cli} workflow query --address {bridge} --workflow-id {wid} --name names",
            f"  {cli} workflow signal --address {bridge} --workflow-id {wid} --name finish",
            f"  {cli} workflow result --address {bridge} --workflow-id {wid}",
            f"  {cli} workflow list --address {bridge}",
            f"  {me} workflow show {wid} --address {bridge}   # fastcore's own events",
            "",
        ]
    return [
        f"Try, from any terminal (the workflows of {name}):",
        f"  {cli} workflow list --address {bridge}   # fastcore's workflows",
        f"  {cli} workflow list --address {temporal}   # Temporal's",
        f"  {cli} workflow start --address {bridge} --task-queue {queue} --type TYPE "
        "--workflow-id ID --input JSON",
        "",
    ]


def _own_command() -> str:
    """How to run this CLI from a fresh shell: the venv's script, else ``python -m``."""
    script = Path(sys.executable).parent / PROG
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    return f"{sys.executable} -m bridge"
