"""Local activities of one run, recorded as Temporal records them.

A local activity issues no command when it starts: the live activation asks for it
(``requests``) and the engine runs it once the activation is done. Its outcome is recorded as
a ``core_local_activity`` marker (sdk-core's) that the run's next activation reads as an
input; replay reads the marker instead of running it. Cancelling one resolves it cancelled
at once and records that marker as a command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from ._converter import DataConverter
from ._definitions import ActivityDefinition
from ._failure import from_failure
from ._futures import FutureOwner, _LocalActivityFuture, _seconds
from .common import ActivityCancellationType, RetryPolicy
from .errors import ActivityError
from .history import Event, EventType


class _Owner(FutureOwner, Protocol):
    """What local activities share with their run's ``Commands``."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    #: one sequence numbers activities and local activities (sdk-core's)
    _activity_seq: int

    def _resolve_activity(self, activity: Any) -> tuple[str, ActivityDefinition | None]: ...

    def _activity_cancelled(self, fut: Any) -> ActivityError: ...


class _Run(Protocol):
    """What local activities need of their run (``WorkflowInstance``)."""

    converter: DataConverter
    now: float
    replay_end: int

    def command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event: ...


__all__ = ["LOCAL_ACTIVITY_MARKER", "LocalActivities"]

#: The marker that records a local activity's outcome (sdk-core's name for it).
LOCAL_ACTIVITY_MARKER = "core_local_activity"
_DEFAULT_RETRY = RetryPolicy().to_dict()


class LocalActivities:
    """The local activities of one run: pending ones, and those the activation asked for."""

    __slots__ = ("_commands", "_run", "pending", "requests")

    def __init__(self, commands: _Owner, run: _Run) -> None:
        self._commands = commands
        self._run = run
        #: not resolved yet: (future, what to run) by sequence number
        self.pending: dict[int, tuple[_LocalActivityFuture, dict[str, Any]]] = {}
        #: asked for by the live activation; the engine starts them after it
        self.requests: list[int] = []

    def start(
        self,
        activity: Any,
        args: Sequence[Any],
        *,
        activity_id: str | None,
        result_type: type | None,
        schedule_to_close_timeout: timedelta | None,
        schedule_to_start_timeout: timedelta | None,
        start_to_close_timeout: timedelta | None,
        retry_policy: RetryPolicy | None,
        local_retry_threshold: timedelta | None,
        cancellation_type: ActivityCancellationType,
        summary: str | None = None,
    ) -> _LocalActivityFuture:
        """Run a local activity: no command now; its outcome is recorded as a
        ``core_local_activity`` marker, as Temporal records it, and replay reads it back."""
        del schedule_to_start_timeout, local_retry_threshold, summary
        if start_to_close_timeout is None and schedule_to_close_timeout is None:
            raise ValueError(
                "Activity must have start_to_close_timeout or schedule_to_close_timeout"
            )
        name, defn = self._commands._resolve_activity(activity)
        if defn is not None and not defn.dynamic:
            defn.checker.check(f"activity {name!r}", args)
        run = self._run
        self._commands._activity_seq += (
            1  # one sequence for activities and local activities (sdk-core)
        )
        seq = self._commands._activity_seq
        spec: dict[str, Any] = {
            "seq": seq,
            "activity_id": activity_id or str(seq),
            "activity_type": name,
            "input": run.converter.encode(args) if args else [],
            "start_to_close_timeout": _seconds(start_to_close_timeout),
            "schedule_to_close_timeout": _seconds(schedule_to_close_timeout),
            "heartbeat_timeout": None,
            "retry_policy": (
                retry_policy.to_dict() if retry_policy is not None else _DEFAULT_RETRY
            ),
            "cancellation_type": int(cancellation_type),
            "scheduled_at": run.now,
        }
        hint = result_type if result_type is not None else (defn.ret_hint if defn else None)
        commands = self._commands  # its request_cancel_activity cancels this one
        fut = _LocalActivityFuture(
            commands, commands.loop, seq, name, spec["activity_id"], cancellation_type, hint
        )
        self.pending[seq] = (fut, spec)
        if not run.replay_end:  # live: the engine starts it once this activation is done
            self.requests.append(seq)
        return fut

    def cancel(self, fut: _LocalActivityFuture) -> None:
        """Cancel a local activity: resolved cancelled now, recorded in its marker."""
        entry = self.pending.pop(fut._seq, None)
        if entry is None:
            return
        _, spec = entry
        self._run.command(
            EventType.MARKER_RECORDED,
            {
                "marker_name": LOCAL_ACTIVITY_MARKER,
                "details": {
                    "seq": fut._seq,
                    "attempt": 1,
                    "activity_id": spec["activity_id"],
                    "activity_type": spec["activity_type"],
                    "complete_time": self._run.now,
                    "original_schedule_time": spec["scheduled_at"],
                    "result": None,
                },
                "failure": {
                    "message": "Activity cancelled",
                    "source": "fastcore",
                    "stack_trace": "",
                    "cause": None,
                    "canceled_failure_info": {"details": []},
                },
            },
            "seq",
        )
        fut.set_exception(self._commands._activity_cancelled(fut))

    def resolved(self, a: dict[str, Any]) -> bool:
        """Deliver a local activity's marker; False when no local activity of that sequence
        number and type waits for it (the code no longer fits the history)."""
        d = a.get("details") or {}
        entry = self.pending.pop(int(d.get("seq") or 0), None)
        if entry is None:
            return False
        fut, spec = entry
        if d.get("activity_type") and d["activity_type"] != spec["activity_type"]:
            self.pending[fut._seq] = entry
            return False
        if fut.done():
            return True
        failure = a.get("failure")
        if failure is None:
            r = d.get("result")
            fut.set_result(self._run.converter.decode_one(r, fut._hint) if r is not None else None)
        elif failure.get("canceled_failure_info") is not None:
            fut.set_exception(self._commands._activity_cancelled(fut))
        else:
            # as sdk-core resolves it: the activity's own failure, not wrapped in an
            # ActivityError (temporalio raises the ApplicationError itself)
            fut.set_exception(from_failure(failure, self._run.converter))
        return True
