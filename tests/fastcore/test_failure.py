"""Tests for fastcore._failure: exceptions to failure dicts and back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from fastcore._converter import Payload, default_converter
from fastcore._failure import INFO_KEYS, from_failure, to_failure
from fastcore.errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    NondeterminismError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)

conv = default_converter


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as e:
        return e


def _info_keys(f: dict[str, object]) -> list[str]:
    return [k for k in INFO_KEYS if k in f]


def test_plain_exception_is_application_error_named_after_class() -> None:
    f = to_failure(_raise(ValueError("bad value")), conv)
    assert f["message"] == "bad value"
    assert f["source"] == "fastcore"
    assert "test_failure.py" in f["stack_trace"]
    assert f["cause"] is None
    assert _info_keys(f) == ["application_failure_info"]
    assert f["application_failure_info"] == {
        "type": "ValueError",
        "non_retryable": False,
        "details": [],
        "next_retry_delay": None,
    }
    err = from_failure(f, conv)
    assert isinstance(err, ApplicationError)
    assert err.type == "ValueError"
    assert err.message == "bad value"


def test_non_failure_fastcore_error_is_application_error() -> None:
    f = to_failure(NondeterminismError("mismatch"), conv)
    assert f["application_failure_info"]["type"] == "NondeterminismError"
    assert f["stack_trace"] == ""


def test_application_error_round_trip() -> None:
    exc = ApplicationError(
        "nope",
        "d1",
        {"k": 2},
        type="Invalid",
        non_retryable=True,
        next_retry_delay=timedelta(seconds=3),
    )
    f = to_failure(exc, conv)
    info = f["application_failure_info"]
    assert info["type"] == "Invalid"
    assert info["non_retryable"] is True
    assert info["details"] == [
        Payload({"encoding": b"json/plain"}, b'"d1"'),
        Payload({"encoding": b"json/plain"}, b'{"k":2}'),
    ]
    assert info["next_retry_delay"] == 3.0
    err = from_failure(f, conv)
    assert isinstance(err, ApplicationError)
    assert (err.message, err.type, err.non_retryable) == ("nope", "Invalid", True)
    assert list(err.details) == ["d1", {"k": 2}]
    assert err.next_retry_delay == timedelta(seconds=3)
    assert str(err) == "Invalid: nope"


def test_unencodable_details_are_kept_as_repr() -> None:
    f = to_failure(ApplicationError("x", object()), conv)
    (p,) = f["application_failure_info"]["details"]
    assert conv.decode_one(p).startswith("<object object")


def test_timeout_cancel_terminate() -> None:
    f = to_failure(TimeoutError("t", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[5]), conv)
    assert f["timeout_failure_info"]["timeout_type"] == 4
    t = from_failure(f, conv)
    assert isinstance(t, TimeoutError)
    assert t.type is TimeoutType.HEARTBEAT
    assert list(t.last_heartbeat_details) == [5]

    c = from_failure(to_failure(CancelledError("gone", "why"), conv), conv)
    assert isinstance(c, CancelledError)
    assert (c.message, list(c.details)) == ("gone", ["why"])

    f = to_failure(asyncio.CancelledError(), conv)
    assert f["canceled_failure_info"] == {"details": []}
    assert f["message"] == "Cancelled"

    f = to_failure(TerminatedError("killed"), conv)
    assert f["terminated_failure_info"] == {}
    assert isinstance(from_failure(f, conv), TerminatedError)


def test_activity_error_chain() -> None:
    act = ActivityError(
        "Activity task failed",
        scheduled_event_id=5,
        activity_type="reserve",
        activity_id="1",
        retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
    )
    act.__cause__ = _raise(KeyError("sku"))
    f = to_failure(act, conv)
    assert f["activity_failure_info"] == {
        "activity_type": "reserve",
        "activity_id": "1",
        "retry_state": 4,
        "scheduled_event_id": 5,
    }
    assert f["cause"]["application_failure_info"]["type"] == "KeyError"
    err = from_failure(f, conv)
    assert isinstance(err, ActivityError)
    assert err.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert (err.activity_type, err.activity_id, err.scheduled_event_id) == ("reserve", "1", 5)
    assert isinstance(err.__cause__, ApplicationError)
    assert err.cause is err.__cause__
    # A rebuilt exception converts back to the very same dict (stack trace included).
    assert to_failure(err, conv) == f


def test_child_workflow_error() -> None:
    child = ChildWorkflowError(
        "Child workflow execution failed",
        workflow_id="c",
        run_id="r",
        workflow_type="Child",
        initiated_event_id=7,
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    child.__cause__ = ApplicationError("boom", type="X")
    f = to_failure(child, conv)
    assert f["child_workflow_failure_info"] == {
        "workflow_id": "c",
        "run_id": "r",
        "workflow_type": "Child",
        "retry_state": 2,
        "initiated_event_id": 7,
    }
    err = from_failure(f, conv)
    assert isinstance(err, ChildWorkflowError)
    assert (err.workflow_id, err.run_id, err.workflow_type) == ("c", "r", "Child")
    assert err.initiated_event_id == 7
    assert isinstance(err.__cause__, ApplicationError)


def test_context_is_cause_unless_suppressed() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError:
            raise RuntimeError("outer")  # noqa: B904 - testing implicit context
    except RuntimeError as e:
        f = to_failure(e, conv)
    assert f["cause"]["message"] == "inner"
    try:
        try:
            raise ValueError("inner")
        except ValueError:
            raise RuntimeError("outer") from None
    except RuntimeError as e:
        f = to_failure(e, conv)
    assert f["cause"] is None


def test_unknown_info_and_undecodable_details() -> None:
    err = from_failure({"message": "m"}, conv)
    assert type(err) is FailureError
    raw = Payload({"encoding": b"weird"}, b"\x00")
    f = {"message": "m", "application_failure_info": {"details": [raw]}}
    app = from_failure(f, conv)
    assert isinstance(app, ApplicationError)
    assert list(app.details) == [raw]


@pytest.mark.parametrize("message", ["", "x"])
def test_defaults_for_empty_message(message: str) -> None:
    err = from_failure({"message": message, "terminated_failure_info": {}}, conv)
    assert str(err) == (message or "Terminated")
