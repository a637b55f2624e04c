"""Temporal payloads in and out of the engine, keeping their encoding metadata.

Out: a fastcore ``Payload`` already has Temporal's shape (metadata + data), so payloads the
engine recorded (inputs, results, memo, details) go to clients byte for byte, with their
``encoding`` (``json/plain``, ``binary/null``, ...), and clients decode them as Temporal's
default converter does.

In: a client's payloads are decoded by the engine's own converter (``json/plain``,
``binary/null``, ``binary/plain``), so the workflow's type hints apply as for a local call.
``json/protobuf`` is JSON: the workflow receives the message's JSON object (a dict), as
``MessageToDict`` gives it. Any other encoding (``binary/protobuf``, a codec's encrypted
payloads) is refused with ``INVALID_ARGUMENT`` naming it: the bridge runs no codec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from temporalio.api.common.v1 import Memo, Payloads
from temporalio.api.common.v1 import Payload as TPayload

from fastcore import DataConverter, Payload

from ._errors import invalid

__all__ = [
    "DECODED_ENCODINGS",
    "decode",
    "decode_memo",
    "decode_one",
    "encode_one",
    "memo_of",
    "to_payloads",
    "to_temporal",
]

DECODED_ENCODINGS: tuple[str, ...] = ("binary/null", "json/plain", "binary/plain", "json/protobuf")
"""Encodings a client may send; others are refused."""

_JSON = b"json/plain"


def to_temporal(payload: Payload) -> TPayload:
    """A fastcore payload as Temporal's, metadata and bytes unchanged."""
    return TPayload(metadata=dict(payload.metadata), data=payload.data)


def to_payloads(payloads: Iterable[Payload]) -> Payloads:
    """Several fastcore payloads as Temporal's ``Payloads``."""
    return Payloads(payloads=[to_temporal(p) for p in payloads])


def decode_one(payload: TPayload, converter: DataConverter, what: str) -> Any:
    """One client payload as a Python value, as the engine's converter reads it.

    Raises:
        FrontendError: ``INVALID_ARGUMENT``: an encoding the bridge does not decode, or
            bytes that are not what the encoding says.
    """
    meta = dict(payload.metadata)
    encoding = meta.get("encoding", b"").decode(errors="replace")
    if encoding not in DECODED_ENCODINGS:
        raise invalid(
            f"{what}: payload encoding {encoding or '(none)'!r} is not one the fastcore bridge "
            f"decodes ({', '.join(DECODED_ENCODINGS)}); payloads of a codec (encryption, "
            "compression) need a client without it, as the bridge runs no codec"
        )
    if encoding == "json/protobuf":
        meta = {"encoding": _JSON}  # its data is the message's JSON: the workflow gets a dict
    try:
        return converter.decode_one(Payload(meta, bytes(payload.data)))
    except Exception as err:  # the converter's own error says what is wrong with the bytes
        raise invalid(f"{what}: {err}") from None


def decode(payloads: Sequence[TPayload], converter: DataConverter, what: str) -> list[Any]:
    """Client payloads as Python values (``decode_one`` for each)."""
    return [decode_one(p, converter, f"{what} argument {i + 1}") for i, p in enumerate(payloads)]


def decode_memo(memo: Memo, converter: DataConverter) -> dict[str, Any]:
    """A start request's memo as the values ``Engine.start_workflow(memo=...)`` takes."""
    return {k: decode_one(v, converter, f"memo {k!r}") for k, v in memo.fields.items()}


def encode_one(value: Any, converter: DataConverter) -> TPayload:
    """A value the engine returned (a query's answer) as a Temporal payload."""
    return to_temporal(converter.encode_one(value))


def memo_of(recorded: Mapping[str, Payload] | None) -> Memo:
    """The memo a start recorded (payloads as the engine stored them)."""
    return Memo(fields={k: to_temporal(v) for k, v in (recorded or {}).items()})
