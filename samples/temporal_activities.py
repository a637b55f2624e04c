"""The samples' ordinary Temporal activities: the steps that stay on Temporal.

They stand in for calls to systems of record (a ledger, an incident tracker, a mailer, the
source and target databases of a migration): work that is not latency-critical, where a
Temporal round trip per call is fine and Temporal's own retries and visibility are wanted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from temporalio import activity

__all__ = [
    "ACTIVITIES",
    "book_fill",
    "extract_batch",
    "load_batch",
    "load_fleet",
    "notify_applicant",
    "open_incident",
    "publish_summary",
]


@activity.defn
async def book_fill(order: dict[str, Any], route: dict[str, Any]) -> dict[str, Any]:
    """Book the routed order in the ledger (the system of record)."""
    return {"fill_id": f"fill-{order['order_id']}", "venue": route["venue"], "booked": True}


@activity.defn
async def load_fleet(fleet_id: str, size: int) -> list[str]:
    """The device ids of a fleet (from the device registry)."""
    return [f"dev-{i:03d}" for i in range(size)]


@activity.defn
async def open_incident(rollout: dict[str, Any]) -> str:
    """File an incident for a rolled-back rollout."""
    return f"INC-{rollout['rollout_id'][-8:]}"


@activity.defn
async def publish_summary(summary: dict[str, Any]) -> str:
    """Publish a pipeline window's summary downstream."""
    return f"published {summary['processed']} events"


@activity.defn
async def notify_applicant(application_id: str, decision: str) -> str:
    """Tell the applicant the decision."""
    return f"notified {application_id}: {decision}"


@activity.defn
async def extract_batch(migration_id: str, batch: int, size: int) -> list[dict[str, Any]]:
    """Read one batch of legacy rows from the source database (synthetic, stable)."""
    rows = []
    for i in range(size):
        row_id = batch * size + i
        h = int.from_bytes(
            hashlib.blake2b(f"{migration_id}|{row_id}".encode(), digest_size=4).digest(), "big"
        )
        bad = h % 23 == 0  # a few rows the new schema rejects
        rows.append(
            {
                "id": row_id,
                "email": f"  User{row_id}{'' if bad else '@example.com'} ",
                "name": f"  user   {row_id} ",
                "balance_cents": h % 1_000_000,
            }
        )
    return rows


@activity.defn
async def load_batch(migration_id: str, transformed: dict[str, Any]) -> dict[str, Any]:
    """Write a transformed batch to the target database."""
    return {"batch": transformed["batch"], "loaded": len(transformed["rows"])}


ACTIVITIES = [
    book_fill,
    extract_batch,
    load_batch,
    load_fleet,
    notify_applicant,
    open_incident,
    publish_summary,
]
"""Every Temporal activity the samples' workflows call."""
