"""What workflow code asks of other workflows: the children it starts, the signals and
cancellations it sends, and what it waits on of them.

Temporal's child and external workflow commands (``START_CHILD_WORKFLOW_EXECUTION_INITIATED``,
``SIGNAL_EXTERNAL_...``, ``REQUEST_CANCEL_EXTERNAL_...``), issued through the run's
``command`` (append live, match on replay); the events that answer them are delivered here.
A run's ``Commands`` makes its ``OtherWorkflows`` on the first such command (most runs have
none).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from ._converter import DataConverter
from ._environment import WorkflowEnvironment
from ._event_types import (
    ET_CHILD_WORKFLOW_EXECUTION_CANCELED,
    ET_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    ET_CHILD_WORKFLOW_EXECUTION_FAILED,
    ET_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    ET_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    ET_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ET_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
)
from ._failure import from_failure
from ._futures import _ChildHandle, _seconds
from ._search_attributes import encode as encode_search_attributes
from ._validate import check_id, check_timeout
from .common import (
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    WorkflowIDReusePolicy,
)
from .errors import (
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    RetryState,
    TerminatedError,
    TimeoutType,
    WorkflowAlreadyStartedError,
)
from .errors import TimeoutError as FcTimeoutError
from .history import Event, EventType

__all__ = ["OtherWorkflows"]


class _Run(Protocol):
    """What commands to other workflows need of their run (``WorkflowInstance``)."""

    converter: DataConverter
    env: WorkflowEnvironment

    def command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event: ...


class OtherWorkflows:
    """One run's child workflows and the requests it sent to other workflows."""

    __slots__ = ("_loop", "_run", "_uuid4", "children", "externals")

    def __init__(
        self, run: _Run, loop: asyncio.AbstractEventLoop, uuid4: Callable[[], uuid.UUID]
    ) -> None:
        self._run = run
        self._loop = loop
        self._uuid4 = uuid4  # the run's deterministic uuid4: a child id nobody chose
        #: (started future, handle) of child workflows by their initiated event id
        self.children: dict[int, tuple[asyncio.Future[Any], _ChildHandle]] = {}
        #: futures of signals and cancellations sent to other workflows, by initiated event id
        self.externals: dict[int, asyncio.Future[None]] = {}

    def detach(self) -> None:
        """Drop what the code waits on (the run closed)."""
        self.children.clear()
        self.externals.clear()

    async def start_child_workflow(
        self,
        workflow: Any,
        args: Sequence[Any],
        *,
        id: str | None,
        result_type: type | None,
        cancellation_type: ChildWorkflowCancellationType,
        parent_close_policy: ParentClosePolicy,
        execution_timeout: timedelta | None,
        run_timeout: timedelta | None,
        id_reuse_policy: WorkflowIDReusePolicy,
        retry_policy: RetryPolicy | None,
        memo: Mapping[str, Any] | None,
        task_queue: str | None = None,
        cron_schedule: str = "",
        search_attributes: Any = None,
    ) -> _ChildHandle:
        """Start a child workflow; returns its handle once the child has started."""
        del id_reuse_policy
        run = self._run
        converter = run.converter
        defn = run.env.workflow_definition(workflow)
        if defn is not None and not defn.dynamic:
            defn.run_checker.check(f"workflow {defn.name!r}", args)
        wf_type = defn.name if defn is not None and defn.name else str(workflow)
        child_id = check_id(id, "workflow_id") if id is not None else str(self._uuid4())
        check_timeout(execution_timeout, "execution_timeout")
        check_timeout(run_timeout, "run_timeout")
        ev = run.command(
            ET_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": child_id,
                "workflow_type": wf_type,
                "input": converter.encode(args) if args else [],
                "parent_close_policy": int(parent_close_policy),
                "execution_timeout": _seconds(execution_timeout),
                "run_timeout": _seconds(run_timeout),
                "retry_policy": retry_policy.to_dict() if retry_policy else None,
                "cancellation_type": int(cancellation_type),
                "memo": {k: converter.encode_one(v) for k, v in (memo or {}).items()},
                **({"task_queue": task_queue} if task_queue else {}),
                **({"cron_schedule": cron_schedule} if cron_schedule else {}),
                **(
                    {"search_attributes": encode_search_attributes(search_attributes)}
                    if search_attributes
                    else {}
                ),
            },
            "workflow_type",
        )
        hint = result_type if result_type is not None else (defn.run_ret_hint if defn else None)
        handle = _ChildHandle(
            self, self._loop, ev.event_id, child_id, wf_type, cancellation_type, hint
        )
        started: asyncio.Future[Any] = self._loop.create_future()
        self.children[ev.event_id] = (started, handle)
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            handle.cancel()
            raise
        return handle

    def request_cancel_child(self, handle: _ChildHandle) -> None:
        """Cancel the child behind ``handle`` as its cancellation type says."""
        if handle._cancellation_type == ChildWorkflowCancellationType.ABANDON:
            self._resolve_child_cancelled(handle)
            return
        self._run.command(
            ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": handle.id,
                "child_workflow_only": True,
                "initiated_event_id": handle._seq,
            },
        )
        if handle._cancellation_type in (
            ChildWorkflowCancellationType.TRY_CANCEL,
            ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED,
        ):
            self._resolve_child_cancelled(handle)

    def _resolve_child_cancelled(self, handle: _ChildHandle) -> None:
        if handle.done():
            return
        started, _ = self.children.get(handle._seq, (None, None))
        err = self._child_error(handle, RetryState.CANCEL_REQUESTED)
        err.__cause__ = CancelledError("Child workflow cancelled")
        handle.set_exception(err)
        if started is not None and not started.done():
            started.set_exception(err)

    def _child_error(
        self, handle: _ChildHandle, retry_state: RetryState | None
    ) -> ChildWorkflowError:
        return ChildWorkflowError(
            "Child Workflow execution failed",
            workflow_id=handle.id,
            run_id=handle.run_id or "",
            workflow_type=handle.workflow_type,
            initiated_event_id=handle._seq,
            retry_state=retry_state,
        )

    def child_started(self, a: dict[str, Any]) -> None:
        """Deliver CHILD_WORKFLOW_EXECUTION_STARTED: the handle learns its run id."""
        entry = self.children.get(a["initiated_event_id"])
        if entry is not None:
            started, handle = entry
            handle.run_id = a.get("run_id")
            handle.first_execution_run_id = a.get("run_id")
            handle._started = True
            if not started.done():
                started.set_result(handle)

    def child_start_failed(self, a: dict[str, Any]) -> None:
        """Deliver START_CHILD_WORKFLOW_EXECUTION_FAILED to the start the code awaits."""
        entry = self.children.pop(a["initiated_event_id"], None)
        if entry is not None:
            started, handle = entry
            if not started.done():
                started.set_exception(
                    WorkflowAlreadyStartedError(
                        a.get("workflow_id", ""), a.get("workflow_type", "")
                    )
                )
            if not handle.done():
                handle.cancel = lambda msg=None: False  # type: ignore[method-assign]

    def child_closed(self, et: EventType, a: dict[str, Any]) -> None:
        """Deliver how a child closed: its result, or ``ChildWorkflowError`` with the cause."""
        entry = self.children.pop(a["initiated_event_id"], None)
        if entry is None:
            return
        started, handle = entry
        if handle.done():
            return
        if et is ET_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            r = a.get("result")
            handle.set_result(
                self._run.converter.decode_one(r, handle._hint) if r is not None else None
            )
            return
        cerr = self._child_error(
            handle, RetryState(a["retry_state"]) if a.get("retry_state") else None
        )
        if et is ET_CHILD_WORKFLOW_EXECUTION_FAILED:
            cerr.__cause__ = from_failure(a["failure"], self._run.converter)
        elif et is ET_CHILD_WORKFLOW_EXECUTION_CANCELED:
            cerr.__cause__ = CancelledError("Child workflow cancelled")
        elif et is ET_CHILD_WORKFLOW_EXECUTION_TERMINATED:
            cerr.__cause__ = TerminatedError("Child workflow terminated")
        else:
            cerr.__cause__ = FcTimeoutError(
                "Child workflow timed out", type=TimeoutType.START_TO_CLOSE
            )
        handle.set_exception(cerr)
        if not started.done():
            started.set_exception(cerr)

    # ------------------------------------------------------------------ external workflows

    async def signal_external(
        self, workflow_id: str, run_id: str | None, signal: str, args: Sequence[Any]
    ) -> None:
        """Signal another workflow (``ExternalWorkflowHandle.signal``); returns once delivered."""
        ev = self._run.command(
            ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": workflow_id,
                "run_id": run_id,
                "signal_name": signal,
                "input": self._run.converter.encode(args) if args else [],
                "child_workflow_only": False,
            },
        )
        await self._external(ev.event_id)

    async def cancel_external(
        self, workflow_id: str, run_id: str | None, reason: str | None = None
    ) -> None:
        """Ask another workflow to cancel (``ExternalWorkflowHandle.cancel``)."""
        attrs: dict[str, Any] = {
            "workflow_id": workflow_id,
            "run_id": run_id,
            "child_workflow_only": False,
        }
        if reason:
            attrs["reason"] = reason
        ev = self._run.command(ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, attrs)
        await self._external(ev.event_id)

    def _external(self, seq: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = self._loop.create_future()
        self.externals[seq] = fut
        return fut

    def external_resolved(self, et: EventType, a: dict[str, Any]) -> None:
        """Deliver how a signal or cancellation sent to another workflow went."""
        fut = self.externals.pop(a["initiated_event_id"], None)
        if fut is None or fut.done():
            return
        if (
            et is ET_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED
            or et is ET_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED
        ):
            fut.set_result(None)
            return
        what = "signal" if et is ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED else "cancel"
        cause = a.get("cause") or "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
        if cause == "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND":
            fut.set_exception(
                ApplicationError(
                    f"Unable to {what} external workflow because it was not found",
                    type="ExternalWorkflowExecutionNotFound",
                    non_retryable=True,
                )
            )
        else:
            fut.set_exception(
                ApplicationError(a.get("message") or cause, type=cause, non_retryable=True)
            )
