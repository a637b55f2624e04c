"""Payloads: Temporal's shape (metadata + bytes), its wire format, and values that pass as is.

A ``Payload`` is ``temporal.api.common.v1.Payload`` without protobuf: ``metadata`` (a dict of
str to bytes, ``encoding`` at least) and ``data``. ``SerializeToString`` and ``FromString``
write and read protobuf's wire format of that message byte for byte, so a codec that wraps a
whole payload (the encryption sample's ``Payload.FromString(decrypt(p.data))``) makes bytes a
temporalio client reads back, and the other way round.

``RawValue`` is ``temporalio.common.RawValue``: a payload the payload converter passes through
unconverted (a codec still applies). ``EncodedValue`` is fastcore's own, for integrations: a
payload already converted *and* encoded (a bridge hands the engine the bytes a client sent):
nothing touches it on the way in, and asking for it as a type hint gives back the recorded
payload, so a value crosses a bridge without being decoded there.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ._json import dumps

__all__ = ["ENCODING_JSON", "ENCODING_NULL", "UNSET", "EncodedValue", "Payload", "RawValue"]

ENCODING_JSON = b"json/plain"
ENCODING_NULL = b"binary/null"
ENCODING_BINARY = b"binary/plain"

UNSET: Any = object()
"""A payload's cached value when it has none (``Payload._value``)."""


class Payload:
    """One encoded value: ``metadata`` (``encoding`` at least) and ``data`` bytes.

    Made as temporalio's is: ``Payload(metadata={"encoding": b"json/plain"}, data=b"1")``.
    A payload made by fastcore's JSON path from an immutable scalar (int, str, bool, finite
    float) remembers that value and writes its JSON bytes only when someone reads ``data``
    (a durable store, the bridge): decoding it again gives the identical value without the
    JSON parser.
    """

    __slots__ = ("_data", "_value", "metadata")

    def __init__(
        self,
        metadata: dict[str, bytes] | None = None,
        data: bytes | None = b"",
        value: Any = UNSET,
    ) -> None:
        self.metadata = metadata if metadata is not None else {}
        self._data = data
        self._value = value

    @property
    def data(self) -> bytes:
        """The encoded bytes."""
        d = self._data
        if d is None:
            d = self._data = dumps(self._value)  # the lazy JSON bytes of a cached scalar
        return d

    @data.setter
    def data(self, value: bytes) -> None:
        self._data = value
        self._value = UNSET

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

    # -- protobuf's wire format of temporal.api.common.v1.Payload ---------------------------

    def SerializeToString(self) -> bytes:
        """The payload in protobuf's wire format (``metadata`` = field 1, ``data`` = 2)."""
        out = bytearray()
        for key in sorted(self.metadata):
            k = key.encode()
            v = self.metadata[key]
            entry = b"\x0a" + _varint(len(k)) + k + b"\x12" + _varint(len(v)) + v
            out += b"\x0a" + _varint(len(entry)) + entry
        data = self.data
        if data:
            out += b"\x12" + _varint(len(data)) + data
        return bytes(out)

    @classmethod
    def FromString(cls, raw: bytes) -> Payload:
        """Read a payload from protobuf's wire format (unknown fields are skipped).

        Raises:
            ValueError: The bytes are not a serialized payload.
        """
        metadata: dict[str, bytes] = {}
        data = b""
        for field, value in _fields(bytes(raw)):
            if field == 1 and isinstance(value, bytes):
                key, val = "", b""
                for f, v in _fields(value):
                    if f == 1 and isinstance(v, bytes):
                        key = v.decode()
                    elif f == 2 and isinstance(v, bytes):
                        val = v
                metadata[key] = val
            elif field == 2 and isinstance(value, bytes):
                data = value
        return cls(metadata, data)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(raw: bytes, i: int) -> tuple[int, int]:
    shift = 0
    value = 0
    while True:
        if i >= len(raw) or shift > 63:
            raise ValueError("truncated or overlong varint in a serialized payload")
        b = raw[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(raw: bytes) -> list[tuple[int, bytes | int]]:
    """The (field number, value) pairs of one protobuf message."""
    out: list[tuple[int, bytes | int]] = []
    i = 0
    n = len(raw)
    while i < n:
        key, i = _read_varint(raw, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(raw, i)
            out.append((field, value))
        elif wire == 2:
            size, i = _read_varint(raw, i)
            if i + size > n:
                raise ValueError("a length-delimited field runs past the serialized payload")
            out.append((field, raw[i : i + size]))
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} in a serialized payload")
    if i != n:
        raise ValueError("a fixed-size field runs past the serialized payload")
    return out


@dataclass(frozen=True)
class RawValue:
    """An unconverted payload, as ``temporalio.common.RawValue``.

    As an argument or return value it passes through the payload converter unchanged (the
    data converter's codec still encodes it); as a type hint, a payload is handed over as a
    ``RawValue`` instead of being converted.
    """

    payload: Payload


@dataclass(frozen=True)
class EncodedValue:
    """A payload already converted and encoded (an integration passes one on unchanged).

    As an argument it is recorded as it is: neither the payload converter nor the codec sees
    it. As a type hint, the recorded payload is handed back as an ``EncodedValue``, codec
    encoding and all, so a bridge answers with the bytes the engine holds.
    """

    payload: Payload
