"""What a Temporal client says about a run that the engine does not keep: its task queue,
search attributes and start request id.

The engine has no search attributes yet (the fastcore search-attribute issue adds them,
durably, with ``list_workflows(query=...)``); until then the frontend keeps them here, in
memory, per run, and evaluates list filters over them. They are lost when the bridge's
process ends, and the oldest are dropped past ``capacity`` (with a WARNING), so a list
filter on a custom attribute sees only runs started through this frontend since it started.
Runs started without notes (by fastcore code, or before a restart) show the task queue
``fastcore`` and no search attributes.

Search attribute payloads are kept as Temporal sent them (``type`` metadata and JSON data);
their types are learned from that metadata (or the JSON value when it has none) and form
the registry list filters are checked against: an attribute used with two types, or a
built-in name used as a custom one, is refused at the start.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.common.v1 import SearchAttributes

from fastcore.integration import visibility

from ._errors import invalid

__all__ = ["DEFAULT_TASK_QUEUE", "RunNotebook", "RunNotes"]

logger = logging.getLogger("bridge.frontend")

DEFAULT_TASK_QUEUE = "fastcore"
"""The task queue shown for runs no client named one for (as ``bridge.history`` writes)."""

SearchAttributeType = visibility.SearchAttributeType
_T = SearchAttributeType


@dataclass
class RunNotes:
    """A run's task queue, search attributes (Temporal payloads) and start request id."""

    task_queue: str = DEFAULT_TASK_QUEUE
    search_attributes: dict[str, TPayload] = field(default_factory=dict)
    request_id: str = ""


def _infer(value: Any) -> SearchAttributeType | None:
    if isinstance(value, bool):
        return _T.BOOL
    if isinstance(value, int):
        return _T.INT
    if isinstance(value, float):
        return _T.DOUBLE
    if isinstance(value, str):
        return _T.KEYWORD
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return _T.KEYWORD_LIST
    return None


def search_attribute_value(payload: TPayload, kind: SearchAttributeType) -> Any:
    """The Python value of a search attribute payload (datetimes as aware datetimes)."""
    value = json.loads(payload.data) if payload.data else None
    if value is not None and kind is _T.DATETIME:
        return visibility.parse_datetime(value)
    return value


class RunNotebook:
    """Notes per run (bounded), the learned search-attribute registry, start request ids."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._by_run: OrderedDict[str, RunNotes] = OrderedDict()
        self._latest: dict[str, str] = {}  # workflow id -> run id of its latest notes
        self._types: dict[str, SearchAttributeType] = {}
        self._warned = False

    @property
    def types(self) -> Mapping[str, SearchAttributeType]:
        """Custom search attributes seen so far, and their types."""
        return self._types

    def check_search_attributes(self, attrs: SearchAttributes) -> dict[str, TPayload]:
        """Validate a start's search attributes; returns them with ``type`` metadata set.

        Raises:
            FrontendError: ``INVALID_ARGUMENT`` for a built-in name, an unknown type, a
                value that is not JSON of its type, or a type that differs from earlier use.
        """
        out: dict[str, TPayload] = {}
        seen: dict[str, SearchAttributeType] = {}
        for name, payload in attrs.indexed_fields.items():
            if name in visibility.BUILTIN_ATTRIBUTES:
                raise invalid(f"search attribute {name!r} is built in and cannot be set")
            try:
                value = json.loads(payload.data) if payload.data else None
            except ValueError:
                raise invalid(f"search attribute {name!r}: the value is not JSON") from None
            raw_type = payload.metadata.get("type", b"").decode()
            if raw_type:
                try:
                    kind = SearchAttributeType(raw_type)
                except ValueError:
                    known = ", ".join(t.value for t in SearchAttributeType)
                    raise invalid(
                        f"search attribute {name!r} has unknown type {raw_type!r} ({known})"
                    ) from None
            else:
                inferred = _infer(value)
                if inferred is None:
                    raise invalid(f"search attribute {name!r}: cannot tell the type of {value!r}")
                kind = inferred
            if value is not None:
                try:
                    search_attribute_value(payload, kind)
                except ValueError as err:
                    raise invalid(f"search attribute {name!r}: {err}") from None
            known_kind = self._types.get(name)
            if known_kind is not None and known_kind is not kind:
                raise invalid(
                    f"search attribute {name!r} is a {known_kind.value} (set so by an earlier "
                    f"start); this start gives a {kind.value}"
                )
            copy = TPayload()
            copy.CopyFrom(payload)
            copy.metadata["type"] = kind.value.encode()
            if "encoding" not in copy.metadata:
                copy.metadata["encoding"] = b"json/plain"
            out[name] = copy
            seen[name] = kind
        self._types.update(seen)
        return out

    def remember(self, workflow_id: str, run_id: str, notes: RunNotes) -> None:
        """Keep ``notes`` for a run (the oldest notes go past the capacity)."""
        self._by_run[run_id] = notes
        self._by_run.move_to_end(run_id)
        self._latest[workflow_id] = run_id
        while len(self._by_run) > self._capacity:
            old, _ = self._by_run.popitem(last=False)
            if not self._warned:
                self._warned = True
                logger.warning(
                    "frontend: more than %d runs started through Temporal's API; the notes "
                    "(task queue, search attributes) of the oldest are dropped, so list "
                    "filters on custom search attributes no longer see them",
                    self._capacity,
                )
            del old

    def get(self, workflow_id: str, run_id: str) -> RunNotes:
        """The notes of a run; a later run of the same id (continue-as-new, retry) inherits
        its predecessor's, as Temporal carries task queue and search attributes over."""
        notes = self._by_run.get(run_id)
        if notes is not None:
            return notes
        latest = self._latest.get(workflow_id)
        if latest is not None and latest in self._by_run:
            return self._by_run[latest]
        return RunNotes()

    def decoded(self, notes: RunNotes) -> dict[str, Any]:
        """A run's search attributes as Python values, for list filters."""
        out: dict[str, Any] = {}
        for name, payload in notes.search_attributes.items():
            kind = self._types.get(name, _T.KEYWORD)
            out[name] = search_attribute_value(payload, kind)
        return out
