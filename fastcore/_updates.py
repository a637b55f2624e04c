"""Updates: each update id runs once per run, is found again by its id, and is followed to the
stage a caller asks for.

A run's history is the record: ``WORKFLOW_EXECUTION_UPDATE_ACCEPTED`` and ``..._COMPLETED``
carry the update id. A second call with an id the run has seen joins the first instead of
running the handler again (as Temporal's server dedupes): it waits for the same completion,
or gets the recorded outcome at once, on both stores and after a restart (the history is
replayed, the index rebuilt from it). A validator's rejection is not recorded (Temporal does
not), so a call after a rejection validates again.

Stages, as ``temporalio.client.WorkflowUpdateStage``: ``ACCEPTED`` returns once the
acceptance is durable, ``COMPLETED`` once the completion is; ``ADMITTED`` is refused, as
temporalio refuses it. Nothing is acknowledged before the store holds it: an outcome read from
a history whose last commit is still pending waits for that commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ._converter import DataConverter, encode_arguments
from ._definitions import handler_name
from ._failure import from_failure, to_failure
from ._handlers import unknown_update
from ._lifecycle import Lifecycle
from ._notify import Notifier
from ._run import Run, closed_error, new_id
from ._run_table import RunTable
from ._store import Store
from ._telemetry import Telemetry
from ._validate import check_id
from .errors import (
    ApplicationError,
    WorkflowNotFoundError,
    WorkflowUpdateFailedError,
)
from .history import Event, EventType

__all__ = ["UpdateOutcome", "Updates", "WorkflowUpdateStage", "rejection", "signal_requests"]

_ACCEPTED = EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
_COMPLETED = EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED
_SIGNALED = EventType.WORKFLOW_EXECUTION_SIGNALED
_STARTED = EventType.WORKFLOW_EXECUTION_STARTED

#: What an update came to: its ``UPDATE_COMPLETED`` event, or the error that rejected it.
UpdateOutcome = Event | BaseException


class _Rejected(Exception):
    """A validator refused an update (carried out of the update's span)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class WorkflowUpdateStage(IntEnum):
    """How far an update must get before ``start_update`` returns (temporalio's values)."""

    ADMITTED = 1
    ACCEPTED = 2
    COMPLETED = 3


_STAGE_ACCEPTED = WorkflowUpdateStage.ACCEPTED
_STAGE_COMPLETED = WorkflowUpdateStage.COMPLETED


@dataclass(slots=True)
class StartedUpdate:
    """An update a call sent (or joined): where it went, and its outcome once known."""

    workflow_id: str
    run_id: str
    update_id: str
    name: str
    outcome: UpdateOutcome | None
    #: the handler's return hint, when the call found the handler (a sent update)
    ret_hint: Any = None


class UpdateIndex:
    """A run's updates by id (and its signals' request ids), read from its history as far as
    it has grown (incrementally)."""

    __slots__ = ("accepted", "completed", "last", "scanned", "signal_requests")

    def __init__(self) -> None:
        self.accepted: dict[str, Event] = {}
        self.completed: dict[str, Event] = {}
        self.signal_requests: set[str] = set()
        self.scanned = 0
        self.last: Event | None = None

    def refresh(self, history: list[Event]) -> None:
        """Read the events added since the last call (all again if the history changed)."""
        n = self.scanned
        if n > len(history) or (n and history[n - 1] is not self.last):
            self.accepted.clear()
            self.completed.clear()
            self.signal_requests.clear()
            n = 0
        for ev in history[n:]:
            et = ev.event_type
            if et is _ACCEPTED:
                self.accepted[ev.attributes["update_id"]] = ev
            elif et is _COMPLETED:
                self.completed[ev.attributes["update_id"]] = ev
            elif (et is _SIGNALED or et is _STARTED) and "request_id" in ev.attributes:
                # (a signal-with-start's request id is its start's)
                self.signal_requests.add(ev.attributes["request_id"])
        self.scanned = len(history)
        self.last = history[-1] if history else None


def _index(run: Run) -> UpdateIndex:
    idx: UpdateIndex | None = run.update_index
    if idx is None:
        idx = run.update_index = UpdateIndex()
    idx.refresh(run.record.history)
    return idx


def rejection(err: BaseException, converter: DataConverter) -> WorkflowUpdateFailedError:
    """A rejected update as temporalio reports it: the validator's exception as a failure
    (an ``ApplicationError`` typed after its class unless it is one); nothing is recorded."""
    cause = from_failure(to_failure(err, converter), converter)
    failed = WorkflowUpdateFailedError(cause, rejected=True)
    return failed


def signal_requests(run: Run) -> set[str]:
    """The request ids of the signals the run received (those that carried one)."""
    return _index(run).signal_requests


def _closed_before_completion() -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(
        ApplicationError("the workflow closed before the update completed", type="WorkflowClosed")
    )


class Updates:
    """Sends updates to runs once per id and follows them (``start_update`` and friends)."""

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        runs: RunTable,
        store: Store,
        converter: DataConverter,
        telemetry: Telemetry,
        submit: Callable[..., asyncio.Future[None] | None],
        notifier: Notifier,
    ) -> None:
        self._life = lifecycle
        self._runs = runs
        self._store = store
        self._converter = converter
        self.telemetry = telemetry
        self._submit = submit
        self._notifier = notifier

    # ------------------------------------------------------------------ sending

    async def start(
        self,
        workflow_id: str,
        run_id: str | None,
        update: Any,
        args: list[Any],
        update_id: str | None,
        stage: WorkflowUpdateStage,
    ) -> StartedUpdate:
        """Send an update (or join the one with this id) and wait until it reaches ``stage``.

        Raises:
            ValueError: ``stage`` is ``ADMITTED`` (temporalio refuses it too).
            WorkflowNotFoundError: No such run, or it is closed and never saw this id.
            InvalidArgumentError: The workflow has no such update, or the arguments do not fit.
        """
        if stage is not _STAGE_COMPLETED and stage is not _STAGE_ACCEPTED:
            raise ValueError("ADMITTED wait stage not supported")
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._runs.find(workflow_id, run_id)
        name = check_id(handler_name("update", update), "update_name")
        if update_id:  # empty: one is made up, as temporalio does
            check_id(update_id, "update_id")
        rec = run.record
        if update_id:
            sent = StartedUpdate(rec.workflow_id, rec.run_id, update_id, name, None)
            idx = _index(run)
            if update_id in idx.accepted or update_id in idx.completed:
                return await self._follow(run, sent, stage)  # a repeat: join the first
        else:  # a fresh id cannot be a repeat
            sent = StartedUpdate(rec.workflow_id, rec.run_id, new_id(), name, None)
        if not run.open:
            raise closed_error(run, f"update {name!r} on")
        inst = run.instance
        while inst is not None and inst.obj is None and run.open:
            # No workflow task has run yet (a retry in its backoff): as Temporal does, the
            # update waits for it, then is validated against the state it made.
            await self._notifier.history_grew(run)
            inst = run.instance
        if inst is None or not run.open:
            raise closed_error(run, f"update {name!r} on")
        h = inst.handler("update", name)
        if h is None:  # rejected, as Temporal's SDKs reject an update they have no handler for
            sent.outcome = rejection(
                unknown_update(name, inst.handler_names("update")), self._converter
            )
            return sent
        payloads, decoded = encode_arguments(
            self._converter, args, h.dynamic, h.checker, h.arg_hints, "update", name
        )
        sent.ret_hint = None if h.dynamic else h.ret_hint
        handlers = inst.handlers or inst.make_handlers()
        uid = sent.update_id
        try:
            with self.telemetry.update_span(run, name):
                try:
                    handlers.validate_update(name, decoded)
                except Exception as err:
                    raise _Rejected(err) from err  # the span records the rejection
                # accepted: recorded (durably), the handler gets these values (decoded once)
                handlers.pending_args[uid] = decoded
                waiter = self._notifier.expect_update(run, uid)
                fut = self._submit(
                    run,
                    _ACCEPTED,
                    {"update_id": uid, "name": name, "input": payloads},
                    self._store.durable,
                )
                if fut is not None:
                    await fut
                if stage is not _STAGE_ACCEPTED:
                    sent.outcome = await self._notifier.update_completed(waiter)
                return sent
        except _Rejected as rejected:
            sent.outcome = rejection(rejected.error, self._converter)
            return sent

    async def follow(
        self, run: Run, update_id: str, name: str, stage: WorkflowUpdateStage
    ) -> StartedUpdate:
        """Follow an update the run accepted (an update-with-start's) to ``stage``."""
        rec = run.record
        sent = StartedUpdate(rec.workflow_id, rec.run_id, update_id, name, None)
        return await self._follow(run, sent, stage)

    async def _follow(
        self, run: Run, sent: StartedUpdate, stage: WorkflowUpdateStage
    ) -> StartedUpdate:
        """Wait until the known update ``sent`` reaches ``stage`` (durably)."""
        uid = sent.update_id
        sent.name = self._name_of(run, uid) or sent.name
        waiter = run.update_waiters.get(uid)
        if waiter is not None:  # a caller before us is waiting: its future is ours too
            if stage is WorkflowUpdateStage.ACCEPTED:
                await self._durable(run)
                return sent
            sent.outcome = await self._notifier.update_completed(waiter)
            return sent
        idx = _index(run)
        done = idx.completed.get(uid)
        if done is not None or stage is WorkflowUpdateStage.ACCEPTED:
            await self._durable(run)  # recorded, perhaps not committed yet
            sent.outcome = done
            return sent
        if not run.open:
            sent.outcome = _closed_before_completion()
            return sent
        waiter = self._notifier.expect_update(run, uid)
        sent.outcome = await self._notifier.update_completed(waiter)
        return sent

    async def _durable(self, run: Run) -> None:
        """Return once every event the run has so far is committed (a store barrier)."""
        if not self._store.durable:
            return
        fut = self._store.append(run.record, [])
        if fut is not None:
            await fut

    @staticmethod
    def _name_of(run: Run, uid: str) -> str | None:
        ev = _index(run).accepted.get(uid)
        return str(ev.attributes.get("name")) if ev is not None else None

    # ------------------------------------------------------------------ outcomes

    async def outcome(self, workflow_id: str, run_id: str | None, update_id: str) -> StartedUpdate:
        """Wait for the completion of a known update (``WorkflowUpdateHandle.result``).

        Raises:
            WorkflowNotFoundError: No such run, or the run never accepted this update id.
        """
        if not self._life.ready:
            await self._life.ensure_started()
        run = await self._runs.find(workflow_id, run_id)
        idx = _index(run)
        rec = run.record
        if update_id not in idx.accepted and update_id not in idx.completed:
            raise WorkflowNotFoundError(
                f"update {update_id!r} not found on workflow {rec.workflow_id!r} "
                f"(run {rec.run_id})",
                workflow_id=rec.workflow_id,
            )
        sent = StartedUpdate(rec.workflow_id, rec.run_id, update_id, "", None)
        return await self._follow(run, sent, WorkflowUpdateStage.COMPLETED)

    def result_hint(self, workflow_id: str, run_id: str, name: str) -> Any:
        """The return type hint of the update ``name`` of that run's workflow, if known."""
        run = self._runs.by_run_id.get(run_id)
        if run is None:
            cur = self._runs.by_workflow_id.get(workflow_id)
            run = cur if cur is not None and cur.record.run_id == run_id else None
        if run is None or not name:
            return None
        h = run.defn.handler("update", name)
        return h.ret_hint if h is not None and not h.dynamic else None

    def value(self, outcome: UpdateOutcome, hint: Any) -> Any:
        """The update's result, or the ``WorkflowUpdateFailedError`` it came to (raised)."""
        if isinstance(outcome, BaseException):
            raise outcome
        a = outcome.attributes
        if a.get("failure") is not None:
            cause = from_failure(a["failure"], self._converter)
            raise WorkflowUpdateFailedError(cause) from cause
        r = a.get("result")
        return self._converter.decode_one(r, hint) if r is not None else None
