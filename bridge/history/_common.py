"""Constants and small value conversions shared by both directions of the history translation.

Timestamps, durations, payloads, retry policies and the ``fastcore`` header field that
carries attributes Temporal has no place for (see ``bridge.history``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Header, Payloads, RetryPolicy, SearchAttributes
from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.enums.v1 import EventType

from fastcore import Payload
from fastcore.history import EventType as E

CORE_FLAGS = (1, 2, 3, 4)
"""sdk-core internal flags written on the first workflow task, as temporalio 1.35 does."""

_PATCH_MARKER = "core_patch"
_LA_MARKER = "core_local_activity"  # sdk-core's marker for a local activity's outcome
_PATCH_DETAILS = "patch-data"  # sdk-core's details key for a patch marker
_CHANGE_VERSION = "TemporalChangeVersion"
_EXTRAS = "fastcore"  # header field for attributes Temporal has no place for
_JSON = b"json/plain"
_IDENTITY = "fastcore"
_CHILD_CAUSE = "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_"
_WFT_TIMEOUT = 10.0  # Temporal's default workflow task timeout

_NO_TASK = frozenset({E.WORKFLOW_EXECUTION_TERMINATED, E.WORKFLOW_EXECUTION_TIMED_OUT})
_ACTIVITY_RESULTS = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)
_DROPPED = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    }
)


# ---------------------------------------------------------------------------------------------
# small value conversions


def _ts(seconds: float) -> Timestamp:
    whole = math.floor(seconds)
    nanos = round((seconds - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return Timestamp(seconds=whole, nanos=nanos)


def _from_ts(ts: Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9


def _set_dur(target: Duration, seconds: float | None) -> None:
    if seconds is not None:
        target.FromNanoseconds(round(seconds * 1e9))


def _from_dur(owner: Any, field: str) -> float | None:
    """A duration field as seconds; unset and zero (Temporal's "no timeout") are ``None``."""
    if not owner.HasField(field):
        return None
    nanos: int = getattr(owner, field).ToNanoseconds()
    return nanos / 1e9 if nanos else None


def _payload(p: Payload) -> TPayload:
    return TPayload(metadata=p.metadata, data=p.data)


def _from_payload(p: TPayload) -> Payload:
    return Payload(dict(p.metadata), p.data)


def _payloads(values: Sequence[Payload] | None) -> Payloads:
    return Payloads(payloads=[_payload(p) for p in values or ()])


def _from_payloads(ps: Payloads) -> list[Payload]:
    return [_from_payload(p) for p in ps.payloads]


def _one(p: Payload | None) -> Payloads:
    return _payloads([p] if p is not None else [])


def _from_one(ps: Payloads) -> Payload | None:
    return _from_payload(ps.payloads[0]) if ps.payloads else None


def _json_payload(value: Any, **meta: bytes) -> TPayload:
    data = json.dumps(value, separators=(",", ":")).encode()
    return TPayload(metadata={"encoding": _JSON, **meta}, data=data)


def _retry(d: dict[str, Any]) -> RetryPolicy:
    rp = RetryPolicy(
        backoff_coefficient=d.get("backoff_coefficient", 2.0),
        maximum_attempts=d.get("maximum_attempts", 0),
        non_retryable_error_types=d.get("non_retryable_error_types") or [],
    )
    _set_dur(rp.initial_interval, d.get("initial_interval"))
    _set_dur(rp.maximum_interval, d.get("maximum_interval"))
    return rp


def _from_retry(rp: RetryPolicy) -> dict[str, Any]:
    initial = _from_dur(rp, "initial_interval")
    return {
        "initial_interval": initial if initial is not None else 1.0,
        "backoff_coefficient": rp.backoff_coefficient or 2.0,
        "maximum_interval": _from_dur(rp, "maximum_interval"),
        "maximum_attempts": rp.maximum_attempts,
        "non_retryable_error_types": list(rp.non_retryable_error_types),
    }


def _set_extras(header: Header, extras: dict[str, Any]) -> None:
    extras = {k: v for k, v in extras.items() if v}  # defaults (0) are left out
    if extras:
        header.fields[_EXTRAS].CopyFrom(_json_payload(extras))


def _extras(header: Header) -> dict[str, Any]:
    p = header.fields.get(_EXTRAS)
    return json.loads(p.data) if p is not None else {}


def _enum(value: Any) -> Any:
    """A proto enum value from an int (or ``None``, which is unspecified)."""
    return int(value or 0)


def _pick(attrs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: attrs[k] for k in keys if k in attrs}


def _search_attributes(target: SearchAttributes, encoded: dict[str, Any] | None) -> None:
    """Fill Temporal's search attributes from fastcore's JSON form: a ``json/plain`` payload
    with the ``type`` metadata per attribute; a removed one (value None) is ``binary/null``
    without a type, as temporalio writes it."""
    for name, entry in (encoded or {}).items():
        value = entry.get("value")
        if value is None:
            target.indexed_fields[name].CopyFrom(TPayload(metadata={"encoding": b"binary/null"}))
        else:
            target.indexed_fields[name].CopyFrom(
                _json_payload(value, type=str(entry.get("type")).encode())
            )


def attribute_type_of(value: Any) -> str | None:
    """The search attribute type a JSON value suggests (Keyword for text), None for none.

    For attributes that come without ``type`` metadata: in a history and at the frontend.
    """
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "Keyword"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "KeywordList"
    return None


def _from_search_attributes(source: SearchAttributes) -> dict[str, Any]:
    """fastcore's JSON form of Temporal's search attributes (an attribute without ``type``
    metadata gets the type its JSON value suggests, Keyword for text)."""
    out: dict[str, Any] = {}
    for name, payload in source.indexed_fields.items():
        if name == _CHANGE_VERSION:
            continue  # sdk-core's patch bookkeeping, not the workflow's
        encoding = payload.metadata.get("encoding", b"")
        value = json.loads(payload.data) if encoding == _JSON and payload.data else None
        kind = payload.metadata.get("type", b"").decode() or attribute_type_of(value) or "Keyword"
        out[name] = {"type": kind, "value": value}
    return out
