"""Signals, updates and queries delivered to a workflow run's handlers.

``Handlers`` runs the ``@workflow.signal/update/query`` methods of one run's workflow object
on the run's loop and counts the ones still running (``workflow.all_handlers_finished``).
Queries and update validators run read-only: a command issued from one is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from ._converter import DataConverter, Payload
from ._definitions import HandlerDefinition, WorkflowDefinition
from ._failure import to_failure
from ._futures import _Abort
from ._loop import WorkflowLoop
from ._store import RunRecord
from .errors import CancelledError, InvalidArgumentError
from .history import Event, EventType

__all__ = ["HandlerHost", "Handlers"]


class HandlerHost(Protocol):
    """The run whose handlers run (``WorkflowInstance``)."""

    run: RunRecord
    defn: WorkflowDefinition
    converter: DataConverter
    loop: WorkflowLoop
    obj: Any
    closed: bool
    #: while True, a command raises (queries and validators must not change state)
    read_only: bool
    main_task: asyncio.Task[Any] | None
    #: exception types that fail the workflow (the others fail the workflow task)
    failure_types: tuple[type[BaseException], ...]

    def command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event:
        """Append the command's event (live) or match the recorded one (replay)."""
        ...

    def close(self, etype: EventType, attrs: dict[str, Any]) -> None:
        """Issue the command that closes the run."""
        ...

    def fail_task(self, err: BaseException) -> None:
        """Fail the workflow task with ``err`` (the run stays open and retries)."""
        ...


class Handlers:
    """The handlers of one run: delivers signals and updates, answers queries."""

    __slots__ = ("_run", "running")

    def __init__(self, run: HandlerHost) -> None:
        self._run = run
        self.running = 0  # signal and update handlers not finished yet

    def _args(self, h: HandlerDefinition, name: str, payloads: Sequence[Payload]) -> list[Any]:
        if h.dynamic:
            return [name, self._run.converter.decode(payloads)]
        return self._run.converter.decode(payloads, h.arg_hints)

    # ------------------------------------------------------------------ signals

    def signal(self, name: str, payloads: Sequence[Payload]) -> None:
        """Deliver a signal: a plain handler runs next on the loop, an async one as a task."""
        h = self._run.defn.handler("signal", name)
        if h is None:
            return
        args = self._args(h, name, payloads)
        if h.is_async:
            self.running += 1
            self._run.loop.create_task(self._run_async_signal(h, args))
        else:
            self._run.loop.call_soon(self._run_sync_signal, h, args)

    def _run_sync_signal(self, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            h.fn(self._run.obj, *args)
        except BaseException as err:
            self._failed(err)

    async def _run_async_signal(self, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            await h.fn(self._run.obj, *args)
        except asyncio.CancelledError:
            pass
        except BaseException as err:
            self._failed(err)
        finally:
            self.running -= 1

    def _failed(self, err: BaseException) -> None:
        if isinstance(err, _Abort):
            raise err
        run = self._run
        if isinstance(err, run.failure_types):
            if not run.closed:
                run.close(
                    EventType.WORKFLOW_EXECUTION_FAILED, {"failure": to_failure(err, run.converter)}
                )
                if run.main_task is not None and not run.main_task.done():
                    run.main_task.cancel()
        else:
            run.fail_task(err)

    # ------------------------------------------------------------------ updates

    def validate_update(self, name: str, args: Sequence[Any]) -> None:
        """Run the update's validator read-only; raises what it raises."""
        run = self._run
        h = run.defn.handler("update", name)
        if h is None or h.validator is None:
            return
        token = run.loop.enter()
        run.read_only = True
        try:
            if h.dynamic:
                h.validator(run.obj, name, list(args))
            else:
                h.validator(run.obj, *args)
        finally:
            run.read_only = False
            run.loop.leave(token)

    def accept_update(
        self, update_id: str, name: str, payloads: Sequence[Payload], accepted_id: int
    ) -> None:
        """Deliver an accepted update: its handler runs as a task on the loop."""
        h = self._run.defn.handler("update", name)
        if h is None:
            return
        args = self._args(h, name, payloads)
        self.running += 1
        self._run.loop.create_task(self._run_update(h, update_id, accepted_id, args))

    async def _run_update(
        self, h: HandlerDefinition, update_id: str, accepted_id: int, args: list[Any]
    ) -> None:
        run = self._run
        try:
            if h.is_async:
                result = await h.fn(run.obj, *args)
            else:
                result = h.fn(run.obj, *args)
        except _Abort:
            raise
        except asyncio.CancelledError as err:
            self._update_done(
                update_id, accepted_id, None, CancelledError("Update cancelled") if err else None
            )
        except BaseException as err:
            if isinstance(err, run.failure_types):
                self._update_done(update_id, accepted_id, None, err)
            else:
                run.fail_task(err)
        else:
            self._update_done(update_id, accepted_id, result, None)
        finally:
            self.running -= 1

    def _update_done(
        self, update_id: str, accepted_id: int, result: Any, err: BaseException | None
    ) -> None:
        run = self._run
        if run.closed:
            return
        run.command(
            EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            {
                "update_id": update_id,
                "accepted_event_id": accepted_id,
                "result": run.converter.encode_one(result) if err is None else None,
                "failure": to_failure(err, run.converter) if err is not None else None,
            },
        )

    # ------------------------------------------------------------------ queries

    def query(self, name: str, args: Sequence[Any]) -> Any:
        """Answer a query from the current state, read-only."""
        run = self._run
        h = run.defn.handler("query", name)
        if h is None:
            raise InvalidArgumentError(f"workflow {run.run.workflow_type!r} has no query {name!r}")
        token = run.loop.enter()
        run.read_only = True
        try:
            if h.dynamic:
                return h.fn(run.obj, name, list(args))
            return h.fn(run.obj, *args)
        finally:
            run.read_only = False
            run.loop.leave(token)
