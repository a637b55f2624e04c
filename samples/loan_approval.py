"""(d) Loan approval: days of waiting on Temporal, the scoring in fastcore.

The ``LoanApprovalWorkflow`` (Temporal) scores the application with ``CreditScoring``
(fastcore), then waits, durably, up to ``approval_timeout_days`` for an underwriter's
``approve``/``decline`` signal. Applications the score rules out are declined at once.

Run alone (or in the demo) on a dev server that allows time skipping, the sample skips
the workflow's clock two days ahead before the underwriter approves, so the wait is days
on the workflow's clock and milliseconds on yours.

Run it alone: ``python -m samples.loan_approval``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from temporalio.client import Client

from fastcore import Engine

from ._common import human_duration
from ._run import (
    exit_now,
    fast_forward,
    new_prefix,
    poll_until,
    run_standalone,
    scenario_report,
)
from .temporal_workflows import LoanApprovalWorkflow

__all__ = ["SCENARIO", "main", "run_sample"]

SCENARIO = "loan_approval"


async def run_sample(
    client: Client,
    task_queue: str,
    engine: Engine | None = None,
    *,
    prefix: str | None = None,
    applicant: str = "erin",
    wait: timedelta = timedelta(days=2),
) -> dict[str, Any]:
    """Apply for a loan, let ``wait`` pass (skipped when the server allows), approve.

    Args:
        client: A Temporal client.
        task_queue: The task queue a sample worker polls.
        engine: The worker's engine, when it runs in this process (unused here).
        prefix: Workflow id prefix (unique by default).
        applicant: Who applies (``"erin"`` scores "review", ``"bob"`` "approve",
            ``"carol"`` "decline").
        wait: How long the underwriter takes, on the workflow's clock.
    """
    del engine
    prefix = prefix or new_prefix(SCENARIO)
    t0 = time.perf_counter()
    handle = await client.start_workflow(
        LoanApprovalWorkflow.run,
        {
            "application_id": prefix,
            "applicant": applicant,
            "amount": 20_000,
            "income": 90_000,
            "approval_timeout_days": 7,
        },
        id=prefix,
        task_queue=task_queue,
    )

    async def scored() -> bool:
        status = await handle.query(LoanApprovalWorkflow.status)
        return bool(status["stage"] != "scoring")

    await poll_until(scored, what="the application to be scored")
    status = await handle.query(LoanApprovalWorkflow.status)
    skipped = False
    if status["stage"] == "awaiting_approval":
        skipped = await fast_forward(client, handle, wait)
        await handle.signal(LoanApprovalWorkflow.approve, "underwriter-7")
    result = await handle.result()
    outcome = f"score {result['score']} ({result['recommendation']}): {result['decision']}"
    if status["stage"] == "awaiting_approval":
        outcome += f" after {human_duration(result['waited_seconds'])}"
        outcome += " (time skipped)" if skipped else ""
    return scenario_report(
        SCENARIO,
        outcome,
        started=t0,
        steps=result["steps"],
        results=[result],
        time_skipped=skipped,
    )


def main() -> None:
    """Start a dev server and a worker, run the scenario, print its table."""
    exit_now(run_standalone(run_sample))


if __name__ == "__main__":
    main()
