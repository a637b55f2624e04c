"""Signals, updates and queries delivered to a workflow run's handlers."""

# mypy: disable-error-code="misc"
# (methods are typed with self: WorkflowInstance; mypy calls that self type "not a supertype")
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._converter import Payload
from ._definitions import HandlerDefinition
from ._failure import to_failure
from .common import (
    RetryPolicy,
)
from .errors import (
    CancelledError,
    InvalidArgumentError,
)
from .history import EventType

if TYPE_CHECKING:
    from ._instance import WorkflowInstance
from ._futures import _Abort

E = EventType
_PATCH_MARKER = "core_patch"
_DEFAULT_ACTIVITY_RETRY = RetryPolicy().to_dict()


class _Handlers:
    """WorkflowInstance methods: signal, update and query handlers."""

    __slots__ = ()

    # ------------------------------------------------------------------ signals, updates

    def _handler_args(
        self: WorkflowInstance, h: HandlerDefinition, name: str, payloads: Sequence[Payload]
    ) -> list[Any]:
        if h.dynamic:
            return [name, self.converter.decode(payloads)]
        return self.converter.decode(payloads, h.arg_hints)

    def _signal(self: WorkflowInstance, name: str, payloads: Sequence[Payload]) -> None:
        h = self.defn.handler("signal", name)
        if h is None:
            return
        args = self._handler_args(h, name, payloads)
        if h.is_async:
            self._running_handlers += 1
            self.loop.create_task(self._run_async_signal(h, args))
        else:
            self.loop.call_soon(self._run_sync_signal, h, args)

    def _run_sync_signal(self: WorkflowInstance, h: HandlerDefinition, args: list[Any]) -> None:
        try:
            h.fn(self.obj, *args)
        except BaseException as err:
            self._handler_failed(err)

    async def _run_async_signal(
        self: WorkflowInstance, h: HandlerDefinition, args: list[Any]
    ) -> None:
        try:
            await h.fn(self.obj, *args)
        except asyncio.CancelledError:
            pass
        except BaseException as err:
            self._handler_failed(err)
        finally:
            self._running_handlers -= 1

    def _handler_failed(self: WorkflowInstance, err: BaseException) -> None:
        if isinstance(err, _Abort):
            raise err
        if isinstance(err, self._failure_types):
            if not self.closed:
                self._close(
                    E.WORKFLOW_EXECUTION_FAILED, {"failure": to_failure(err, self.converter)}
                )
                if self.main_task is not None and not self.main_task.done():
                    self.main_task.cancel()
        else:
            self._fail_task(err)

    def validate_update(self: WorkflowInstance, name: str, args: Sequence[Any]) -> None:
        """Run the update's validator read-only; raises what it raises."""
        h = self.defn.handler("update", name)
        if h is None or h.validator is None:
            return
        token = self.loop.enter()
        self._read_only = True
        try:
            if h.dynamic:
                h.validator(self.obj, name, list(args))
            else:
                h.validator(self.obj, *args)
        finally:
            self._read_only = False
            self.loop.leave(token)

    def _accept_update(
        self: WorkflowInstance,
        update_id: str,
        name: str,
        payloads: Sequence[Payload],
        accepted_id: int,
    ) -> None:
        h = self.defn.handler("update", name)
        if h is None:
            return
        args = self._handler_args(h, name, payloads)
        self._running_handlers += 1
        self.loop.create_task(self._run_update(h, update_id, accepted_id, args))

    async def _run_update(
        self: WorkflowInstance,
        h: HandlerDefinition,
        update_id: str,
        accepted_id: int,
        args: list[Any],
    ) -> None:
        try:
            if h.is_async:
                result = await h.fn(self.obj, *args)
            else:
                result = h.fn(self.obj, *args)
        except _Abort:
            raise
        except asyncio.CancelledError as err:
            self._update_done(
                update_id, accepted_id, None, CancelledError("Update cancelled") if err else None
            )
        except BaseException as err:
            if isinstance(err, self._failure_types):
                self._update_done(update_id, accepted_id, None, err)
            else:
                self._fail_task(err)
        else:
            self._update_done(update_id, accepted_id, result, None)
        finally:
            self._running_handlers -= 1

    def _update_done(
        self: WorkflowInstance,
        update_id: str,
        accepted_id: int,
        result: Any,
        err: BaseException | None,
    ) -> None:
        if self.closed:
            return
        self._command(
            E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            {
                "update_id": update_id,
                "accepted_event_id": accepted_id,
                "result": self.converter.encode_one(result) if err is None else None,
                "failure": to_failure(err, self.converter) if err is not None else None,
            },
        )

    def query(self: WorkflowInstance, name: str, args: Sequence[Any]) -> Any:
        """Answer a query from the current state, read-only."""
        h = self.defn.handler("query", name)
        if h is None:
            raise InvalidArgumentError(f"workflow {self.run.workflow_type!r} has no query {name!r}")
        token = self.loop.enter()
        self._read_only = True
        try:
            if h.dynamic:
                return h.fn(self.obj, name, list(args))
            return h.fn(self.obj, *args)
        finally:
            self._read_only = False
            self.loop.leave(token)
