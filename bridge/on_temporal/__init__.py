"""One class on both runtimes: fastcore workflows and activities registered on a Temporal worker.

``as_temporal_workflow(Checkout)`` is a real Temporal workflow that runs the fastcore class
(``_workflow``: the twin class; ``_runtime``: ``fastcore.workflow`` answered by
``temporalio.workflow``), and ``as_temporal_activities([...])`` are real Temporal activities
that run fastcore activities (``_activity``), so a workflow moves between the runtimes
without being rewritten.
"""

from __future__ import annotations

from ._activity import as_temporal_activities, as_temporal_activity
from ._runtime import TemporalRuntime
from ._workflow import as_temporal_workflow, sandbox_restrictions

__all__ = [
    "TemporalRuntime",
    "as_temporal_activities",
    "as_temporal_activity",
    "as_temporal_workflow",
    "sandbox_restrictions",
]
