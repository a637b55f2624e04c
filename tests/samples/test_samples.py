"""Every sample end to end: the session's Temporal dev server, a worker hosting fastcore.

One worker (and its fastcore engine) serves the module, on the module's event loop, so the
tests can look inside the engine at the sub-workflows the samples ran. Long waits (days of
loan approval, hours between migration batches) use Temporal's per-workflow time skipping.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType as TEventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from bridge._devserver import DevServer
from fastcore import Engine, WorkflowExecutionStatus
from fastcore.history import EventType
from samples import (
    data_migration,
    fastcore_defs,
    iot_devices,
    loan_approval,
    realtime_pipeline,
    trading_preflight,
)
from samples._common import FASTCORE, TEMPORAL
from samples._run import fast_forward, poll_until, run_standalone
from samples.temporal_workflows import (
    WORKFLOWS,
    LoanApprovalWorkflow,
    TradingOrderWorkflow,
)
from samples.worker import running_worker

on_module_loop = pytest.mark.asyncio(loop_scope="module")

WAIT = 30.0  # seconds a condition may take before a test fails (never a sleep)


class Sample:
    """The module's worker: a client, its task queue and the worker's engine."""

    def __init__(self, client: Client, task_queue: str, engine: Engine) -> None:
        self.client = client
        self.task_queue = task_queue
        self.engine = engine

    async def sub_history(self, workflow_id: str) -> list[Any]:
        """The fastcore history of a sub-workflow the worker ran."""
        return list(await self.engine.get_workflow_handle(workflow_id).fetch_history())

    async def sub_status(self, workflow_id: str) -> WorkflowExecutionStatus:
        desc = await self.engine.get_workflow_handle(workflow_id).describe()
        return desc.status


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sample(temporal_server: DevServer) -> AsyncIterator[Sample]:
    client = await temporal_server.connect()
    task_queue = f"samples-{uuid.uuid4().hex[:10]}"
    async with running_worker(client, task_queue=task_queue) as (engine, _):
        yield Sample(client, task_queue, engine)


async def _replays(client: Client, workflow_id: str) -> None:
    """Temporal's Replayer runs the sample workflow's history without a mismatch."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    await Replayer(workflows=list(WORKFLOWS)).replay_workflow(history)


def _runtimes(steps: list[dict[str, Any]]) -> set[str]:
    return {s["runtime"] for s in steps}


# --------------------------------------------------------------------------- trading


@on_module_loop
@pytest.mark.parametrize("local", [False, True], ids=["activity", "local-activity"])
async def test_trading_fills_good_order_and_rejects_over_limit(
    sample: Sample, unique_id: str, local: bool
) -> None:
    report = await trading_preflight.run_sample(
        sample.client, sample.task_queue, sample.engine, prefix=unique_id, local=local
    )
    filled, rejected = report["results"]

    assert filled["status"] == "filled"
    assert filled["venue"] in fastcore_defs.VENUES
    assert filled["fill_id"] == f"fill-{unique_id}-1"
    fc_steps = [s["step"] for s in filled["steps"] if s["runtime"] == FASTCORE]
    assert fc_steps == [
        "preflight: check_limits",
        "preflight: check_margin",
        "preflight: route_order",
        "preflight (whole sub-workflow)",
    ]
    assert _runtimes(filled["steps"]) == {FASTCORE, TEMPORAL}

    # The rejection is non-retryable on both sides: one attempt, Temporal's retry state
    # says why, and the order ends as rejected rather than failed.
    assert rejected["status"] == "rejected"
    assert rejected["error_type"] == "Rejected"
    assert rejected["non_retryable"] is True
    if not local:  # a local activity's failure carries no retry state in temporalio
        assert rejected["retry_state"] == "NON_RETRYABLE_FAILURE"
    assert "exceeds the account limit" in rejected["reason"]
    assert await sample.sub_status(f"{unique_id}-2/preflight") is WorkflowExecutionStatus.FAILED

    history = await sample.client.get_workflow_handle(f"{unique_id}-2").fetch_history()
    failed = [
        e
        for e in history.events
        if e.event_type
        in (TEventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, TEventType.EVENT_TYPE_MARKER_RECORDED)
    ]
    assert failed, "the rejected pre-flight left no activity failure in Temporal's history"
    if not local:
        attrs = failed[0].activity_task_failed_event_attributes
        assert attrs.failure.application_failure_info.type == "Rejected"
        assert attrs.failure.application_failure_info.non_retryable
        started = [
            e for e in history.events if e.event_type == TEventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert [e.activity_task_started_event_attributes.attempt for e in started] == [1]
    await _replays(sample.client, f"{unique_id}-1")
    await _replays(sample.client, f"{unique_id}-2")


@on_module_loop
async def test_trading_margin_rejection(sample: Sample, unique_id: str) -> None:
    """A second rejection rule (margin) takes the same non-retryable path."""
    order = {
        "order_id": unique_id,
        "account": "acct-retail",
        "symbol": "ACME",
        "side": "sell",
        "qty": 1_200,
        "price": 182.25,  # under the retail limit, over its margin
    }
    result = await sample.client.execute_workflow(
        TradingOrderWorkflow.run,
        args=[order, None],
        id=unique_id,
        task_queue=sample.task_queue,
    )
    assert result["status"] == "rejected"
    assert result["error_type"] == "Rejected"
    assert result["reason"].startswith("margin")


# --------------------------------------------------------------------------- IoT


@on_module_loop
async def test_iot_failed_device_rolls_back_the_others_in_reverse(
    sample: Sample, unique_id: str
) -> None:
    report = await iot_devices.run_sample(
        sample.client,
        sample.task_queue,
        sample.engine,
        prefix=unique_id,
        size=8,
        offline_indexes=(5,),
    )
    (result,) = report["results"]
    assert result["status"] == "rolled_back"
    assert list(result["failed"]) == ["dev-005"]
    assert "DeviceUnreachable" in result["failed"]["dev-005"]
    configured = result["configured"]
    assert sorted(configured) == [f"dev-{i:03d}" for i in range(8) if i != 5]
    # The saga undoes the last configured device first.
    assert result["compensated"] == list(reversed(configured))
    assert fastcore_defs.ROLLBACK_LOG[unique_id] == result["compensated"]
    assert result["incident"] and result["incident"].startswith("INC-")

    # The engine's own record: every push scheduled before any rollback, then the
    # rollbacks one at a time in reverse order.
    events = await sample.sub_history(f"{unique_id}/rollout")
    scheduled = [
        (e.attributes["activity_type"], e.event_id)
        for e in events
        if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED
    ]
    pushes = [eid for kind, eid in scheduled if kind == "push_config"]
    rollbacks = [eid for kind, eid in scheduled if kind == "rollback_config"]
    assert len(pushes) == 8 and len(rollbacks) == 7
    assert max(pushes) < min(rollbacks)
    await _replays(sample.client, unique_id)


@on_module_loop
async def test_iot_rollout_applies_when_every_device_answers(
    sample: Sample, unique_id: str
) -> None:
    report = await iot_devices.run_sample(
        sample.client, sample.task_queue, prefix=unique_id, size=5, offline_indexes=()
    )
    (result,) = report["results"]
    assert result["status"] == "applied"
    assert sorted(result["configured"]) == [f"dev-{i:03d}" for i in range(5)]
    assert result["compensated"] == [] and result["incident"] is None
    assert unique_id not in fastcore_defs.ROLLBACK_LOG


# --------------------------------------------------------------------------- pipeline


@on_module_loop
async def test_pipeline_processes_every_event_concurrently(sample: Sample, unique_id: str) -> None:
    report = await realtime_pipeline.run_sample(
        sample.client, sample.task_queue, prefix=unique_id, events=30
    )
    (result,) = report["results"]
    assert result["processed"] == 30
    expected = realtime_pipeline.make_events(15) + realtime_pipeline.make_events(15, start=15)
    assert sorted(r["event_id"] for r in result["results"]) == sorted(
        e["event_id"] for e in expected
    )
    assert {r["action"] for r in result["results"]} <= {"alert", "watch", "none"}
    assert result["alerts"] == [r["event_id"] for r in result["results"] if r["action"] == "alert"]
    for i in range(30):
        status = await sample.sub_status(f"{unique_id}/event-{i}")
        assert status is WorkflowExecutionStatus.COMPLETED

    # Concurrent: the first 15 sub-workflows were all scheduled before any completed.
    history = await sample.client.get_workflow_handle(unique_id).fetch_history()
    scheduled_before_first_result = 0
    for event in history.events:
        if event.event_type == TEventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            break
        if event.event_type == TEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled_before_first_result += 1
    assert scheduled_before_first_result >= 15
    await _replays(sample.client, unique_id)


# --------------------------------------------------------------------------- loan


async def _start_loan(sample: Sample, unique_id: str, applicant: str) -> WorkflowHandle[Any, Any]:
    return await sample.client.start_workflow(
        LoanApprovalWorkflow.run,
        {
            "application_id": unique_id,
            "applicant": applicant,
            "amount": 20_000,
            "income": 90_000,
            "approval_timeout_days": 7,
        },
        id=unique_id,
        task_queue=sample.task_queue,
    )


async def _until_stage(handle: WorkflowHandle[Any, Any], stage: str) -> None:
    async def reached() -> bool:
        return bool((await handle.query(LoanApprovalWorkflow.status))["stage"] == stage)

    await poll_until(reached, timeout=WAIT, what=f"stage {stage!r}")


@on_module_loop
async def test_loan_waits_days_for_approval_under_time_skipping(
    sample: Sample, unique_id: str
) -> None:
    handle = await _start_loan(sample, unique_id, "erin")
    await _until_stage(handle, "awaiting_approval")
    status = await handle.query(LoanApprovalWorkflow.status)
    assert status["recommendation"] == "review" and status["score"] == 630

    # Three days pass on the workflow's clock; it is still waiting (the limit is seven).
    assert await fast_forward(sample.client, handle, timedelta(days=3))
    assert (await handle.query(LoanApprovalWorkflow.status))["stage"] == "awaiting_approval"

    await handle.signal(LoanApprovalWorkflow.approve, "underwriter-1")
    result = await handle.result()
    assert result["decision"] == "approved"
    assert result["decided_by"] == "underwriter-1"
    assert 3 * 86_400 <= result["waited_seconds"] < 7 * 86_400
    assert await sample.sub_status(f"{unique_id}/scoring") is WorkflowExecutionStatus.COMPLETED
    await _replays(sample.client, unique_id)


@on_module_loop
async def test_loan_expires_when_nobody_decides_within_seven_days(
    sample: Sample, unique_id: str
) -> None:
    handle = await _start_loan(sample, unique_id, "bob")
    await _until_stage(handle, "awaiting_approval")
    assert await fast_forward(sample.client, handle, timedelta(days=8))
    result = await handle.result()
    assert result["recommendation"] == "approve"
    assert result["decision"] == "expired"
    assert result["waited_seconds"] == pytest.approx(7 * 86_400, abs=60)


@on_module_loop
async def test_loan_declined_by_score_without_waiting(sample: Sample, unique_id: str) -> None:
    handle = await _start_loan(sample, unique_id, "carol")
    result = await handle.result()
    assert result["recommendation"] == "decline"
    assert result["decision"] == "declined"
    assert result["decided_by"] == "auto (score)"
    assert result["waited_seconds"] == 0


@on_module_loop
async def test_loan_run_sample(sample: Sample, unique_id: str) -> None:
    report = await loan_approval.run_sample(sample.client, sample.task_queue, prefix=unique_id)
    (result,) = report["results"]
    assert report["time_skipped"] is True
    assert result["decision"] == "approved"
    assert result["waited_seconds"] >= 2 * 86_400


# --------------------------------------------------------------------------- migration


@on_module_loop
async def test_migration_batches_with_durable_sleeps(sample: Sample, unique_id: str) -> None:
    report = await data_migration.run_sample(
        sample.client, sample.task_queue, prefix=unique_id, batches=3, batch_size=40
    )
    (result,) = report["results"]
    assert report["time_skipped"] is True
    assert result["batches"] == 3
    assert result["rows_loaded"] + result["rows_rejected"] == 120
    assert result["rows_rejected"] >= 1  # extract_batch plants rows the schema rejects
    assert len(result["checksums"]) == 3
    # Two one-hour durable sleeps on the workflow's clock.
    assert result["elapsed_seconds"] >= 2 * 3600
    for batch in range(3):
        events = await sample.sub_history(f"{unique_id}/batch-{batch}")
        types = [e.attributes.get("activity_type") for e in events]
        assert [t for t in types if t] == ["normalize_rows", "validate_rows"]
    await _replays(sample.client, unique_id)


# --------------------------------------------------------------------------- run alone


@pytest.mark.parametrize(
    "module",
    [trading_preflight, iot_devices, realtime_pipeline, loan_approval, data_migration],
    ids=lambda m: m.__name__.rsplit(".", 1)[-1],
)
def test_sample_runs_alone(
    module: Any, temporal_server: DevServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m samples.X`` runs its own worker and prints its table (on the session's
    server here, to save starting one per sample)."""
    assert run_standalone(module.run_sample, ["--temporal-address", temporal_server.target]) == 0
    out = capsys.readouterr().out
    assert module.SCENARIO in out
    assert "fastcore" in out and "temporal" in out and "end to end" in out
