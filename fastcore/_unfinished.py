"""Warnings when a workflow exits while signal or update handlers still run, as temporalio's.

A handler's ``unfinished_policy`` (``@workflow.signal(unfinished_policy=...)``) says what to do
when the run closes under it: ``WARN_AND_ABANDON`` (the default) issues an
``UnfinishedUpdateHandlersWarning`` / ``UnfinishedSignalHandlersWarning`` (Python warnings, with
temporalio's TMPRL1102 text), ``ABANDON`` stays quiet. Either way the handler is abandoned.
"""

from __future__ import annotations

import collections
import json
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "HandlerExecution",
    "HandlerUnfinishedPolicy",
    "UnfinishedSignalHandlersWarning",
    "UnfinishedUpdateHandlersWarning",
    "warn_unfinished",
]

_log = logging.getLogger("fastcore.workflow")


class HandlerUnfinishedPolicy(Enum):
    """What happens when a workflow exits (returns, fails, is cancelled, continues as new)
    while a handler runs: temporalio's values."""

    WARN_AND_ABANDON = 1
    """Issue a warning, then abandon the handler."""
    ABANDON = 2
    """Abandon the handler quietly (an update's caller gets an error, not a result)."""


class UnfinishedUpdateHandlersWarning(RuntimeWarning):
    """The workflow exited before all update handlers had finished."""


class UnfinishedSignalHandlersWarning(RuntimeWarning):
    """The workflow exited before all signal handlers had finished."""


@dataclass(frozen=True)
class HandlerExecution:
    """One running handler: its kind, name, update id and policy."""

    kind: str
    name: str
    update_id: str | None
    policy: HandlerUnfinishedPolicy


_UPDATE_TEXT = (
    "[TMPRL1102] Workflow finished while update handlers are still running. This may have "
    "interrupted work that the update handler was doing, and the client that sent the update "
    "will receive a 'workflow execution already completed' RPCError instead of the update "
    "result. You can wait for all update and signal handlers to complete by using `await "
    "workflow.wait_condition(lambda: workflow.all_handlers_finished())`. Alternatively, if both "
    "you and the clients sending the update are okay with interrupting running handlers when "
    "the workflow finishes, and causing clients to receive errors, then you can disable this "
    "warning via the update handler decorator: "
    "`@workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)`."
)
_SIGNAL_TEXT = (
    "[TMPRL1102] Workflow finished while signal handlers are still running. This may have "
    "interrupted work that the signal handler was doing. You can wait for all update and signal "
    "handlers to complete by using `await workflow.wait_condition(lambda: "
    "workflow.all_handlers_finished())`. Alternatively, if both you and the clients sending the "
    "signal are okay with interrupting running handlers when the workflow finishes, then you "
    "can disable this warning via the signal handler decorator: "
    "`@workflow.signal(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)`."
)


def warn_unfinished(executions: Iterable[HandlerExecution]) -> None:
    """Warn about the handlers still running as their run closes (those whose policy says so)."""
    warnable = [e for e in executions if e.policy is HandlerUnfinishedPolicy.WARN_AND_ABANDON]
    updates = [e for e in warnable if e.kind == "update"]
    if updates:
        listed = json.dumps([{"name": e.name, "id": e.update_id} for e in updates])
        _warn(
            UnfinishedUpdateHandlersWarning(
                f"{_UPDATE_TEXT} The following updates were unfinished (and warnings were not "
                f"disabled for their handler): {listed}"
            )
        )
    signals = collections.Counter(e.name for e in warnable if e.kind == "signal")
    if signals:
        listed = json.dumps([{"name": n, "count": c} for n, c in signals.most_common()])
        _warn(
            UnfinishedSignalHandlersWarning(
                f"{_SIGNAL_TEXT} The following signals were unfinished (and warnings were not "
                f"disabled for their handler): {listed}"
            )
        )


def _warn(warning: RuntimeWarning) -> None:
    # A warnings filter set to "error" turns the warning into an exception at this call,
    # inside the engine's close of the run: log it instead of letting it break the close.
    try:
        warnings.warn(warning, stacklevel=2)
    except Exception as err:
        _log.warning("%s: %s", type(warning).__name__, err)
