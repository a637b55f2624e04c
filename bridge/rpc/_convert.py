"""Between the wire and Python: fastcore values to ``fastcore.bridge.v1`` messages and back.

Everything that knows the generated message classes lives here, so neither the server's
engine calls nor the client's public methods ever see a wire type. Each pair is named
``x_to_proto`` / ``x_from_proto``.
"""

from __future__ import annotations

import enum
import math
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from fastcore import PendingActivityInfo, PendingActivityState
from fastcore.common import (
    RetryPolicy,
    TypedSearchAttributes,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from fastcore.errors import InvalidArgumentError
from fastcore.history import Event, EventType, event_from_json, event_to_json
from fastcore.integration import (
    DataConverter,
    EncodedValue,
    Payload,
    WorkflowExecutionDescription,
    search_attributes,
)

from .._failures import exception_from_record, failure_record
from .._proto.v1 import bridge_pb2 as pb

__all__ = [
    "add_args",
    "description_from_proto",
    "description_to_proto",
    "duration_from_proto",
    "duration_to_proto",
    "encoded_args",
    "event_from_proto",
    "event_to_proto",
    "exception_from_proto",
    "exception_to_proto",
    "failure_from_proto",
    "failure_to_proto",
    "fill_payload",
    "payload_from_proto",
    "payload_to_proto",
    "payloads_from_proto",
    "payloads_to_proto",
    "retry_policy_from_proto",
    "retry_policy_to_proto",
    "search_attributes_from_proto",
    "search_attributes_to_proto",
    "status_from_proto",
    "status_to_proto",
]


# -- search attributes --------------------------------------------------------------------


def search_attributes_to_proto(attrs: Any) -> dict[str, pb.Payload]:
    """Typed search attributes (or the untyped mapping) as Temporal writes them: a
    ``json/plain`` payload per attribute with its type in the ``type`` metadata.

    Raises:
        InvalidArgumentError: A reserved name or a value of the wrong type.
    """
    out: dict[str, pb.Payload] = {}
    for name, entry in search_attributes.encode(attrs).items():
        out[name] = pb.Payload(
            metadata={"encoding": b"json/plain", "type": str(entry["type"]).encode()},
            data=orjson.dumps(entry["value"]),
        )
    return out


def search_attributes_from_proto(payloads: Mapping[str, pb.Payload]) -> TypedSearchAttributes:
    """Wire search attributes as typed ones (each payload must carry its ``type``).

    Raises:
        InvalidArgumentError: A payload without a known ``type``, or not JSON of it.
    """
    encoded: dict[str, dict[str, Any]] = {}
    for name, payload in payloads.items():
        type_name = payload.metadata.get("type", b"").decode()
        if not type_name:
            raise InvalidArgumentError(
                f"search attribute {name!r} has no 'type' metadata (Keyword, Int, ...)"
            )
        search_attributes.key_of(name, type_name)  # a known type
        try:
            value = orjson.loads(payload.data) if payload.data else None
        except orjson.JSONDecodeError:
            raise InvalidArgumentError(
                f"search attribute {name!r}: the value is not JSON"
            ) from None
        encoded[name] = {"type": type_name, "value": value}
    try:
        return search_attributes.decode(encoded)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"search attributes: {err}") from None


# -- payloads ---------------------------------------------------------------------------


def payload_to_proto(payload: Payload) -> pb.Payload:
    """A fastcore ``Payload`` as a wire ``Payload``."""
    return pb.Payload(metadata=payload.metadata, data=payload.data)


def payload_from_proto(msg: pb.Payload) -> Payload:
    """A wire ``Payload`` as a fastcore ``Payload``."""
    md = msg.metadata  # read key by key: dict() of a protobuf map goes through abc mixins
    return Payload({k: md[k] for k in md}, msg.data)


def payloads_to_proto(payloads: Iterable[Payload]) -> list[pb.Payload]:
    """Several payloads to the wire."""
    return [pb.Payload(metadata=p.metadata, data=p.data) for p in payloads]


def payloads_from_proto(msgs: Iterable[pb.Payload]) -> list[Payload]:
    """Several payloads from the wire."""
    return [payload_from_proto(m) for m in msgs]


def encoded_args(msgs: Sequence[pb.Payload]) -> list[EncodedValue]:
    """Call arguments as they arrived, for the engine to record and decode once."""
    if not msgs:
        return []
    out = []
    for m in msgs:
        md = m.metadata
        out.append(EncodedValue(Payload({k: md[k] for k in md}, m.data)))
    return out


def add_args(field: Any, converter: DataConverter, arg: Any, args: Sequence[Any]) -> None:
    """temporalio's call arguments (one ``arg``, or several in ``args``) encoded into a
    request's repeated ``Payload`` field.

    Each payload is added in place (``add``, then its metadata key by key): building a
    ``Payload`` message with a map and copying it into the request costs twice as much.
    """
    if args:
        payloads = converter.encode([arg, *args] if arg is not ... else args)
    elif arg is ...:
        return
    else:
        payloads = [converter.encode_one(arg)]
    for p in payloads:
        msg = field.add(data=p.data)
        md = msg.metadata
        for k, v in p.metadata.items():
            md[k] = v


def fill_payload(msg: pb.Payload, payload: Payload) -> None:
    """Write ``payload`` into a wire ``Payload`` held by another message, in place."""
    msg.SetInParent()
    msg.data = payload.data
    md = msg.metadata
    for k, v in payload.metadata.items():
        md[k] = v


# -- times ------------------------------------------------------------------------------


def timestamp_to_proto(value: float | datetime) -> Timestamp:
    """Epoch seconds (or an aware datetime) as a ``Timestamp``."""
    ts = Timestamp()
    if isinstance(value, datetime):
        ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
        return ts
    seconds = math.floor(value)
    nanos = round((value - seconds) * 1e9)
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    ts.seconds, ts.nanos = seconds, nanos
    return ts


def timestamp_from_proto(ts: Timestamp) -> float:
    """A ``Timestamp`` as epoch seconds."""
    return ts.seconds + ts.nanos / 1e9


def datetime_from_proto(ts: Timestamp) -> datetime:
    """A ``Timestamp`` as an aware UTC datetime."""
    return datetime.fromtimestamp(ts.seconds, UTC) + timedelta(microseconds=ts.nanos // 1000)


def duration_to_proto(value: timedelta) -> Duration:
    """A ``timedelta`` as a ``Duration``."""
    d = Duration()
    d.FromTimedelta(value)
    return d


_MAX_PROTO_SECONDS = 315_576_000_000  # protobuf's Duration range: +-10,000 years
_MAX_DURATION_SECONDS = 250 * 365 * 24 * 3600  # Temporal caps durations at 250 years


def duration_from_proto(d: Duration, field: str = "duration") -> timedelta:
    """A ``Duration`` as a ``timedelta``, checked as Temporal's frontend checks it.

    Raises:
        InvalidArgumentError: naming ``field``: outside protobuf's Duration range, seconds
            and nanos of different signs, or negative. Longer than 250 years is capped there
            (as Temporal caps it), not refused.
    """
    seconds, nanos = d.seconds, d.nanos
    if abs(seconds) > _MAX_PROTO_SECONDS or not -999_999_999 <= nanos <= 999_999_999:
        raise InvalidArgumentError(
            f"{field} is out of range ({seconds} s, {nanos} ns): a Duration holds at most "
            f"{_MAX_PROTO_SECONDS} s"
        )
    if (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        raise InvalidArgumentError(f"{field}: seconds and nanos have different signs")
    if seconds < 0 or nanos < 0:
        raise InvalidArgumentError(f"{field} must not be negative ({seconds} s, {nanos} ns)")
    if seconds >= _MAX_DURATION_SECONDS:
        return timedelta(seconds=_MAX_DURATION_SECONDS)
    return timedelta(seconds=seconds, microseconds=nanos // 1000)


# -- enums ------------------------------------------------------------------------------


def status_to_proto(status: WorkflowExecutionStatus | None) -> pb.WorkflowExecutionStatus:
    """A status (None for none) as its wire value; the numbers are the same."""
    return typing.cast(pb.WorkflowExecutionStatus, int(status) if status is not None else 0)


_E = typing.TypeVar("_E", bound=enum.IntEnum)


def _enum_from_proto(kind: type[_E], value: int, what: str) -> _E | None:
    """A wire enum value as fastcore's enum of the same numbers; None for UNSPECIFIED (0).

    Raises:
        InvalidArgumentError: The value is not one ``kind`` knows.
    """
    if value == 0:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidArgumentError(f"unknown {what} {value}") from None


def status_from_proto(value: int) -> WorkflowExecutionStatus | None:
    """A wire status as the fastcore enum; None for UNSPECIFIED.

    Raises:
        InvalidArgumentError: The value is not a known status.
    """
    return _enum_from_proto(WorkflowExecutionStatus, value, "workflow execution status")


def reuse_policy_from_proto(value: int) -> WorkflowIDReusePolicy | None:
    """A wire id-reuse policy; None for UNSPECIFIED (the engine's default)."""
    return _enum_from_proto(WorkflowIDReusePolicy, value, "id_reuse_policy")


def conflict_policy_from_proto(value: int) -> WorkflowIDConflictPolicy | None:
    """A wire id-conflict policy; None for UNSPECIFIED (the engine's default)."""
    return _enum_from_proto(WorkflowIDConflictPolicy, value, "id_conflict_policy")


def _event_numbers() -> dict[EventType, int]:
    # Built leniently so a fastcore event kind the proto lacks fails its conversion (and
    # tests/bridge/test_grpc_protos.py), not every import of ``bridge``.
    out = {}
    names = set(pb.EventType.keys())
    for t in EventType:
        name = f"EVENT_TYPE_{t.value}"
        if name in names:
            out[t] = pb.EventType.Value(name)
    return out


_EVENT_TO_PROTO: dict[EventType, int] = _event_numbers()
_EVENT_FROM_PROTO: dict[int, EventType] = {v: k for k, v in _EVENT_TO_PROTO.items()}


# -- events -----------------------------------------------------------------------------


def event_to_proto(event: Event) -> pb.HistoryEvent:
    """A history event on the wire; attributes travel as the stores' JSON form.

    Raises:
        InvalidArgumentError: The event's kind has no wire value (the proto lags fastcore).
    """
    number = _EVENT_TO_PROTO.get(event.event_type)
    if number is None:
        raise InvalidArgumentError(
            f"event type {event.event_type.value} has no value in bridge.proto's EventType"
        )
    return pb.HistoryEvent(
        event_id=event.event_id,
        event_type=number,  # type: ignore[arg-type]
        event_time=timestamp_to_proto(event.timestamp),
        attributes_json=orjson.dumps(event_to_json(event)["attributes"]).decode(),
    )


def event_from_proto(msg: pb.HistoryEvent) -> Event:
    """A history event from the wire.

    Raises:
        InvalidArgumentError: The event type is unknown to this fastcore.
    """
    event_type = _EVENT_FROM_PROTO.get(msg.event_type)
    if event_type is None:
        raise InvalidArgumentError(f"unknown history event type {msg.event_type}")
    return event_from_json(
        {
            "event_id": msg.event_id,
            "event_type": event_type.value,
            "timestamp": timestamp_from_proto(msg.event_time),
            "attributes": orjson.loads(msg.attributes_json) if msg.attributes_json else {},
        }
    )


# -- failures ---------------------------------------------------------------------------


def _seconds_to_duration(value: float | None) -> Duration | None:
    return duration_to_proto(timedelta(seconds=value)) if value is not None else None


def failure_to_proto(failure: Mapping[str, Any]) -> pb.Failure:
    """A failure dict (fastcore's failure record, ``bridge._failures``) as a wire ``Failure``."""
    msg = pb.Failure(
        message=failure.get("message") or "",
        source=failure.get("source") or "",
        stack_trace=failure.get("stack_trace") or "",
    )
    cause = failure.get("cause")
    if cause:
        msg.cause.CopyFrom(failure_to_proto(cause))
    if (info := failure.get("application_failure_info")) is not None:
        app = msg.application_failure_info
        app.type = info.get("type") or ""
        app.non_retryable = bool(info.get("non_retryable"))
        app.details.extend(payloads_to_proto(info.get("details") or ()))
        delay = _seconds_to_duration(info.get("next_retry_delay"))
        if delay is not None:
            app.next_retry_delay.CopyFrom(delay)
        app.category = int(info.get("category") or 0)  # type: ignore[assignment]
    elif (info := failure.get("timeout_failure_info")) is not None:
        msg.timeout_failure_info.timeout_type = int(info.get("timeout_type") or 0)  # type: ignore[assignment]
        msg.timeout_failure_info.last_heartbeat_details.extend(
            payloads_to_proto(info.get("last_heartbeat_details") or ())
        )
    elif (info := failure.get("canceled_failure_info")) is not None:
        msg.canceled_failure_info.details.extend(payloads_to_proto(info.get("details") or ()))
    elif (info := failure.get("terminated_failure_info")) is not None:
        msg.terminated_failure_info.SetInParent()
        msg.terminated_failure_info.details.extend(payloads_to_proto(info.get("details") or ()))
    elif (info := failure.get("activity_failure_info")) is not None:
        act = msg.activity_failure_info
        act.activity_type = info.get("activity_type") or ""
        act.activity_id = info.get("activity_id") or ""
        act.retry_state = int(info.get("retry_state") or 0)  # type: ignore[assignment]
        act.scheduled_event_id = int(info.get("scheduled_event_id") or 0)
        act.started_event_id = int(info.get("started_event_id") or 0)
        act.identity = info.get("identity") or ""
    elif (info := failure.get("child_workflow_failure_info")) is not None:
        child = msg.child_workflow_failure_info
        child.namespace = info.get("namespace") or ""
        child.workflow_id = info.get("workflow_id") or ""
        child.run_id = info.get("run_id") or ""
        child.workflow_type = info.get("workflow_type") or ""
        child.initiated_event_id = int(info.get("initiated_event_id") or 0)
        child.started_event_id = int(info.get("started_event_id") or 0)
        child.retry_state = int(info.get("retry_state") or 0)  # type: ignore[assignment]
    return msg


def failure_from_proto(msg: pb.Failure) -> dict[str, Any]:
    """A wire ``Failure`` as a failure dict (fastcore's failure record, ``bridge._failures``)."""
    failure: dict[str, Any] = {
        "message": msg.message,
        "source": msg.source,
        "stack_trace": msg.stack_trace,
        "cause": failure_from_proto(msg.cause) if msg.HasField("cause") else None,
    }
    which = msg.WhichOneof("failure_info")
    if which == "application_failure_info":
        app = msg.application_failure_info
        failure[which] = {
            "type": app.type,
            "non_retryable": app.non_retryable,
            "details": payloads_from_proto(app.details),
            "next_retry_delay": (
                app.next_retry_delay.ToTimedelta().total_seconds()
                if app.HasField("next_retry_delay")
                else None
            ),
        }
        if app.category:
            failure[which]["category"] = int(app.category)
    elif which == "timeout_failure_info":
        t = msg.timeout_failure_info
        failure[which] = {
            "timeout_type": int(t.timeout_type),
            "last_heartbeat_details": payloads_from_proto(t.last_heartbeat_details),
        }
    elif which == "canceled_failure_info":
        failure[which] = {"details": payloads_from_proto(msg.canceled_failure_info.details)}
    elif which == "terminated_failure_info":
        details = payloads_from_proto(msg.terminated_failure_info.details)
        failure[which] = {"details": details} if details else {}
    elif which == "activity_failure_info":
        a = msg.activity_failure_info
        failure[which] = {
            "activity_type": a.activity_type,
            "activity_id": a.activity_id,
            "retry_state": int(a.retry_state),
            "scheduled_event_id": a.scheduled_event_id,
        }
    elif which == "child_workflow_failure_info":
        c = msg.child_workflow_failure_info
        failure[which] = {
            "workflow_id": c.workflow_id,
            "run_id": c.run_id,
            "workflow_type": c.workflow_type,
            "retry_state": int(c.retry_state),
            "initiated_event_id": c.initiated_event_id,
        }
    return failure


def exception_to_proto(exc: BaseException, converter: DataConverter) -> pb.Failure:
    """An exception and its cause chain as a wire ``Failure``."""
    return failure_to_proto(failure_record(exc, converter))


def exception_from_proto(msg: pb.Failure, converter: DataConverter) -> BaseException:
    """The ``fastcore.errors`` exception a wire ``Failure`` describes, causes chained."""
    return exception_from_record(failure_from_proto(msg), converter)


# -- retry policy -----------------------------------------------------------------------


def retry_policy_to_proto(policy: RetryPolicy) -> pb.RetryPolicy:
    """A ``RetryPolicy`` on the wire."""
    msg = pb.RetryPolicy(
        initial_interval=duration_to_proto(policy.initial_interval),
        backoff_coefficient=policy.backoff_coefficient,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=list(policy.non_retryable_error_types or ()),
    )
    if policy.maximum_interval is not None:
        msg.maximum_interval.CopyFrom(duration_to_proto(policy.maximum_interval))
    return msg


def retry_policy_from_proto(msg: pb.RetryPolicy) -> RetryPolicy:
    """A wire retry policy as a ``RetryPolicy``; unset fields take the defaults.

    Raises:
        InvalidArgumentError: The policy is inconsistent (e.g. a backoff below 1).
    """
    try:
        return RetryPolicy(
            initial_interval=(
                duration_from_proto(msg.initial_interval, "retry_policy.initial_interval")
                if msg.HasField("initial_interval")
                else timedelta(seconds=1)
            ),
            backoff_coefficient=msg.backoff_coefficient or 2.0,
            maximum_interval=(
                duration_from_proto(msg.maximum_interval, "retry_policy.maximum_interval")
                if msg.HasField("maximum_interval")
                else None
            ),
            maximum_attempts=msg.maximum_attempts,
            non_retryable_error_types=list(msg.non_retryable_error_types) or None,
        )
    except InvalidArgumentError:
        raise
    except ValueError as err:
        raise InvalidArgumentError(f"retry_policy: {err}") from None


# -- descriptions -----------------------------------------------------------------------


def description_to_proto(
    desc: WorkflowExecutionDescription, converter: DataConverter
) -> pb.WorkflowExecutionInfo:
    """An engine's ``WorkflowExecutionDescription`` on the wire."""
    msg = pb.WorkflowExecutionInfo(
        workflow_id=desc.id,
        run_id=desc.run_id,
        workflow_type=desc.workflow_type,
        status=status_to_proto(desc.status),
        history_length=int(desc.history_length),
        parent_workflow_id=desc.parent_id or "",
        parent_run_id=desc.parent_run_id or "",
        pending_activities=len(desc.pending_activities),
    )
    for p in desc.pending_activities:
        msg.pending_activity_infos.append(_pending_to_proto(p, converter))
    msg.start_time.CopyFrom(timestamp_to_proto(desc.start_time))
    if desc.close_time is not None:
        msg.close_time.CopyFrom(timestamp_to_proto(desc.close_time))
    if desc.raw_memo:  # the payloads as recorded
        for key, payload in desc.raw_memo.items():
            msg.memo[key].CopyFrom(payload_to_proto(payload))
    else:
        for key, value in (desc.memo or {}).items():
            payload = value if isinstance(value, Payload) else converter.encode_one(value)
            msg.memo[key].CopyFrom(payload_to_proto(payload))
    if desc.pending_task_failure is not None:
        msg.pending_task_failure.CopyFrom(exception_to_proto(desc.pending_task_failure, converter))
    msg.task_queue = desc.task_queue
    for key, value in search_attributes_to_proto(desc.typed_search_attributes).items():
        msg.search_attributes[key].CopyFrom(value)
    if desc.execution_time is not None:
        msg.execution_time.CopyFrom(timestamp_to_proto(desc.execution_time))
    return msg


def description_from_proto(
    msg: pb.WorkflowExecutionInfo, converter: DataConverter
) -> WorkflowExecutionDescription:
    """A wire description as the engine's ``WorkflowExecutionDescription``."""
    memo: dict[str, Any] = {}
    for key, value in msg.memo.items():
        payload = payload_from_proto(value)
        try:
            memo[key] = converter.decode_one(payload)
        except InvalidArgumentError:  # an encoding this client does not know: keep it raw
            memo[key] = payload
    return WorkflowExecutionDescription(
        id=msg.workflow_id,
        run_id=msg.run_id,
        workflow_type=msg.workflow_type,
        status=status_from_proto(msg.status) or WorkflowExecutionStatus.RUNNING,
        start_time=datetime_from_proto(msg.start_time),
        close_time=datetime_from_proto(msg.close_time) if msg.HasField("close_time") else None,
        history_length=msg.history_length,
        memo=memo,
        parent_id=msg.parent_workflow_id or None,
        parent_run_id=msg.parent_run_id or None,
        pending_activities=[_pending_from_proto(p, converter) for p in msg.pending_activity_infos],
        pending_task_failure=(
            exception_from_proto(msg.pending_task_failure, converter)
            if msg.HasField("pending_task_failure")
            else None
        ),
        typed_search_attributes=search_attributes_from_proto(msg.search_attributes),
        task_queue=msg.task_queue or "fastcore",
        execution_time=(
            datetime_from_proto(msg.execution_time) if msg.HasField("execution_time") else None
        ),
        raw_memo={k: payload_from_proto(v) for k, v in msg.memo.items()},
    )


def _pending_to_proto(p: PendingActivityInfo, converter: DataConverter) -> pb.PendingActivity:
    msg = pb.PendingActivity(
        activity_id=p.activity_id,
        activity_type=p.activity_type,
        state=int(p.state),  # type: ignore[arg-type]  # fastcore's values are the proto's
        attempt=p.attempt,
        maximum_attempts=p.maximum_attempts,
        last_worker_identity=p.last_worker_identity,
    )
    msg.scheduled_time.CopyFrom(timestamp_to_proto(p.scheduled_time))
    for field in (
        "last_started_time",
        "last_heartbeat_time",
        "next_attempt_schedule_time",
        "expiration_time",
    ):
        value = getattr(p, field)
        if value is not None:
            getattr(msg, field).CopyFrom(timestamp_to_proto(value))
    msg.heartbeat_details.extend(
        payload_to_proto(v if isinstance(v, Payload) else converter.encode_one(v))
        for v in p.heartbeat_details
    )
    if p.last_failure is not None:
        msg.last_failure.CopyFrom(exception_to_proto(p.last_failure, converter))
    return msg


def _pending_from_proto(msg: pb.PendingActivity, converter: DataConverter) -> PendingActivityInfo:
    def when(field: str) -> datetime | None:
        return datetime_from_proto(getattr(msg, field)) if msg.HasField(field) else None

    details = []
    for value in msg.heartbeat_details:
        payload = payload_from_proto(value)
        try:
            details.append(converter.decode_one(payload))
        except InvalidArgumentError:
            details.append(payload)
    return PendingActivityInfo(
        activity_id=msg.activity_id,
        activity_type=msg.activity_type,
        state=PendingActivityState(msg.state or PendingActivityState.SCHEDULED),
        attempt=msg.attempt,
        maximum_attempts=msg.maximum_attempts,
        scheduled_time=datetime_from_proto(msg.scheduled_time),
        last_started_time=when("last_started_time"),
        last_heartbeat_time=when("last_heartbeat_time"),
        heartbeat_details=tuple(details),
        last_failure=(
            exception_from_proto(msg.last_failure, converter)
            if msg.HasField("last_failure")
            else None
        ),
        next_attempt_schedule_time=when("next_attempt_schedule_time"),
        expiration_time=when("expiration_time"),
        last_worker_identity=msg.last_worker_identity,
    )
