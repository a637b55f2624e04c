"""``fastcore-bridge``: run a worker or a dev stack; compare traces; read fastcore histories.

Commands::

    fastcore-bridge dev                  dev server + worker + bridge, until Ctrl-C
    fastcore-bridge worker               a worker against an existing Temporal
    fastcore-bridge compare-traces ...   one workflow's spans on each runtime, side by side
    fastcore-bridge workflow show ID     a run's history as fastcore's own events
    fastcore-bridge store backup SRC DEST  a consistent copy of a store, also of one in use

Everything else one does to a workflow (start, execute, result, signal, query, update,
describe, list, count, cancel, terminate, stack, show in Temporal's format) is the
``temporal`` CLI's job: the bridge serves Temporal's frontend API, so ``temporal workflow
... --address <bridge>`` acts on fastcore's workflows. ``fastcore-bridge workflow list``
and the like answer with the ``temporal`` command to use instead, rather than being a
second, partial copy of it.

``worker`` and ``dev`` host the workflows of the module ``--workflows`` names (resolved
against the current directory, as ``python -m`` resolves a module): its ``make_engine`` and
``build_worker`` make the fastcore engine and the Temporal worker (``samples/worker.py`` is
one). ``dev`` without one hosts ``bridge.cli.demo`` (``Greeter``: a signal, a query and an
update). ``worker`` reads its defaults from the environment (``_settings``: the variables
``docker-compose.yml`` sets); flags override them. ``dev`` starts its Temporal dev server on
the port ``worker`` dials by default (7233). Servers bind 127.0.0.1 unless told otherwise,
and the bridge refuses a non-loopback address without TLS and a token unless ``--insecure``
says to serve it anyway.

Exit status: 0 on success, 1 when the command failed, 2 for a usage error, 130 after Ctrl-C.

This module is the parser and ``main``; the commands are in ``_worker`` (``worker``,
``dev``) and ``_workflow`` (``workflow show`` and the pointers to ``temporal``), what they
share in ``_common``, and ``compare-traces`` is ``bridge.compare``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..compare import main as compare_main
from ._common import EXIT_INTERRUPTED, PROG, CommandError, _dialable
from ._settings import DEFAULT_BRIDGE_ADDRESS, DEFAULT_TEMPORAL_ADDRESS, Settings
from ._store import add_store_commands
from ._worker import DEV_WORKFLOWS, _cmd_dev, _cmd_worker
from ._workflow import TEMPORAL_DOES, _cmd_workflow_show, temporal_instead

__all__ = ["build_parser", "main"]


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (``main`` uses it; docs and tests may too)."""
    env = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="fastcore inside Temporal: workers, a dev stack, trace comparison. To act "
        "on workflows (start, signal, query, update, list, ...) use Temporal's own CLI against "
        "the bridge: temporal workflow ... --address <bridge>.",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="logging level (default: WARNING)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    dev = sub.add_parser(
        "dev",
        help="a Temporal dev server, a worker hosting fastcore, and the bridge",
        description="Start a Temporal dev server on loopback (unless --temporal-address is "
        "given), a worker hosting fastcore and the workflows of --workflows (default: "
        f"{DEV_WORKFLOWS}, a Greeter with a signal, a query and an update), and the gRPC "
        "bridge; print their addresses and `temporal` commands to try, and run until Ctrl-C.",
    )
    dev.add_argument(
        "--temporal-address", help="use this Temporal frontend instead of starting a dev server"
    )
    default_port = int(DEFAULT_TEMPORAL_ADDRESS.rpartition(":")[2])
    dev.add_argument(
        "--temporal-port",
        type=int,
        default=default_port,
        help="the dev server's frontend port; 0 picks a free one (%(default)s: where "
        "`fastcore-bridge worker` and `temporal` look by default)",
    )
    dev.add_argument("--namespace", default="default", help="Temporal namespace")
    dev.add_argument("--task-queue", default=env.task_queue, help="task queue (%(default)s)")
    dev.add_argument(
        "--bridge-address",
        default=DEFAULT_BRIDGE_ADDRESS,
        help="host:port for the gRPC bridge, loopback only; port 0 picks a free port (%(default)s)",
    )
    _add_workflows(dev, env, default=env.workflows or DEV_WORKFLOWS)
    dev.add_argument("--store", default="memory", help="fastcore store URL (%(default)s)")
    dev.add_argument("--ui", action="store_true", help="serve the Temporal Web UI too")
    dev.add_argument(
        "--db-filename", help="SQLite file for the dev server's state (default: in memory)"
    )
    dev.set_defaults(handler=_cmd_dev)

    worker = sub.add_parser(
        "worker",
        help="a worker hosting fastcore against an existing Temporal",
        description="Connect to Temporal, host a fastcore engine and the workflows of "
        "--workflows in a Temporal worker and serve the gRPC bridge, until SIGINT/SIGTERM. "
        "Defaults come from the environment (TEMPORAL_ADDRESS, FASTCORE_TASK_QUEUE, "
        "FASTCORE_BRIDGE_ADDRESS, FASTCORE_ADVERTISE_ADDRESS, FASTCORE_STORE, FASTCORE_WORKFLOWS, "
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
    worker.add_argument(
        "--advertise-address",
        default=env.advertise_address,
        metavar="HOST:PORT",
        help="the address other workers and clients dial for this bridge (FASTCORE_ADVERTISE_"
        "ADDRESS; default: the bound address, or this machine's hostname and the bound port "
        "when bound to a wildcard such as 0.0.0.0)",
    )
    _add_workflows(worker, env)
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

    wf = sub.add_parser(
        "workflow",
        help="a fastcore run's history as fastcore's own events (the rest: `temporal`)",
        description="What the `temporal` CLI cannot show: a run's history as fastcore's own "
        "events. To start, signal, query, update, describe, list, cancel or terminate "
        "workflows, or see a history in Temporal's format, use `temporal workflow ... "
        "--address <bridge>`: the bridge serves Temporal's frontend API.",
    )
    wf_sub = wf.add_subparsers(dest="workflow_command", metavar="COMMAND", required=True)
    wf_show = wf_sub.add_parser(
        "show",
        help="a run's history as fastcore's own events",
        description="A run's history as fastcore records it. For Temporal's translation of "
        "it: temporal workflow show --address <bridge> --workflow-id ID [--output json].",
    )
    _add_client_options(wf_show, env)
    _add_workflow_ref(wf_show)
    wf_show.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text: one line per event; json: fastcore's event list (%(default)s)",
    )
    wf_show.add_argument("--file", type=Path, help="write to this file instead of stdout")
    wf_show.set_defaults(handler=_cmd_workflow_show)
    for name in TEMPORAL_DOES:
        # Not a copy of `temporal`: each answers with the `temporal` command to use.
        pointer = wf_sub.add_parser(name, add_help=False)
        pointer.set_defaults(handler=temporal_instead, workflow_command=name)

    add_store_commands(sub)

    compare = sub.add_parser(
        "compare-traces",
        help="compare one workflow's spans on Temporal and on fastcore",
        description="Compare the OpenTelemetry spans of the same workflow on each runtime, "
        "span by span (`fastcore-bridge compare-traces --help` for its options).",
        add_help=False,  # its own parser (bridge.compare) answers --help
    )
    compare.set_defaults(handler=_cmd_compare_traces)
    return parser


def _add_workflows(
    parser: argparse.ArgumentParser, env: Settings, *, default: str | None = None
) -> None:
    parser.add_argument(
        "--workflows",
        default=default if default is not None else env.workflows,
        metavar="MODULE",
        help="the module whose make_engine() and build_worker() make the fastcore engine and "
        "the Temporal worker to host, found from the current directory as `python -m` finds "
        "one, e.g. samples.worker (%(default)s)",
    )


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
    # compare-traces parses its own options (bridge.compare); everything else is ours.
    args, rest = parser.parse_known_args(argv)
    if args.command == "compare-traces" or getattr(args, "handler", None) is temporal_instead:
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


# --------------------------------------------------------------------------- compare-traces


async def _cmd_compare_traces(args: argparse.Namespace) -> int:
    return await compare_main(list(args.rest))
