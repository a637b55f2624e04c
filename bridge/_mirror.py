"""Temporal workflow code's view of the fastcore sub-workflows it runs: where, what, and forwarding.

A Temporal workflow that starts a sub-workflow with ``execute_fastcore_workflow(...,
mirror=True)`` learns where it runs and what it does: once the sub-workflow does not finish
at once, the bridge activity signals the workflow (``MIRROR_SIGNAL``) with the run's location
(the worker's bridge endpoint, the fastcore workflow id and run id) and its history events,
in order and batched, and with each batch the answer of the sub-workflow's ``state_query``.
A :class:`FastcoreMirror` made in the workflow's ``__init__`` receives those signals and
keeps the mirror; the workflow's own query handlers can answer from it::

    @workflow.defn
    class LoanWorkflow:
        def __init__(self) -> None:
            self.mirror = bridge.FastcoreMirror()

        @workflow.run
        async def run(self, app: dict) -> dict:
            return await bridge.execute_fastcore_workflow(
                Scoring.run, app, id=f"{workflow.info().workflow_id}/scoring", mirror=True,
                state_query=Scoring.status, start_to_close_timeout=..., heartbeat_timeout=...)

        @workflow.signal
        async def approve(self, who: str) -> None:      # forwarded where it runs
            await self.mirror.signal(f"{workflow.info().workflow_id}/scoring",
                                     Scoring.approve, who)

        @workflow.query
        def scoring(self) -> Any:                       # answered from the mirror
            return self.mirror.state(f"{workflow.info().workflow_id}/scoring")

Forwarding (:func:`signal_fastcore_workflow`, :func:`execute_fastcore_update`,
:func:`query_fastcore_workflow`, and the mirror's methods of the same names) runs a local
activity, ``FORWARD_ACTIVITY_NAME``, which ``bridge.forwarding_activities()`` (or a
``bridge.BridgeForwarder``) registers on the workflow's worker; it calls the sub-workflow's
bridge endpoint with a ``BridgeClient``. Delivery is at least once: a retried attempt whose
first call reached the sub-workflow delivers the signal (or update) again. A failed forward
raises an ``ApplicationError`` typed after the fastcore error (``WorkflowNotFoundError`` once
the sub-workflow has closed, ...); as any ``ApplicationError`` that escapes workflow code, it
fails the workflow (or the update) unless the handler catches it.

The mirror is the history as the activity sent it: when ``execute_fastcore_workflow``
returns, every event of the run, up to the one that closed it, is in the mirror (the
activity waits, up to 5 s, until it has sent its last batch, before it reports the result).
A retry of the activity on another worker moves the run there: its first batch carries the
new location and the history from the start. Each batch is a signal, so an event in the
Temporal workflow's history: mirror the sub-workflows whose steps matter to it.

With OpenTelemetry's ``OpenTelemetryPlugin`` (which passes ``opentelemetry`` through the
sandbox), each mirrored event also becomes an event on the span of the signal that brought
it (``HandleSignal:__fastcore_mirror``), stamped with the sub-workflow's own time: the
Temporal workflow's trace shows each step of the sub-workflow.

This module runs inside Temporal's workflow sandbox: it imports only the standard library
and ``temporalio``, never the fastcore engine or gRPC.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

__all__ = [
    "FORWARD_ACTIVITY_NAME",
    "MIRROR_QUERY",
    "MIRROR_SIGNAL",
    "FastcoreForwardInput",
    "FastcoreLocation",
    "FastcoreMirror",
    "execute_fastcore_update",
    "query_fastcore_workflow",
    "signal_fastcore_workflow",
]

MIRROR_SIGNAL = "__fastcore_mirror"
"""The signal a bridge activity sends its Temporal workflow: one batch of a mirrored run."""

MIRROR_QUERY = "__fastcore_mirror"
"""The query a :class:`FastcoreMirror` answers by default: every mirrored run, as JSON."""

FORWARD_ACTIVITY_NAME = "fastcore.forward"
"""The local activity ``bridge.forwarding_activities`` registers and the forwarders run."""

MIRROR_VERSION = 1
"""The batch format's version, sent as ``fastcore_mirror`` in every batch."""

_HANDLER_ATTR = "__fastcore_handler__"  # fastcore._definitions._HANDLER_ATTR
_UNSET: Any = object()
_CLOSE_STATUS = {
    "WORKFLOW_EXECUTION_COMPLETED": "COMPLETED",
    "WORKFLOW_EXECUTION_FAILED": "FAILED",
    "WORKFLOW_EXECUTION_CANCELED": "CANCELED",
    "WORKFLOW_EXECUTION_TERMINATED": "TERMINATED",
    "WORKFLOW_EXECUTION_TIMED_OUT": "TIMED_OUT",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "CONTINUED_AS_NEW",
}
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


# ---------------------------------------------------------------- the mirror


class _Run:
    """One mirrored sub-workflow: its latest location, events and state."""

    __slots__ = ("batches", "events", "location", "state", "state_error")

    def __init__(self, location: FastcoreLocation) -> None:
        self.location = location
        self.events: list[dict[str, Any]] = []
        self.state: Any = None
        self.state_error: str | None = None
        self.batches = 0

    @property
    def status(self) -> str:
        if self.events:
            return _CLOSE_STATUS.get(str(self.events[-1].get("event_type")), "RUNNING")
        return "RUNNING"

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.location.to_json(),
            "status": self.status,
            "history_length": len(self.events),
            "state": self.state,
            "state_error": self.state_error,
        }


class FastcoreMirror:
    """The Temporal workflow's mirror of the fastcore sub-workflows it runs with ``mirror=True``.

    Make it in the workflow's ``__init__`` (or ``@workflow.init``): it registers the handler
    of ``signal_name`` (and of the query ``query_name``) on the running workflow. A workflow
    that prefers its own handler passes ``register=False`` and calls :meth:`apply` from a
    ``@workflow.signal(name=bridge.MIRROR_SIGNAL)`` method.

    Sub-workflows are named by their fastcore workflow id (give one with ``id=``, or read
    :meth:`workflow_ids`).

    Args:
        signal_name: The signal the bridge activity sends (``MIRROR_SIGNAL``).
        query_name: A query answering :meth:`to_json`; None for none.
        register: Register the handlers now (inside workflow code only).
        trace: Add each mirrored event to the signal's OpenTelemetry span, when
            ``opentelemetry`` is available without importing it (the tracing plugin
            passes it through the sandbox).
    """

    def __init__(
        self,
        *,
        signal_name: str = MIRROR_SIGNAL,
        query_name: str | None = MIRROR_QUERY,
        register: bool = True,
        trace: bool = True,
    ) -> None:
        self._runs: dict[str, _Run] = {}
        self._trace = trace
        if register:
            workflow.set_signal_handler(signal_name, self.apply)
            if query_name is not None:
                workflow.set_query_handler(query_name, self.to_json)

    # ------------------------------------------------------------ receiving

    def apply(self, batch: dict[str, Any]) -> None:
        """Take one batch the bridge activity sent: location, next events, latest state.

        Events already mirrored are skipped. A later attempt of the activity (a retry,
        perhaps on another worker, resuming the run from its checkpoint) sends the run's
        history from its start again and replaces what earlier attempts sent, whose steps
        past the checkpoint it may have run again; batches of an earlier attempt arriving
        after that are dropped. A batch of another run of the same workflow id starts over.
        """
        if not isinstance(batch, Mapping) or batch.get("fastcore_mirror") != MIRROR_VERSION:
            _warn("ignoring a malformed fastcore mirror batch")
            return
        location = FastcoreLocation.from_json(batch)
        run = self._runs.get(location.workflow_id)
        if run is None or run.location.run_id != location.run_id:
            run = self._runs[location.workflow_id] = _Run(location)
        elif location.attempt < run.location.attempt:
            return  # a late batch of an attempt a retry has replaced
        elif location.attempt > run.location.attempt:
            run.events = []  # the retry resends the history from its start
        run.location = location
        run.batches += 1
        added: list[dict[str, Any]] = []
        for event in batch.get("events") or ():
            event_id = int(event.get("event_id", 0))
            if event_id == len(run.events) + 1:
                run.events.append(event)
                added.append(event)
            elif event_id > len(run.events) + 1:
                _warn(
                    "fastcore mirror of %s: event %d after %d; waiting for the gap to fill",
                    location.workflow_id,
                    event_id,
                    len(run.events),
                )
                break
        if "state" in batch:
            run.state = batch["state"]
            run.state_error = None
        if batch.get("state_error"):
            run.state_error = str(batch["state_error"])
        if added and self._trace:
            _trace_events(location, added)

    # ------------------------------------------------------------ reading

    def workflow_ids(self) -> list[str]:
        """The fastcore workflow ids mirrored so far, in the order they first arrived."""
        return list(self._runs)

    def location(self, workflow_id: str) -> FastcoreLocation | None:
        """Where the sub-workflow runs (its latest location); None before the first batch."""
        run = self._runs.get(workflow_id)
        return run.location if run is not None else None

    def events(self, workflow_id: str) -> list[dict[str, Any]]:
        """The sub-workflow's history events so far (``fastcore.history.event_to_json``)."""
        run = self._runs.get(workflow_id)
        return list(run.events) if run is not None else []

    def status(self, workflow_id: str) -> str | None:
        """``"RUNNING"`` or how the run closed (``"COMPLETED"``, ``"FAILED"``, ...); None
        before the first batch."""
        run = self._runs.get(workflow_id)
        return run.status if run is not None else None

    def state(self, workflow_id: str) -> Any:
        """The latest answer of the sub-workflow's ``state_query`` (None before one)."""
        run = self._runs.get(workflow_id)
        return run.state if run is not None else None

    def to_json(self) -> dict[str, Any]:
        """Every mirrored run (location, status, history length, state), by workflow id."""
        return {wid: run.to_json() for wid, run in self._runs.items()}

    async def wait_location(
        self, workflow_id: str, *, timeout: timedelta | float | None = None
    ) -> FastcoreLocation:
        """Wait until the sub-workflow's location is known and return it.

        Raises:
            TimeoutError: ``timeout`` passed first (as ``workflow.wait_condition``).
        """
        await workflow.wait_condition(lambda: workflow_id in self._runs, timeout=timeout)
        return self._runs[workflow_id].location

    # ------------------------------------------------------------ forwarding

    async def signal(
        self,
        workflow_id: str,
        signal: Any,
        arg: Any = _UNSET,
        *,
        args: Sequence[Any] = (),
        location_timeout: timedelta | float | None = None,
        **options: Any,
    ) -> None:
        """Forward a signal to the sub-workflow where it runs (see
        :func:`signal_fastcore_workflow`), once its location is known.

        A forward that fails on a location the sub-workflow has since left is tried again
        at the new one.

        Args:
            workflow_id: The fastcore workflow id.
            signal: The ``@fastcore.workflow.signal`` method or the signal name.
            arg: A single argument (or use ``args``).
            args: The arguments.
            location_timeout: How long to wait for the location (forever by default).
            **options: ``signal_fastcore_workflow``'s activity options.
        """
        await self._forward(
            workflow_id,
            location_timeout,
            lambda loc: signal_fastcore_workflow(loc, signal, arg, args=args, **options),
        )

    async def execute_update(
        self,
        workflow_id: str,
        update: Any,
        arg: Any = _UNSET,
        *,
        args: Sequence[Any] = (),
        location_timeout: timedelta | float | None = None,
        **options: Any,
    ) -> Any:
        """Forward an update to the sub-workflow and return its result (see
        :func:`execute_fastcore_update`), once its location is known."""
        return await self._forward(
            workflow_id,
            location_timeout,
            lambda loc: execute_fastcore_update(loc, update, arg, args=args, **options),
        )

    async def query(
        self,
        workflow_id: str,
        query: Any,
        arg: Any = _UNSET,
        *,
        args: Sequence[Any] = (),
        location_timeout: timedelta | float | None = None,
        **options: Any,
    ) -> Any:
        """Query the sub-workflow's live state where it runs (see
        :func:`query_fastcore_workflow`); workflow code only, not a query handler."""
        return await self._forward(
            workflow_id,
            location_timeout,
            lambda loc: query_fastcore_workflow(loc, query, arg, args=args, **options),
        )

    async def _forward(
        self,
        workflow_id: str,
        location_timeout: timedelta | float | None,
        call: Callable[[FastcoreLocation], Any],
    ) -> Any:
        location = await self.wait_location(workflow_id, timeout=location_timeout)
        while True:
            try:
                return await call(location)
            except FailureError as err:
                current = self.location(workflow_id)
                if current is None or current == location or not _retryable(err):
                    raise
                location = current  # the run moved to another worker meanwhile


def _warn(message: str, *args: Any) -> None:
    """Log through the workflow's logger (quiet on replay), or this module's outside one."""
    log = workflow.logger if workflow.in_workflow() else logging.getLogger(__name__)
    log.warning(message, *args)


def _retryable(err: FailureError) -> bool:
    return not (isinstance(err, ApplicationError) and err.non_retryable)


def _trace_events(location: FastcoreLocation, events: Sequence[Mapping[str, Any]]) -> None:
    """Each event as an event on the current span (the signal's), if tracing is on."""
    if workflow.unsafe.is_replaying():
        return
    trace = sys.modules.get("opentelemetry.trace")  # passed through by the tracing plugin
    if trace is None:
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    for e in events:
        span.add_event(
            f"fastcore:{e.get('event_type')}",
            attributes={
                "fastcore.workflow_id": location.workflow_id,
                "fastcore.run_id": location.run_id,
                "fastcore.event_id": int(e.get("event_id", 0)),
            },
            timestamp=int(float(e.get("timestamp", 0.0)) * 1_000_000_000),
        )


# ---------------------------------------------------------------- forwarding


def _handler_name(kind: str, ref: Any) -> tuple[str, Any]:
    """A fastcore handler's registered name and result hint, from its method or name."""
    if isinstance(ref, str):
        if not ref:
            raise ValueError(f"the {kind} name must not be empty")
        return ref, None
    h = getattr(ref, _HANDLER_ATTR, None)
    name = getattr(h, "name", None)
    if getattr(h, "kind", None) != kind or not isinstance(name, str):
        label = getattr(ref, "__qualname__", repr(ref))
        raise TypeError(
            f"{label} is not a fastcore {kind}: pass a @fastcore.workflow.{kind} method or "
            f"the {kind} name"
        )
    return name, getattr(h, "ret_hint", None)


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
    name, hint = _handler_name(kind, ref)
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
    arg: Any = _UNSET,
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
        _args(arg, args),
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
    arg: Any = _UNSET,
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
        _args(arg, args),
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
    arg: Any = _UNSET,
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
        _args(arg, args),
        result_type=result_type,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        retry_policy=retry_policy,
        activity_name=activity_name,
        summary=summary,
    )


def _args(arg: Any, args: Sequence[Any]) -> list[Any]:
    out = [] if arg is _UNSET else [arg]
    out.extend(args)
    return out
