"""Signals and cancellation requests one workflow sends another (``ExternalWorkflowHandle``).

A ``SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED`` command delivers the signal to the target
run (as ``WORKFLOW_EXECUTION_SIGNALED``, marked ``external`` with who sent it) and answers the
sender with ``EXTERNAL_WORKFLOW_EXECUTION_SIGNALED``, or ``SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_
FAILED`` when no open run has that id (or run id), or, as for a client's signal, the target
has no handler for that name. A ``REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED`` that
is not for a child asks the target to cancel and answers with
``EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED`` or ``REQUEST_CANCEL_..._FAILED``. After a
restart, a request whose answer was not recorded is sent again, unless the target's history
shows it arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ._pipeline import Pipeline
from ._run import Run
from ._run_table import RunTable
from ._telemetry import Telemetry
from .history import Event, EventType

__all__ = ["ExternalRequests"]

_NOT_FOUND = "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"


class ExternalRequests:
    """Carries out what workflows ask of other workflows."""

    def __init__(
        self,
        *,
        runs: RunTable,
        pipeline: Pipeline,
        telemetry: Telemetry,
        request_cancel: Callable[[Run, str], asyncio.Future[None] | None],
        cancel_child: Callable[[Run, Event], None],
    ) -> None:
        self._runs = runs
        self._submit = pipeline.submit
        self.telemetry = telemetry
        self._request_cancel = request_cancel
        self._cancel_child = cancel_child

    def _target(self, a: dict[str, Any]) -> Run | None:
        run_id = a.get("run_id")
        target = (
            self._runs.by_run_id.get(run_id)
            if run_id
            else self._runs.by_workflow_id.get(a["workflow_id"])
        )
        if target is None or target.record.workflow_id != a["workflow_id"] or not target.open:
            return None
        return target

    def _answer(self, sender: Run, ev: Event, etype: EventType, extra: dict[str, Any]) -> None:
        a = ev.attributes
        self._submit(
            sender,
            etype,
            {
                "initiated_event_id": ev.event_id,
                "workflow_id": a["workflow_id"],
                "run_id": a.get("run_id"),
                **extra,
            },
        )

    def signal(self, sender: Run, ev: Event, resend: bool = False) -> None:
        """Deliver the signal a ``SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED`` sends
        (``resend``: again, after a restart)."""
        a = ev.attributes
        target = self._target(a)
        failed = EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
        if target is None:
            self._answer(sender, ev, failed, {"cause": _NOT_FOUND})
            return
        name = a["signal_name"]
        inst = target.instance
        if inst is not None and inst.handler("signal", name) is None:
            self._answer(
                sender,
                ev,
                failed,
                {
                    "cause": "InvalidArgumentError",
                    "message": f"workflow {target.record.workflow_type!r} has no signal {name!r} "
                    f"(signals: {inst.handler_names('signal')})",
                },
            )
            return
        if not (resend and self._arrived(target, sender, ev)):
            self.telemetry.signal_received(target, name)
            self._submit(
                target,
                EventType.WORKFLOW_EXECUTION_SIGNALED,
                {
                    "signal_name": name,
                    "input": a.get("input") or [],
                    "external": {
                        "workflow_id": sender.record.workflow_id,
                        "run_id": sender.record.run_id,
                        "initiated_event_id": ev.event_id,
                    },
                },
            )
        self._answer(
            sender,
            ev,
            EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            {"run_id": target.record.run_id},
        )

    @staticmethod
    def _arrived(target: Run, sender: Run, ev: Event) -> bool:
        """Whether the target recorded this very signal already (sent before a restart)."""
        for tev in reversed(target.record.history):
            if tev.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED:
                origin = tev.attributes.get("external")
                if (
                    origin
                    and origin.get("run_id") == sender.record.run_id
                    and origin.get("initiated_event_id") == ev.event_id
                ):
                    return True
        return False

    def request_cancel(self, sender: Run, ev: Event) -> None:
        """A ``REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED``: a child's, or any run's."""
        a = ev.attributes
        if a.get("child_workflow_only", True):
            self._cancel_child(sender, ev)
            return
        target = self._target(a)
        if target is None:
            self._answer(
                sender,
                ev,
                EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
                {"cause": _NOT_FOUND},
            )
            return
        self._request_cancel(target, str(a.get("reason") or ""))
        self._answer(
            sender,
            ev,
            EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            {"run_id": target.record.run_id},
        )
