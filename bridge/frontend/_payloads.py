"""Temporal payloads in and out of the engine, byte for byte: the frontend decodes none.

Out: a fastcore ``Payload`` already has Temporal's shape (metadata + data), so payloads the
engine recorded (inputs, results, memo, details, query answers, update outcomes) go to
clients as the engine holds them, with their ``encoding`` (``json/plain``, ``binary/null``,
a codec's ``binary/encrypted``...), and clients decode them with their own converter.

In: a client's payloads go to the engine as they arrived (``fastcore.integration.
EncodedValue``) and are recorded unchanged (``json/protobuf`` stays ``json/protobuf``,
``binary/plain`` bytes stay bytes). The engine turns them into values once, where the
workflow's handler needs them, with its data converter: ``json/protobuf`` is read as the JSON
it holds, and a codec's payloads need that codec in the engine's converter; a payload the
engine cannot read is refused at the call (``INVALID_ARGUMENT`` naming it), changing nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from temporalio.api.common.v1 import Memo, Payloads
from temporalio.api.common.v1 import Payload as TPayload

from fastcore import DataConverter, Payload
from fastcore.integration import EncodedValue

__all__ = [
    "encode_one",
    "encoded",
    "encoded_memo",
    "from_temporal",
    "memo_of",
    "to_payloads",
    "to_temporal",
]


def to_temporal(payload: Payload) -> TPayload:
    """A fastcore payload as Temporal's, metadata and bytes unchanged."""
    return TPayload(metadata=dict(payload.metadata), data=payload.data)


def from_temporal(payload: TPayload) -> Payload:
    """A Temporal payload as fastcore's, metadata and bytes unchanged."""
    return Payload(dict(payload.metadata), bytes(payload.data))


def to_payloads(payloads: Iterable[Payload]) -> Payloads:
    """Several fastcore payloads as Temporal's ``Payloads``."""
    return Payloads(payloads=[to_temporal(p) for p in payloads])


def encoded(payloads: Sequence[TPayload]) -> list[EncodedValue]:
    """A client's payloads, as the engine is to record them (nothing decoded here)."""
    return [EncodedValue(from_temporal(p)) for p in payloads]


def encoded_memo(memo: Memo) -> dict[str, EncodedValue]:
    """A start request's memo, as the engine is to record it."""
    return {k: EncodedValue(from_temporal(v)) for k, v in memo.fields.items()}


def encode_one(value: object, converter: DataConverter) -> TPayload:
    """A value the frontend itself answers with (``__stack_trace``) as a Temporal payload;
    an ``EncodedValue`` (what the engine holds) goes out unchanged."""
    if isinstance(value, EncodedValue):
        return to_temporal(value.payload)
    return to_temporal(converter.encode_one(value))


def memo_of(recorded: Mapping[str, Payload] | None) -> Memo:
    """The memo a start recorded (payloads as the engine stored them)."""
    return Memo(fields={k: to_temporal(v) for k, v in (recorded or {}).items()})
