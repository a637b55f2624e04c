"""Translate fastcore histories into Temporal's own history format, and back.

A fastcore history has no workflow tasks: each *input* event (started, activity resolved,
timer fired, signal, update accepted, cancel requested, child event) is one activation and
the command events after it are what the code did in reply. Temporal frames each activation
as a workflow task, so ``to_temporal`` writes::

    <input>  WorkflowTaskScheduled  WorkflowTaskStarted  WorkflowTaskCompleted  <commands>

renumbering every event and cross-reference, and adding what Temporal records and fastcore
does not:

* an ``ActivityTaskStarted`` (with the attempt) before each activity result;
* an ``UpsertWorkflowSearchAttributes`` of ``TemporalChangeVersion`` after each
  ``core_patch`` marker, as sdk-core writes with its internal flag 2;
* an ``ExternalWorkflowExecutionCancelRequested`` (and its workflow task) after each
  request to cancel another workflow, which fastcore resolves in the same activation;
* an update's ``WorkflowExecutionUpdateAccepted`` after the task's completion, where
  Temporal writes the accepted protocol message.

A signal-with-start (``with_start=True`` right after the start) shares the first task;
terminated and timed-out events get no task. Each task's started event carries the
activation's time (the input's), which is what ``workflow.now()`` returns on both sides. The
first task records the sdk-core flags a current Temporal Python worker records (1-4), so
Temporal's ``Replayer`` runs with its strict checks: activity and child ids and types, and
patch upserts, must match.

Workflow task failures: ``WORKFLOW_TASK_FAILED`` becomes a failed task (cause
non-determinism or unhandled failure) and ``WORKFLOW_TASK_RETRIED`` the completed retry,
with ``attempt`` counting the failures. An input fastcore held back while the run was
blocked is written where fastcore delivered it (at its retry), in a task of its own, so
Temporal's replay sees the same activations; read back, it is an ordinary input there. An
update whose task failed is accepted by the task that completes it (Temporal writes no event
for an update that was never accepted, so one held back until the history ends is dropped).

Attributes Temporal has no place for (the start's ``seed``, activities' and children's
``cancellation_type``) travel as JSON in a ``fastcore`` header field, and a child start
failure cause Temporal lacks in ``control``, so that ``from_temporal(to_temporal(h)) == h``.
A timer's ``fire_at`` is read back as its task's time plus its duration, as the engine
computes it.

The implementation is private: ``_write`` frames the workflow tasks and ``_write_events``
writes each event (fastcore -> Temporal), ``_read`` follows the workflow tasks back and
``_read_events`` reads each event (Temporal -> fastcore), ``_failure`` lays failures out in
Temporal's ``Failure`` and ``_common`` holds the shared constants and value conversions.
"""

from __future__ import annotations

from ._common import CORE_FLAGS
from ._failure import IdMap as IdMap
from ._failure import failure_from_temporal, failure_to_temporal
from ._read import from_temporal
from ._write import to_temporal, to_temporal_json

__all__ = [
    "CORE_FLAGS",
    "failure_from_temporal",
    "failure_to_temporal",
    "from_temporal",
    "to_temporal",
    "to_temporal_json",
]
