"""Failure converters: exceptions to failure dicts and back, shaped as temporalio's.

temporalio's ``FailureConverter`` fills a ``temporal.api.failure.v1.Failure``; fastcore's fills a
failure dict laid out the same way (``fastcore._failure`` documents it), so a converter of
your own subclasses the same base with the same method names and arguments.
``DefaultFailureConverterWithEncodedAttributes`` moves each message and stack trace into an
encoded payload (``"encoded_attributes"``), so a codec (encryption) covers them too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ._failure import build_exception, build_failure
from ._payload import Payload
from ._payload_converter import PayloadConverter

__all__ = [
    "DefaultFailureConverter",
    "DefaultFailureConverterWithEncodedAttributes",
    "FailureConverter",
]

_ENCODED_MESSAGE = "Encoded failure"


class FailureConverter(ABC):
    """Converts exceptions to failure dicts and back."""

    default: ClassVar[FailureConverter]
    """The default failure converter (``DefaultFailureConverter()``)."""

    @abstractmethod
    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: dict[str, Any]
    ) -> None:
        """Fill ``failure`` (an empty dict) with the description of ``exception``."""

    @abstractmethod
    def from_failure(
        self, failure: dict[str, Any], payload_converter: PayloadConverter
    ) -> BaseException:
        """The exception a failure dict describes."""


class _Values:
    """A payload converter as the one-value interface the failure format uses."""

    __slots__ = ("_pc",)

    def __init__(self, payload_converter: PayloadConverter) -> None:
        self._pc = payload_converter

    def encode_one(self, value: Any) -> Payload:
        return self._pc.to_payload(value)

    def decode_one(self, payload: Payload, hint: Any = None) -> Any:
        return self._pc.from_payload(payload, hint)


class DefaultFailureConverter(FailureConverter):
    """fastcore's failure format (Temporal's ``Failure``, as a dict).

    Args:
        encode_common_attributes: Move each message and stack trace into an encoded
            payload (``encoded_attributes``), leaving "Encoded failure" in their place.
    """

    def __init__(self, *, encode_common_attributes: bool = False) -> None:
        self.encode_common_attributes = encode_common_attributes

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: dict[str, Any]
    ) -> None:
        """Fill ``failure`` with the exception and its cause chain."""
        failure.update(build_failure(exception, _Values(payload_converter)))
        if self.encode_common_attributes:
            _encode_attributes(failure, payload_converter)

    def from_failure(
        self, failure: dict[str, Any], payload_converter: PayloadConverter
    ) -> BaseException:
        """The exception the dict describes (encoded attributes decoded first)."""
        if _has_encoded(failure):
            failure = _decode_attributes(failure, payload_converter)
        return build_exception(failure, _Values(payload_converter))


class DefaultFailureConverterWithEncodedAttributes(DefaultFailureConverter):
    """The default converter with ``encode_common_attributes=True``."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)


def _encode_attributes(failure: dict[str, Any], pc: PayloadConverter) -> None:
    level: dict[str, Any] | None = failure
    while level:
        level["encoded_attributes"] = pc.to_payload(
            {"message": level.get("message") or "", "stack_trace": level.get("stack_trace") or ""}
        )
        level["message"] = _ENCODED_MESSAGE
        level["stack_trace"] = ""
        level = level.get("cause")


def _has_encoded(failure: dict[str, Any]) -> bool:
    level: dict[str, Any] | None = failure
    while level:
        if level.get("encoded_attributes") is not None:
            return True
        level = level.get("cause")
    return False


def _decode_attributes(failure: dict[str, Any], pc: PayloadConverter) -> dict[str, Any]:
    out = dict(failure)
    encoded = out.pop("encoded_attributes", None)
    if isinstance(encoded, Payload):
        attrs = pc.from_payload(encoded)
        if isinstance(attrs, dict):
            out["message"] = attrs.get("message", out.get("message"))
            out["stack_trace"] = attrs.get("stack_trace", out.get("stack_trace"))
    if out.get("cause"):
        out["cause"] = _decode_attributes(out["cause"], pc)
    return out


FailureConverter.default = DefaultFailureConverter()
