"""``fastcore-bridge workflow list/describe/show/signal/query``: workflows through a bridge.

Each command connects a ``BridgeClient`` (token and TLS from the command line), makes its
call and prints the answer as text or JSON; call failures become one-line errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    _read_token,
)

if TYPE_CHECKING:
    from fastcore import WorkflowExecutionDescription
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

        from ..history import to_temporal_json

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
