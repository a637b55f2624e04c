"""How a failure crosses between fastcore and Temporal: the one mapping all of bridge uses.

fastcore's exceptions (``fastcore.errors``) and temporalio's (``temporalio.exceptions``)
have the same kinds with the same fields, so the mapping is kind for kind::

    fastcore.errors          temporalio.exceptions
    ApplicationError    <->  ApplicationError    (type, message, details, non_retryable,
                                                   next_retry_delay, category)
    TimeoutError        <->  TimeoutError        (TimeoutType, last heartbeat details)
    CancelledError      <->  CancelledError      (details)
    TerminatedError     <->  TerminatedError     (details)
    ActivityError       <->  ActivityError       (ids, type, RetryState)
    ChildWorkflowError  <->  ChildWorkflowError  (ids, type, RetryState)
    WorkflowAlreadyStartedError <-> WorkflowAlreadyStartedError
    FailureError (other) ->  ApplicationError    (typed after the class, as temporalio's
                                                   converter types any other exception)

:func:`temporal_error` and :func:`fastcore_error` convert an exception and its whole
``__cause__`` chain. A fastcore exception made by :func:`fastcore_error` remembers the
temporalio one it came from and converts back to it unchanged (with the failure Temporal
recorded); exceptions that are not failures pass through, for temporalio (or fastcore) to
convert as it does any exception. Details fastcore could not decode (``Payload`` values)
travel as temporalio ``RawValue``s.

Built on those:

- :func:`to_temporal_error` (``bridge.to_temporal_error``): what an activity that hosts a
  fastcore sub-workflow raises for its failure, an ``ApplicationError`` Temporal's retry
  rules read as they would a Temporal activity failing that way;
- :func:`application_failure`: an ``ApplicationError`` of a given type and retryability,
  caused by a converted chain (a bridge call that failed);
- :func:`failure_record` and :func:`exception_from_record`: an exception as fastcore's
  failure dict (``fastcore.integration.to_failure``) and back, carrying a termination's
  details, which fastcore's dicts leave out. The bridge's wire (``bridge.rpc``) and
  Temporal's history format (``bridge.history``) lay these dicts out in their own protos.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import ModuleType
from typing import Any

import temporalio.api.common.v1
import temporalio.common
import temporalio.exceptions as texc

import fastcore.errors as fc
from fastcore.integration import DataConverter, Payload, from_failure, to_failure

__all__ = [
    "FASTCORE_FAILURES",
    "application_failure",
    "exception_from_record",
    "failure_record",
    "fastcore_error",
    "temporal_error",
    "temporal_failure",
    "to_temporal_error",
]

FASTCORE_FAILURES = (fc.FailureError, fc.WorkflowAlreadyStartedError)
"""The fastcore exceptions :func:`temporal_error` converts (others pass through)."""

_ORIGINAL_ATTR = "_fastcore_temporal_original"  # the temporalio exception a fastcore one came from
_MAX_DEPTH = 64  # cause chains deeper than this are cut (guards against cycles)
_TIMEOUT_NAMES = {
    fc.TimeoutType.START_TO_CLOSE: "StartToClose",
    fc.TimeoutType.SCHEDULE_TO_START: "ScheduleToStart",
    fc.TimeoutType.SCHEDULE_TO_CLOSE: "ScheduleToClose",
    fc.TimeoutType.HEARTBEAT: "Heartbeat",
}
_RETRIED_TIMEOUTS = (fc.TimeoutType.START_TO_CLOSE, fc.TimeoutType.HEARTBEAT)


# ---------------------------------------------------------------- fastcore -> temporalio


def temporal_error(err: BaseException, _depth: int = 0) -> BaseException:
    """temporalio's exception for a fastcore failure, its cause chain converted too.

    Args:
        err: An exception raised by fastcore code (or by the engine).

    Returns:
        The exception :func:`fastcore_error` made ``err`` from, if it did; else the
        ``temporalio.exceptions`` kind for ``err``'s; ``err`` itself when it is not a
        fastcore failure.
    """
    original = getattr(err, _ORIGINAL_ATTR, None)
    if isinstance(original, BaseException):
        return original
    if not isinstance(err, FASTCORE_FAILURES):
        return err
    out = _temporal_one(err)
    cause = err.__cause__
    if cause is not None and _depth < _MAX_DEPTH:
        out.__cause__ = temporal_error(cause, _depth + 1)
    out.__suppress_context__ = True
    return out


def temporal_failure(err: BaseException) -> BaseException:
    """:func:`temporal_error` carrying ``err``'s traceback, ready to raise to temporalio."""
    return temporal_error(err).with_traceback(err.__traceback__)


def _details(values: Sequence[Any]) -> list[Any]:
    """Details for temporalio: payloads fastcore could not decode pass as raw payloads."""
    out: list[Any] = []
    for v in values:
        if isinstance(v, Payload):
            raw = temporalio.api.common.v1.Payload(metadata=dict(v.metadata), data=v.data)
            out.append(temporalio.common.RawValue(raw))
        else:
            out.append(v)
    return out


# ---------------------------------------------------------------- temporalio -> fastcore


def fastcore_error(err: BaseException, _depth: int = 0) -> BaseException:
    """fastcore's exception for a temporalio failure, its cause chain converted too.

    The result remembers ``err``, so :func:`temporal_error` gives back the original when
    fastcore code lets it propagate.

    Args:
        err: The exception temporalio raised into workflow code.

    Returns:
        The ``fastcore.errors`` exception fastcore code expects; ``err`` itself when it is
        not a temporalio failure.
    """
    if not isinstance(err, texc.FailureError):
        return err
    out = _fastcore_one(err)
    cause = err.__cause__
    if cause is not None and _depth < _MAX_DEPTH:
        out.__cause__ = fastcore_error(cause, _depth + 1)
    out.__suppress_context__ = True
    setattr(out, _ORIGINAL_ATTR, err)
    return out


# ---------------------------------------------------------------- one kind, both ways


@dataclass(frozen=True)
class _Side:
    """What an exception is made of on one side: its module, enums and details."""

    errors: ModuleType
    timeout_type: type[IntEnum]
    retry_state: type[IntEnum]
    category: type[IntEnum]
    details: Callable[[Sequence[Any]], Sequence[Any]]
    other: Callable[[Any], BaseException]  # a failure of a kind the other side lacks


_TEMPORAL = _Side(
    texc,
    texc.TimeoutType,
    texc.RetryState,
    texc.ApplicationErrorCategory,
    _details,
    lambda err: texc.ApplicationError(err.message, type=type(err).__name__),
)
_FASTCORE = _Side(
    fc,
    fc.TimeoutType,
    fc.RetryState,
    fc.ApplicationErrorCategory,
    tuple,
    lambda err: fc.FailureError(err.message),
)

_Arguments = tuple[Sequence[Any], dict[str, Any]]


def _enum(kind: type[IntEnum], value: int | None) -> Any:
    return kind(int(value)) if value else None


# The kinds both SDKs have, under the same class names and with the same constructor
# arguments: one table of fields serves both directions.
_FIELDS: dict[str, Callable[[Any, _Side], _Arguments]] = {
    "ApplicationError": lambda e, to: (
        [e.message, *to.details(e.details)],
        {
            "type": e.type,
            "non_retryable": e.non_retryable,
            "next_retry_delay": e.next_retry_delay,
            "category": to.category(int(e.category)),
        },
    ),
    "CancelledError": lambda e, to: ([e.message, *to.details(e.details)], {}),
    "TerminatedError": lambda e, to: ([e.message, *to.details(e.details)], {}),
    "TimeoutError": lambda e, to: (
        [e.message],
        {
            "type": _enum(to.timeout_type, e.type),
            "last_heartbeat_details": to.details(e.last_heartbeat_details),
        },
    ),
    "ActivityError": lambda e, to: (
        [e.message],
        {
            "scheduled_event_id": e.scheduled_event_id,
            "started_event_id": e.started_event_id,
            "identity": e.identity,
            "activity_type": e.activity_type,
            "activity_id": e.activity_id,
            "retry_state": _enum(to.retry_state, e.retry_state),
        },
    ),
    "ChildWorkflowError": lambda e, to: (
        [e.message],
        {
            "namespace": e.namespace,
            "workflow_id": e.workflow_id,
            "run_id": e.run_id,
            "workflow_type": e.workflow_type,
            "initiated_event_id": e.initiated_event_id,
            "started_event_id": e.started_event_id,
            "retry_state": _enum(to.retry_state, e.retry_state),
        },
    ),
    "WorkflowAlreadyStartedError": lambda e, to: (
        [e.workflow_id, e.workflow_type],
        {"run_id": e.run_id},
    ),
}


def _convert_one(err: BaseException, source: _Side, target: _Side) -> BaseException:
    """The ``target`` exception of one ``source`` failure (its cause not converted)."""
    for name, fields in _FIELDS.items():
        if isinstance(err, getattr(source.errors, name)):
            args, kwargs = fields(err, target)
            made: BaseException = getattr(target.errors, name)(*args, **kwargs)
            return made
    return target.other(err)


def _temporal_one(err: BaseException) -> BaseException:
    """The temporalio exception of one fastcore failure (its cause not converted)."""
    return _convert_one(err, _FASTCORE, _TEMPORAL)


def _fastcore_one(err: BaseException) -> BaseException:
    """The fastcore exception of one temporalio failure (its cause not converted)."""
    return _convert_one(err, _TEMPORAL, _FASTCORE)


# ---------------------------------------------------------------- activity failures


def to_temporal_error(failure: BaseException) -> texc.ApplicationError:
    """The error an activity hosting a fastcore sub-workflow raises for the run's failure.

    Temporal accepts only an ``ApplicationError`` as an activity attempt's failure, so the
    top is made from the innermost failure (past any ``ActivityError`` and
    ``ChildWorkflowError`` wrappers), as a Temporal activity failing that way would show:

    - an ``ApplicationError`` is the top itself (type, message, details, ``non_retryable``,
      ``next_retry_delay``), retried per the activity's retry policy;
    - a ``TimeoutError`` is typed with Temporal's own name for it
      (``TemporalTimeout:StartToClose``, ``Heartbeat``, ``ScheduleToClose``,
      ``ScheduleToStart``), retried for ``StartToClose`` and ``Heartbeat`` only;
    - a ``CancelledError`` or ``TerminatedError`` is typed after it and not retried.

    Args:
        failure: The ``__cause__`` of fastcore's ``WorkflowFailureError``.

    Returns:
        That ``ApplicationError``, caused by the whole chain converted by
        :func:`temporal_error` (the converted error itself for a bare application error).
    """
    chain = temporal_error(failure)
    root = failure
    while isinstance(root, fc.ActivityError | fc.ChildWorkflowError) and root.__cause__:
        root = root.__cause__
    top: texc.ApplicationError
    if isinstance(root, fc.TimeoutError):
        name = _TIMEOUT_NAMES.get(root.type) if root.type else None
        top = texc.ApplicationError(
            root.message,
            type=f"TemporalTimeout:{name or 'Unspecified'}",
            non_retryable=root.type not in _RETRIED_TIMEOUTS,
        )
    elif isinstance(root, fc.CancelledError | fc.TerminatedError):
        top = texc.ApplicationError(root.message, type=type(root).__name__, non_retryable=True)
    elif isinstance(chain, texc.ApplicationError) and root is failure:
        return chain
    else:
        converted = _temporal_one(root) if isinstance(root, FASTCORE_FAILURES) else None
        if isinstance(converted, texc.ApplicationError):
            top = converted
        else:  # a wrapper without a cause, or not a fastcore failure
            top = texc.ApplicationError(str(root), type=type(root).__name__)
    top.__suppress_context__ = True
    top.__cause__ = chain
    return top


def application_failure(
    message: str, *, type: str, non_retryable: bool, cause: BaseException | None = None
) -> texc.ApplicationError:
    """An ``ApplicationError`` for an activity to raise, caused by ``cause`` converted.

    Args:
        message: The error's message.
        type: The error's type, which retry policies match.
        non_retryable: Whether no retry may follow.
        cause: A fastcore failure behind it, converted by :func:`temporal_error`.

    Returns:
        The error, with its context suppressed.
    """
    out = texc.ApplicationError(message, type=type, non_retryable=non_retryable)
    if cause is not None:
        out.__cause__ = temporal_error(cause)
    out.__suppress_context__ = True
    return out


# ---------------------------------------------------------------- failure records


def failure_record(exc: BaseException, converter: DataConverter) -> dict[str, Any]:
    """An exception and its cause chain as fastcore's failure dict, termination details kept.

    fastcore's dicts keep no termination details (Temporal's history keeps them in the
    event); the bridge's wire does, under ``terminated_failure_info.details``, so a result
    read over the bridge shows what the engine's does.
    """
    record = to_failure(exc, converter)
    if isinstance(exc, fc.TerminatedError) and exc.details:
        info = record.get("terminated_failure_info")
        if info is not None:
            info["details"] = converter.encode(list(exc.details))
    return record


def exception_from_record(record: dict[str, Any], converter: DataConverter) -> BaseException:
    """The ``fastcore.errors`` exception a failure dict describes, causes chained.

    The inverse of :func:`failure_record`: a termination's details come back on the
    ``TerminatedError``.
    """
    exc = from_failure(record, converter)
    details = (record.get("terminated_failure_info") or {}).get("details")
    if isinstance(exc, fc.TerminatedError) and details:
        with_details = fc.TerminatedError(exc.message, *converter.decode(details))
        with_details.__cause__ = exc.__cause__
        return with_details
    return exc
