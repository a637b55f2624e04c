"""Client-side helpers of the samples: ids, polling, time skipping, running one alone."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from ._common import format_table

__all__ = [
    "RunSample",
    "exit_now",
    "fast_forward",
    "new_prefix",
    "poll_until",
    "run_standalone",
    "scenario_report",
    "start_skipping",
    "time_skipping_client",
]

RunSample = Callable[..., Awaitable[dict[str, Any]]]
"""``async def run_sample(client, task_queue, engine=None, *, prefix=None) -> dict``."""

_NOT_ENABLED = "time-skipping feature is not enabled"


def new_prefix(scenario: str) -> str:
    """A workflow id prefix unique to one run of a scenario."""
    return f"{scenario}-{uuid.uuid4().hex[:10]}"


async def poll_until(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, what: str = "condition"
) -> None:
    """Call ``check`` until it returns True; raise ``TimeoutError`` after ``timeout`` seconds.

    The short pause between calls paces the polling; it is not a guess at how long the
    condition takes.
    """
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)


def scenario_report(
    scenario: str,
    outcome: str,
    *,
    started: float,
    steps: Sequence[Mapping[str, Any]],
    results: Sequence[Any],
    **extra: Any,
) -> dict[str, Any]:
    """What ``run_sample`` returns, the row the demo's table prints.

    Args:
        scenario: The scenario's name.
        outcome: One line on how it ended.
        started: ``time.perf_counter()`` when the client started: ``elapsed_ms`` runs from it.
        steps: The steps the workflows recorded (``step``, ``runtime``, ``latency_us``, ...).
        results: The workflows' results.
        **extra: More keys (``time_skipped``).
    """
    return {
        "scenario": scenario,
        "outcome": outcome,
        "steps": list(steps),
        "elapsed_ms": (time.perf_counter() - started) * 1000,
        "results": list(results),
        **extra,
    }


def _unsupported(err: RPCError) -> bool:
    return _NOT_ENABLED in str(err).lower()


async def fast_forward(
    client: Client, handle: WorkflowHandle[Any, Any], duration: timedelta
) -> bool:
    """Skip a running workflow's clock ahead by ``duration`` (Temporal's per-workflow time
    skipping, ``temporalio.testing.TimeSkipper``) and wait until the skip is done or the
    workflow has closed.

    Returns:
        True when the server skipped time; False when it does not allow time skipping (it
        needs the dynamic config ``frontend.WorkflowTimeSkippingEnabled=true``, which
        ``DevServer(time_skipping=True)``, ``fastcore-bridge dev`` and the demo set).
    """
    from temporalio.testing import TimeSkipper

    try:
        # False from TimeSkipper means the workflow closed before the whole duration
        # passed: time was still skipped.
        await TimeSkipper(client).fast_forward(handle, duration)
    except RPCError as err:
        if _unsupported(err):
            return False
        raise
    return True


def time_skipping_client(client: Client) -> Client:
    """A client whose workflow starts ask the server to skip time whenever the workflow
    only waits on timers (``RPCError`` when the server does not allow it)."""
    from temporalio.testing import TimeSkipper

    return TimeSkipper(client).client


async def start_skipping(
    client: Client,
    workflow: Any,
    arg: Any,
    *,
    fallback_arg: Any,
    **kwargs: Any,
) -> tuple[WorkflowHandle[Any, Any], bool]:
    """Start ``workflow(arg)`` with time skipping, or ``workflow(fallback_arg)`` without it
    when the server does not allow time skipping.

    Returns:
        The handle, and whether time skipping is on for the workflow.
    """
    try:
        skipping = time_skipping_client(client)
        return await skipping.start_workflow(workflow, arg, **kwargs), True
    except RPCError as err:
        if not _unsupported(err):
            raise
    return await client.start_workflow(workflow, fallback_arg, **kwargs), False


def exit_now(status: int) -> NoReturn:
    """End the process with ``status`` once output is flushed, skipping interpreter
    finalization, where the Temporal SDK's native threads can crash Python 3.11."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


def run_standalone(run_sample: RunSample, argv: Sequence[str] | None = None) -> int:
    """Run one sample end to end: a dev server (unless ``--temporal-address``), a worker
    hosting fastcore, the sample; print its table. The ``main()`` of every sample module."""
    parser = argparse.ArgumentParser(description=run_sample.__doc__)
    parser.add_argument(
        "--temporal-address",
        help="an existing Temporal frontend host:port (default: start a dev server)",
    )
    args = parser.parse_args(argv)
    return asyncio.run(_standalone(run_sample, args.temporal_address))


async def _standalone(run_sample: RunSample, temporal_address: str | None) -> int:
    from bridge._devserver import DevServer

    from .worker import running_worker

    server: DevServer | None = None
    if temporal_address is None:
        print("starting a Temporal dev server ...", flush=True)
        server = DevServer(time_skipping=True)
        await server.start_async()
        temporal_address = server.target
    try:
        client = await Client.connect(temporal_address)
        task_queue = f"samples-{uuid.uuid4().hex[:8]}"
        async with running_worker(client, task_queue=task_queue) as (engine, _):
            report = await run_sample(client, task_queue, engine)
        print(format_table([report]))
        return 0
    finally:
        if server is not None:
            await server.stop_async()
