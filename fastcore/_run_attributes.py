"""What workflow code reads and changes of its run beyond commands: search attributes, and
what earlier runs of its chain left it (a cron workflow's or a retry's).

``RunAttributes`` keeps the run's search attributes as the code has seen them so far (its
start's, with each ``upsert_search_attributes`` applied), records each upsert as an
``UPSERT_WORKFLOW_SEARCH_ATTRIBUTES`` command, and keeps the run's record (what
``describe()`` and list filters read) and ``workflow.info()`` current. The functions below
read the start's ``last_completion_result`` and ``continued_failure``.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._converter import DataConverter
from ._environment import WorkflowEnvironment
from ._failure import from_failure
from ._search_attributes import Encoded, apply_updates, decode, encode_updates, untyped
from ._store import RunRecord
from .history import Event, EventType

__all__ = ["RunAttributes", "has_last_completion_result", "last_completion_result", "last_failure"]


class _Run(Protocol):
    """What this part needs of the run (``WorkflowInstance``)."""

    run: RunRecord
    env: WorkflowEnvironment
    converter: DataConverter
    started_attrs: dict[str, Any]

    def command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event:
        """Append the command's event (live) or match the recorded one (replay)."""
        ...


class RunAttributes:
    """A run's search attributes, as its code sees them."""

    __slots__ = ("_current", "_run")

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._current: Encoded | None = run.started_attrs.get("search_attributes") or None

    def current(self) -> Encoded | None:
        """The run's search attributes at this point of its code (the JSON form)."""
        return self._current

    def upsert(self, attributes: Any, info: Any) -> None:
        """Record a change (``workflow.upsert_search_attributes``); ``info`` is the run's
        ``workflow.Info`` if made, whose search attributes change too (as temporalio's)."""
        updates = encode_updates(attributes)
        if not updates:
            return
        run = self._run
        registry = run.env.search_attributes
        if registry is not None:
            registry.check(updates)
        run.command(EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {"search_attributes": updates})
        current = self._current = apply_updates(self._current, updates)
        record = run.run
        record.search_attributes = current
        record.visibility_changed = True
        if info is not None:
            # temporalio's Info is immutable but for its search attributes
            object.__setattr__(info, "typed_search_attributes", decode(current))
            object.__setattr__(info, "search_attributes", untyped(current))


def has_last_completion_result(run: _Run) -> bool:
    """Whether an earlier run of this cron (or retried) workflow completed."""
    return run.started_attrs.get("last_completion_result") is not None


def last_completion_result(run: _Run, type_hint: Any = None) -> Any:
    """The result of the latest completed earlier run, decoded (None when none)."""
    payload = run.started_attrs.get("last_completion_result")
    return None if payload is None else run.converter.decode_one(payload, type_hint)


def last_failure(run: _Run) -> BaseException | None:
    """The failure of the run before this one, if it failed (a retry or cron run)."""
    failure = run.started_attrs.get("continued_failure")
    return None if failure is None else from_failure(failure, run.converter)
