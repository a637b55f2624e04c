"""Payload converters: values to payloads and back, shaped as ``temporalio.converter``'s.

A ``CompositePayloadConverter`` tries its ``EncodingPayloadConverter`` s in order to encode a
value and picks one by the payload's ``encoding`` to decode it. ``DefaultPayloadConverter``
is temporalio's default without protobuf (fastcore has none): ``binary/null`` (None),
``binary/plain`` (bytes) and ``json/plain`` (the rest), plus reading ``json/protobuf``
payloads a temporalio client sent as the JSON they are. Subclass it, or compose your own, as
a Temporal user does (the custom converter sample's shape works unchanged).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from itertools import zip_longest
from typing import Any, ClassVar

from ._json import PLAIN_HINTS, JSONTypeConverter, dumps, loads, value_to_type
from ._json import AdvancedJSONEncoder as AdvancedJSONEncoder
from ._payload import ENCODING_BINARY, ENCODING_NULL, EncodedValue, Payload, RawValue

__all__ = [
    "BinaryNullPayloadConverter",
    "BinaryPlainPayloadConverter",
    "CompositePayloadConverter",
    "DefaultPayloadConverter",
    "EncodingPayloadConverter",
    "JSONPlainPayloadConverter",
    "PayloadConverter",
]


class PayloadConverter(ABC):
    """Converts values to payloads and back (no codec: that is the data converter's)."""

    default: ClassVar[PayloadConverter]
    """The default payload converter (``DefaultPayloadConverter()``)."""

    @abstractmethod
    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        """Encode values into payloads; a ``RawValue``'s payload passes through.

        Raises:
            Exception: A value cannot be converted.
        """

    @abstractmethod
    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[Any] | None = None
    ) -> list[Any]:
        """Decode payloads into values; a ``RawValue`` hint gets the payload unconverted.

        Raises:
            Exception: A payload cannot be converted.
        """

    def to_payload(self, value: Any) -> Payload:
        """Convert one value (``to_payloads`` of one)."""
        return self.to_payloads([value])[0]

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """Convert one payload (``from_payloads`` of one)."""
        return self.from_payloads([payload], [type_hint] if type_hint else None)[0]


class EncodingPayloadConverter(ABC):
    """Converts values of one ``encoding`` for a ``CompositePayloadConverter``."""

    @property
    @abstractmethod
    def encoding(self) -> str:
        """The ``encoding`` metadata of the payloads this converter makes and reads."""

    @abstractmethod
    def to_payload(self, value: Any) -> Payload | None:
        """A payload of ``value``, or None when this converter does not handle it."""

    @abstractmethod
    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """The value of a payload of this encoding (raises when it cannot be read)."""


class CompositePayloadConverter(PayloadConverter):
    """Tries each encoding converter in order; decodes by the payload's ``encoding``.

    Attributes:
        converters: The encoding converters by encoding (bytes), in order.
    """

    converters: Mapping[bytes, EncodingPayloadConverter]

    def __init__(self, *converters: EncodingPayloadConverter) -> None:
        self.converters = {c.encoding.encode(): c for c in converters}

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        """Encode each value with the first converter that takes it.

        Raises:
            RuntimeError: No converter takes a value.
        """
        payloads = []
        for index, value in enumerate(values):
            payload = None
            if isinstance(value, RawValue | EncodedValue):
                payload = value.payload
            else:
                for converter in self.converters.values():
                    payload = converter.to_payload(value)
                    if payload is not None:
                        break
            if payload is None:
                raise RuntimeError(
                    f"Value at index {index} of type {type(value).__name__} has no known converter"
                )
            payloads.append(payload)
        return payloads

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[Any] | None = None
    ) -> list[Any]:
        """Decode each payload by its encoding.

        Raises:
            KeyError: No converter has the payload's encoding.
            RuntimeError: The payload's converter could not read it.
        """
        values: list[Any] = []
        for index, (payload, hint) in enumerate(zip_longest(payloads, type_hints or ())):
            if payload is None:
                break
            if hint is RawValue:
                values.append(RawValue(payload))
                continue
            if hint is EncodedValue:
                values.append(EncodedValue(payload))
                continue
            encoding = payload.metadata.get("encoding", b"<unknown>")
            converter = self.converters.get(encoding)
            if converter is None:
                raise KeyError(f"Unknown payload encoding {encoding.decode(errors='replace')}")
            try:
                values.append(converter.from_payload(payload, hint))
            except RuntimeError as err:
                raise RuntimeError(
                    f"Payload at index {index} with encoding "
                    f"{encoding.decode(errors='replace')} could not be converted"
                ) from err
        return values


class BinaryNullPayloadConverter(EncodingPayloadConverter):
    """``binary/null``: None."""

    @property
    def encoding(self) -> str:
        """``binary/null``."""
        return "binary/null"

    def to_payload(self, value: Any) -> Payload | None:
        """An empty payload for None."""
        return Payload({"encoding": ENCODING_NULL}, b"") if value is None else None

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """None (its data must be empty)."""
        if payload.data:
            raise RuntimeError("Expected empty data set for binary/null")
        return None


class BinaryPlainPayloadConverter(EncodingPayloadConverter):
    """``binary/plain``: bytes, unchanged."""

    @property
    def encoding(self) -> str:
        """``binary/plain``."""
        return "binary/plain"

    def to_payload(self, value: Any) -> Payload | None:
        """The bytes themselves."""
        return Payload({"encoding": ENCODING_BINARY}, value) if isinstance(value, bytes) else None

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """The payload's bytes."""
        return payload.data


class JSONPlainPayloadConverter(EncodingPayloadConverter):
    """``json/plain``: anything JSON holds, and what type hints rebuild on the way back.

    Args:
        encoder: A ``json.JSONEncoder`` class to write JSON with; None (the default) uses
            fastcore's orjson encoder, which writes what ``AdvancedJSONEncoder`` does.
        decoder: A ``json.JSONDecoder`` class to read JSON with; None uses orjson.
        encoding: The ``encoding`` metadata to write and answer to.
        custom_type_converters: Tried, in order, before the built-in type-hint conversion.
    """

    def __init__(
        self,
        *,
        encoder: type[json.JSONEncoder] | None = None,
        decoder: type[json.JSONDecoder] | None = None,
        encoding: str = "json/plain",
        custom_type_converters: Sequence[JSONTypeConverter] = (),
    ) -> None:
        self._encoder = encoder
        self._decoder = decoder
        self._encoding = encoding
        self._meta = {"encoding": encoding.encode()}
        self._custom = tuple(custom_type_converters)

    @property
    def encoding(self) -> str:
        """The encoding given (``json/plain`` by default)."""
        return self._encoding

    def to_payload(self, value: Any) -> Payload | None:
        """JSON of ``value`` (raises ``TypeError`` when JSON cannot hold it)."""
        if self._encoder is None:
            data = dumps(value)
        else:
            data = json.dumps(
                value, cls=self._encoder, separators=(",", ":"), sort_keys=True
            ).encode()
        return Payload(dict(self._meta), data)

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """The JSON's value, turned into ``type_hint`` when one is given."""
        try:
            if self._decoder is None:
                value = loads(payload.data)
            else:
                value = json.loads(payload.data, cls=self._decoder)
        except ValueError as err:
            raise RuntimeError(f"Failed parsing: {err}") from err
        if type_hint is None or (type_hint in PLAIN_HINTS and not self._custom):
            if type_hint is float and type(value) is int:
                return float(value)
            return value
        return value_to_type(type_hint, value, self._custom)


class _JSONProtoAsJSON(EncodingPayloadConverter):
    """Reads ``json/protobuf`` payloads (a temporalio client's protobuf messages) as the JSON
    they hold: fastcore has no protobuf, so the code gets a dict (or what a hint builds)."""

    def __init__(self) -> None:
        self._json = JSONPlainPayloadConverter(encoding="json/protobuf")

    @property
    def encoding(self) -> str:
        """``json/protobuf``."""
        return "json/protobuf"

    def to_payload(self, value: Any) -> Payload | None:
        """Never: fastcore writes no protobuf messages."""
        return None

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """The message's JSON as a value."""
        return self._json.from_payload(payload, type_hint)


class DefaultPayloadConverter(CompositePayloadConverter):
    """temporalio's default payload converter, without protobuf (fastcore has none).

    ``binary/null``, ``binary/plain``, ``json/plain`` (last, as it takes anything JSON
    holds); ``json/protobuf`` payloads are read as JSON.
    """

    default_encoding_payload_converters: ClassVar[tuple[EncodingPayloadConverter, ...]]
    """The encoding converters of the default converter, in order (extend them in yours)."""

    def __init__(self) -> None:
        super().__init__(*DefaultPayloadConverter.default_encoding_payload_converters)


DefaultPayloadConverter.default_encoding_payload_converters = (
    BinaryNullPayloadConverter(),
    BinaryPlainPayloadConverter(),
    _JSONProtoAsJSON(),
    JSONPlainPayloadConverter(),  # last: it takes anything JSON holds
)
PayloadConverter.default = DefaultPayloadConverter()
