"""(d') Loan approval across runtimes: the underwriter's signal reaches the fastcore scoring.

The Temporal ``ForwardedLoanWorkflow`` runs ``ReviewedCreditScoring`` (fastcore) through the
bridge with ``mirror=True``; the scoring fetches the credit report, computes the score and
then waits, inside fastcore, for an underwriter's ``approve``/``decline`` (applications the
score rules out are declined at once). The underwriter talks to the *Temporal* workflow
only:

- ``approve``/``decline`` signals to the Temporal workflow are forwarded to the scoring
  sub-workflow where it runs (a local activity calls that worker's bridge endpoint, which
  the workflow learned from the mirror), on whichever worker process that is;
- the ``add_condition`` update is forwarded likewise and answers with the sub-workflow's
  result;
- the ``scoring`` query answers with the sub-workflow's latest state, kept fresh by its
  mirrored history events (``scoring_events``, ``scoring_location``).

Two workers split the work, as in production: the workflow worker (Temporal workflows, the
forwarding activity) and the fastcore worker (an engine, its bridge endpoint, the bridge
activity), each polling its own task queue. ``python -m samples.loan_approval_forwarding``
runs both in one process against a dev server; ``tests/bridge/subworkflow/test_forwarding.py``
runs them as two processes.

The fastcore side lives in ``samples.forwarding_defs``. Temporal's sandbox imports this
module for the workflow: bridge and the fastcore definitions pass through, and nothing here
holds workflow state at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy as TRetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    import bridge
    from bridge import BridgeForwarder, FastcoreMirror
    from samples.forwarding_defs import (
        FASTCORE_ACTIVITIES,
        FASTCORE_WORKFLOWS,
        ReviewedCreditScoring,
    )

__all__ = [
    "FASTCORE_ACTIVITIES",
    "FASTCORE_WORKFLOWS",
    "SCENARIO",
    "TEMPORAL_WORKFLOWS",
    "ForwardedLoanWorkflow",
    "ReviewedCreditScoring",
    "fastcore_worker",
    "main",
    "run_sample",
    "workflow_worker",
]

SCENARIO = "loan_approval_forwarding"


# --------------------------------------------------------------------------- Temporal


@workflow.defn
class ForwardedLoanWorkflow:
    """A loan application on Temporal whose decision is made in the fastcore scoring."""

    def __init__(self) -> None:
        self.mirror = FastcoreMirror()
        self.forwarded: list[dict[str, Any]] = []

    @property
    def scoring_id(self) -> str:
        """The fastcore sub-workflow's id."""
        return f"{workflow.info().workflow_id}/scoring"

    @workflow.run
    async def run(self, application: dict[str, Any]) -> dict[str, Any]:
        days = float(application.get("approval_timeout_days", 7))
        scoring: dict[str, Any] = await bridge.execute_fastcore_workflow(
            ReviewedCreditScoring.run,
            application,
            id=self.scoring_id,
            mirror=True,
            state_query=ReviewedCreditScoring.status,
            task_queue=application.get("fastcore_task_queue"),
            # the scoring waits for a human: the attempt may last as long as the wait
            start_to_close_timeout=timedelta(days=days + 1),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=TRetryPolicy(
                initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5)
            ),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        location = self.mirror.location(self.scoring_id)
        return {
            "application_id": application["application_id"],
            "scoring": scoring,
            "scoring_location": location.to_json() if location else None,
            "mirrored_events": len(self.mirror.events(self.scoring_id)),
            "forwarded": self.forwarded,
        }

    async def _forward(self, signal: Any, by: str) -> None:
        name = getattr(signal, "__name__", str(signal))
        try:
            await self.mirror.signal(self.scoring_id, signal, by)
            self.forwarded.append({"signal": name, "by": by, "ok": True})
        except FailureError as err:  # e.g. the scoring already decided and closed
            self.forwarded.append({"signal": name, "by": by, "ok": False, "error": str(err)})

    @workflow.signal
    async def approve(self, by: str) -> None:
        """An underwriter approves: forwarded to the scoring sub-workflow."""
        await self._forward(ReviewedCreditScoring.approve, by)

    @workflow.signal
    async def decline(self, by: str) -> None:
        """An underwriter declines: forwarded to the scoring sub-workflow."""
        await self._forward(ReviewedCreditScoring.decline, by)

    @workflow.update
    async def add_condition(self, condition: str) -> list[str]:
        """Attach a condition to the offer, in the scoring sub-workflow (forwarded)."""
        result: list[str] = await self.mirror.execute_update(
            self.scoring_id, ReviewedCreditScoring.add_condition, condition
        )
        return result

    @workflow.query
    def scoring(self) -> Any:
        """The scoring sub-workflow's latest state (its ``status``), from the mirror."""
        return self.mirror.state(self.scoring_id)

    @workflow.query
    def scoring_events(self) -> list[dict[str, Any]]:
        """The scoring sub-workflow's history so far, from the mirror."""
        return self.mirror.events(self.scoring_id)

    @workflow.query
    def scoring_location(self) -> dict[str, Any] | None:
        """Where the scoring sub-workflow runs (bridge endpoint, ids, host, pid)."""
        location = self.mirror.location(self.scoring_id)
        return location.to_json() if location else None


TEMPORAL_WORKFLOWS: list[type] = [ForwardedLoanWorkflow]


# --------------------------------------------------------------------------- workers


@asynccontextmanager
async def workflow_worker(
    client: Any, *, task_queue: str, identity: str | None = None, **options: Any
) -> AsyncIterator[Any]:
    """Run the workflow worker: the Temporal workflow and the forwarding local activity.

    Yields:
        The running ``temporalio.worker.Worker``.
    """
    from temporalio.worker import Worker

    if identity is not None:
        options["identity"] = identity
    async with BridgeForwarder() as forwarder:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=TEMPORAL_WORKFLOWS,
            activities=forwarder.activities,
            **options,
        )
        async with worker:
            yield worker


@asynccontextmanager
async def fastcore_worker(
    client: Any,
    *,
    task_queue: str,
    bridge_address: str = "127.0.0.1:0",
    identity: str | None = None,
    engine_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[Any, Any]]:
    """Run the fastcore worker: an engine, its bridge endpoint and the bridge activity.

    Args:
        client: A connected Temporal client.
        task_queue: The task queue of the bridge activity.
        bridge_address: Where the bridge endpoint listens (a free loopback port by default).
        identity: The Temporal worker's identity.
        engine_options: More ``Engine`` options (``tracer_provider``, ``store``, ...).
        **options: More ``temporalio.worker.Worker`` options.

    Yields:
        The bridge server (``.address`` is where it listens) and the running worker.
    """
    from temporalio.worker import Worker

    from fastcore import Engine

    if identity is not None:
        options["identity"] = identity
    async with (
        Engine(
            workflows=FASTCORE_WORKFLOWS, activities=FASTCORE_ACTIVITIES, **(engine_options or {})
        ) as engine,
        bridge.BridgeServer(engine, address=bridge_address) as server,
    ):
        worker = Worker(
            client,
            task_queue=task_queue,
            activities=bridge.fastcore_activities(
                engine, workflows=FASTCORE_WORKFLOWS, bridge_address=server.address
            ),
            **options,
        )
        async with worker:
            yield server, worker


# --------------------------------------------------------------------------- the client


async def run_sample(
    client: Any,
    task_queue: str,
    *,
    fastcore_task_queue: str,
    prefix: str | None = None,
    applicant: str = "erin",
    condition: str = "proof of income",
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Apply, wait (via the mirror) for the scoring to await approval, add a condition and
    approve, both through the Temporal workflow; return the result and what the mirror saw.

    Args:
        client: A Temporal client.
        task_queue: The workflow worker's task queue.
        fastcore_task_queue: The fastcore worker's task queue.
        prefix: The workflow id (unique by default).
        applicant: Who applies (``"erin"`` is reviewed, ``"carol"`` declined at once).
        condition: The condition the underwriter adds before approving.
        timeout: Seconds the scoring may take to reach the underwriter.
    """
    import time

    from ._run import new_prefix, poll_until

    wf_id = prefix or new_prefix(SCENARIO)
    t0 = time.perf_counter()
    handle = await client.start_workflow(
        ForwardedLoanWorkflow.run,
        {
            "application_id": wf_id,
            "applicant": applicant,
            "amount": 20_000,
            "income": 90_000,
            "approval_timeout_days": 7,
            "fastcore_task_queue": fastcore_task_queue,
        },
        id=wf_id,
        task_queue=task_queue,
    )

    async def scored() -> bool:
        state = await handle.query(ForwardedLoanWorkflow.scoring)
        return state is not None and state["stage"] != "scoring"

    await poll_until(scored, timeout=timeout, what="the scoring to finish")
    waiting = await handle.query(ForwardedLoanWorkflow.scoring)
    conditions: list[str] = []
    if waiting["stage"] == "awaiting_approval":
        conditions = await handle.execute_update(ForwardedLoanWorkflow.add_condition, condition)
        await handle.signal(ForwardedLoanWorkflow.approve, "underwriter-7")
    result: dict[str, Any] = await handle.result()
    return {
        "scenario": SCENARIO,
        "workflow_id": wf_id,
        "waiting_state": waiting,
        "conditions": conditions,
        "result": result,
        "final_state": await handle.query(ForwardedLoanWorkflow.scoring),
        "elapsed_ms": (time.perf_counter() - t0) * 1000,
    }


def main() -> None:
    """Start a dev server, both workers in this process, run the scenario, print it."""
    import asyncio
    import json
    import uuid

    from temporalio.client import Client

    from bridge._devserver import DevServer
    from samples._run import exit_now

    # The importable module, not ``__main__``: Temporal's sandbox imports the workflow by name.
    from samples.loan_approval_forwarding import fastcore_worker, run_sample, workflow_worker

    async def go() -> int:
        server = DevServer()
        await server.start_async()
        try:
            client = await Client.connect(server.target)
            queue = f"{SCENARIO}-{uuid.uuid4().hex[:8]}"
            async with (
                workflow_worker(client, task_queue=queue),
                fastcore_worker(client, task_queue=f"{queue}-fastcore"),
            ):
                report = await run_sample(client, queue, fastcore_task_queue=f"{queue}-fastcore")
            print(json.dumps(report, indent=2, default=str))
            return 0
        finally:
            await server.stop_async()

    exit_now(asyncio.run(go()))


if __name__ == "__main__":
    main()
