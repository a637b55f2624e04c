"""The two replay proofs for every sample workflow that runs on both runtimes.

For each fastcore workflow the samples define (``samples.fastcore_defs.WORKFLOWS``, and the
forwarding sample's ``ReviewedCreditScoring`` with its signal, update and query), on the
inputs the samples use, including the failing and compensating paths:

(a) run on a fastcore ``Engine``, its history translated with ``bridge.history.to_temporal``
    replays in Temporal's own ``temporalio.worker.Replayer`` against
    ``bridge.as_temporal_workflow(cls)`` (Temporal's default sandboxed runner) without error;
(b) run on a real Temporal worker (``as_temporal_workflow`` + ``as_temporal_activities``,
    default sandboxed runner), its history fetched from the server and read back with
    ``bridge.history.from_temporal`` replays in ``fastcore.Replayer(workflows=[cls])``
    without error.

Every sample fastcore workflow runs on both runtimes: none is left out. (The samples'
Temporal workflows, ``samples.temporal_workflows``, are Temporal code, not fastcore
definitions, so they have no fastcore side to prove.) A last pair of tests shows the proofs
have teeth: a workflow of the same name that calls its activities in another order is
refused by each replayer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.client import WorkflowHandle as TWorkflowHandle
from temporalio.worker import Replayer as TemporalReplayer
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import fastcore.errors as fc_errors
from bridge.history import from_temporal, to_temporal
from bridge.on_temporal import as_temporal_activities, as_temporal_workflow
from fastcore import Engine, Replayer, WorkflowHandle, workflow
from fastcore.errors import NondeterminismError
from samples import fastcore_defs as fc
from samples import forwarding_defs as fwd
from samples.realtime_pipeline import make_events
from samples.temporal_activities import extract_batch
from samples.trading_preflight import GOOD_ORDER, OVER_LIMIT_ORDER

WORKFLOWS: list[type] = [*fc.WORKFLOWS, *fwd.FASTCORE_WORKFLOWS]
ACTIVITIES: list[Any] = [*fc.ACTIVITIES]  # the forwarding sample reuses the loan activities
WAIT = 30.0

pytestmark = pytest.mark.timeout(120)


# ---------------------------------------------------------------- the cases

Handle = WorkflowHandle | TWorkflowHandle[Any, Any]
Drive = Callable[[Handle], Awaitable[None]]


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _review_and_approve(handle: Handle) -> None:
    """The underwriter's part of ``ReviewedCreditScoring``: a condition, then approval."""
    status = fwd.ReviewedCreditScoring.status

    async def waiting() -> bool:
        state = await handle.query(status)
        return bool(state["stage"] == "awaiting_approval")

    await _eventually(waiting, "the scoring to await approval")
    assert await handle.execute_update(fwd.ReviewedCreditScoring.add_condition, "income") == [
        "income"
    ]
    await handle.signal(fwd.ReviewedCreditScoring.approve, "underwriter-7")


@dataclass(frozen=True)
class Case:
    """One run of a sample workflow: its class, argument, and what a client does meanwhile."""

    workflow: type
    arg: Any
    fails: bool = False
    drive: Drive | None = None


CASES: dict[str, Case] = {
    "TradePreflight-filled": Case(fc.TradePreflight, {**GOOD_ORDER, "order_id": "o-1"}),
    "TradePreflight-rejected": Case(
        fc.TradePreflight, {**OVER_LIMIT_ORDER, "order_id": "o-2"}, fails=True
    ),
    "DeviceRollout-applied": Case(
        fc.DeviceRollout,
        {"rollout_id": "r-1", "devices": ["d-1", "d-2", "d-3"], "version": "v9", "offline": []},
    ),
    "DeviceRollout-rolled-back": Case(
        fc.DeviceRollout,
        {
            "rollout_id": "r-2",
            "devices": ["d-1", "d-2", "d-3", "d-4"],
            "version": "v9",
            "offline": ["d-3"],
        },
    ),
    "ProcessEvent": Case(fc.ProcessEvent, make_events(1)[0]),
    "CreditScoring": Case(
        fc.CreditScoring, {"applicant": "erin", "amount": 20_000, "income": 90_000}
    ),
    "TransformBatch": Case(fc.TransformBatch, {"batch": 0, "rows": None}),  # rows filled below
    "ReviewedCreditScoring-approved": Case(
        fwd.ReviewedCreditScoring,
        {"applicant": "erin", "amount": 20_000, "income": 90_000},
        drive=_review_and_approve,
    ),
    "ReviewedCreditScoring-declined": Case(
        fwd.ReviewedCreditScoring, {"applicant": "carol", "amount": 90_000, "income": 20_000}
    ),
}


def test_every_sample_workflow_has_a_case() -> None:
    assert {c.workflow for c in CASES.values()} == set(WORKFLOWS)


async def _arg(case: Case) -> Any:
    if case.workflow is fc.TransformBatch:  # the rows the migration sample extracts
        return {"batch": 0, "rows": await extract_batch("replay-migration", 0, 24)}
    return case.arg


async def _finish(case: Case, handle: Handle, result: Callable[[], Awaitable[Any]]) -> Any:
    if case.drive is not None:
        await case.drive(handle)
    try:
        out = await asyncio.wait_for(result(), WAIT)
    except (fc_errors.WorkflowFailureError, WorkflowFailureError):
        assert case.fails, "the workflow failed where the sample expects a result"
        return None
    assert not case.fails, "the workflow completed where the sample expects a failure"
    return out


# ---------------------------------------------------------------- (a) fastcore -> Temporal


@pytest.mark.parametrize("name", list(CASES))
async def test_engine_history_replays_in_temporal(name: str, unique_id: str) -> None:
    case = CASES[name]
    arg = await _arg(case)
    async with Engine(workflows=WORKFLOWS, activities=ACTIVITIES) as engine:
        handle = await engine.start_workflow(case.workflow.run, arg, id=unique_id)
        await _finish(case, handle, handle.result)
        events = await handle.fetch_history()
    # and the run was the sample's (each side's sanity is its own replayer, too)
    await Replayer(workflows=[case.workflow]).replay_workflow(events)
    history = to_temporal(events)
    replayer = TemporalReplayer(workflows=[as_temporal_workflow(case.workflow)])
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None


# ---------------------------------------------------------------- (b) Temporal -> fastcore


@pytest.mark.parametrize("name", list(CASES))
async def test_temporal_history_replays_in_fastcore(
    name: str, temporal_client: Client, unique_id: str
) -> None:
    case = CASES[name]
    arg = await _arg(case)
    async with Worker(
        temporal_client,
        task_queue=unique_id,
        workflows=[as_temporal_workflow(case.workflow)],
        activities=as_temporal_activities(ACTIVITIES),
    ):
        handle = await temporal_client.start_workflow(
            case.workflow.run, arg, id=unique_id, task_queue=unique_id
        )
        await _finish(case, handle, handle.result)
        history = await handle.fetch_history()
    events = from_temporal(history)
    result = await Replayer(workflows=[case.workflow]).replay_workflow(events)
    assert result.replay_failure is None
    assert events[-1].event_type.value == (
        "WORKFLOW_EXECUTION_FAILED" if case.fails else "WORKFLOW_EXECUTION_COMPLETED"
    )


# ---------------------------------------------------------------- the proofs have teeth


@workflow.defn(name="CreditScoring")
class ScoresBeforeTheReport:
    """``CreditScoring`` by name, but computing the score before fetching the report."""

    @workflow.run
    async def run(self, application: dict[str, Any]) -> dict[str, Any]:
        report = {"history_years": 1, "open_accounts": 1, "late_payments": 0, "income": 1.0}
        scored: dict[str, Any] = await workflow.execute_activity(
            fc.compute_score,
            args=[report, 1.0],
            start_to_close_timeout=fc.STEP_TIMEOUT,
        )
        await workflow.execute_activity(
            fc.fetch_credit_report, application, start_to_close_timeout=fc.STEP_TIMEOUT
        )
        return scored


async def test_temporal_replayer_refuses_other_code(unique_id: str) -> None:
    async with Engine(workflows=[fc.CreditScoring], activities=ACTIVITIES) as engine:
        handle = await engine.start_workflow(
            fc.CreditScoring.run, CASES["CreditScoring"].arg, id=unique_id
        )
        await handle.result()
        events = await handle.fetch_history()
    replayer = TemporalReplayer(
        workflows=[as_temporal_workflow(ScoresBeforeTheReport)],
        workflow_runner=UnsandboxedWorkflowRunner(),  # a test module is no sandbox import
    )
    result = await replayer.replay_workflow(to_temporal(events), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()


async def test_fastcore_replayer_refuses_other_code(
    temporal_client: Client, unique_id: str
) -> None:
    async with Worker(
        temporal_client,
        task_queue=unique_id,
        workflows=[as_temporal_workflow(fc.CreditScoring)],
        activities=as_temporal_activities(ACTIVITIES),
    ):
        handle = await temporal_client.start_workflow(
            fc.CreditScoring.run, CASES["CreditScoring"].arg, id=unique_id, task_queue=unique_id
        )
        await handle.result()
        history = await handle.fetch_history()
    with pytest.raises(NondeterminismError):
        await Replayer(workflows=[ScoresBeforeTheReport]).replay_workflow(from_temporal(history))
