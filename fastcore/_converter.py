"""The data converter: every argument and result is encoded on its way into a history.

``DataConverter`` is temporalio's: a payload converter class, an optional payload codec and a
failure converter class (``DataConverter(payload_codec=EncryptionCodec())``,
``dataclasses.replace(converter.default(), payload_converter_class=...)``). The engine
converts inside workflow code, synchronously: ``encode``/``decode`` (and the one-value
``encode_one``/``decode_one`` the engine uses) run the payload converter and then the codec,
so every payload a history holds is encoded, and the other way round.

The default converter (no codec, ``DefaultPayloadConverter``) takes a fast path with the same
results: orjson, and scalars cached in their payload (``Payload``), so a value that never
leaves the process is never parsed back. A converter of your own takes the general path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._definitions import ArgChecker
from ._failure import from_failure, to_failure
from ._failure_converter import DefaultFailureConverter, FailureConverter
from ._json import PLAIN_HINTS, dumps, loads, value_to_type
from ._payload import (
    ENCODING_BINARY,
    ENCODING_JSON,
    ENCODING_NULL,
    UNSET,
    EncodedValue,
    Payload,
    RawValue,
)
from ._payload_codec import PayloadCodec, run_codec
from ._payload_converter import DefaultPayloadConverter, PayloadConverter
from .errors import InvalidArgumentError

__all__ = [
    "DataConverter",
    "Payload",
    "decode_arguments",
    "default",
    "default_converter",
    "encode_arguments",
]

_I64 = 2**63
_U64 = 2**64
_NULL = Payload({"encoding": ENCODING_NULL}, b"")
_JSON_META = {"encoding": ENCODING_JSON}
_BINARY_META = {"encoding": ENCODING_BINARY}
_JSON_PROTO = b"json/protobuf"
_PASS = (RawValue, EncodedValue)
_new_payload = object.__new__


def _name(hint: Any) -> str:
    return str(getattr(hint, "__name__", hint))


class _CodecView(PayloadConverter):
    """A data converter seen as a payload converter: conversion and codec both (what a
    failure converter encodes details with)."""

    def __init__(self, converter: DataConverter) -> None:
        self._dc = converter

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        return self._dc.encode(values)

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[Any] | None = None
    ) -> list[Any]:
        return self._dc.decode(payloads, type_hints)


@dataclass(frozen=True)
class DataConverter:
    """Converts values to payloads and back, then encodes them with a codec, as temporalio's.

    Args:
        payload_converter_class: The payload converter to make (``DefaultPayloadConverter``).
        payload_codec: Encodes every payload (encryption, compression); None for none.
        failure_converter_class: The failure converter to make (``DefaultFailureConverter``).
    """

    payload_converter_class: type[PayloadConverter] = DefaultPayloadConverter
    payload_codec: PayloadCodec | None = None
    failure_converter_class: type[FailureConverter] = DefaultFailureConverter
    payload_converter: PayloadConverter = field(init=False)
    """The payload converter made from ``payload_converter_class``."""
    failure_converter: FailureConverter = field(init=False)
    """The failure converter made from ``failure_converter_class``."""
    custom_failure_converter: FailureConverter | None = field(init=False, repr=False, compare=False)
    """The failure converter when it is not the default (``fastcore._failure`` hands it the
    exceptions), else None."""
    codec_payload_converter: PayloadConverter = field(init=False, repr=False, compare=False)
    """This converter as a payload converter, codec included (what failure converters get)."""

    default: ClassVar[DataConverter]
    """The default data converter."""

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "payload_converter", self.payload_converter_class())
        failures = self.failure_converter_class()
        setattr_(self, "failure_converter", failures)
        plain_failures = type(failures) is DefaultFailureConverter and not getattr(
            failures, "encode_common_attributes", False
        )
        setattr_(self, "custom_failure_converter", None if plain_failures else failures)
        setattr_(self, "codec_payload_converter", _CodecView(self))
        if self.payload_converter_class is not DefaultPayloadConverter or (
            self.payload_codec is not None
        ):
            # not the default: the general path, bound over the fast one
            setattr_(self, "encode_one", self._encode_one_general)
            setattr_(self, "decode_one", self._decode_one_general)

    # ------------------------------------------------------------------ the engine's calls

    def encode(self, values: Sequence[Any]) -> list[Payload]:
        """Convert and encode each value; ``InvalidArgumentError`` for one that cannot be."""
        encode_one = self.encode_one
        return [encode_one(v) for v in values]

    def decode(
        self, payloads: Sequence[Payload], type_hints: Sequence[Any] | None = None
    ) -> list[Any]:
        """Decode and convert payloads, into the type hints when given."""
        decode_one = self.decode_one
        if type_hints is None:
            return [decode_one(p) for p in payloads]
        n = len(type_hints)
        return [decode_one(p, type_hints[i] if i < n else None) for i, p in enumerate(payloads)]

    def encode_one(self, value: Any) -> Payload:
        """Convert and encode one value."""
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
                # JSON bytes made when first read; made without an __init__ frame (hot path)
                p = _new_payload(Payload)
                p.metadata = _JSON_META
                p._data = None
                p._value = value
                return p
            if t in _PASS:
                return value.payload  # type: ignore[no-any-return]
            if t is bytes:
                return Payload(_BINARY_META, value)
            return Payload(_JSON_META, dumps(value))
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"cannot convert a value of type {t.__name__} to JSON: {err}"
            ) from None

    def decode_one(self, payload: Payload, hint: Any = None) -> Any:
        """Decode and convert one payload (into ``hint`` when given)."""
        cached = payload._value
        if cached is not UNSET and (hint is None or hint in PLAIN_HINTS):
            if hint is float and type(cached) is int:
                return float(cached)
            return cached
        if hint is RawValue:
            return RawValue(payload)
        if hint is EncodedValue:
            return EncodedValue(payload)
        enc = payload.metadata.get("encoding")
        if enc == ENCODING_NULL:
            return None
        if enc != ENCODING_JSON and enc != _JSON_PROTO:
            if enc == ENCODING_BINARY:
                return payload.data
            raise InvalidArgumentError(f"unsupported payload encoding {enc!r}")
        try:
            value = loads(payload.data)
        except ValueError as err:
            raise InvalidArgumentError(f"payload is not valid JSON: {err}") from None
        if hint is None or hint in PLAIN_HINTS:
            if hint is float and type(value) is int:
                return float(value)
            return value
        try:
            return value_to_type(hint, value)
        except Exception as err:
            raise InvalidArgumentError(
                f"cannot convert {value!r} to {_name(hint)}: {err}"
            ) from None

    # ------------------------------------------------------------------ a converter of yours

    def _encode_one_general(self, value: Any) -> Payload:
        if type(value) is EncodedValue:
            return value.payload
        try:
            payloads = self.payload_converter.to_payloads([value])
        except InvalidArgumentError:
            raise
        except Exception as err:
            raise InvalidArgumentError(
                f"{type(self.payload_converter).__name__} cannot convert a value of type "
                f"{type(value).__name__}: {err}"
            ) from None
        codec = self.payload_codec
        if codec is not None:
            payloads = run_codec(codec.encode(payloads), codec, "encode")
        if len(payloads) != 1:
            raise InvalidArgumentError(
                f"the data converter made {len(payloads)} payloads of one value"
            )
        return payloads[0]

    def _decode_one_general(self, payload: Payload, hint: Any = None) -> Any:
        if hint is EncodedValue:
            return EncodedValue(payload)
        codec = self.payload_codec
        if codec is not None:
            try:
                (payload,) = run_codec(codec.decode([payload]), codec, "decode")
            except InvalidArgumentError:
                raise
            except Exception as err:
                raise InvalidArgumentError(
                    f"payload codec {type(codec).__name__} cannot decode a payload: {err}"
                ) from None
        try:
            return self.payload_converter.from_payloads([payload], [hint] if hint else None)[0]
        except InvalidArgumentError:
            raise
        except Exception as err:
            what = f" to {_name(hint)}" if hint is not None else ""
            raise InvalidArgumentError(
                f"{type(self.payload_converter).__name__} cannot convert a payload{what}: {err}"
            ) from None

    # ------------------------------------------------------------------ failures

    def encode_failure(self, exception: BaseException, failure: dict[str, Any]) -> None:
        """Fill ``failure`` (a dict) with the exception, as the history records it."""
        failure.update(to_failure(exception, self))

    def decode_failure(self, failure: dict[str, Any]) -> BaseException:
        """The exception a failure dict (as a history records it) describes."""
        return from_failure(failure, self)


DataConverter.default = DataConverter()

default_converter = DataConverter.default
"""The default data converter (``DataConverter.default``)."""


def default() -> DataConverter:
    """The default data converter (``DataConverter.default``), as ``temporalio.converter``."""
    return DataConverter.default


def decode_arguments(
    converter: DataConverter, payloads: Sequence[Payload], hints: Sequence[Any] | None, what: str
) -> list[Any]:
    """Decode a call's arguments; one that cannot be read raises ``InvalidArgumentError``
    naming the call and the argument."""
    try:
        return converter.decode(payloads, hints)
    except InvalidArgumentError:
        pass
    n = len(hints) if hints is not None else 0
    out = []
    for i, p in enumerate(payloads):
        try:
            out.append(converter.decode_one(p, hints[i] if hints is not None and i < n else None))
        except InvalidArgumentError as err:
            raise InvalidArgumentError(
                f"{what}: argument {i + 1} cannot be decoded: {err}"
            ) from None
    return out


def encode_arguments(
    converter: DataConverter,
    args: Sequence[Any],
    dynamic: bool,
    checker: ArgChecker | None,
    hints: Sequence[Any] | None,
    what: str,
    name: str,
    decode_what: str | None = None,
) -> tuple[list[Payload], list[Any]]:
    """A call's arguments checked, encoded and decoded once, so that input the callee cannot
    take is refused at the call and the callee gets these values.

    ``checker`` is the callee's signature and ``hints`` its argument types, both unused when
    the callee is ``dynamic`` (it takes any arguments, undecoded into a type). An
    ``InvalidArgumentError`` names the call as ``{what} {name!r}`` (``decode_what`` instead,
    when given, for an argument that cannot be decoded). Returns the payloads (what the
    history records) and the values.
    """
    n = len(args)
    if dynamic:
        hints = None
    elif checker is not None and (
        n < checker.min_args or (n > checker.max_args and not checker.varargs)
    ):
        checker.check(f"{what} {name!r}", args)
    if n == 1:  # the common call: no comprehension (a frame of its own), one decode
        payloads = [converter.encode_one(args[0])]
        try:
            return payloads, [converter.decode_one(payloads[0], hints[0] if hints else None)]
        except InvalidArgumentError:
            pass  # decode_arguments says which argument, and of what
    elif n == 0:
        return [], []
    else:
        payloads = converter.encode(args)
    return payloads, decode_arguments(converter, payloads, hints, decode_what or f"{what} {name!r}")
