"""The samples' Temporal workflows: the durable processes around the fastcore steps.

Each calls its latency-critical part with ``bridge.execute_fastcore_workflow``, which runs
a fastcore sub-workflow inside a Temporal activity on a worker that hosts fastcore, and
keeps the slow, durable parts (waiting days for a human, sleeping between batches, calls
to systems of record) on Temporal.

The imports of our own packages pass through Temporal's workflow sandbox: ``bridge`` and
``fastcore`` hold no workflow state at import time, and the fastcore definitions are only
referenced here, never run in the sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import bridge

    from . import fastcore_defs as fc
    from . import temporal_activities as ta
    from ._common import FASTCORE, TEMPORAL, step

__all__ = [
    "WORKFLOWS",
    "DataMigrationWorkflow",
    "DeviceFleetWorkflow",
    "EventPipelineWorkflow",
    "LoanApprovalWorkflow",
    "TradingOrderWorkflow",
]

ACTIVITY_TIMEOUT = timedelta(seconds=10)
FASTCORE_TIMEOUT = timedelta(seconds=30)
FASTCORE_HEARTBEAT = timedelta(seconds=5)
FASTCORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=5,
)


def _us(since: datetime) -> float:
    """Microseconds from ``since`` to now, on the workflow's (deterministic) clock."""
    return (workflow.now() - since).total_seconds() * 1_000_000


def _application_error(err: BaseException) -> ApplicationError | None:
    """The ``ApplicationError`` an activity failure wraps, if any."""
    current: BaseException | None = err
    while current is not None:
        if isinstance(current, ApplicationError):
            return current
        current = current.__cause__
    return None


def _sub_id(suffix: str) -> str:
    """The id of a fastcore sub-workflow: the Temporal workflow's id, then ``suffix``."""
    return f"{workflow.info().workflow_id}/{suffix}"


# --------------------------------------------------------------------------- (a) trading


@workflow.defn
class TradingOrderWorkflow:
    """An order's life on Temporal; its pre-flight checks run in fastcore.

    A pre-flight rejection (``ApplicationError(type="Rejected", non_retryable=True)`` in
    fastcore) arrives here as a non-retryable ``ApplicationError``: Temporal does not retry
    it, and the order ends as rejected instead of failing.
    """

    @workflow.run
    async def run(
        self, order: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        opts = options or {}
        t0 = workflow.now()
        steps: list[dict[str, Any]] = []
        try:
            preflight: dict[str, Any] = await bridge.execute_fastcore_workflow(
                fc.TradePreflight.run,
                order,
                id=_sub_id("preflight"),
                start_to_close_timeout=FASTCORE_TIMEOUT,
                heartbeat_timeout=None if opts.get("local") else FASTCORE_HEARTBEAT,
                retry_policy=FASTCORE_RETRY,
                local=bool(opts.get("local", False)),
            )
        except (ActivityError, ApplicationError) as err:
            rejection = _application_error(err)
            if rejection is None or rejection.type != "Rejected":
                raise
            retry_state = getattr(err, "retry_state", None)
            steps.append(
                step(
                    "preflight via bridge (activity round trip)",
                    TEMPORAL,
                    _us(t0),
                    f"rejected: {rejection.type}, non_retryable={rejection.non_retryable}",
                )
            )
            return {
                "order_id": order["order_id"],
                "status": "rejected",
                "reason": rejection.message,
                "error_type": rejection.type,
                "non_retryable": rejection.non_retryable,
                "retry_state": retry_state.name if retry_state is not None else None,
                "steps": steps,
            }
        steps += preflight["steps"]
        steps.append(
            step("preflight via bridge (activity round trip)", TEMPORAL, _us(t0), "incl. fastcore")
        )
        t = workflow.now()
        fill = await workflow.execute_activity(
            ta.book_fill,
            args=[order, preflight],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        steps.append(step("book_fill (Temporal activity)", TEMPORAL, _us(t)))
        return {
            "order_id": order["order_id"],
            "status": "filled",
            "venue": preflight["venue"],
            "fill_id": fill["fill_id"],
            "worker": preflight["worker"],
            "steps": steps,
        }


# --------------------------------------------------------------------------- (b) IoT


@workflow.defn
class DeviceFleetWorkflow:
    """Roll a configuration out to a fleet; the fan-out and its saga run in fastcore."""

    @workflow.run
    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        t = workflow.now()
        devices: list[str] = await workflow.execute_activity(
            ta.load_fleet,
            args=[req["fleet_id"], int(req["size"])],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        steps.append(
            step("load_fleet (Temporal activity)", TEMPORAL, _us(t), f"{len(devices)} devices")
        )
        offline = [devices[i] for i in req.get("offline_indexes", []) if i < len(devices)]
        t = workflow.now()
        rollout: dict[str, Any] = await bridge.execute_fastcore_workflow(
            fc.DeviceRollout.run,
            {
                "rollout_id": workflow.info().workflow_id,
                "devices": devices,
                "version": req["version"],
                "offline": offline,
            },
            id=_sub_id("rollout"),
            start_to_close_timeout=FASTCORE_TIMEOUT,
            heartbeat_timeout=FASTCORE_HEARTBEAT,
            retry_policy=FASTCORE_RETRY,
        )
        steps += rollout["steps"]
        steps.append(
            step("rollout via bridge (activity round trip)", TEMPORAL, _us(t), "incl. fastcore")
        )
        incident = None
        if rollout["status"] == "rolled_back":
            t = workflow.now()
            incident = await workflow.execute_activity(
                ta.open_incident, rollout, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
            steps.append(step("open_incident (Temporal activity)", TEMPORAL, _us(t), incident))
        return {
            "fleet_id": req["fleet_id"],
            "status": rollout["status"],
            "configured": rollout["configured"],
            "failed": rollout["failed"],
            "compensated": rollout["compensated"],
            "incident": incident,
            "steps": steps,
        }


# --------------------------------------------------------------------------- (c) pipeline


@workflow.defn
class EventPipelineWorkflow:
    """Process a stream of events, each a fastcore sub-workflow, all started concurrently.

    Events come in the input and, while ``await_more`` is set, by the ``ingest`` signal;
    the ``close`` signal says no more will come.
    """

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._closed = False
        self._done = 0

    @workflow.signal
    def ingest(self, events: list[dict[str, Any]]) -> None:
        """More events to process."""
        self._pending.extend(events)

    @workflow.signal
    def close(self) -> None:
        """The stream has ended."""
        self._closed = True

    @workflow.query
    def progress(self) -> dict[str, int]:
        """Events processed and waiting."""
        return {"processed": self._done, "pending": len(self._pending)}

    async def _process(self, index: int, event: dict[str, Any], local: bool) -> dict[str, Any]:
        result: dict[str, Any] = await bridge.execute_fastcore_workflow(
            fc.ProcessEvent.run,
            event,
            id=_sub_id(f"event-{index}"),
            start_to_close_timeout=FASTCORE_TIMEOUT,
            heartbeat_timeout=None if local else FASTCORE_HEARTBEAT,
            retry_policy=FASTCORE_RETRY,
            local=local,
        )
        self._done += 1
        return result

    @workflow.run
    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        t0 = workflow.now()
        local = bool(req.get("local", False))
        self._pending.extend(req.get("events", []))
        self._closed = self._closed or not req.get("await_more", False)
        tasks: list[asyncio.Task[dict[str, Any]]] = []
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._closed)
            batch, self._pending = self._pending, []
            tasks += [
                asyncio.create_task(self._process(len(tasks) + i, e, local))
                for i, e in enumerate(batch)
            ]
            if self._closed and not self._pending:
                break
        results = list(await asyncio.gather(*tasks))
        elapsed = _us(t0)
        engine_us = sorted(float(r["engine_us"]) for r in results) or [0.0]
        workers: dict[str, int] = {}
        for r in results:
            workers[r["worker"]] = workers.get(r["worker"], 0) + 1
        alerts = [r["event_id"] for r in results if r["action"] == "alert"]
        t = workflow.now()
        published = await workflow.execute_activity(
            ta.publish_summary,
            {"processed": len(results), "alerts": alerts},
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        steps = [
            step(
                f"process_event x{len(results)}: median in engine",
                FASTCORE,
                engine_us[len(engine_us) // 2],
                f"max {engine_us[-1]:,.0f} us",
            ),
            step(
                f"{len(results)} sub-workflows via bridge, concurrent",
                TEMPORAL,
                elapsed,
                f"{len(workers)} worker(s)",
            ),
            step("publish_summary (Temporal activity)", TEMPORAL, _us(t)),
        ]
        return {
            "pipeline_id": req.get("pipeline_id", workflow.info().workflow_id),
            "processed": len(results),
            "alerts": alerts,
            "workers": workers,
            "results": results,
            "published": published,
            "steps": steps,
        }


# --------------------------------------------------------------------------- (d) loan


@workflow.defn
class LoanApprovalWorkflow:
    """Score an application in fastcore, then wait (days, durably) for a human decision."""

    def __init__(self) -> None:
        self._stage = "scoring"
        self._decision: str | None = None
        self._decided_by: str | None = None
        self._scoring: dict[str, Any] = {}

    @workflow.signal
    def approve(self, by: str) -> None:
        """An underwriter approves the loan."""
        if self._decision is None:
            self._decision, self._decided_by = "approved", by

    @workflow.signal
    def decline(self, by: str) -> None:
        """An underwriter declines the loan."""
        if self._decision is None:
            self._decision, self._decided_by = "declined", by

    @workflow.query
    def status(self) -> dict[str, Any]:
        """Where the application is, and its score once known."""
        return {
            "stage": self._stage,
            "score": self._scoring.get("score"),
            "recommendation": self._scoring.get("recommendation"),
            "decision": self._decision,
        }

    @workflow.run
    async def run(self, application: dict[str, Any]) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        t = workflow.now()
        self._scoring = await bridge.execute_fastcore_workflow(
            fc.CreditScoring.run,
            application,
            id=_sub_id("scoring"),
            start_to_close_timeout=FASTCORE_TIMEOUT,
            heartbeat_timeout=FASTCORE_HEARTBEAT,
            retry_policy=FASTCORE_RETRY,
        )
        steps += self._scoring["steps"]
        steps.append(
            step("scoring via bridge (activity round trip)", TEMPORAL, _us(t), "incl. fastcore")
        )
        waited_s = 0.0
        if self._scoring["recommendation"] == "decline":
            decision, by = "declined", "auto (score)"
        else:
            self._stage = "awaiting_approval"
            days = float(application.get("approval_timeout_days", 7))
            t = workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None, timeout=timedelta(days=days)
                )
                decision, by = self._decision or "expired", self._decided_by or ""
            except TimeoutError:  # wait_condition timed out
                decision, by = "expired", f"nobody within {days:g} days"
            waited_s = (workflow.now() - t).total_seconds()
            steps.append(
                step(
                    "wait for underwriter (durable timer)",
                    TEMPORAL,
                    waited_s * 1_000_000,
                    f"{decision} by {by}",
                )
            )
        self._stage = "notifying"
        self._decision = decision
        t = workflow.now()
        await workflow.execute_activity(
            ta.notify_applicant,
            args=[application["application_id"], decision],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        steps.append(step("notify_applicant (Temporal activity)", TEMPORAL, _us(t)))
        self._stage = "done"
        return {
            "application_id": application["application_id"],
            "score": self._scoring["score"],
            "recommendation": self._scoring["recommendation"],
            "decision": decision,
            "decided_by": by,
            "waited_seconds": waited_s,
            "steps": steps,
        }


# --------------------------------------------------------------------------- (e) migration


@workflow.defn
class DataMigrationWorkflow:
    """Migrate in batches with durable pauses between them; each transform runs in fastcore."""

    def __init__(self) -> None:
        self._batches_done = 0
        self._rows = 0

    @workflow.query
    def progress(self) -> dict[str, int]:
        """Batches and rows migrated so far."""
        return {"batches_done": self._batches_done, "rows_loaded": self._rows}

    @workflow.run
    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        migration_id: str = req.get("migration_id", workflow.info().workflow_id)
        batches, size = int(req["batches"]), int(req["batch_size"])
        pause = timedelta(seconds=float(req.get("pause_seconds", 3600)))
        t0 = workflow.now()
        timings: dict[str, list[float]] = {
            "extract": [],
            "hop": [],
            "engine": [],
            "load": [],
            "pause": [],
        }
        rejected = 0
        checksums: list[int] = []
        workers: set[str] = set()
        batch_workers: list[str] = []  # which worker's engine transformed each batch
        for batch in range(batches):
            t = workflow.now()
            rows = await workflow.execute_activity(
                ta.extract_batch,
                args=[migration_id, batch, size],
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
            timings["extract"].append(_us(t))
            t = workflow.now()
            transformed: dict[str, Any] = await bridge.execute_fastcore_workflow(
                fc.TransformBatch.run,
                {"batch": batch, "rows": rows},
                id=_sub_id(f"batch-{batch}"),
                start_to_close_timeout=FASTCORE_TIMEOUT,
                heartbeat_timeout=FASTCORE_HEARTBEAT,
                retry_policy=FASTCORE_RETRY,
            )
            timings["hop"].append(_us(t))
            timings["engine"].append(float(transformed["engine_us"]))
            workers.add(transformed["worker"])
            batch_workers.append(transformed["worker"])
            t = workflow.now()
            loaded = await workflow.execute_activity(
                ta.load_batch,
                args=[migration_id, transformed],
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
            timings["load"].append(_us(t))
            self._batches_done += 1
            self._rows += int(loaded["loaded"])
            rejected += int(transformed["rejected"])
            checksums.append(int(transformed["checksum"]))
            if batch + 1 < batches:
                t = workflow.now()
                await workflow.sleep(pause)  # durable: survives worker restarts and deploys
                timings["pause"].append(_us(t))

        def avg(xs: list[float]) -> float:
            return sum(xs) / len(xs) if xs else 0.0

        steps = [
            step(
                f"extract_batch x{batches} (Temporal activity), avg",
                TEMPORAL,
                avg(timings["extract"]),
            ),
            step(
                f"transform x{batches} in engine, avg",
                FASTCORE,
                avg(timings["engine"]),
                f"on {', '.join(sorted(workers))}",
            ),
            step(
                f"transform x{batches} via bridge (round trip), avg", TEMPORAL, avg(timings["hop"])
            ),
            step(f"load_batch x{batches} (Temporal activity), avg", TEMPORAL, avg(timings["load"])),
        ]
        if timings["pause"]:
            steps.append(
                step(
                    f"durable sleep x{len(timings['pause'])} between batches, each",
                    TEMPORAL,
                    avg(timings["pause"]),
                )
            )
        return {
            "migration_id": migration_id,
            "batches": self._batches_done,
            "rows_loaded": self._rows,
            "rows_rejected": rejected,
            "checksums": checksums,
            "workers": sorted(workers),
            "batch_workers": batch_workers,
            "elapsed_seconds": (workflow.now() - t0).total_seconds(),
            "steps": steps,
        }


WORKFLOWS: list[type] = [
    TradingOrderWorkflow,
    DeviceFleetWorkflow,
    EventPipelineWorkflow,
    LoanApprovalWorkflow,
    DataMigrationWorkflow,
]
"""Every Temporal workflow the samples run; the worker registers them all."""
