"""A durable store's rows: an event as stored JSON text and back, and a run's rows as a history.

Events are stored as the JSON text of ``history.event_to_json(event)`` and read back as
``history.event_from_json`` would. Both of those walk every attribute in Python; here the JSON
codec walks them and Python touches only containers and Payloads, which halves the cost of
writing an event and of recovering one (tests pin that the results are identical).

Reading is where a damaged file shows: a row that is not JSON, names an unknown event type,
has the wrong shape, or a run whose rows skip an event id or do not begin with its start.
Every such row raises ``StoreError`` naming the workflow id, the run id and the event id of
the row (its ``workflow_id``, ``run_id`` and ``event_id`` attributes), never a raw
``JSONDecodeError``/``ValueError``/``IndexError``, so the engine can set that one run aside and
recover every other.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from ._converter import _JSON_META
from ._payload import Payload
from .errors import StoreError
from .history import Event, EventType
from .history import _enc as _encode_value  # the form event_to_json writes for a Payload

try:  # orjson is optional: fastcore runs on the standard library alone
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the optional-dependency test
    _orjson = None  # type: ignore[assignment]

__all__ = ["RowError", "dump_event", "load_event", "load_history"]

_EVENT_TYPES: dict[str, EventType] = {t.value: t for t in EventType}


class RowError(ValueError):
    """One stored row cannot be read; ``load_history`` turns it into a ``StoreError``."""


_JSON_META_TEXT = {"encoding": "json/plain"}


def _encode_payload(value: Any) -> Any:
    """``history._enc`` of a value the JSON codec does not know: a Payload, in the common
    case of JSON metadata without rebuilding the metadata dict (the result is the same)."""
    if type(value) is Payload and (value.metadata is _JSON_META or value.metadata == _JSON_META):
        try:
            return {"_payload": {"metadata": _JSON_META_TEXT, "data": value.data.decode()}}
        except UnicodeDecodeError:
            pass
    return _encode_value(value)


if _orjson is not None:
    _ORJSON_OPTS = _orjson.OPT_NON_STR_KEYS

    def dump_event(e: Event) -> str:
        """The stored JSON text of ``e`` (``history.event_to_json``'s form)."""
        obj = {
            "event_id": e.event_id,
            "event_type": e.event_type,  # a str enum: orjson writes its value
            "timestamp": e.timestamp,
            "attributes": e.attributes,
        }
        return str(_orjson.dumps(obj, default=_encode_payload, option=_ORJSON_OPTS).decode())

    _loads: Callable[[str | bytes], Any] = _orjson.loads
    _json_errors: tuple[type[Exception], ...] = (_orjson.JSONDecodeError, ValueError)
else:  # pragma: no cover

    def dump_event(e: Event) -> str:
        """The stored JSON text of ``e`` (``history.event_to_json``'s form)."""
        obj = {
            "event_id": e.event_id,
            "event_type": e.event_type.value,
            "timestamp": e.timestamp,
            "attributes": e.attributes,
        }
        return json.dumps(obj, default=_encode_value, separators=(",", ":"))

    _loads = json.loads
    _json_errors = (ValueError,)


def load_event(text: str | bytes) -> Event:
    """An event from its stored JSON text.

    Raises:
        RowError: The text is not an event this code wrote: not JSON, not an object, an
            unknown event type, a field of the wrong type, or a malformed payload.
    """
    try:
        obj = _loads(text)
    except _json_errors as err:
        raise RowError(f"not JSON: {err}") from None
    except RecursionError:
        raise RowError("not JSON this store wrote: nested too deeply") from None
    if type(obj) is not dict:
        raise RowError(f"not an event object but {type(obj).__name__}")
    event_id = obj.get("event_id")
    if type(event_id) is not int or event_id < 1:
        raise RowError(f"event_id {event_id!r} is not a positive integer")
    name = obj.get("event_type")
    kind = _EVENT_TYPES.get(name) if type(name) is str else None
    if kind is None:
        raise RowError(f"unknown event type {obj.get('event_type')!r}")
    timestamp: Any = obj.get("timestamp")
    if type(timestamp) not in (int, float) or not math.isfinite(timestamp):
        raise RowError(f"timestamp {timestamp!r} is not a finite number")
    attributes = obj.get("attributes")
    if attributes is None:
        attributes = {}
    elif type(attributes) is not dict:
        raise RowError(f"attributes are {type(attributes).__name__}, not an object")
    try:
        _revive(attributes)
    except RecursionError:
        raise RowError("attributes nested too deeply") from None
    return Event(event_id, kind, float(timestamp), attributes)


def dump_value(value: Any) -> str:
    """JSON text of a value (a run's memo, its search attributes) whose Payloads take the
    stores' ``{"_payload": ...}`` form."""
    if _orjson is not None:
        return str(_orjson.dumps(value, default=_encode_payload, option=_ORJSON_OPTS).decode())
    return json.dumps(value, default=_encode_value, separators=(",", ":"))  # pragma: no cover


def load_value(text: str | bytes) -> dict[str, Any]:
    """A JSON object ``dump_value`` wrote, its Payloads revived.

    Raises:
        RowError: The text is not a JSON object this code wrote.
    """
    try:
        obj = _loads(text)
        if type(obj) is not dict:
            raise RowError(f"not an object but {type(obj).__name__}")
        _revive(obj)
    except _json_errors as err:
        if isinstance(err, RowError):
            raise
        raise RowError(f"not JSON: {err}") from None
    except RecursionError:
        raise RowError("nested too deeply") from None
    return obj


def _payload(value: dict[str, Any]) -> Payload:
    """A Payload from the ``{"_payload": {...}}`` form; RowError when it is malformed."""
    p = value["_payload"]
    if type(p) is not dict or type(p.get("metadata")) is not dict:
        raise RowError("a payload without its metadata object")
    try:
        meta = {str(k): v.encode("latin-1") for k, v in p["metadata"].items()}
        if "data" in p:
            data = p["data"].encode("utf-8")
        else:
            data = base64.b64decode(p["data_b64"], validate=True)
    except (KeyError, AttributeError, TypeError, UnicodeError, binascii.Error) as err:
        raise RowError(f"a malformed payload: {type(err).__name__}: {err}") from None
    return Payload(meta, data)


def _revive(obj: dict[str, Any] | list[Any]) -> None:
    """Turn ``{"_payload": ...}`` dicts back into Payloads, in place (the JSON is ours)."""
    items = obj.items() if type(obj) is dict else enumerate(obj)
    into: Any = obj  # written by the key or index it was read by
    for key, value in items:
        kind = type(value)
        if kind is dict:
            if "_payload" in value and len(value) == 1:
                into[key] = _payload(value)
            else:
                _revive(value)
        elif kind is list:
            _revive(value)


def damaged(workflow_id: str, run_id: str, event_id: int | None, why: str) -> StoreError:
    """The ``StoreError`` that names a damaged run and the row that cannot be read."""
    row = f"event row {event_id}" if event_id is not None else "its event rows"
    err = StoreError(
        f"workflow {workflow_id!r} run {run_id!r} cannot be read from the store: {row}: {why}. "
        "Its rows are left as they are on disk; other runs are unaffected",
        workflow_id=workflow_id,
        run_id=run_id,
        event_id=event_id,
    )
    return err


def load_history(workflow_id: str, run_id: str, rows: Iterable[tuple[int, Any]]) -> list[Event]:
    """A run's history from its ``(event_id, data)`` rows, in event id order.

    Raises:
        StoreError: A row cannot be read, an event id is missing or repeated, or the history
            does not begin with the run's ``WORKFLOW_EXECUTION_STARTED``; the error names the
            workflow id, run id and event id (``workflow_id``, ``run_id``, ``event_id``).
    """
    history: list[Event] = []
    for column_id, data in rows:
        expected = len(history) + 1
        if column_id != expected:
            missing = expected if column_id > expected else column_id
            why = f"event {expected} is missing" if column_id > expected else "repeated"
            raise damaged(workflow_id, run_id, missing, why)
        if not isinstance(data, str | bytes):
            raise damaged(workflow_id, run_id, column_id, f"data is {type(data).__name__}")
        try:
            event = load_event(data)
        except RowError as err:
            raise damaged(workflow_id, run_id, column_id, str(err)) from None
        if event.event_id != column_id:
            raise damaged(workflow_id, run_id, column_id, f"the row holds event {event.event_id}")
        history.append(event)
    check_start(workflow_id, run_id, history)
    return history


def check_start(workflow_id: str, run_id: str, history: list[Event]) -> None:
    """Raise ``StoreError`` unless ``history`` begins with this run's start event."""
    if not history:
        raise damaged(workflow_id, run_id, 1, "the run has no events (its start is missing)")
    first = history[0]
    if first.event_type is not EventType.WORKFLOW_EXECUTION_STARTED:
        raise damaged(
            workflow_id, run_id, 1, f"the first event is {first.event_type.value}, not its start"
        )
    a = first.attributes
    if a.get("workflow_id") != workflow_id or a.get("run_id") != run_id:
        raise damaged(workflow_id, run_id, 1, "the start event belongs to another run")
    if type(a.get("workflow_type")) is not str:
        raise damaged(workflow_id, run_id, 1, "the start event has no workflow type")
