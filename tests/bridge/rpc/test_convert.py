"""Python values and fastcore types to bridge messages and back, without a server."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bridge._proto.v1 import bridge_pb2 as pb
from bridge.rpc import _convert as cv
from fastcore import PendingActivityInfo, PendingActivityState
from fastcore._converter import decode_arguments
from fastcore.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowExecutionStatus,
)
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    InvalidArgumentError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)
from fastcore.history import Event, EventType
from fastcore.integration import DataConverter, Payload, WorkflowExecutionDescription, to_failure

converter = DataConverter()


def test_payload_round_trip_keeps_metadata_and_bytes() -> None:
    p = Payload({"encoding": b"json/plain", "x": b"\x00\xff"}, b'{"a": [1, 2]}')
    msg = cv.payload_to_proto(p)
    assert msg.metadata["encoding"] == b"json/plain"
    assert cv.payload_from_proto(msg) == p


def test_arguments_pass_through_undecoded() -> None:
    good = cv.payload_to_proto(converter.encode_one(1))
    bad = pb.Payload(metadata={"encoding": b"json/plain"}, data=b"{not json")
    odd = pb.Payload(metadata={"encoding": b"application/x-protobuf"}, data=b"\x08\x01")
    passed = cv.encoded_args([good, bad, odd])
    assert [v.payload for v in passed] == [cv.payload_from_proto(m) for m in (good, bad, odd)]
    # the engine decodes them, once, and names the one it cannot read
    with pytest.raises(InvalidArgumentError, match="signal 'x': argument 2 cannot be decoded"):
        decode_arguments(converter, [v.payload for v in passed], None, "signal 'x'")


@pytest.mark.parametrize("t", [1_700_000_000.123456, 1_800_000_000.999999, 12.5, 0.0])
def test_event_round_trip(t: float) -> None:
    event = Event(
        7,
        EventType.ACTIVITY_TASK_SCHEDULED,
        t,
        {
            "activity_id": "1",
            "activity_type": "reserve",
            "input": [
                converter.encode_one({"sku": "a"}),
                Payload({"encoding": b"binary/plain"}, b"\xff"),
            ],
            "start_to_close_timeout": 1.5,
            "retry_policy": {"maximum_attempts": 3},
        },
    )
    msg = cv.event_to_proto(event)
    assert msg.event_type == pb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    assert cv.event_from_proto(msg) == event


def test_every_event_type_converts() -> None:
    for t in EventType:
        event = Event(1, t, 1_700_000_000.5, {})
        assert cv.event_from_proto(cv.event_to_proto(event)) == event


def _chain(exc: BaseException) -> list[BaseException]:
    out = []
    cur: BaseException | None = exc
    while cur is not None:
        out.append(cur)
        cur = cur.__cause__
    return out


def test_failure_round_trip_rebuilds_fastcore_exceptions() -> None:
    app = ApplicationError(
        "card declined",
        {"code": 51},
        type="Declined",
        non_retryable=True,
        next_retry_delay=timedelta(seconds=3),
    )
    act = ActivityError(
        "activity failed",
        activity_type="charge",
        activity_id="4",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
        scheduled_event_id=5,
    )
    act.__cause__ = app
    child = ChildWorkflowError(
        "child failed",
        workflow_id="c",
        run_id="r",
        workflow_type="Pay",
        initiated_event_id=3,
        retry_state=RetryState.RETRY_POLICY_NOT_SET,
    )
    child.__cause__ = act
    msg = cv.exception_to_proto(child, converter)
    back = cv.exception_from_proto(msg, converter)
    c, a, e = _chain(back)
    assert isinstance(c, ChildWorkflowError) and c.workflow_type == "Pay" and c.run_id == "r"
    assert c.retry_state is RetryState.RETRY_POLICY_NOT_SET
    assert isinstance(a, ActivityError) and a.activity_type == "charge"
    assert a.retry_state is RetryState.NON_RETRYABLE_FAILURE and a.scheduled_event_id == 5
    assert isinstance(e, ApplicationError)
    assert (e.message, e.type, e.non_retryable, list(e.details)) == (
        "card declined",
        "Declined",
        True,
        [{"code": 51}],
    )
    assert e.next_retry_delay == timedelta(seconds=3)
    # the dict form is what fastcore records, and survives the wire unchanged
    assert cv.failure_from_proto(cv.failure_to_proto(to_failure(child, converter))) == to_failure(
        child, converter
    )


@pytest.mark.parametrize(
    "exc",
    [
        CancelledError("Workflow cancelled", "why"),
        TerminatedError("by ops"),
        TimeoutError("slow", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[3]),
        ValueError("a plain bug"),
        asyncio.CancelledError(),
    ],
)
def test_failure_kinds_round_trip(exc: BaseException) -> None:
    back = cv.exception_from_proto(cv.exception_to_proto(exc, converter), converter)
    if isinstance(exc, ValueError):
        assert isinstance(back, ApplicationError) and back.type == "ValueError"
    elif isinstance(exc, asyncio.CancelledError):
        assert isinstance(back, CancelledError)
    else:
        assert type(back) is type(exc)
        assert str(back) == str(exc)
    if isinstance(exc, TimeoutError):
        assert isinstance(back, TimeoutError)
        assert back.type is TimeoutType.HEARTBEAT and list(back.last_heartbeat_details) == [3]


def test_retry_policy_round_trip_and_validation() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=3.0,
        maximum_interval=timedelta(seconds=9),
        maximum_attempts=4,
        non_retryable_error_types=["Invalid"],
    )
    assert cv.retry_policy_from_proto(cv.retry_policy_to_proto(policy)) == policy
    assert cv.retry_policy_from_proto(pb.RetryPolicy()) == RetryPolicy()
    with pytest.raises(InvalidArgumentError, match="backoff_coefficient"):
        cv.retry_policy_from_proto(pb.RetryPolicy(backoff_coefficient=0.5))


def test_description_round_trip() -> None:
    last_failure_given = ApplicationError("card declined", type="Declined")
    desc = WorkflowExecutionDescription(
        id="order-1",
        run_id="r1",
        workflow_type="Checkout",
        status=WorkflowExecutionStatus.FAILED,
        start_time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        close_time=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
        history_length=12,
        memo={"customer": {"id": 7}},
        parent_id="p",
        parent_run_id="pr",
        pending_activities=[
            PendingActivityInfo(
                activity_id="1",
                activity_type="charge",
                state=PendingActivityState.SCHEDULED,
                attempt=3,
                maximum_attempts=5,
                scheduled_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                last_started_time=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
                last_heartbeat_time=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
                heartbeat_details=({"done": 2},),
                last_failure=last_failure_given,
                next_attempt_schedule_time=datetime(2026, 1, 2, 3, 4, 8, tzinfo=UTC),
                last_worker_identity="engine-1",
            ),
            PendingActivityInfo(
                activity_id="2",
                activity_type="pack",
                state=PendingActivityState.STARTED,
                attempt=1,
                maximum_attempts=0,
                scheduled_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            ),
        ],
        pending_task_failure=ValueError("bug"),
        typed_search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword("Tier"), "gold"),
                SearchAttributePair(
                    SearchAttributeKey.for_datetime("Opened"), datetime(2026, 1, 2, tzinfo=UTC)
                ),
                SearchAttributePair(SearchAttributeKey.for_keyword_list("Tags"), ["a", "b"]),
            ]
        ),
        task_queue="orders",
        execution_time=datetime(2026, 1, 2, 3, 5, tzinfo=UTC),
        raw_memo={"customer": converter.encode_one({"id": 7})},
    )
    back = cv.description_from_proto(cv.description_to_proto(desc, converter), converter)
    failure = back.pending_task_failure
    assert isinstance(failure, ApplicationError) and failure.type == "ValueError"
    back.pending_task_failure = desc.pending_task_failure
    last = back.pending_activities[0].last_failure
    assert isinstance(last, ApplicationError) and last.type == "Declined"
    assert last.message == "card declined"
    back.pending_activities = [
        dataclasses.replace(back.pending_activities[0], last_failure=last_failure_given),
        back.pending_activities[1],
    ]
    assert back == desc
    wire = cv.description_to_proto(desc, converter)
    assert dict(wire.search_attributes["Tier"].metadata) == {
        "encoding": b"json/plain",
        "type": b"Keyword",
    }
    running = WorkflowExecutionDescription(
        id="x",
        run_id="y",
        workflow_type="T",
        status=WorkflowExecutionStatus.RUNNING,
        start_time=desc.start_time,
        close_time=None,
        history_length=1,
    )
    assert (
        cv.description_from_proto(cv.description_to_proto(running, converter), converter) == running
    )


def test_unknown_wire_values_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        cv.status_from_proto(99)
    with pytest.raises(InvalidArgumentError):
        cv.event_from_proto(pb.HistoryEvent(event_id=1, event_type=5))  # type: ignore[arg-type]
    assert cv.status_from_proto(0) is None
