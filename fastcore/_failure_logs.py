"""Failures made visible in the log, worded and tagged as temporalio's worker logs them.

Every failed activity attempt logs a WARNING "Completing activity as failed" (DEBUG for a
``BENIGN`` ``ApplicationError``) on ``fastcore.activity``'s logger, and every failed workflow
task a WARNING "Failed activation on workflow ..." on ``fastcore.worker``, each with the
exception (and its traceback) and temporalio's ``extra`` keys: ``temporal_activity`` /
``temporal_workflow`` (the details temporalio's adapters add) and
``__temporal_error_identifier`` (``ActivityFailure`` / ``WorkflowTaskFailure``), so log
filters written for Temporal work unchanged. Nothing is formatted unless a record is made.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from . import activity as _activity
from ._failure import is_benign

__all__ = ["activity_attempt_cancelled", "activity_attempt_failed", "workflow_task_failed"]

worker_logger = logging.getLogger("fastcore.worker")
"""Where the engine logs what temporalio's worker logs (failed workflow tasks)."""


def _exc_info(err: BaseException) -> tuple[type[BaseException], BaseException, Any]:
    return type(err), err, err.__traceback__


def activity_attempt_failed(info: _activity.Info, err: BaseException) -> None:
    """One attempt of an activity failed (raised, or timed out): log it."""
    base = _activity.logger.logger
    level = logging.DEBUG if is_benign(err) else logging.WARNING
    if not base.isEnabledFor(level):
        return
    details = info._logger_details()
    base.log(
        level,
        "Completing activity as failed (%s)",
        details,
        exc_info=_exc_info(err),
        extra={"temporal_activity": details, "__temporal_error_identifier": "ActivityFailure"},
    )


def activity_attempt_cancelled(info: _activity.Info) -> None:
    """An attempt ended by its cancellation: DEBUG, as temporalio's "Completing as cancelled"."""
    base = _activity.logger.logger
    if base.isEnabledFor(logging.DEBUG):
        details = info._logger_details()
        base.debug("Completing as cancelled (%s)", details, extra={"temporal_activity": details})


def workflow_task_failed(details: Mapping[str, Any], err: BaseException) -> None:
    """A workflow task failed (the run stays open and retries): log it with the traceback."""
    if not worker_logger.isEnabledFor(logging.WARNING):
        return
    worker_logger.warning(
        "Failed activation on workflow %s with ID %s and run ID %s",
        details.get("workflow_type"),
        details.get("workflow_id"),
        details.get("run_id"),
        exc_info=_exc_info(err),
        extra={
            "temporal_workflow": dict(details),
            "__temporal_error_identifier": "WorkflowTaskFailure",
        },
    )
