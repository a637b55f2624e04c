"""``WorkflowUpdateHandle``: an update sent to a workflow, shaped as temporalio's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar

from ._updates import StartedUpdate, UpdateOutcome, Updates

__all__ = ["WorkflowUpdateHandle", "sent_update_handle"]

LocalReturnType = TypeVar("LocalReturnType")


class WorkflowUpdateHandle(Generic[LocalReturnType]):
    """A handle to an update: ``await handle.result()`` waits for its outcome.

    Made by ``WorkflowHandle.start_update``, ``get_update_handle``/``get_update_handle_for``
    and ``Engine.start_update_with_start_workflow``; an engine restarted on the same store
    finds the update again by its id.
    """

    def __init__(
        self,
        updates: Updates,
        id: str,
        workflow_id: str,
        *,
        workflow_run_id: str | None = None,
        result_type: Any = None,
        known_outcome: UpdateOutcome | None = None,
        target_run_id: str | None = None,
        name: str = "",
    ) -> None:
        self._updates = updates
        self._id = id
        self._workflow_id = workflow_id
        self._workflow_run_id = workflow_run_id
        self._result_type = result_type
        self._known_outcome = known_outcome
        self._target_run_id = target_run_id or workflow_run_id
        self._name = name

    @property
    def id(self) -> str:
        """The update's id."""
        return self._id

    @property
    def workflow_id(self) -> str:
        """The id of the workflow the update was sent to."""
        return self._workflow_id

    @property
    def workflow_run_id(self) -> str | None:
        """The run the update targets, if the handle named one."""
        return self._workflow_run_id

    def __repr__(self) -> str:
        return f"WorkflowUpdateHandle(id={self._id!r}, workflow_id={self._workflow_id!r})"

    async def result(
        self,
        *,
        rpc_metadata: Mapping[str, str | bytes] = {},
        rpc_timeout: timedelta | None = None,
    ) -> LocalReturnType:
        """Wait for the update's outcome: its result, or ``WorkflowUpdateFailedError`` (a
        rejection by the validator, or the handler's failure). ``rpc_metadata`` and
        ``rpc_timeout`` are accepted for temporalio's signature; nothing here is an RPC."""
        del rpc_metadata, rpc_timeout
        outcome = self._known_outcome
        if outcome is None:
            sent = await self._updates.outcome(self._workflow_id, self._target_run_id, self._id)
            self._target_run_id = sent.run_id
            self._name = self._name or sent.name
            outcome = self._known_outcome = sent.outcome
        assert outcome is not None
        hint = self._result_type
        if hint is None and self._target_run_id is not None:
            hint = self._updates.result_hint(self._workflow_id, self._target_run_id, self._name)
        return self._updates.value(outcome, hint)  # type: ignore[no-any-return]


def sent_update_handle(
    updates: Updates, sent: StartedUpdate, *, workflow_run_id: str | None, result_type: Any
) -> WorkflowUpdateHandle[Any]:
    """The handle of an update a call just sent (or joined): it knows where the update went,
    and its outcome when the call waited for it."""
    return WorkflowUpdateHandle(
        updates,
        sent.update_id,
        sent.workflow_id,
        workflow_run_id=workflow_run_id,
        result_type=result_type,
        known_outcome=sent.outcome,
        target_run_id=sent.run_id,
        name=sent.name,
    )
