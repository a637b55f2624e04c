"""The fastcore side of the forwarding loan sample: scoring that waits for an underwriter.

``ReviewedCreditScoring`` runs in a fastcore engine inside a Temporal activity (see
``samples.loan_approval_forwarding``): it fetches the credit report and computes the score
with the loan sample's activities, then waits for an ``approve``/``decline`` signal; the
``add_condition`` update attaches conditions to the offer while it waits, and the
``status`` query says where it is. Like ``samples.fastcore_defs``, this module imports
fastcore as any fastcore code does; Temporal workflow code passes it through the sandbox.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastcore import workflow

from .fastcore_defs import QUICK_RETRY, STEP_TIMEOUT, compute_score, fetch_credit_report

__all__ = ["FASTCORE_ACTIVITIES", "FASTCORE_WORKFLOWS", "ReviewedCreditScoring"]


@workflow.defn
class ReviewedCreditScoring:
    """Score a loan application, then wait for an underwriter's decision (in fastcore)."""

    def __init__(self) -> None:
        self.stage = "scoring"
        self.scored: dict[str, Any] = {}
        self.decision: str | None = None
        self.decided_by: str | None = None
        self.conditions: list[str] = []

    @workflow.run
    async def run(self, application: dict[str, Any]) -> dict[str, Any]:
        report = await workflow.execute_activity(
            fetch_credit_report,
            application,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        self.scored = await workflow.execute_activity(
            compute_score,
            args=[report, float(application["amount"])],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=QUICK_RETRY,
        )
        if self.scored["recommendation"] == "decline":
            self.decision, self.decided_by = "declined", "auto (score)"
        else:
            self.stage = "awaiting_approval"
            days = float(application.get("approval_timeout_days", 7))
            try:
                await workflow.wait_condition(
                    lambda: self.decision is not None, timeout=timedelta(days=days)
                )
            except TimeoutError:  # wait_condition timed out
                self.decision, self.decided_by = "expired", f"nobody within {days:g} days"
        self.stage = "decided"
        return {**self.status(), "worker": self.scored["worker"]}

    @workflow.signal
    def approve(self, by: str) -> None:
        """An underwriter approves the loan."""
        if self.decision is None:
            self.decision, self.decided_by = "approved", by

    @workflow.signal
    def decline(self, by: str) -> None:
        """An underwriter declines the loan."""
        if self.decision is None:
            self.decision, self.decided_by = "declined", by

    @workflow.update
    def add_condition(self, condition: str) -> list[str]:
        """Attach a condition to the offer; returns every condition so far."""
        self.conditions.append(condition)
        return list(self.conditions)

    @add_condition.validator
    def _check_condition(self, condition: str) -> None:
        if not condition.strip():
            raise ValueError("a condition must say something")
        if self.decision is not None:
            raise ValueError(f"the application is already {self.decision}")

    @workflow.query
    def status(self) -> dict[str, Any]:
        """Where the scoring is: stage, score, decision, conditions."""
        return {
            "stage": self.stage,
            "score": self.scored.get("score"),
            "recommendation": self.scored.get("recommendation"),
            "decision": self.decision,
            "decided_by": self.decided_by,
            "conditions": list(self.conditions),
        }


FASTCORE_WORKFLOWS: list[type] = [ReviewedCreditScoring]
FASTCORE_ACTIVITIES: list[Any] = [fetch_credit_report, compute_score]
