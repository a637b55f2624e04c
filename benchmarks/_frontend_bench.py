"""Temporal's own client against fastcore-through-the-bridge and against a Temporal dev server.

The same ``temporalio.client.Client`` code times the same calls on both, in one run:

- ``start_result``: ``execute_workflow`` of a workflow that returns at once (start, then the
  result long poll).
- ``signal``: ``handle.signal`` to a running workflow, until the server acknowledged it.
- ``query``: ``handle.query`` answered from the workflow's state.
- ``update``: ``handle.execute_update`` through the handler to its result.
- ``describe``: ``handle.describe``.

On the bridge, a fastcore ``Engine`` (memory store) and its ``BridgeServer`` run in this
process on loopback; on Temporal, the tuned dev server (``bridge._devserver``) and a
``temporalio.worker.Worker`` (unsandboxed) in this process run the same workflow class,
registered with ``bridge.as_temporal_workflow``. Latencies are p50/p95 in milliseconds.
Run alone with ``python -m benchmarks._frontend_bench`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks._bench_common import markdown_table, percentile, timed_calls
from benchmarks._bridge_bench import BridgeCounter
from bridge import BridgeServer, as_temporal_workflow
from bridge._devserver import DevServer
from fastcore import Engine, workflow

__all__ = ["BENCHMARKS", "FrontendNoop", "format_table", "run_frontend"]

Result = dict[str, Any]
BENCHMARKS = ("start_result", "signal", "query", "update", "describe")


@workflow.defn
class FrontendNoop:
    """Returns at once."""

    @workflow.run
    async def run(self) -> int:
        return 1


async def _client_calls(
    client: Client, task_queue: str, target: str, samples: int, warmup: int
) -> list[Result]:
    """Time every benchmark with ``client``; the rows say which ``target`` it talked to."""
    rows: list[Result] = []

    async def start_result() -> None:
        await client.execute_workflow(
            "FrontendNoop", id=f"bench-{uuid.uuid4().hex}", task_queue=task_queue
        )

    counter = await client.start_workflow(
        "BridgeCounter", id=f"bench-{uuid.uuid4().hex}", task_queue=task_queue
    )
    await counter.query("value")  # the first workflow task ran: the workflow is parked
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "start_result": start_result,
        "signal": lambda: counter.signal("add", 1),
        "query": lambda: counter.query("value"),
        "update": lambda: counter.execute_update("set", 5),
        "describe": counter.describe,
    }
    for name in BENCHMARKS:
        taken = await timed_calls(lambda _, call=calls[name]: call(), samples, warmup=warmup)
        ms = [s * 1000 for s in taken]
        rows.append(
            {
                "runtime": target,
                "benchmark": name,
                "n": len(ms),
                "p50_ms": percentile(ms, 50),
                "p95_ms": percentile(ms, 95),
                "mean_ms": statistics.fmean(ms),
            }
        )
    await counter.signal("finish")
    await counter.result()
    return rows


async def run_frontend(*, samples: int = 200, warmup: int = 20) -> list[Result]:
    """Time the client calls against the bridge and against a tuned dev server.

    Args:
        samples: Timed calls per benchmark and target.
        warmup: Untimed calls before each.

    Returns:
        One row per target and benchmark.
    """
    rows: list[Result] = []
    workflows = [FrontendNoop, BridgeCounter]  # the counter the bridge section times too
    async with Engine(workflows=workflows) as engine, BridgeServer(engine) as server:
        client = await Client.connect(server.address)
        rows += await _client_calls(client, "bench", "fastcore via bridge", samples, warmup)
    async with DevServer(profile="tuned") as dev:
        client = await dev.connect()
        queue = f"frontend-bench-{uuid.uuid4().hex}"
        async with Worker(
            client,
            task_queue=queue,
            workflows=[as_temporal_workflow(w) for w in workflows],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            rows += await _client_calls(client, queue, "Temporal dev server", samples, warmup)
    return rows


def format_table(rows: Sequence[Result]) -> str:
    """Side by side: each call's p50/p95 on both targets and how much faster the bridge is."""
    by = {(r["runtime"], r["benchmark"]): r for r in rows}
    cells = []
    for name in BENCHMARKS:
        f = by.get(("fastcore via bridge", name))
        t = by.get(("Temporal dev server", name))
        ratio = f"{t['p50_ms'] / f['p50_ms']:.1f}" if f and t and f["p50_ms"] else "-"
        cells.append([name, _pair(f), _pair(t), ratio])
    return markdown_table(
        [
            "call",
            "fastcore via bridge p50 / p95 ms",
            "Temporal dev server p50 / p95 ms",
            "bridge faster by (x, p50)",
        ],
        cells,
        "lrrr",
    )


def _pair(row: Result | None) -> str:
    return "-" if row is None else f"{row['p50_ms']:.2f} / {row['p95_ms']:.2f}"


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m benchmarks._frontend_bench [--samples N]``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    ns = parser.parse_args(argv)
    print(format_table(asyncio.run(run_frontend(samples=ns.samples, warmup=ns.warmup))))


if __name__ == "__main__":
    main()
