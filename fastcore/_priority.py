"""``Priority``, as ``temporalio.common.Priority``: accepted where temporalio takes it.

Temporal uses it to order and share out work waiting in a task queue. One fastcore engine
runs every task it has as soon as it can, with no queue to order, so a priority is accepted
(code written for Temporal runs unchanged) and has no effect; ``info().priority`` shows
``Priority.default``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["Priority"]


@dataclass(frozen=True)
class Priority:
    """A task's priority key and fairness key and weight (temporalio's fields)."""

    priority_key: int | None = None
    fairness_key: str | None = None
    fairness_weight: float | None = None

    default: ClassVar[Priority]


Priority.default = Priority()
