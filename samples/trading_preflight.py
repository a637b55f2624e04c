"""(a) Trading pre-flight: an order workflow on Temporal whose checks run in fastcore.

The ``TradingOrderWorkflow`` (Temporal) runs ``TradePreflight`` (fastcore): check limits,
check margin, route the order, in microseconds, inside one Temporal activity, then books
the fill with an ordinary Temporal activity. An order over its limit is rejected with
``ApplicationError(type="Rejected", non_retryable=True)`` in fastcore, which reaches the
Temporal workflow as a non-retryable ``ApplicationError``: no retries, a clean rejection.

Run it alone: ``python -m samples.trading_preflight``.
"""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import Client

from fastcore import Engine

from ._run import exit_now, new_prefix, run_standalone, scenario_report
from .temporal_workflows import TradingOrderWorkflow

__all__ = ["SCENARIO", "main", "run_sample"]

SCENARIO = "trading_preflight"

GOOD_ORDER = {
    "account": "acct-pro",
    "symbol": "ACME",
    "side": "buy",
    "qty": 500,
    "price": 182.25,
}
"""An order well inside its account's limits."""

OVER_LIMIT_ORDER = {
    "account": "acct-retail",
    "symbol": "ACME",
    "side": "buy",
    "qty": 5_000,
    "price": 182.25,
}
"""An order over the retail account's per-order limit: rejected in pre-flight."""


async def run_sample(
    client: Client,
    task_queue: str,
    engine: Engine | None = None,
    *,
    prefix: str | None = None,
    local: bool = False,
) -> dict[str, Any]:
    """Place one good order and one over-limit order; return the scenario's report.

    Args:
        client: A Temporal client.
        task_queue: The task queue a sample worker polls.
        engine: The worker's engine, when it runs in this process (unused here).
        prefix: Workflow id prefix (unique by default).
        local: Run the fastcore sub-workflow in a local activity (no server round trip
            for the activity itself).
    """
    del engine
    prefix = prefix or new_prefix(SCENARIO)
    t0 = time.perf_counter()
    filled = await client.execute_workflow(
        TradingOrderWorkflow.run,
        args=[{**GOOD_ORDER, "order_id": f"{prefix}-1"}, {"local": local}],
        id=f"{prefix}-1",
        task_queue=task_queue,
    )
    rejected = await client.execute_workflow(
        TradingOrderWorkflow.run,
        args=[{**OVER_LIMIT_ORDER, "order_id": f"{prefix}-2"}, {"local": local}],
        id=f"{prefix}-2",
        task_queue=task_queue,
    )
    steps = [
        *({**s, "step": f"[order 1] {s['step']}"} for s in filled["steps"]),
        *({**s, "step": f"[order 2] {s['step']}"} for s in rejected["steps"]),
    ]
    outcome = (
        f"order 1 {filled['status']} on {filled.get('venue')}; order 2 {rejected['status']} "
        f"({rejected.get('error_type')}, non-retryable={rejected.get('non_retryable')})"
    )
    return scenario_report(SCENARIO, outcome, started=t0, steps=steps, results=[filled, rejected])


def main() -> None:
    """Start a dev server and a worker, run the scenario, print its table."""
    exit_now(run_standalone(run_sample))


if __name__ == "__main__":
    main()
