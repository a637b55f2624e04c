"""``fastcore-bridge workflow show``: a run's history as fastcore's own events.

It connects a ``BridgeClient`` (token and TLS from the command line), reads the history and
prints it as text or JSON; call failures become one-line errors. Everything else one does to
a workflow is the ``temporal`` CLI's, through the bridge's frontend API:
``fastcore-bridge workflow list`` and the like (``TEMPORAL_DOES``) answer with the
``temporal`` command to use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
    _dialable,
    _read_token,
)

if TYPE_CHECKING:
    from fastcore.history import Event

    from ..rpc import BridgeClient, TLSConfig


def _client_tls(args: argparse.Namespace) -> TLSConfig | bool:
    from ..rpc import TLSConfig

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


# --------------------------------------------------------------------------- workflow


@contextlib.asynccontextmanager
async def _bridge_client(args: argparse.Namespace) -> AsyncIterator[BridgeClient]:
    from ..rpc import BridgeClient, RPCError

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

    from ..rpc import RPCError

    args.rpc_timeout = timedelta(seconds=args.timeout)
    async with _bridge_client(args) as client:
        try:
            return await fn(client)
        except (RPCError, FastcoreError) as err:
            raise CommandError(f"{type(err).__name__}: {err}") from None


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

        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        events = await handle.fetch_history(rpc_timeout=args.rpc_timeout)
        if args.output == "json":
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


TEMPORAL_DOES = (
    "start",
    "execute",
    "result",
    "list",
    "count",
    "describe",
    "signal",
    "signal-with-start",
    "query",
    "update",
    "cancel",
    "terminate",
    "stack",
)
"""``workflow`` commands the ``temporal`` CLI does through the bridge; each of these names
answers with the ``temporal`` command instead of copying it."""


async def temporal_instead(args: argparse.Namespace) -> int:
    """Say which ``temporal`` command does what ``fastcore-bridge workflow NAME`` asked."""
    from .._devserver import DevServerError, find_temporal_cli
    from ._settings import Settings

    try:
        temporal = find_temporal_cli()
    except DevServerError:
        temporal = "temporal"
    rest = list(getattr(args, "rest", []))
    address = _dialable(Settings.from_env().bridge_address)
    if "--address" in rest[:-1]:
        i = rest.index("--address")
        address = rest[i + 1]
        del rest[i : i + 2]
    ids = [a for a in rest if not a.startswith("-")][:1]
    command = [temporal, "workflow", args.workflow_command, "--address", address]
    if ids:
        command += ["--workflow-id", ids[0]]
    raise CommandError(
        f"`workflow {args.workflow_command}` is the temporal CLI's job: the bridge serves "
        f"Temporal's frontend API, so this does it on fastcore's workflows:\n  "
        f"{' '.join(command)}{' ...' if len(rest) > len(ids) else ''}\n(`{temporal} workflow "
        f"{args.workflow_command} --help` lists its options; {PROG} workflow show gives a "
        "history as fastcore's own events)",
        EXIT_USAGE,
    )
