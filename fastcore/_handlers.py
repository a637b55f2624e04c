"""Signals, updates and queries delivered to a workflow run's handlers.

``Handlers`` runs the ``@workflow.signal/update/query`` methods of one run's workflow object
on the run's loop and counts the ones still running (``workflow.all_handlers_finished``).
Queries and update validators run read-only: a command issued from one is refused.

Handlers set at run time (``workflow.set_signal_handler`` and the like) override the class's
for this run; a signal that arrives with no handler is kept and delivered when one is set,
as temporalio does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from ._converter import DataConverter, Payload
from ._definitions import HandlerDefinition, WorkflowDefinition
from ._event_types import (
    ET_WORKFLOW_EXECUTION_FAILED,
    ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
)
from ._failure import to_failure
from ._futures import _Abort
from ._loop import WorkflowLoop
from ._main_task import MainTask
from ._store import RunRecord
from ._unfinished import HandlerExecution, warn_unfinished
from ._workflow_logger import UpdateInfo, set_update_info
from .errors import CancelledError, InvalidArgumentError, WorkflowQueryFailedError
from .history import Event, EventType

__all__ = ["HandlerHost", "Handlers"]

_log = logging.getLogger("fastcore.workflow")


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
    main_task: MainTask | None
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

    __slots__ = (
        "_buffered",
        "_executions",
        "_run",
        "pending_args",
        "pending_signals",
        "running",
        "table",
    )

    def __init__(self, run: HandlerHost) -> None:
        self._run = run
        self.running = 0  # signal and update handlers not finished yet
        #: the async handlers running now, for the unfinished-handler warnings
        self._executions: dict[int, HandlerExecution] = {}
        #: arguments of accepted updates already decoded for their validator, by update id:
        #: the handler gets the same values (decoded once), as temporalio's does
        self.pending_args: dict[str, list[Any]] = {}
        #: signals whose arguments the caller decoded, by ``id()`` of their payload list:
        #: (that list, the values); the entry holds the list, so its id stays its own
        self.pending_signals: dict[int, tuple[Sequence[Payload], list[Any]]] = {}
        #: handlers set at run time, by (kind, name); None: a class handler unset; a None
        #: name is the kind's dynamic handler
        self.table: dict[tuple[str, str | None], HandlerDefinition | None] | None = None
        self._buffered: list[tuple[str, Sequence[Payload]]] | None = None

    # ------------------------------------------------------------------ lookup

    def handler(self, kind: str, name: str) -> HandlerDefinition | None:
        """The handler of ``kind`` for ``name``: set at run time, the class's, or dynamic."""
        defn = self._run.defn
        table = self.table
        if table is None:
            return defn.handler(kind, name)
        if (kind, name) in table:
            h = table[(kind, name)]
            if h is not None:
                return h
        else:
            named = defn.named_handlers(kind).get(name)
            if named is not None:
                return named
        if (kind, None) in table:
            return table[(kind, None)]
        return defn.dynamic_handler(kind)

    def names(self, kind: str) -> list[str]:
        """The names with a handler of ``kind`` (class and run time), sorted."""
        defn = self._run.defn
        names = set(defn.named_handlers(kind))
        for (k, n), h in (self.table or {}).items():
            if k == kind and n is not None:
                if h is None:
                    names.discard(n)
                else:
                    names.add(n)
        return sorted(names)

    def set(self, kind: str, name: str | None, h: HandlerDefinition | None) -> None:
        """Set (or, with None, unset) a handler at run time; buffered signals it takes run."""
        if self.table is None:
            self.table = {}
        self.table[(kind, name)] = h
        buffered = self._buffered
        if kind == "signal" and h is not None and buffered:
            self._buffered = None
            for signal_name, payloads in buffered:
                self.signal(signal_name, payloads)

    def get(self, kind: str, name: str | None) -> Any:
        """The callable handling ``name`` (None: the dynamic one), as temporalio returns it."""
        defn = self._run.defn
        table = self.table or {}
        if (kind, name) in table:
            h = table[(kind, name)]
        elif name is None:
            h = defn.dynamic_handler(kind)
        else:
            h = defn.named_handlers(kind).get(name)
        if h is None:
            return None
        return h.fn.__get__(self._run.obj) if h.method else h.fn

    def _args(self, h: HandlerDefinition, name: str, payloads: Sequence[Payload]) -> list[Any]:
        if h.dynamic:
            return [name, self._run.converter.decode(payloads)]
        return self._run.converter.decode(payloads, h.arg_hints)

    # ------------------------------------------------------------------ signals

    def signal(self, name: str, payloads: Sequence[Payload]) -> None:
        """Deliver a signal: a plain handler runs next on the loop, an async one as a task.

        With no handler for it yet, it waits for ``workflow.set_signal_handler``.
        """
        h = self.handler("signal", name)
        if h is None:
            if self._buffered is None:
                self._buffered = []
            self._buffered.append((name, payloads))
            return
        pending = self.pending_signals
        entry = pending.pop(id(payloads), None) if pending else None
        try:
            if entry is not None and entry[0] is payloads:  # decoded by the caller: once
                args = [name, entry[1]] if h.dynamic else entry[1]
            else:
                args = self._args(h, name, payloads)
        except InvalidArgumentError as err:
            # as temporalio: a signal whose input cannot be read is dropped, with a warning
            rec = self._run.run
            _log.warning(
                "Failed deserializing signal input for %s, dropping the signal "
                "(workflow %r, run %s): %s",
                name,
                rec.workflow_id,
                rec.run_id,
                err,
            )
            return
        if h.is_async:
            self.running += 1
            task = self._run.loop.create_task(self._run_async_signal(h, args))
            self._track(task, HandlerExecution("signal", name, None, h.unfinished_policy))
        else:
            self._run.loop.call_soon(self._run_sync_signal, h, args)

    def _run_sync_signal(self, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            h.call(self._run.obj, *args)
        except BaseException as err:
            self._failed(err)

    async def _run_async_signal(self, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            await h.call(self._run.obj, *args)
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
                run.close(ET_WORKFLOW_EXECUTION_FAILED, {"failure": to_failure(err, run.converter)})
                if run.main_task is not None and not run.main_task.done():
                    run.main_task.cancel()
        else:
            run.fail_task(err)

    # ------------------------------------------------------------------ updates

    def validate_update(self, name: str, args: Sequence[Any]) -> None:
        """Run the update's validator read-only; raises what it raises."""
        run = self._run
        h = self.handler("update", name)
        if h is None or h.validator is None:
            return
        token = run.loop.enter()
        run.read_only = True
        try:
            if h.dynamic:
                h.validate(run.obj, name, list(args))
            else:
                h.validate(run.obj, *args)
        finally:
            run.read_only = False
            run.loop.leave(token)

    def accept_update(
        self, update_id: str, name: str, payloads: Sequence[Payload], accepted_id: int
    ) -> None:
        """Deliver an accepted update: its handler runs as a task on the loop."""
        h = self.handler("update", name)
        if h is None:
            self._run.fail_task(
                RuntimeError(f"update {name!r} was accepted but the workflow has no handler for it")
            )
            return
        decoded = self.pending_args.pop(update_id, None)
        if decoded is None:
            args = self._args(h, name, payloads)
        elif h.dynamic:
            args = [name, decoded]
        else:
            args = decoded
        self.running += 1
        task = self._run.loop.create_task(self._run_update(h, update_id, accepted_id, args))
        self._track(task, HandlerExecution("update", name, update_id, h.unfinished_policy))

    def _track(self, task: asyncio.Task[Any], execution: HandlerExecution) -> None:
        key = id(task)
        self._executions[key] = execution
        task.add_done_callback(lambda _t: self._executions.pop(key, None))

    def warn_unfinished(self) -> None:
        """The run closes: warn about the handlers still running (as temporalio warns)."""
        if self._executions:
            warn_unfinished(list(self._executions.values()))

    async def _run_update(
        self, h: HandlerDefinition, update_id: str, accepted_id: int, args: list[Any]
    ) -> None:
        run = self._run
        set_update_info(UpdateInfo(update_id, h.name or ""))  # this task's own context
        try:
            if h.is_async:
                result = await h.call(run.obj, *args)
            else:
                result = h.call(run.obj, *args)
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
            ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
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
        h = self.handler("query", name)
        if h is None:
            raise unknown_query(name, self.names("query"))
        token = run.loop.enter()
        run.read_only = True
        try:
            if h.dynamic:
                return h.call(run.obj, name, list(args))
            return h.call(run.obj, *args)
        finally:
            run.read_only = False
            run.loop.leave(token)


def unknown_query(name: str, known: Sequence[str]) -> WorkflowQueryFailedError:
    """What a query with a name the workflow has no handler for raises (temporalio's text)."""
    return WorkflowQueryFailedError(
        f"Query handler for '{name}' expected but not found, known queries: [{' '.join(known)}]"
    )


def unknown_update(name: str, known: Sequence[str]) -> RuntimeError:
    """Why an update with a name the workflow has no handler for is rejected (temporalio's
    text; it reaches the caller as an ``ApplicationError`` of type ``RuntimeError``)."""
    return RuntimeError(
        f"Update handler for '{name}' expected but not found, and there is no dynamic handler. "
        f"known updates: [{' '.join(known)}]"
    )
