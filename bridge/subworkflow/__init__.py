"""fastcore sub-workflows hosted inside Temporal activities, and the workflow code that calls them.

Two sides, in separate modules:

- the workflow side runs in Temporal workflow code, inside Temporal's sandbox, and imports
  no engine or gRPC code: ``_workflow_start`` (``execute_fastcore_workflow``),
  ``_workflow_mirror`` (``FastcoreMirror``) and ``_workflow_forward`` (signals, updates and
  queries forwarded to a sub-workflow where it runs);
- the worker side runs in the activities a worker registers: ``_activity``
  (``fastcore_activities``, which runs the sub-workflow in the worker's engine),
  ``_activity_checkpoint`` (the history it heartbeats), ``_activity_mirror`` (the signals
  that keep a ``FastcoreMirror`` up to date) and ``_activity_forward`` (``BridgeForwarder``,
  the local activity that makes forwarded calls through the gRPC bridge).
"""

from __future__ import annotations

from .._failures import to_temporal_error
from ._activity import fastcore_activities
from ._activity_checkpoint import FastcoreCheckpoint
from ._activity_forward import BridgeForwarder, forwarding_activities
from ._workflow_forward import (
    FORWARD_ACTIVITY_NAME,
    FastcoreForwardInput,
    FastcoreLocation,
    execute_fastcore_update,
    query_fastcore_workflow,
    signal_fastcore_workflow,
)
from ._workflow_mirror import MIRROR_QUERY, MIRROR_SIGNAL, FastcoreMirror
from ._workflow_start import (
    FASTCORE_ACTIVITY_NAME,
    FastcoreWorkflowInput,
    execute_fastcore_workflow,
    fastcore_workflow_name,
    start_fastcore_workflow,
)

__all__ = [
    "FASTCORE_ACTIVITY_NAME",
    "FORWARD_ACTIVITY_NAME",
    "MIRROR_QUERY",
    "MIRROR_SIGNAL",
    "BridgeForwarder",
    "FastcoreCheckpoint",
    "FastcoreForwardInput",
    "FastcoreLocation",
    "FastcoreMirror",
    "FastcoreWorkflowInput",
    "execute_fastcore_update",
    "execute_fastcore_workflow",
    "fastcore_activities",
    "fastcore_workflow_name",
    "forwarding_activities",
    "query_fastcore_workflow",
    "signal_fastcore_workflow",
    "start_fastcore_workflow",
    "to_temporal_error",
]
