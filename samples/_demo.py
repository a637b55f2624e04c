"""The demo: every scenario end to end on one worker, and where each step ran and how long.

``python -m samples`` (or ``bash scripts/demo``) starts a Temporal dev server (unless
``--temporal-address`` names one), a worker hosting fastcore (``samples.worker``), runs each
scenario module's ``run_sample`` in turn, and prints the results table; it exits 0 when
every scenario succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from ._common import format_table, summary_line
from .worker import running_worker

__all__ = ["SCENARIOS", "main"]

SCENARIOS: tuple[str, ...] = (
    "trading_preflight",
    "iot_devices",
    "realtime_pipeline",
    "loan_approval",
    "data_migration",
)
"""The sample modules the demo runs, in order."""

_log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m samples",
        description="Start a Temporal dev server (unless --temporal-address is given) and a "
        "worker hosting fastcore, run every sample scenario end to end, print the results "
        "table, and exit 0 if every scenario succeeded.",
    )
    parser.add_argument(
        "--temporal-address",
        help="an existing Temporal frontend host:port (default: start an embedded dev server)",
    )
    parser.add_argument("--namespace", default="default", help="Temporal namespace")
    parser.add_argument(
        "--task-queue", help="task queue for the demo's worker (default: a fresh unique one)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="run only this scenario (repeatable); one of: " + ", ".join(SCENARIOS),
    )
    parser.add_argument(
        "--json", action="store_true", help="print the full reports as JSON after the table"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo with the command line ``argv``; return the exit status.

    0 when every scenario succeeded, 1 when one failed (or Temporal could not be reached),
    2 for an unknown scenario.
    """
    args = _parser().parse_args(argv)
    chosen = args.scenarios or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        print(
            f"python -m samples: error: unknown scenario(s) {', '.join(unknown)}; choose "
            f"from {', '.join(SCENARIOS)}",
            file=sys.stderr,
        )
        return 2
    # Temporal (and fastcore, as Temporal does) logs every failed activity attempt as a
    # warning with a traceback; the scenarios fail some on purpose (retries, a rejection),
    # and the table says what happened.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    logging.getLogger("fastcore.activity").setLevel(logging.ERROR)
    try:
        return asyncio.run(_demo(args, chosen))
    except KeyboardInterrupt:
        return 130


@contextlib.asynccontextmanager
async def _temporal(address: str | None) -> AsyncIterator[str]:
    """The given Temporal address, or a dev server started (and stopped) for the block."""
    if address is not None:
        yield address
        return
    from bridge._devserver import DevServer

    print("starting a Temporal dev server ...", flush=True)
    server = DevServer(time_skipping=True)
    await server.start_async()
    try:
        yield server.target
    finally:
        await server.stop_async()


async def _demo(args: argparse.Namespace, chosen: list[str]) -> int:
    started = time.perf_counter()
    async with _temporal(args.temporal_address) as target:
        try:
            client = await Client.connect(target, namespace=args.namespace)
        except (RPCError, RuntimeError, OSError) as err:
            print(
                f"python -m samples: error: cannot connect to Temporal at {target}: {err}",
                file=sys.stderr,
            )
            return 1
        task_queue = args.task_queue or f"fastcore-demo-{uuid.uuid4().hex[:8]}"
        print(
            f"Temporal at {target}; worker with fastcore on task queue {task_queue}\n", flush=True
        )
        reports: list[dict[str, Any]] = []
        failures: list[str] = []
        async with running_worker(client, task_queue=task_queue) as (engine, _):
            for name in chosen:
                module = importlib.import_module(f"samples.{name}")
                try:
                    report = await asyncio.wait_for(
                        module.run_sample(client, task_queue, engine), timeout=60
                    )
                except Exception as err:  # report every scenario, then fail the command
                    failures.append(f"{name}: {type(err).__name__}: {err}")
                    _log.debug("scenario %s failed", name, exc_info=True)
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
    return 1 if failures else 0
