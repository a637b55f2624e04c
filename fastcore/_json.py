"""JSON for payloads: orjson on the hot path, and type hints turned back into values.

``dumps``/``loads`` use orjson when it is installed (under 1.5 us a round trip; it writes
dataclasses, enums, datetimes and UUIDs itself) and the standard library otherwise, or for
integers beyond 64 bits, which the standard library keeps exact. ``value_to_type`` follows
``temporalio.converter.value_to_type``: after ``json.loads``, a type hint rebuilds enums
(``IntEnum`` from numbers, ``StrEnum`` from strings), ``datetime`` from ISO 8601, ``UUID``,
dataclasses (nested), pydantic models, ``Optional``/``Union`` (each member tried in order),
``Literal``, ``NewType``, typed dicts, and lists, tuples, sets and mappings of these.
"""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
import inspect
import json
import re
import typing
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from types import UnionType
from typing import Any, ClassVar, Literal, NewType, TypeVar, get_type_hints

try:  # orjson is a dependency of the distribution, but fastcore runs without it
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the optional-dependency test
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "PLAIN_HINTS",
    "AdvancedJSONEncoder",
    "JSONTypeConverter",
    "JSONTypeConverterUnhandled",
    "dumps",
    "json_default",
    "loads",
    "value_to_type",
]

PLAIN_HINTS = frozenset({int, float, str, bool, dict, list, object, Any, type(None)})
"""Hints under which a decoded JSON value is already what the code asked for."""


def json_default(value: Any) -> Any:
    """Encode what JSON has no type for (as temporalio's ``AdvancedJSONEncoder`` does).

    Pydantic models (``model_dump``), dataclasses, datetimes (ISO 8601), UUIDs (their
    string), enums (their value) and any other iterable (a list).
    """
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if not isinstance(value, str | bytes | dict) and isinstance(value, collections.abc.Iterable):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class AdvancedJSONEncoder(json.JSONEncoder):
    """A ``json.JSONEncoder`` for ``JSONPlainPayloadConverter(encoder=...)``: what
    ``json_default`` handles (dataclasses, datetimes, UUIDs, enums, iterables, models)."""

    def default(self, o: Any) -> Any:
        """Encode what JSON has no type for."""
        try:
            return json_default(o)
        except TypeError:
            return super().default(o)


if _orjson is not None:
    _OPTS = _orjson.OPT_SERIALIZE_NUMPY | _orjson.OPT_NON_STR_KEYS
    _BIG_INT = re.compile(rb"(?<![.\deE])-?\d{19,}(?![.\deE])")

    def dumps(value: Any) -> bytes:
        """JSON bytes of ``value``; ``TypeError``/``ValueError`` when JSON cannot hold it."""
        try:
            return _orjson.dumps(value, default=json_default, option=_OPTS)
        except TypeError as err:
            if "64-bit" not in str(err):
                raise
            # integers beyond 64 bits: the standard library writes them exactly
            return json.dumps(value, default=json_default, separators=(",", ":")).encode()

    def loads(data: bytes) -> Any:
        """The value of JSON bytes; ``ValueError`` when they are not JSON."""
        # orjson reads integers beyond 64 bits as floats; the standard library keeps them
        if len(data) >= 19 and _BIG_INT.search(data):
            return json.loads(data)
        return _orjson.loads(data)

else:  # pragma: no cover

    def dumps(value: Any) -> bytes:
        """JSON bytes of ``value``; ``TypeError``/``ValueError`` when JSON cannot hold it."""
        return json.dumps(value, default=json_default, separators=(",", ":")).encode()

    def loads(data: bytes) -> Any:
        """The value of JSON bytes; ``ValueError`` when they are not JSON."""
        return json.loads(data)


JSONTypeConverterUnhandled = NewType("JSONTypeConverterUnhandled", object)
"""The type of ``JSONTypeConverter.Unhandled``."""


class JSONTypeConverter:
    """Turns a ``json.loads`` result into a type a hint names, for the hints it knows
    (``JSONPlainPayloadConverter(custom_type_converters=[...])``), as temporalio's."""

    Unhandled: ClassVar[JSONTypeConverterUnhandled] = JSONTypeConverterUnhandled(object())
    """Returned by ``to_typed_value`` for a hint this converter does not handle."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        """The value for ``hint``, or ``JSONTypeConverter.Unhandled``."""
        raise NotImplementedError


def value_to_type(
    hint: Any, value: Any, custom_converters: Sequence[JSONTypeConverter] = ()
) -> Any:
    """Turn a decoded JSON value into the type ``hint`` names, as temporalio's converter does.

    Raises:
        TypeError: The value does not fit the hint.
    """
    for conv in custom_converters:
        ret = conv.to_typed_value(hint, value)
        if ret is not JSONTypeConverter.Unhandled:
            return ret
    if hint is Any or hint is object or hint is None or isinstance(hint, TypeVar):
        return value
    scalar = _SCALARS.get(hint)
    if scalar is not None:
        return scalar(hint, value)
    supertype = getattr(hint, "__supertype__", None)
    if supertype is not None:  # NewType
        return value_to_type(supertype, value, custom_converters)
    origin = typing.get_origin(hint) or hint
    args: tuple[Any, ...] = typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            raise TypeError(f"Value {value!r} not in literal values {args}")
        return value
    if origin is typing.Union or isinstance(hint, UnionType):
        for arg in args:
            try:
                return value_to_type(arg, value, custom_converters)
            except Exception:
                continue
        raise TypeError(f"Failed converting to {hint} from {value!r}")
    validate = getattr(hint, "model_validate", None)
    if validate is not None:  # a pydantic model
        return validate(value)
    if inspect.isclass(origin) and issubclass(origin, collections.abc.Mapping):
        return _to_mapping(hint, origin, args, value, custom_converters)
    if inspect.isclass(hint) and dataclasses.is_dataclass(hint):
        return _to_dataclass(hint, value, custom_converters)
    if inspect.isclass(hint) and issubclass(hint, Enum):
        if issubclass(hint, int) and not isinstance(value, int):
            raise TypeError(f"Cannot convert to enum {hint.__name__}: {value!r} is not an int")
        if issubclass(hint, str) and not isinstance(value, str):
            raise TypeError(f"Cannot convert to enum {hint.__name__}: {value!r} is not a str")
        return hint(value)
    if inspect.isclass(hint) and issubclass(hint, uuid.UUID):
        return hint(value)
    if inspect.isclass(origin) and issubclass(origin, collections.abc.Iterable):
        return _to_collection(hint, origin, args, value, custom_converters)
    raise TypeError(f"Unserializable type during conversion: {hint}")


def _scalar_datetime(hint: Any, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as err:
            raise TypeError(f"Failed parsing datetime string: {value}") from err
    if isinstance(value, datetime):
        return value
    raise TypeError(f"Expected datetime or ISO8601 string, got {type(value).__name__}")


def _scalar_number(hint: Any, value: Any) -> Any:
    if not isinstance(value, int | float):
        raise TypeError(f"Expected value to be int|float, was {type(value).__name__}")
    return hint(value)


def _scalar_exact(hint: Any, value: Any) -> Any:
    if not isinstance(value, hint):
        raise TypeError(f"Expected value to be {hint.__name__}, was {type(value).__name__}")
    return value


def _scalar_bytes(hint: Any, value: Any) -> Any:
    if isinstance(value, str):
        return value.encode()
    if not isinstance(value, bytes | list):
        raise TypeError(f"Expected value to be bytes, was {type(value).__name__}")
    return bytes(value)


def _scalar_none(hint: Any, value: Any) -> Any:
    if value is not None:
        raise TypeError(f"Expected None, got value of type {type(value).__name__}")
    return None


_SCALARS: dict[Any, Callable[[Any, Any], Any]] = {
    datetime: _scalar_datetime,
    int: _scalar_number,
    float: _scalar_number,
    bool: _scalar_exact,
    str: _scalar_exact,
    bytes: _scalar_bytes,
    type(None): _scalar_none,
}


def _to_mapping(
    hint: Any,
    origin: type,
    args: tuple[Any, ...],
    value: Any,
    custom: Sequence[JSONTypeConverter],
) -> Any:
    if not isinstance(value, collections.abc.Mapping):
        raise TypeError(f"Expected {hint}, value was {type(value).__name__}")
    per_key: dict[str, Any] | None = None
    if getattr(origin, "__required_keys__", None) or getattr(origin, "__optional_keys__", None):
        per_key = get_type_hints(origin)  # a TypedDict
    key_type = args[0] if args and args[0] is not Any and not isinstance(args[0], TypeVar) else None
    val_type = (
        args[1]
        if len(args) > 1 and args[1] is not Any and not isinstance(args[1], TypeVar)
        else None
    )
    out: dict[Any, Any] = {}
    for key, item in value.items():
        item_type = per_key.get(key) if per_key is not None else val_type
        if key_type is not None:
            key = _to_key(key_type, key, hint, custom)
        if item_type is not None:
            try:
                item = value_to_type(item_type, item, custom)
            except Exception as err:
                raise TypeError(
                    f"Failed converting value for key {key!r} in mapping {hint}"
                ) from err
        out[key] = item
    if per_key is not None:
        return hint(**out)
    return out


def _typed(args: tuple[Any, ...], i: int) -> Any:
    """The i-th type argument when it names a type (not ``Any`` or a TypeVar), else None."""
    if len(args) > i and args[i] is not Any and not isinstance(args[i], TypeVar):
        return args[i]
    return None


def _to_key(key_type: Any, key: Any, hint: Any, custom: Sequence[JSONTypeConverter]) -> Any:
    """A JSON object key (always a string) back as the key type (int, enum, bool...)."""
    try:
        if isinstance(key, str):
            if key_type is int or key_type is float:
                key = key_type(key)
            elif (
                inspect.isclass(key_type)
                and issubclass(key_type, Enum)
                and issubclass(key_type, int)
            ):
                key = int(key)
            elif key_type is bool:
                key = {"true": True, "false": False}[key]
        if not isinstance(key_type, type) or not isinstance(key, key_type):
            key = value_to_type(key_type, key, custom)
    except Exception as err:
        raise TypeError(f"Failed converting key {key!r} to {key_type} in mapping {hint}") from err
    return key


_FIELDS: dict[type, tuple[tuple[str, Any, bool], ...]] = {}


def _fields_of(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """A dataclass's (name, type hint, init) per field, read once per class."""
    plan = _FIELDS.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        plan = _FIELDS[cls] = tuple(
            (f.name, hints.get(f.name), f.init) for f in dataclasses.fields(cls)
        )
    return plan


def _to_dataclass(hint: Any, value: Any, custom: Sequence[JSONTypeConverter]) -> Any:
    if not isinstance(value, dict):
        raise TypeError(f"Cannot convert to dataclass {hint.__name__}: value is not a dict")
    init_values: dict[str, Any] = {}
    other_values: dict[str, Any] = {}
    for name, field_hint, init in _fields_of(hint):
        if name not in value:
            continue  # a missing required field fails at construction, as in temporalio
        item = value[name]
        if field_hint in PLAIN_HINTS and not custom and type(item) is field_hint:
            converted = item  # already what the hint asks for
        else:
            try:
                converted = value_to_type(field_hint, item, custom)
            except Exception as err:
                raise TypeError(
                    f"Failed converting field {name} on dataclass {hint.__name__}: {err}"
                ) from err
        (init_values if init else other_values)[name] = converted
    obj = hint(**init_values)
    for name, field_value in other_values.items():
        object.__setattr__(obj, name, field_value)
    return obj


def _to_collection(
    hint: Any,
    origin: type,
    args: tuple[Any, ...],
    value: Any,
    custom: Sequence[JSONTypeConverter],
) -> Any:
    if isinstance(value, str | bytes) or not isinstance(value, collections.abc.Iterable):
        raise TypeError(f"Expected {hint}, value was {type(value).__name__}")
    if not args or (len(args) == 1 and (isinstance(args[0], TypeVar) or args[0] is Ellipsis)):
        items = list(value)
    else:
        items = []
        for i, item in enumerate(value):
            if origin is not tuple:
                arg = args[0]
            elif len(args) > i and args[i] is not Ellipsis:
                arg = args[i]
            elif args[-1] is Ellipsis:
                arg = args[-2]
            else:
                raise TypeError(
                    f"Type {hint} only expects {len(args)} values, got at least {i + 1}"
                )
            try:
                items.append(value_to_type(arg, item, custom))
            except Exception as err:
                raise TypeError(f"Failed converting {hint} index {i}: {err}") from err
    if origin is tuple:
        return tuple(items)
    if origin is set:
        return set(items)
    if origin is frozenset:
        return frozenset(items)
    if origin is collections.deque:
        return collections.deque(items)
    return items
