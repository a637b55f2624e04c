"""Workflow side: the Temporal workflow's mirror of the fastcore sub-workflows it runs.

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

Forwarding to the sub-workflow where it runs is ``bridge.subworkflow._workflow_forward``.

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

This module runs inside Temporal's workflow sandbox: it imports only the standard library,
``temporalio`` and the forwarding helpers, never the fastcore engine or gRPC.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

from ._workflow_forward import (
    NO_ARG,
    FastcoreLocation,
    execute_fastcore_update,
    query_fastcore_workflow,
    signal_fastcore_workflow,
)

__all__ = [
    "MIRROR_QUERY",
    "MIRROR_SIGNAL",
    "MIRROR_VERSION",
    "FastcoreMirror",
]

MIRROR_SIGNAL = "__fastcore_mirror"
"""The signal a bridge activity sends its Temporal workflow: one batch of a mirrored run."""

MIRROR_QUERY = "__fastcore_mirror"
"""The query a :class:`FastcoreMirror` answers by default: every mirrored run, as JSON."""

MIRROR_VERSION = 1
"""The batch format's version, sent as ``fastcore_mirror`` in every batch."""

_CLOSE_STATUS = {
    "WORKFLOW_EXECUTION_COMPLETED": "COMPLETED",
    "WORKFLOW_EXECUTION_FAILED": "FAILED",
    "WORKFLOW_EXECUTION_CANCELED": "CANCELED",
    "WORKFLOW_EXECUTION_TERMINATED": "TERMINATED",
    "WORKFLOW_EXECUTION_TIMED_OUT": "TIMED_OUT",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "CONTINUED_AS_NEW",
}


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
        arg: Any = NO_ARG,
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
        arg: Any = NO_ARG,
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
        arg: Any = NO_ARG,
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
