"""Search attributes as a run keeps them: checked, recorded in events, folded, typed.

Workflow code and clients speak ``fastcore.common``'s typed forms (``TypedSearchAttributes``,
``SearchAttributeUpdate``s; the deprecated name -> list mapping is accepted too). Events and
stores hold a JSON form, one entry per attribute::

    {"CustomerId": {"type": "Keyword", "value": "c-42"},
     "Opened":     {"type": "Datetime", "value": "2025-01-31T12:00:00+00:00"},
     "Tags":       {"type": "KeywordList", "value": ["eu", "vip"]}}

(``value`` None in an upsert removes the attribute). The started event carries a run's
initial attributes under ``search_attributes``; each ``UPSERT_WORKFLOW_SEARCH_ATTRIBUTES``
event carries a change; ``RunRecord.search_attributes`` holds the current ones.

Values are checked as temporalio checks them (the key's Python type; a datetime must carry
a time zone; a keyword list holds strings); the names of built-in attributes and names that
start with ``Temporal`` are reserved. An attribute has one type per engine: the
``SearchAttributeRegistry`` learns it on first use (or from ``Engine(search_attribute_keys=
[...])``) and refuses another type later, as a Temporal namespace refuses a value of the
wrong type for a registered attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ._visibility import BUILTIN_ATTRIBUTES, SearchAttributeType, parse_datetime
from .common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from .errors import InvalidArgumentError
from .history import Event, EventType

__all__ = [
    "Encoded",
    "SearchAttributeRegistry",
    "apply_updates",
    "decode",
    "encode",
    "encode_updates",
    "fold",
    "key_of",
    "untyped",
]

#: name -> {"type": <Temporal type name>, "value": <JSON value, or None to unset>}
Encoded = dict[str, dict[str, Any]]

_I = SearchAttributeIndexedValueType
_KIND_OF_INDEX = {
    _I.TEXT: SearchAttributeType.TEXT,
    _I.KEYWORD: SearchAttributeType.KEYWORD,
    _I.INT: SearchAttributeType.INT,
    _I.DOUBLE: SearchAttributeType.DOUBLE,
    _I.BOOL: SearchAttributeType.BOOL,
    _I.DATETIME: SearchAttributeType.DATETIME,
    _I.KEYWORD_LIST: SearchAttributeType.KEYWORD_LIST,
}


def key_of(name: str, type_name: str) -> SearchAttributeKey[Any]:
    """The typed key of an attribute recorded with ``type_name`` (``Keyword``, ...)."""
    key = SearchAttributeKey._from_metadata_type(name, type_name)
    if key is None:
        known = ", ".join(t.value for t in SearchAttributeType)
        raise InvalidArgumentError(
            f"search attribute {name!r} has unknown type {type_name!r} ({known})"
        )
    return key


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(
            f"a search attribute name must be a non-empty string, not {name!r}"
        )
    if name in BUILTIN_ATTRIBUTES:
        raise InvalidArgumentError(f"search attribute {name!r} is built in and cannot be set")
    if name.startswith("Temporal"):
        raise InvalidArgumentError(
            f"search attribute {name!r}: names that start with 'Temporal' are reserved"
        )


def _json_value(key: SearchAttributeKey[Any], value: Any) -> Any:
    """The JSON form of a typed value, checked as temporalio checks it."""
    kind = key.indexed_value_type
    name = key.name
    if kind is _I.KEYWORD_LIST:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise InvalidArgumentError(
                f"search attribute {name!r} is a KeywordList: give a list of strings, not {value!r}"
            )
        if not all(isinstance(v, str) for v in value):
            raise InvalidArgumentError(
                f"search attribute {name!r}: all values of a keyword list must be strings"
            )
        return list(value)
    if kind is _I.DATETIME:
        if not isinstance(value, datetime):
            raise InvalidArgumentError(
                f"search attribute {name!r} is a Datetime, not {type(value).__name__}"
            )
        if value.tzinfo is None:
            raise InvalidArgumentError(
                f"search attribute {name!r}: a datetime must carry a time zone"
            )
        return value.isoformat()
    expected = key.origin_value_type
    if not isinstance(value, expected) or (kind is _I.DOUBLE and isinstance(value, bool)):
        raise InvalidArgumentError(
            f"search attribute {name!r} is a {key._metadata_type} ({expected.__name__}), "
            f"not {type(value).__name__} {value!r}"
        )
    return value


def _guess_key(name: str, values: Any) -> SearchAttributeKey[Any]:
    """The key of a deprecated untyped entry (a list of values), as temporalio guesses it."""
    if not isinstance(values, list) or not values:
        raise InvalidArgumentError(
            f"search attribute {name!r}: the untyped form takes a non-empty list of values; "
            "use TypedSearchAttributes"
        )
    first = values[0]
    if len(values) > 1 and isinstance(first, str):
        return SearchAttributeKey.for_keyword_list(name)
    if isinstance(first, str):
        return SearchAttributeKey.for_keyword(name)
    if isinstance(first, bool):
        return SearchAttributeKey.for_bool(name)
    if isinstance(first, int):
        return SearchAttributeKey.for_int(name)
    if isinstance(first, float):
        return SearchAttributeKey.for_float(name)
    if isinstance(first, datetime):
        return SearchAttributeKey.for_datetime(name)
    raise InvalidArgumentError(f"search attribute {name!r}: cannot tell the type of {first!r}")


def _pairs(attributes: Any) -> Iterable[tuple[SearchAttributeKey[Any], Any]]:
    if isinstance(attributes, TypedSearchAttributes):
        for pair in attributes:
            yield pair.key, pair.value
        return
    if isinstance(attributes, Mapping):
        for name, values in attributes.items():
            key = _guess_key(name, values)
            yield key, values if key.indexed_value_type is _I.KEYWORD_LIST else values[0]
        return
    for item in attributes:
        if isinstance(item, SearchAttributePair | SearchAttributeUpdate):
            yield item.key, item.value
        else:
            raise InvalidArgumentError(
                f"search attributes are TypedSearchAttributes or SearchAttributeUpdates "
                f"(key.value_set(...)), not {type(item).__name__}"
            )


def encode(attributes: Any) -> Encoded:
    """The JSON form of a start's search attributes (``TypedSearchAttributes``, pairs, or
    the deprecated name -> list mapping); empty for None.

    Raises:
        InvalidArgumentError: A reserved name, a value of the wrong type, or a duplicate.
    """
    out: Encoded = {}
    if not attributes:
        return out
    for key, value in _pairs(attributes):
        _check_name(key.name)
        if value is None:
            raise InvalidArgumentError(f"search attribute {key.name!r} has no value")
        out[key.name] = {"type": key._metadata_type, "value": _json_value(key, value)}
    return out


def encode_updates(updates: Any) -> Encoded:
    """The JSON form of ``upsert_search_attributes``'s argument (value None: remove)."""
    out: Encoded = {}
    for key, value in _pairs(updates):
        _check_name(key.name)
        out[key.name] = {
            "type": key._metadata_type,
            "value": None if value is None else _json_value(key, value),
        }
    return out


def apply_updates(current: Encoded | None, updates: Encoded) -> Encoded | None:
    """``current`` with ``updates`` applied (a new dict; None when nothing is left)."""
    merged: Encoded = dict(current or {})
    for name, entry in updates.items():
        if entry.get("value") is None:
            merged.pop(name, None)
        else:
            merged[name] = entry
    return merged or None


def decode(encoded: Mapping[str, Mapping[str, Any]] | None) -> TypedSearchAttributes:
    """The typed collection of the JSON form."""
    if not encoded:
        return TypedSearchAttributes.empty
    pairs: list[SearchAttributePair[Any]] = []
    for name, entry in encoded.items():
        value = entry.get("value")
        if value is None:
            continue
        key = key_of(name, str(entry.get("type")))
        if key.indexed_value_type is _I.DATETIME:
            value = parse_datetime(value)
        elif key.indexed_value_type is _I.KEYWORD_LIST:
            value = list(value)
        elif key.indexed_value_type is _I.DOUBLE:
            value = float(value)
        pairs.append(SearchAttributePair(key, value))
    return TypedSearchAttributes(pairs)


def untyped(encoded: Mapping[str, Mapping[str, Any]] | None) -> dict[str, list[Any]]:
    """The deprecated untyped form (name -> list of values) of the JSON form."""
    out: dict[str, list[Any]] = {}
    for pair in decode(encoded):
        value = pair.value
        out[pair.key.name] = list(value) if isinstance(value, list) else [value]
    return out


def row_values(encoded: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """Attribute name -> value, as the visibility evaluator reads a row."""
    if not encoded:
        return {}
    return {name: entry.get("value") for name, entry in encoded.items()}


def datetime_value(value: Any) -> float:
    """Epoch seconds of a recorded Datetime value (how stores index it)."""
    return parse_datetime(value).astimezone(UTC).timestamp()


class SearchAttributeRegistry:
    """The type of every custom search attribute an engine has seen or was given."""

    def __init__(self) -> None:
        self._types: dict[str, SearchAttributeType] = {}

    @property
    def types(self) -> Mapping[str, SearchAttributeType]:
        """Attribute name -> its type."""
        return self._types

    def keys(self) -> dict[str, SearchAttributeKey[Any]]:
        """Attribute name -> its typed key."""
        return {name: key_of(name, kind.value) for name, kind in self._types.items()}

    def register(self, name: str, type_name: str, *, source: str = "an earlier use") -> None:
        """Record ``name``'s type; ``InvalidArgumentError`` if it is known with another."""
        kind = SearchAttributeType(key_of(name, type_name)._metadata_type)
        known = self._types.get(name)
        if known is None:
            self._types[name] = kind
        elif known is not kind:
            raise InvalidArgumentError(
                f"search attribute {name!r} is a {known.value} (set so by {source}), "
                f"not a {kind.value}"
            )

    def register_key(self, key: SearchAttributeKey[Any]) -> None:
        """Record a key given up front (``Engine(search_attribute_keys=[...])``)."""
        _check_name(key.name)
        self.register(key.name, key._metadata_type, source="search_attribute_keys")

    def check(self, encoded: Encoded) -> None:
        """Check (and learn) the types of attributes about to be recorded."""
        for name, entry in encoded.items():
            known = self._types.get(name)
            if known is None or known.value != entry["type"]:
                self.register(name, str(entry["type"]))


def fold(history: Sequence[Event]) -> Encoded | None:
    """A run's current search attributes: its start's, with every upsert applied."""
    if not history:
        return None
    current: Encoded | None = history[0].attributes.get("search_attributes") or None
    for ev in history:
        if ev.event_type is EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            current = apply_updates(current, ev.attributes.get("search_attributes") or {})
    return current
