"""The samples' fastcore sub-workflows and their activities: the latency-critical steps.

Each workflow here runs inside a Temporal activity on a worker that hosts a fastcore
``Engine`` (``bridge.fastcore_activities``), and is started from Temporal workflow code
with ``bridge.execute_fastcore_workflow``. Every step is an in-process activity, so a whole
sub-workflow takes microseconds where the same steps as Temporal activities would take a
server round trip each.

The workflows time their own steps with ``workflow.time()``: the timestamp of the history
event being processed, so the numbers are part of the history and replay agrees with them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastcore import RetryPolicy, activity, workflow
from fastcore.errors import ActivityError, ApplicationError
from fastcore.saga import Saga

from ._common import FASTCORE, step, worker_marker

__all__ = [
    "ACTIVITIES",
    "WORKFLOWS",
    "CreditScoring",
    "DeviceRollout",
    "ProcessEvent",
    "TradePreflight",
    "TransformBatch",
]

STEP_TIMEOUT = timedelta(seconds=5)
QUICK_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3)
UNDO_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=10)


def _us(t0: float) -> float:
    """Microseconds since ``t0`` on the workflow's clock."""
    return (workflow.time() - t0) * 1_000_000


def _digest(*parts: object) -> int:
    """A stable pseudo-random number from ``parts`` (the same on every host and run)."""
    data = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


# --------------------------------------------------------------------------- (a) trading

ACCOUNT_LIMITS = {"acct-retail": 250_000.0, "acct-pro": 5_000_000.0}
"""Largest notional per order, per account; unknown accounts get the retail limit."""
ACCOUNT_MARGIN = {"acct-retail": 40_000.0, "acct-pro": 2_000_000.0}
"""Free margin per account."""
MARGIN_RATE = 0.2
VENUES = ("XNAS", "XNYS", "BATS", "IEXG")


@activity.defn
async def check_limits(order: dict[str, Any]) -> dict[str, Any]:
    """Check the order against the account's per-order notional limit."""
    notional = float(order["qty"]) * float(order["price"])
    limit = ACCOUNT_LIMITS.get(order["account"], ACCOUNT_LIMITS["acct-retail"])
    if order["qty"] <= 0 or order["price"] <= 0:
        return {"ok": False, "reason": "quantity and price must be positive", "notional": notional}
    if notional > limit:
        return {
            "ok": False,
            "reason": f"notional {notional:,.2f} exceeds the account limit {limit:,.2f}",
            "notional": notional,
        }
    return {"ok": True, "notional": notional, "limit": limit}


@activity.defn
async def check_margin(order: dict[str, Any], notional: float) -> dict[str, Any]:
    """Check that the account's free margin covers the order."""
    required = notional * MARGIN_RATE
    available = ACCOUNT_MARGIN.get(order["account"], ACCOUNT_MARGIN["acct-retail"])
    if required > available:
        return {
            "ok": False,
            "reason": f"margin {required:,.2f} required, {available:,.2f} available",
        }
    return {"ok": True, "required": required, "available": available}


@activity.defn
async def route_order(order: dict[str, Any]) -> dict[str, Any]:
    """Pick the venue and make the route id (a smart order router, in miniature)."""
    venue = VENUES[_digest(order["symbol"], order["side"]) % len(VENUES)]
    return {
        "venue": venue,
        "route_id": f"{order['order_id']}@{venue}",
        "worker": worker_marker(),
    }


@workflow.defn
class TradePreflight:
    """Validate-and-route an order: limits, margin, route; a rejection is non-retryable."""

    @workflow.run
    async def run(self, order: dict[str, Any]) -> dict[str, Any]:
        t0 = workflow.time()
        steps: list[dict[str, Any]] = []

        t = workflow.time()
        limits = await workflow.execute_activity(
            check_limits, order, start_to_close_timeout=STEP_TIMEOUT, retry_policy=QUICK_RETRY
        )
        steps.append(step("preflight: check_limits", FASTCORE, _us(t)))
        if not limits["ok"]:
            # A business rejection: retrying cannot change it, so say so. The bridge keeps
            # non_retryable, and Temporal does not retry the activity that ran this.
            raise ApplicationError(limits["reason"], type="Rejected", non_retryable=True)

        t = workflow.time()
        margin = await workflow.execute_activity(
            check_margin,
            args=[order, limits["notional"]],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        steps.append(step("preflight: check_margin", FASTCORE, _us(t)))
        if not margin["ok"]:
            raise ApplicationError(margin["reason"], type="Rejected", non_retryable=True)

        t = workflow.time()
        route = await workflow.execute_activity(
            route_order, order, start_to_close_timeout=STEP_TIMEOUT, retry_policy=QUICK_RETRY
        )
        steps.append(step("preflight: route_order", FASTCORE, _us(t), route["venue"]))
        steps.append(
            step("preflight (whole sub-workflow)", FASTCORE, _us(t0), f"on {route['worker']}")
        )
        return {
            "order_id": order["order_id"],
            "notional": limits["notional"],
            "venue": route["venue"],
            "route_id": route["route_id"],
            "worker": route["worker"],
            "steps": steps,
        }


# --------------------------------------------------------------------------- (b) IoT

ROLLBACK_LOG: dict[str, list[str]] = {}
"""rollout id -> devices rolled back, in the order the compensations ran (this process)."""


@activity.defn
async def push_config(
    rollout_id: str, device: str, version: str, offline: list[str]
) -> dict[str, str]:
    """Push a configuration version to one device; returns the version it replaced."""
    if device in offline:
        raise ApplicationError(
            f"device {device} did not acknowledge {version}",
            type="DeviceUnreachable",
            non_retryable=True,
        )
    return {"previous": f"v{_digest(rollout_id, device) % 5 + 1}", "worker": worker_marker()}


@activity.defn
async def rollback_config(rollout_id: str, device: str, previous: str) -> str:
    """Put a device back on the version it had before the rollout (a compensation)."""
    ROLLBACK_LOG.setdefault(rollout_id, []).append(device)
    return device


@workflow.defn
class DeviceRollout:
    """Push a config to every device at once; if any device fails, roll back the others."""

    @workflow.run
    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        t0 = workflow.time()
        rollout_id: str = req["rollout_id"]
        version: str = req["version"]
        offline: list[str] = list(req.get("offline", []))
        saga = Saga()
        configured: list[str] = []
        workers: set[str] = set()

        async def configure(device: str) -> str:
            pushed: dict[str, str] = await workflow.execute_activity(
                push_config,
                args=[rollout_id, device, version, offline],
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            configured.append(device)
            workers.add(pushed["worker"])
            saga.add_compensation(
                rollback_config,
                rollout_id,
                device,
                pushed["previous"],
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=UNDO_RETRY,
            )
            return pushed["previous"]

        devices: list[str] = list(req["devices"])
        outcomes = await asyncio.gather(*(configure(d) for d in devices), return_exceptions=True)
        failed = {
            d: str(o.cause if isinstance(o, ActivityError) and o.cause else o)
            for d, o in zip(devices, outcomes, strict=True)
            if isinstance(o, BaseException)
        }
        fan_out_us = _us(t0)
        steps = [
            step(
                f"rollout: push_config x{len(devices)} (concurrent)",
                FASTCORE,
                fan_out_us,
                f"{len(configured)} ok, {len(failed)} failed",
            )
        ]
        compensated: list[str] = []
        if failed:
            t = workflow.time()
            # Last configured, first rolled back; raises CompensationError if one fails.
            await saga.compensate()
            compensated = list(reversed(configured))
            steps.append(
                step(
                    f"rollout: saga rollback x{len(compensated)}",
                    FASTCORE,
                    _us(t),
                    "last configured, first rolled back",
                )
            )
        steps.append(
            step("rollout (whole sub-workflow)", FASTCORE, _us(t0), f"on {', '.join(workers)}")
        )
        return {
            "rollout_id": rollout_id,
            "status": "rolled_back" if failed else "applied",
            "configured": configured,
            "failed": failed,
            "compensated": compensated,
            "workers": sorted(workers),
            "steps": steps,
        }


# --------------------------------------------------------------------------- (c) pipeline

KNOWN_SOURCES = {
    "sensor-a": {"site": "plant-1", "threshold": 80.0},
    "sensor-b": {"site": "plant-1", "threshold": 65.0},
    "sensor-c": {"site": "plant-2", "threshold": 90.0},
}


@activity.defn
async def enrich_event(event: dict[str, Any]) -> dict[str, Any]:
    """Join the event with what is known about its source."""
    meta = KNOWN_SOURCES.get(event["source"], {"site": "unknown", "threshold": 75.0})
    return {**event, **meta}


@activity.defn
async def score_event(event: dict[str, Any]) -> dict[str, Any]:
    """Score how far the reading is above its source's threshold."""
    over = float(event["value"]) - float(event["threshold"])
    return {"score": round(max(over, 0.0) / float(event["threshold"]), 4), "over": over > 0}


@activity.defn
async def decide_action(event: dict[str, Any], score: dict[str, Any]) -> dict[str, Any]:
    """Turn the score into an action, and say who decided."""
    action = "alert" if score["score"] > 0.1 else "watch" if score["over"] else "none"
    return {"action": action, "worker": worker_marker()}


@workflow.defn
class ProcessEvent:
    """One event of the stream: enrich, score, decide."""

    @workflow.run
    async def run(self, event: dict[str, Any]) -> dict[str, Any]:
        t0 = workflow.time()
        enriched = await workflow.execute_activity(
            enrich_event, event, start_to_close_timeout=STEP_TIMEOUT, retry_policy=QUICK_RETRY
        )
        score = await workflow.execute_activity(
            score_event, enriched, start_to_close_timeout=STEP_TIMEOUT, retry_policy=QUICK_RETRY
        )
        decision = await workflow.execute_activity(
            decide_action,
            args=[enriched, score],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        return {
            "event_id": event["event_id"],
            "site": enriched["site"],
            "score": score["score"],
            "action": decision["action"],
            "worker": decision["worker"],
            "engine_us": round(_us(t0), 1),
        }


# --------------------------------------------------------------------------- (d) loan


@activity.defn
async def fetch_credit_report(application: dict[str, Any]) -> dict[str, Any]:
    """The applicant's credit report (a stable stand-in for a bureau lookup)."""
    seed = _digest(application["applicant"])
    return {
        "history_years": seed % 25,
        "open_accounts": seed % 7,
        "late_payments": (seed >> 8) % 4,
        "income": float(application.get("income", 60_000)),
    }


@activity.defn
async def compute_score(report: dict[str, Any], amount: float) -> dict[str, Any]:
    """A scorecard: history and income up, late payments and leverage down."""
    leverage = amount / max(report["income"], 1.0)
    score = (
        600
        + 8 * min(report["history_years"], 20)
        - 45 * report["late_payments"]
        - int(120 * min(leverage, 2.0))
    )
    score = max(300, min(850, score))
    recommendation = "approve" if score >= 700 else "review" if score >= 560 else "decline"
    return {
        "score": score,
        "leverage": round(leverage, 3),
        "recommendation": recommendation,
        "worker": worker_marker(),
    }


@workflow.defn
class CreditScoring:
    """Score a loan application: fetch the report, compute the score."""

    @workflow.run
    async def run(self, application: dict[str, Any]) -> dict[str, Any]:
        t0 = workflow.time()
        report = await workflow.execute_activity(
            fetch_credit_report,
            application,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        t = workflow.time()
        steps = [step("scoring: fetch_credit_report", FASTCORE, _us(t0))]
        scored = await workflow.execute_activity(
            compute_score,
            args=[report, float(application["amount"])],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        steps.append(step("scoring: compute_score", FASTCORE, _us(t), f"score {scored['score']}"))
        steps.append(
            step("scoring (whole sub-workflow)", FASTCORE, _us(t0), f"on {scored['worker']}")
        )
        return {**scored, "steps": steps}


# --------------------------------------------------------------------------- (e) migration


@activity.defn
async def normalize_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Map legacy rows to the new schema: trimmed, lower-cased e-mail, cents to units."""
    return [
        {
            "id": r["id"],
            "email": str(r["email"]).strip().lower(),
            "name": " ".join(str(r["name"]).split()).title(),
            "balance": round(int(r["balance_cents"]) / 100, 2),
        }
        for r in rows
    ]


@activity.defn
async def validate_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Keep the rows the new schema accepts; checksum them for the load step."""
    good = [r for r in rows if "@" in r["email"] and r["balance"] >= 0]
    checksum = _digest(*(f"{r['id']}:{r['email']}:{r['balance']}" for r in good)) % 10**12
    return {
        "rows": good,
        "rejected": len(rows) - len(good),
        "checksum": checksum,
        "worker": worker_marker(),
    }


@workflow.defn
class TransformBatch:
    """Transform one batch of a migration: normalize, validate, checksum."""

    @workflow.run
    async def run(self, batch: dict[str, Any]) -> dict[str, Any]:
        t0 = workflow.time()
        normalized = await workflow.execute_activity(
            normalize_rows,
            batch["rows"],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        validated = await workflow.execute_activity(
            validate_rows, normalized, start_to_close_timeout=STEP_TIMEOUT, retry_policy=QUICK_RETRY
        )
        return {
            "batch": batch["batch"],
            "rows_in": len(batch["rows"]),
            "rows_out": len(validated["rows"]),
            "rejected": validated["rejected"],
            "checksum": validated["checksum"],
            "rows": validated["rows"],
            "worker": validated["worker"],
            "engine_us": round(_us(t0), 1),
        }


WORKFLOWS: list[type] = [TradePreflight, DeviceRollout, ProcessEvent, CreditScoring, TransformBatch]
"""Every fastcore workflow the samples run; the worker registers them all."""

ACTIVITIES: list[Callable[..., Awaitable[Any]]] = [
    check_limits,
    check_margin,
    route_order,
    push_config,
    rollback_config,
    enrich_event,
    score_event,
    decide_action,
    fetch_credit_report,
    compute_score,
    normalize_rows,
    validate_rows,
]
"""Every fastcore activity the samples' workflows call."""
