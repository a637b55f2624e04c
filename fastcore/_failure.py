"""Failures as recorded in a history: exceptions to plain dicts shaped like Temporal's proto.

A failure dict mirrors ``temporal.api.failure.v1.Failure`` so the bridge translates it one to
one::

    {
        "message": str,
        "source": "fastcore",
        "stack_trace": str,
        "cause": <failure dict> | None,
        # exactly one of:
        "application_failure_info": {"type": str, "non_retryable": bool,
                                     "details": [Payload], "next_retry_delay": float | None,
                                     "category": int (``ApplicationErrorCategory``; 0 omitted)},
        "timeout_failure_info": {"timeout_type": int, "last_heartbeat_details": [Payload]},
        "canceled_failure_info": {"details": [Payload]},
        "terminated_failure_info": {},
        "activity_failure_info": {"activity_type": str, "activity_id": str,
                                  "retry_state": int, "scheduled_event_id": int},
        "child_workflow_failure_info": {"workflow_id": str, "run_id": str,
                                        "workflow_type": str, "retry_state": int,
                                        "initiated_event_id": int},
    }

As in temporalio, an exception that is not a ``FailureError`` becomes an application failure
whose ``type`` is the exception's class name, and ``asyncio.CancelledError`` becomes a
cancellation. ``from_failure`` rebuilds ``fastcore.errors`` exceptions, chained through
``__cause__``, and remembers the dict so that converting the exception again gives it back
unchanged (stack trace included).

A data converter with a failure converter of its own (``DataConverter(failure_converter_class=
...)``) is asked instead: ``to_failure``/``from_failure`` hand the exception or the dict to it,
with a payload converter that applies the data converter's codec. A failure whose message and
stack trace a converter encoded (``DefaultFailureConverterWithEncodedAttributes``) carries
them in ``"encoded_attributes"`` (a Payload), as Temporal's ``Failure.encoded_attributes``.
"""

from __future__ import annotations

import asyncio
import copy
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from ._failure_view import INFO_KEYS
from ._payload import Payload
from .errors import (
    ActivityError,
    ApplicationError,
    ApplicationErrorCategory,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)

__all__ = [
    "INFO_KEYS",
    "SOURCE",
    "ValueConverter",
    "build_exception",
    "build_failure",
    "failure_is_benign",
    "from_failure",
    "is_benign",
    "to_failure",
]

SOURCE = "fastcore"
"""The ``source`` written into every failure fastcore makes."""

_ATTR = "_fastcore_failure"  # where from_failure stores the dict an exception was made from
_MAX_DEPTH = 64  # a cause chain deeper than this is cut (guards against __context__ cycles)


class ValueConverter(Protocol):
    """What a failure's details are converted with (a ``DataConverter``)."""

    def encode_one(self, value: Any) -> Payload:
        """One value as a payload."""
        ...

    def decode_one(self, payload: Payload, hint: Any = None) -> Any:
        """One payload as a value."""
        ...


def to_failure(exc: BaseException, converter: ValueConverter) -> dict[str, Any]:
    """Describe an exception (and its cause chain) as a failure dict.

    Args:
        exc: The exception to record.
        converter: The data converter: encodes details (error details, heartbeat details),
            or hands the exception to its own failure converter.

    Returns:
        A failure dict in the format of this module's docstring.
    """
    custom = getattr(converter, "custom_failure_converter", None)
    if custom is not None:
        recorded = getattr(exc, _ATTR, None)
        if recorded is not None:
            return copy.deepcopy(recorded)  # a failure read back: unchanged, as recorded
        failure: dict[str, Any] = {}
        custom.to_failure(exc, getattr(converter, "codec_payload_converter", None), failure)
        return failure
    return _to_failure(exc, converter, 0)


def build_failure(exc: BaseException, converter: ValueConverter) -> dict[str, Any]:
    """The default failure format of an exception (``DefaultFailureConverter``'s)."""
    return _to_failure(exc, converter, 0)


def _to_failure(exc: BaseException, converter: ValueConverter, depth: int) -> dict[str, Any]:
    recorded = getattr(exc, _ATTR, None)
    if recorded is not None:
        return copy.deepcopy(recorded)
    failure: dict[str, Any] = {
        "message": _message(exc),
        "source": SOURCE,
        "stack_trace": "\n".join(traceback.format_tb(exc.__traceback__))
        if exc.__traceback__
        else "",
        "cause": None,
    }
    nxt = exc.__cause__
    if nxt is None and not exc.__suppress_context__:
        nxt = exc.__context__
    if nxt is not None and depth < _MAX_DEPTH:
        failure["cause"] = _to_failure(nxt, converter, depth + 1)
    key, info = _info(exc, converter)
    failure[key] = info
    return failure


def _message(exc: BaseException) -> str:
    if isinstance(exc, FailureError):
        return exc.message
    if isinstance(exc, asyncio.CancelledError):
        return str(exc) or "Cancelled"
    return str(exc)


def _encode(values: Sequence[Any], converter: ValueConverter) -> list[Payload]:
    out = []
    for v in values:
        if isinstance(v, Payload):
            out.append(v)
            continue
        try:
            out.append(converter.encode_one(v))
        except Exception:  # a failure must always be recordable; keep what can be kept
            out.append(converter.encode_one(repr(v)))
    return out


def _info(exc: BaseException, converter: ValueConverter) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, ApplicationError):
        delay = exc.next_retry_delay
        app: dict[str, Any] = {
            "type": exc.type or "",
            "non_retryable": exc.non_retryable,
            "details": _encode(exc.details, converter),
            "next_retry_delay": delay.total_seconds() if delay is not None else None,
        }
        if exc.category:
            app["category"] = int(exc.category)
        return "application_failure_info", app
    if isinstance(exc, TimeoutError):
        return "timeout_failure_info", {
            "timeout_type": int(exc.type or 0),
            "last_heartbeat_details": _encode(exc.last_heartbeat_details, converter),
        }
    if isinstance(exc, CancelledError):
        return "canceled_failure_info", {"details": _encode(exc.details, converter)}
    if isinstance(exc, asyncio.CancelledError):
        return "canceled_failure_info", {"details": []}
    if isinstance(exc, TerminatedError):
        return "terminated_failure_info", {}
    if isinstance(exc, ActivityError):
        return "activity_failure_info", {
            "activity_type": exc.activity_type,
            "activity_id": exc.activity_id,
            "retry_state": int(exc.retry_state or 0),
            "scheduled_event_id": exc.scheduled_event_id,
        }
    if isinstance(exc, ChildWorkflowError):
        return "child_workflow_failure_info", {
            "workflow_id": exc.workflow_id,
            "run_id": exc.run_id,
            "workflow_type": exc.workflow_type,
            "retry_state": int(exc.retry_state or 0),
            "initiated_event_id": exc.initiated_event_id,
        }
    # Any other exception (fastcore's non-failure errors included) is an application error
    # named after its class, as temporalio's default failure converter does.
    return "application_failure_info", {
        "type": type(exc).__name__,
        "non_retryable": False,
        "details": [],
        "next_retry_delay": None,
    }


def from_failure(failure: dict[str, Any], converter: ValueConverter) -> BaseException:
    """Rebuild the exception a failure dict describes, its cause chain in ``__cause__``.

    Args:
        failure: A dict made by ``to_failure`` (or translated from Temporal).
        converter: The data converter: decodes details (payloads it cannot decode are kept
            as ``Payload``), or hands the dict to its own failure converter.

    Returns:
        A ``fastcore.errors.FailureError`` subclass (a plain ``FailureError`` when the dict
        has no known info).
    """
    custom = getattr(converter, "custom_failure_converter", None)
    if custom is not None:
        view = getattr(converter, "codec_payload_converter", None)
        err: BaseException = custom.from_failure(failure, view)
        setattr(err, _ATTR, copy.deepcopy(failure))
        return err
    return build_exception(failure, converter)


def build_exception(failure: dict[str, Any], converter: ValueConverter) -> BaseException:
    """The exception of a failure dict in the default format (``DefaultFailureConverter``'s)."""
    err = _from_info(failure, converter)
    cause = failure.get("cause")
    if cause:
        err.__cause__ = build_exception(cause, converter)
    setattr(err, _ATTR, copy.deepcopy(failure))
    return err


def _decode(payloads: Sequence[Payload] | None, converter: ValueConverter) -> list[Any]:
    out = []
    for p in payloads or ():
        try:
            out.append(converter.decode_one(p))
        except Exception:
            out.append(p)
    return out


def _from_info(failure: dict[str, Any], converter: ValueConverter) -> FailureError:
    message = failure.get("message") or ""
    info = failure.get("application_failure_info")
    if info is not None:
        delay = info.get("next_retry_delay")
        return ApplicationError(
            message or "Application error",
            *_decode(info.get("details"), converter),
            type=info.get("type") or None,
            non_retryable=bool(info.get("non_retryable")),
            next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
            category=_category(info.get("category")),
        )
    info = failure.get("timeout_failure_info")
    if info is not None:
        tt = info.get("timeout_type") or 0
        return TimeoutError(
            message or "Timeout",
            type=TimeoutType(tt) if tt else None,
            last_heartbeat_details=_decode(info.get("last_heartbeat_details"), converter),
        )
    info = failure.get("canceled_failure_info")
    if info is not None:
        return CancelledError(message or "Cancelled", *_decode(info.get("details"), converter))
    if failure.get("terminated_failure_info") is not None:
        return TerminatedError(message or "Terminated")
    info = failure.get("activity_failure_info")
    if info is not None:
        sched = int(info.get("scheduled_event_id") or 0)
        return ActivityError(
            message or "Activity error",
            scheduled_event_id=sched,
            started_event_id=sched,
            activity_type=info.get("activity_type") or "",
            activity_id=info.get("activity_id") or "",
            retry_state=_retry_state(info.get("retry_state")),
        )
    info = failure.get("child_workflow_failure_info")
    if info is not None:
        return ChildWorkflowError(
            message or "Child workflow error",
            workflow_id=info.get("workflow_id") or "",
            run_id=info.get("run_id") or "",
            workflow_type=info.get("workflow_type") or "",
            initiated_event_id=int(info.get("initiated_event_id") or 0),
            retry_state=_retry_state(info.get("retry_state")),
        )
    return FailureError(message or "Failure error")


def _category(value: Any) -> ApplicationErrorCategory:
    try:
        return ApplicationErrorCategory(int(value or 0))
    except ValueError:  # a category newer than this fastcore: treat as unspecified
        return ApplicationErrorCategory.UNSPECIFIED


def is_benign(exc: BaseException | None) -> bool:
    """Whether ``exc`` is an ``ApplicationError`` of category ``BENIGN``."""
    return isinstance(exc, ApplicationError) and exc.category is ApplicationErrorCategory.BENIGN


def failure_is_benign(failure: dict[str, Any] | None) -> bool:
    """Whether a failure dict records a ``BENIGN`` application error."""
    info = (failure or {}).get("application_failure_info") or {}
    return int(info.get("category") or 0) == ApplicationErrorCategory.BENIGN


def _retry_state(value: Any) -> RetryState | None:
    return RetryState(int(value)) if value else None
