"""Payloads and the data converter: every argument and result is encoded on the way in.

A ``Payload`` is Temporal's shape (metadata + bytes) so histories translate one to one.
JSON via orjson when it is installed (under 1.5 us a round trip), the stdlib otherwise;
dataclasses and pydantic models convert both ways when a type hint asks for them.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import typing
from collections.abc import Sequence
from typing import Any

from .errors import InvalidArgumentError

try:  # orjson is a dependency of the distribution, but fastcore runs without it
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the optional-dependency test
    _orjson = None  # type: ignore[assignment]

__all__ = ["DataConverter", "Payload", "default_converter"]

ENCODING_JSON = b"json/plain"
ENCODING_NULL = b"binary/null"


_UNSET: Any = object()
_I64 = 2**63
_U64 = 2**64


class Payload:
    """One encoded value: ``metadata`` (``encoding`` at least) and ``data`` bytes.

    A payload made here from an immutable scalar (int, str, bool, finite float) remembers
    that value and writes its JSON bytes only when someone reads ``data`` (a durable store,
    the bridge): decoding it again gives the identical value without the JSON parser.
    """

    __slots__ = ("_data", "_value", "metadata")

    def __init__(self, metadata: dict[str, bytes], data: bytes | None, value: Any = _UNSET) -> None:
        self.metadata = metadata
        self._data = data
        self._value = value

    @property
    def data(self) -> bytes:
        """The encoded bytes."""
        d = self._data
        if d is None:
            d = self._data = _dumps(self._value)
        return d

    @data.setter
    def data(self, value: bytes) -> None:
        self._data = value
        self._value = _UNSET

    # A payload is a value: copies share it, and pickling keeps only what it encodes.
    def __copy__(self) -> Payload:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Payload:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        if self._data is None:  # a remembered scalar: no JSON to write, none to parse later
            return (Payload, (self.metadata, None, self._value))
        return (Payload, (self.metadata, self._data))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Payload)
            and self.metadata == other.metadata
            and self.data == other.data
        )

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        enc = self.metadata.get("encoding", b"").decode(errors="replace")
        return f"Payload({enc}, {self.data[:60]!r})"

    def to_json_obj(self) -> dict[str, Any]:
        """Temporal's JSON form: base64 metadata values and data."""
        return {
            "metadata": {k: base64.b64encode(v).decode() for k, v in self.metadata.items()},
            "data": base64.b64encode(self.data).decode(),
        }

    @classmethod
    def from_json_obj(cls, obj: dict[str, Any]) -> Payload:
        """Read Temporal's JSON form back."""
        meta = {k: base64.b64decode(v) for k, v in (obj.get("metadata") or {}).items()}
        return cls(meta, base64.b64decode(obj.get("data") or ""))


_NULL = Payload({"encoding": ENCODING_NULL}, b"")
_JSON_META = {"encoding": ENCODING_JSON}


def _default(value: Any) -> Any:
    """Fallback for values the JSON encoder does not know (pydantic models, sets)."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


if _orjson is not None:
    _OPTS = _orjson.OPT_SERIALIZE_NUMPY | _orjson.OPT_NON_STR_KEYS

    _BIG_INT = re.compile(rb"(?<![.\deE])-?\d{19,}(?![.\deE])")

    def _dumps(value: Any) -> bytes:
        try:
            return _orjson.dumps(value, default=_default, option=_OPTS)
        except TypeError as err:
            if "64-bit" not in str(err):
                raise
            # integers beyond 64 bits: the standard library writes them exactly
            return json.dumps(value, default=_default, separators=(",", ":")).encode()

    def _loads(data: bytes) -> Any:
        # orjson reads integers beyond 64 bits as floats; the standard library keeps them
        if len(data) >= 19 and _BIG_INT.search(data):
            return json.loads(data)
        return _orjson.loads(data)
else:  # pragma: no cover

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, default=_default, separators=(",", ":")).encode()

    _loads = json.loads


_PLAIN = frozenset({int, float, str, bool, dict, list, object, Any, type(None)})


def _from_jsonable(value: Any, hint: Any) -> Any:
    """Turn decoded JSON into the type a hint names (dataclass, pydantic model, containers)."""
    if hint is None or value is None or hint in _PLAIN:
        if hint is float and type(value) is int:
            return float(value)
        return value
    validate = getattr(hint, "model_validate", None)
    if validate is not None:
        return validate(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        kwargs = {
            f.name: _from_jsonable(value[f.name], hints.get(f.name))
            for f in dataclasses.fields(hint)
            if f.name in value
        }
        return hint(**kwargs)
    origin = typing.get_origin(hint)
    if origin in (list, Sequence) and isinstance(value, list):
        (arg,) = typing.get_args(hint) or (None,)
        return [_from_jsonable(v, arg) for v in value]
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if origin is dict and isinstance(value, dict):
        args = typing.get_args(hint)
        vt = args[1] if len(args) == 2 else None
        return {k: _from_jsonable(v, vt) for k, v in value.items()}
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            try:
                return _from_jsonable(value, arg)
            except Exception:
                continue
        return value
    if hint is tuple and isinstance(value, list):
        return tuple(value)
    return value


class DataConverter:
    """Encodes values to payloads and back; JSON by default, as temporalio's default."""

    def encode(self, values: Sequence[Any]) -> list[Payload]:
        """Encode each value; raises ``InvalidArgumentError`` for one JSON cannot hold."""
        return [self.encode_one(v) for v in values]

    def encode_one(self, value: Any) -> Payload:
        """Encode a single value."""
        if value is None:
            return _NULL
        t = type(value)
        try:
            if (
                (t is int and -_I64 <= value < _U64)
                or t is bool
                or (t is str and value.isascii())
                or (t is float and value - value == 0.0)
            ):
                return Payload(_JSON_META, None, value)  # JSON bytes made when first read
            return Payload(_JSON_META, _dumps(value))
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"cannot convert a value of type {type(value).__name__} to JSON: {err}"
            ) from None

    def decode(self, payloads: Sequence[Payload], hints: Sequence[Any] | None = None) -> list[Any]:
        """Decode payloads, converting to the type hints when given."""
        if hints is None:
            return [self.decode_one(p) for p in payloads]
        out = []
        for i, p in enumerate(payloads):
            out.append(self.decode_one(p, hints[i] if i < len(hints) else None))
        return out

    def decode_one(self, payload: Payload, hint: Any = None) -> Any:
        """Decode one payload."""
        cached = payload._value
        if cached is not _UNSET and (hint is None or hint in _PLAIN):
            if hint is float and type(cached) is int:
                return float(cached)
            return cached
        enc = payload.metadata.get("encoding")
        if enc == ENCODING_NULL:
            return None
        if enc != ENCODING_JSON:
            if enc == b"binary/plain":
                return payload.data
            raise InvalidArgumentError(f"unsupported payload encoding {enc!r}")
        try:
            value = _loads(payload.data)
        except ValueError as err:
            raise InvalidArgumentError(f"payload is not valid JSON: {err}") from None
        if hint is None or hint in _PLAIN:
            if hint is float and type(value) is int:
                return float(value)
            return value
        try:
            return _from_jsonable(value, hint)
        except Exception as err:
            raise InvalidArgumentError(
                f"cannot convert {value!r} to {getattr(hint, '__name__', hint)}: {err}"
            ) from None


default_converter = DataConverter()
