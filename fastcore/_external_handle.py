"""``workflow.get_external_workflow_handle``: signal or cancel another workflow from workflow code.

The handle works on whichever runtime runs the code: it asks the runtime
(``signal_external``, ``cancel_external``), so on fastcore the request is a command in the
history, and on Temporal (``bridge.as_temporal_workflow``) it is temporalio's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _runtime
from ._definitions import handler_name

__all__ = [
    "ExternalWorkflowHandle",
    "get_external_workflow_handle",
    "get_external_workflow_handle_for",
]

_UNSET: Any = object()


class ExternalWorkflowHandle:
    """Another workflow, seen from workflow code: ``signal`` it or ``cancel`` it."""

    def __init__(self, id: str, *, run_id: str | None = None) -> None:
        self._id = id
        self._run_id = run_id

    @property
    def id(self) -> str:
        """The workflow id."""
        return self._id

    @property
    def run_id(self) -> str | None:
        """The run (None: whichever run is current when the request arrives)."""
        return self._run_id

    async def signal(self, signal: Any, arg: Any = _UNSET, *, args: Sequence[Any] = ()) -> None:
        """Send a signal (a ``@workflow.signal`` method or its name); returns once delivered.

        Raises:
            ApplicationError: of type ``ExternalWorkflowExecutionNotFound`` when no open run
                has that id, as temporalio.
        """
        values = ([] if arg is _UNSET else [arg]) + list(args)
        name = handler_name("signal", signal)
        await _runtime.current().signal_external(self._id, self._run_id, name, values)

    async def cancel(self, *, reason: str = "") -> None:
        """Ask the workflow to cancel (``reason`` reaches its ``workflow.cancellation_reason()``);
        returns once the request is delivered."""
        await _runtime.current().cancel_external(self._id, self._run_id, reason)

    def __repr__(self) -> str:
        return f"ExternalWorkflowHandle(id={self._id!r}, run_id={self._run_id!r})"


def get_external_workflow_handle(
    workflow_id: str, *, run_id: str | None = None
) -> ExternalWorkflowHandle:
    """A handle to another workflow, to signal or cancel it from workflow code."""
    _runtime.current()  # only valid in workflow code
    return ExternalWorkflowHandle(workflow_id, run_id=run_id)


def get_external_workflow_handle_for(
    workflow: Any, workflow_id: str, *, run_id: str | None = None
) -> ExternalWorkflowHandle:
    """Same as ``get_external_workflow_handle``; the run method is for typing only."""
    del workflow
    return get_external_workflow_handle(workflow_id, run_id=run_id)
