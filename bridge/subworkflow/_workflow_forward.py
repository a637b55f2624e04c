"""Workflow side: forward a signal, update or query to a fastcore sub-workflow where it runs.

Forwarding (:func:`signal_fastcore_workflow`, :func:`execute_fastcore_update`,
:func:`query_fastcore_workflow`, and ``bridge.FastcoreMirror``'s methods of the same names)
runs a local activity, ``FORWARD_ACTIVITY_NAME``, which ``bridge.forwarding_activities()``
(or a ``bridge.BridgeForwarder``, ``bridge.subworkflow._activity_forward``) registers on
the workflow's worker; it calls the sub-workflow's bridge endpoint with a ``BridgeClient``.
Delivery is at least once: a retried attempt whose first call reached the sub-workflow
delivers the signal (or update) again. A failed forward raises an ``ApplicationError``
typed after the fastcore error (``WorkflowNotFoundError`` once the sub-workflow has
closed, ...); as any ``ApplicationError`` that escapes workflow code, it fails the workflow
(or the update) unless the handler catches it.

This module runs inside Temporal's workflow sandbox: it imports only the standard library,
``temporalio`` and ``fastcore.integration``'s definition readers, never gRPC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

from fastcore.integration import handler_definition_of

__all__ = [
    "FORWARD_ACTIVITY_NAME",
    "NO_ARG",
    "FastcoreForwardInput",
    "FastcoreLocation",
    "call_args",
    "execute_fastcore_update",
    "handler_reference",
    "query_fastcore_workflow",
    "signal_fastcore_workflow",
]

FORWARD_ACTIVITY_NAME = "fastcore.forward"
"""The local activity ``bridge.forwarding_activities`` registers and the forwarders run."""

NO_ARG: Any = object()
"""The default of a helper's single ``arg``: no argument given (``None`` is an argument)."""

_FORWARD_TIMEOUT = timedelta(seconds=10)
# temporalio 1.35 does not end a local activity's retries at its schedule_to_close_timeout,
# so the default policy bounds them by attempts: about 12 s of an unreachable endpoint.
_FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=10,
    non_retryable_error_types=[
        "WorkflowNotFoundError",
        "InvalidArgumentError",
        "WorkflowUpdateFailedError",
        "WorkflowQueryFailedError",
    ],
)


@dataclass(frozen=True)
class FastcoreLocation:
    """Where a fastcore sub-workflow runs: enough for a ``BridgeClient`` to reach it.

    Attributes:
        bridge_address: The gRPC bridge endpoint of the worker running it (``host:port``);
            empty when that worker serves no bridge.
        workflow_id: The fastcore workflow id.
        run_id: The fastcore run id (empty: the latest run).
        workflow_type: The fastcore workflow type.
        identity: The identity of the fastcore engine running it.
        host: The worker's host name.
        pid: The worker's process id.
        activity_id: The Temporal activity running it.
        attempt: That activity's attempt.
    """

    bridge_address: str
    workflow_id: str
    run_id: str = ""
    workflow_type: str = ""
    identity: str = ""
    host: str = ""
    pid: int = 0
    activity_id: str = ""
    attempt: int = 0

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> FastcoreLocation:
        """A location from a mirror batch (or ``to_json``'s form); unknown keys are ignored."""
        return cls(
            bridge_address=str(obj.get("bridge_address") or ""),
            workflow_id=str(obj["workflow_id"]),
            run_id=str(obj.get("run_id") or ""),
            workflow_type=str(obj.get("workflow_type") or ""),
            identity=str(obj.get("identity") or ""),
            host=str(obj.get("host") or ""),
            pid=int(obj.get("pid") or 0),
            activity_id=str(obj.get("activity_id") or ""),
            attempt=int(obj.get("attempt") or 0),
        )

    def to_json(self) -> dict[str, Any]:
        """The location as a JSON-able dict."""
        return asdict(self)


@dataclass
class FastcoreForwardInput:
    """What the forwarding local activity gets: the call to make on a bridged workflow.

    Attributes:
        bridge_address: The bridge endpoint that serves the workflow.
        workflow_id: The fastcore workflow id.
        run_id: The run to address; empty for the latest.
        kind: ``"signal"``, ``"update"`` or ``"query"``.
        name: The signal, update or query name.
        args: Its arguments, as JSON-able values.
        update_id: The update's id (``kind == "update"``).
    """

    bridge_address: str
    workflow_id: str
    run_id: str = ""
    kind: str = "signal"
    name: str = ""
    args: list[Any] = field(default_factory=list)
    update_id: str | None = None


def handler_reference(kind: str, ref: Any) -> tuple[str, Any]:
    """A fastcore handler's registered name and result hint, from its method or name.

    Raises:
        ValueError: ``ref`` is an empty name.
        TypeError: ``ref`` is no ``@fastcore.workflow.<kind>`` method (nor a string).
    """
    if isinstance(ref, str):
        if not ref:
            raise ValueError(f"the {kind} name must not be empty")
        return ref, None
    h = handler_definition_of(ref)
    if h is None or h.kind != kind or not isinstance(h.name, str):
        label = getattr(ref, "__qualname__", repr(ref))
        raise TypeError(
            f"{label} is not a fastcore {kind}: pass a @fastcore.workflow.{kind} method or "
            f"the {kind} name"
        )
    return h.name, h.ret_hint


def _target(target: FastcoreLocation | Mapping[str, Any]) -> FastcoreLocation:
    location = (
        target if isinstance(target, FastcoreLocation) else FastcoreLocation.from_json(target)
    )
    if not location.bridge_address:
        raise ValueError(
            f"fastcore workflow {location.workflow_id!r} runs on a worker without a bridge "
            "endpoint: give fastcore_activities(..., bridge_address=...) a served address"
        )
    return location


async def _run_forward(
    kind: str,
    target: FastcoreLocation | Mapping[str, Any],
    ref: Any,
    args: list[Any],
    *,
    update_id: str | None = None,
    result_type: Any,
    start_to_close_timeout: timedelta,
    schedule_to_close_timeout: timedelta | None,
    retry_policy: RetryPolicy | None,
    activity_name: str,
    summary: str | None,
) -> Any:
    """Forward one signal, update or query through the local forwarding activity."""
    location = _target(target)
    name, hint = handler_reference(kind, ref)
    payload = FastcoreForwardInput(
        bridge_address=location.bridge_address,
        workflow_id=location.workflow_id,
        kind=kind,
        name=name,
        args=args,
        update_id=update_id,
    )
    if result_type is None:
        result_type = hint
    try:
        return await workflow.execute_local_activity(
            activity_name,
            payload,
            result_type=result_type,
            start_to_close_timeout=start_to_close_timeout,
            schedule_to_close_timeout=schedule_to_close_timeout,
            retry_policy=retry_policy or _FORWARD_RETRY,
            summary=summary or f"{payload.kind} {payload.name} -> {payload.workflow_id}",
        )
    except ActivityError as err:
        # temporalio reports some local activity failures unwrapped (1.35: all of them);
        # the helpers report them the same way whichever it does.
        if isinstance(err.cause, FailureError):
            raise err.cause  # noqa: B904 - keeps the cause's own chain
        raise


async def signal_fastcore_workflow(
    target: FastcoreLocation | Mapping[str, Any],
    signal: Any,
    arg: Any = NO_ARG,
    *,
    args: Sequence[Any] = (),
    start_to_close_timeout: timedelta = _FORWARD_TIMEOUT,
    schedule_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_name: str = FORWARD_ACTIVITY_NAME,
    summary: str | None = None,
) -> None:
    """Send a signal to a fastcore workflow on whichever worker runs it, from workflow code.

    Runs the local activity ``activity_name`` (``bridge.forwarding_activities``), which calls
    the workflow's bridge endpoint. The call addresses the workflow id's latest run there
    (as Temporal's signal by workflow id does). Retried while the endpoint is unreachable,
    by default 10 attempts over about 12 seconds; delivery is at least once.

    Args:
        target: Where the workflow runs (``FastcoreMirror.location``, or a
            ``FastcoreLocation`` made by hand; a mapping of its fields also does).
        signal: The ``@fastcore.workflow.signal`` method or the signal name.
        arg: A single argument (or use ``args``).
        args: The arguments, JSON-able through Temporal's data converter.
        start_to_close_timeout: Limit on one attempt.
        schedule_to_close_timeout: Limit on all attempts (passed on; temporalio 1.35 does
            not enforce it for local activities, so bound retries with ``retry_policy``).
        retry_policy: The local activity's retry policy; by default up to 10 attempts with
            backoff from 100 ms to 2 s, none for the errors no retry can change (no such
            workflow, signal or update, bad arguments, a failed update or query).
        activity_name: The forwarding activity's name, if it was registered under another.
        summary: The local activity's summary.

    Raises:
        temporalio.exceptions.ApplicationError: The forward failed; its ``type`` names the
            fastcore error (``WorkflowNotFoundError`` when the run has closed,
            ``InvalidArgumentError`` for an unknown name or arguments that do not fit,
            ``RPCError:UNAVAILABLE`` when the endpoint could not be reached, ...).
        temporalio.exceptions.TimeoutError: The forward ran out of time (the local
            activity's timeouts).
    """
    await _run_forward(
        "signal",
        target,
        signal,
        call_args(arg, args),
        result_type=None,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        retry_policy=retry_policy,
        activity_name=activity_name,
        summary=summary,
    )


async def execute_fastcore_update(
    target: FastcoreLocation | Mapping[str, Any],
    update: Any,
    arg: Any = NO_ARG,
    *,
    args: Sequence[Any] = (),
    id: str | None = None,
    result_type: type | None = None,
    start_to_close_timeout: timedelta = _FORWARD_TIMEOUT,
    schedule_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_name: str = FORWARD_ACTIVITY_NAME,
    summary: str | None = None,
) -> Any:
    """Run an update on a fastcore workflow wherever it runs and return its result.

    As :func:`signal_fastcore_workflow`. The update id defaults to a fresh
    ``workflow.uuid4()`` (deterministic, the same in every attempt).

    Args:
        target: Where the workflow runs.
        update: The ``@fastcore.workflow.update`` method or the update name.
        arg: A single argument (or use ``args``).
        args: The arguments.
        id: The update id.
        result_type: The result's type (default: the update method's return annotation).
        start_to_close_timeout: Limit on one attempt.
        schedule_to_close_timeout: Limit on all attempts.
        retry_policy: The local activity's retry policy.
        activity_name: The forwarding activity's name.
        summary: The local activity's summary.

    Raises:
        temporalio.exceptions.ApplicationError: The forward failed (see
            :func:`signal_fastcore_workflow`); a rejected or failed update is of type
            ``WorkflowUpdateFailedError`` and caused by the update's own failure.
        temporalio.exceptions.TimeoutError: The forward ran out of time.
    """
    return await _run_forward(
        "update",
        target,
        update,
        call_args(arg, args),
        update_id=id or str(workflow.uuid4()),
        result_type=result_type,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        retry_policy=retry_policy,
        activity_name=activity_name,
        summary=summary,
    )


async def query_fastcore_workflow(
    target: FastcoreLocation | Mapping[str, Any],
    query: Any,
    arg: Any = NO_ARG,
    *,
    args: Sequence[Any] = (),
    result_type: type | None = None,
    start_to_close_timeout: timedelta = _FORWARD_TIMEOUT,
    schedule_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_name: str = FORWARD_ACTIVITY_NAME,
    summary: str | None = None,
) -> Any:
    """Query a fastcore workflow's live state wherever it runs, from workflow code.

    An activity cannot run in a Temporal query handler: a query on the Temporal workflow
    answers from a :class:`FastcoreMirror` instead (``state_query``). The answer is
    recorded in the workflow's history as the local activity's result.

    Args:
        target: Where the workflow runs.
        query: The ``@fastcore.workflow.query`` method or the query name.
        arg: A single argument (or use ``args``).
        args: The arguments.
        result_type: The answer's type (default: the query method's return annotation).
        start_to_close_timeout: Limit on one attempt.
        schedule_to_close_timeout: Limit on all attempts.
        retry_policy: The local activity's retry policy.
        activity_name: The forwarding activity's name.
        summary: The local activity's summary.

    Raises:
        temporalio.exceptions.ApplicationError: The forward failed (see
            :func:`signal_fastcore_workflow`); a failed query handler is of type
            ``WorkflowQueryFailedError``.
        temporalio.exceptions.TimeoutError: The forward ran out of time.
    """
    return await _run_forward(
        "query",
        target,
        query,
        call_args(arg, args),
        result_type=result_type,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        retry_policy=retry_policy,
        activity_name=activity_name,
        summary=summary,
    )


def call_args(arg: Any, args: Sequence[Any]) -> list[Any]:
    """temporalio's calling convention: one ``arg`` (``NO_ARG``: none), then ``args``."""
    out = [] if arg is NO_ARG else [arg]
    out.extend(args)
    return out
