"""Failures in a history: fastcore's failure dicts laid out in Temporal's ``Failure``, and back.

The dicts are ``fastcore.integration.to_failure``'s (``bridge._failures`` maps exceptions).

Event ids a failure refers to (an activity's scheduled event, a child's initiated event) are
renumbered through the ``map_id`` the history translation passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.api.failure.v1 import Failure

from ._common import (
    _IDENTITY,
    _enum,
    _from_dur,
    _from_payloads,
    _payloads,
    _set_dur,
)

IdMap = Callable[[int], int]


def _same(i: int) -> int:
    return i


def failure_to_temporal(
    failure: dict[str, Any], *, map_id: IdMap = _same, started_of: IdMap = _same
) -> Failure:
    """Turn a fastcore failure dict (``fastcore.integration.to_failure``'s) into a ``Failure``.

    Args:
        failure: The failure dict.
        map_id: Maps event ids the failure refers to (activity scheduled, child initiated).
        started_of: Gives the started event id for a mapped scheduled/initiated id.

    Returns:
        The proto.
    """
    f = Failure(
        message=failure.get("message") or "",
        source=failure.get("source") or "",
        stack_trace=failure.get("stack_trace") or "",
    )
    cause = failure.get("cause")
    if cause:
        f.cause.CopyFrom(failure_to_temporal(cause, map_id=map_id, started_of=started_of))
    if (info := failure.get("application_failure_info")) is not None:
        app = f.application_failure_info
        app.SetInParent()
        app.type = info.get("type") or ""
        app.non_retryable = bool(info.get("non_retryable"))
        if info.get("details"):
            app.details.CopyFrom(_payloads(info["details"]))
        _set_dur(app.next_retry_delay, info.get("next_retry_delay"))
        app.category = int(info.get("category") or 0)  # type: ignore[assignment]
    elif (info := failure.get("timeout_failure_info")) is not None:
        to = f.timeout_failure_info
        to.SetInParent()
        to.timeout_type = _enum(info.get("timeout_type"))
        if info.get("last_heartbeat_details"):
            to.last_heartbeat_details.CopyFrom(_payloads(info["last_heartbeat_details"]))
    elif (info := failure.get("canceled_failure_info")) is not None:
        f.canceled_failure_info.SetInParent()
        if info.get("details"):
            f.canceled_failure_info.details.CopyFrom(_payloads(info["details"]))
    elif failure.get("terminated_failure_info") is not None:
        f.terminated_failure_info.SetInParent()
    elif (info := failure.get("activity_failure_info")) is not None:
        act = f.activity_failure_info
        sched = map_id(int(info.get("scheduled_event_id") or 0))
        act.scheduled_event_id = sched
        act.started_event_id = started_of(sched) if sched else 0
        act.identity = _IDENTITY
        act.activity_type.name = info.get("activity_type") or ""
        act.activity_id = info.get("activity_id") or ""
        act.retry_state = _enum(info.get("retry_state"))
    elif (info := failure.get("child_workflow_failure_info")) is not None:
        child = f.child_workflow_execution_failure_info
        initiated = map_id(int(info.get("initiated_event_id") or 0))
        child.namespace = "default"
        child.workflow_execution.workflow_id = info.get("workflow_id") or ""
        child.workflow_execution.run_id = info.get("run_id") or ""
        child.workflow_type.name = info.get("workflow_type") or ""
        child.initiated_event_id = initiated
        child.started_event_id = started_of(initiated) if initiated else 0
        child.retry_state = _enum(info.get("retry_state"))
    return f


def failure_from_temporal(f: Failure, *, map_id: IdMap = _same) -> dict[str, Any]:
    """Turn Temporal's ``Failure`` into a fastcore failure dict.

    Args:
        f: The proto.
        map_id: Maps the event ids the failure refers to back to fastcore's.

    Returns:
        The failure dict.
    """
    d: dict[str, Any] = {
        "message": f.message,
        "source": f.source,
        "stack_trace": f.stack_trace,
        "cause": failure_from_temporal(f.cause, map_id=map_id) if f.HasField("cause") else None,
    }
    which = f.WhichOneof("failure_info")
    if which == "application_failure_info":
        app = f.application_failure_info
        d[which] = {
            "type": app.type,
            "non_retryable": app.non_retryable,
            "details": _from_payloads(app.details),
            "next_retry_delay": _from_dur(app, "next_retry_delay"),
        }
        if app.category:
            d[which]["category"] = int(app.category)
    elif which == "timeout_failure_info":
        to = f.timeout_failure_info
        d[which] = {
            "timeout_type": int(to.timeout_type),
            "last_heartbeat_details": _from_payloads(to.last_heartbeat_details),
        }
    elif which == "canceled_failure_info":
        d[which] = {"details": _from_payloads(f.canceled_failure_info.details)}
    elif which == "terminated_failure_info":
        d[which] = {}
    elif which == "activity_failure_info":
        act = f.activity_failure_info
        d[which] = {
            "activity_type": act.activity_type.name,
            "activity_id": act.activity_id,
            "retry_state": int(act.retry_state),
            "scheduled_event_id": map_id(act.scheduled_event_id),
        }
    elif which == "child_workflow_execution_failure_info":
        child = f.child_workflow_execution_failure_info
        d["child_workflow_failure_info"] = {
            "workflow_id": child.workflow_execution.workflow_id,
            "run_id": child.workflow_execution.run_id,
            "workflow_type": child.workflow_type.name,
            "retry_state": int(child.retry_state),
            "initiated_event_id": map_id(child.initiated_event_id),
        }
    elif which == "server_failure_info":
        d["application_failure_info"] = {
            "type": "ServerError",
            "non_retryable": f.server_failure_info.non_retryable,
            "details": [],
            "next_retry_delay": None,
        }
    return d
