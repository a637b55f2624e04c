"""One worker process of the loan-approval forwarding test, and a probe workflow.

``python -m tests.bridge.subworkflow._forwarding_worker ROLE TARGET TASK_QUEUE IDENTITY``
runs the ``workflow`` worker (the Temporal ``ForwardedLoanWorkflow`` and the forwarding local
activity) or the ``fastcore`` worker (an engine, its bridge endpoint on a free loopback
port and the bridge activity) of ``samples.loan_approval_forwarding`` on TASK_QUEUE, prints
``READY pid=<pid> bridge=<address or ->`` once it polls, and stops on SIGTERM.

``ForwardingProbe`` (a Temporal workflow, imported by the sandbox, so this module imports only
the standard library, temporalio and, passed through, bridge and the samples) drives the
workflow-side helpers' edge cases against a ``ReviewedCreditScoring`` sub-workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    import bridge
    from bridge import (
        FastcoreLocation,
        FastcoreMirror,
        execute_fastcore_update,
        query_fastcore_workflow,
        signal_fastcore_workflow,
    )
    from samples.forwarding_defs import ReviewedCreditScoring

READY = "READY"


def _failure(err: FailureError) -> dict[str, Any]:
    """What a failed forward says, as plain data."""
    chain: list[str] = []
    cause: BaseException | None = err
    while cause is not None:
        chain.append(f"{type(cause).__name__}:{getattr(cause, 'type', None) or ''}")
        cause = cause.__cause__
    return {
        "type": getattr(err, "type", None),
        "non_retryable": getattr(err, "non_retryable", None),
        "chain": chain,
    }


@workflow.defn
class ForwardingProbe:
    """Runs two scorings with ``mirror=True`` and forwards to them every way there is."""

    def __init__(self) -> None:
        self.mirror = FastcoreMirror()

    def _start(self, sub_id: str, spec: dict[str, Any], state_query: Any) -> Any:
        return bridge.start_fastcore_workflow(
            ReviewedCreditScoring.run,
            {"applicant": "erin", "amount": 20_000, "income": 90_000},
            id=sub_id,
            mirror=True,
            state_query=state_query,
            task_queue=spec["fastcore_task_queue"],
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=10),
        )

    def _stage(self, sub_id: str) -> str | None:
        state = self.mirror.state(sub_id)
        return state.get("stage") if isinstance(state, dict) else None

    @workflow.run
    async def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        wf_id = workflow.info().workflow_id
        sub, other = f"{wf_id}/scoring", f"{wf_id}/no-state"
        out: dict[str, Any] = {}
        scoring = self._start(sub, spec, ReviewedCreditScoring.status)
        unstated = self._start(other, spec, "no_such_query")
        loc = await self.mirror.wait_location(sub)
        await workflow.wait_condition(lambda: self._stage(sub) == "awaiting_approval")
        out["live"] = await query_fastcore_workflow(loc, ReviewedCreditScoring.status)
        out["update"] = await execute_fastcore_update(
            loc.to_json(), ReviewedCreditScoring.add_condition, "collateral"
        )
        attempts: dict[str, Any] = {
            "rejected": lambda: execute_fastcore_update(loc, "add_condition", " "),
            "unknown_signal": lambda: signal_fastcore_workflow(loc, "no_such_signal", 1),
            "unreachable": lambda: signal_fastcore_workflow(
                FastcoreLocation(bridge_address="127.0.0.1:1", workflow_id=sub),
                "approve",
                "nobody",
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(milliseconds=50), maximum_attempts=2
                ),
            ),
        }
        for key, call in attempts.items():
            try:
                await call()
                out[key] = "delivered"
            except FailureError as err:
                out[key] = _failure(err)
        await self.mirror.signal(sub, ReviewedCreditScoring.approve, "probe")
        out["result"] = await scoring
        try:
            await self.mirror.signal(sub, "approve", "too late")
            out["closed"] = "delivered"
        except FailureError as err:
            out["closed"] = _failure(err)
        await workflow.wait_condition(
            lambda: bool(self.mirror.to_json().get(other, {}).get("state_error"))
        )
        out["state_error"] = self.mirror.to_json()[other]["state_error"]
        await self.mirror.signal(other, ReviewedCreditScoring.decline, "probe")
        await unstated
        out["statuses"] = {k: v["status"] for k, v in self.mirror.to_json().items()}
        return out


async def _serve(role: str, target: str, task_queue: str, identity: str) -> None:
    from temporalio.client import Client

    from samples import loan_approval_forwarding as sample

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    client = await Client.connect(target)
    options: dict[str, Any] = {
        "identity": identity,
        "graceful_shutdown_timeout": timedelta(seconds=1),
    }
    async with contextlib.AsyncExitStack() as stack:
        address = "-"
        if role == "workflow":
            await stack.enter_async_context(
                sample.workflow_worker(client, task_queue=task_queue, **options)
            )
        elif role == "fastcore":
            server, _ = await stack.enter_async_context(
                sample.fastcore_worker(client, task_queue=task_queue, **options)
            )
            address = server.address
        else:
            raise SystemExit(f"unknown role {role!r}: workflow or fastcore")
        print(f"{READY} pid={os.getpid()} bridge={address}", flush=True)
        await stop.wait()


def main(argv: list[str]) -> None:
    """``ROLE TARGET TASK_QUEUE IDENTITY``: run one worker until SIGTERM."""
    role, target, task_queue, identity = argv
    asyncio.run(_serve(role, target, task_queue, identity))
    # Skip interpreter finalization, where the Temporal SDK's native threads can crash 3.11.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
