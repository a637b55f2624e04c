"""Worker side: the checkpoint a sub-workflow's activity heartbeats, and its heartbeats.

While the sub-workflow runs, the activity (``bridge.subworkflow._activity``) heartbeats a
:class:`FastcoreCheckpoint`: the run's whole history (``event_to_json`` events) and where it
runs (engine identity, the optional bridge endpoint, host and pid). A :class:`Checkpointer`
heartbeats right after the start, after each new burst of events (at most every
``checkpoint_interval``) and, between events, often enough to beat ``heartbeat_timeout`` and
to hear Temporal's cancellation. The Temporal SDK throttles what it sends to one heartbeat per
``0.8 * heartbeat_timeout`` and keeps the newest, so the server holds the history as of the
last heartbeat it received. When an attempt ends without a result (the worker died, the
heartbeat timed out) Temporal retries the activity, on any worker; that attempt reads the
checkpoint and ``Engine.import_history`` resumes the run: activities it had completed are not
run again, activities that were in flight are. Steps that completed after the last delivered
heartbeat run again, as any Temporal activity retried after a crash.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from fastcore import WorkflowExecutionStatus, WorkflowHandle
from fastcore.history import CLOSE_EVENTS, Event, EventType, event_from_json, event_to_json

__all__ = ["CHECKPOINT_VERSION", "Checkpointer", "FastcoreCheckpoint", "checkpoint_header"]

CHECKPOINT_VERSION = 1
"""The checkpoint format's version, written as ``fastcore_checkpoint`` in the details."""

_S = WorkflowExecutionStatus
_CLOSE_STATUS = {
    EventType.WORKFLOW_EXECUTION_COMPLETED: _S.COMPLETED,
    EventType.WORKFLOW_EXECUTION_FAILED: _S.FAILED,
    EventType.WORKFLOW_EXECUTION_CANCELED: _S.CANCELED,
    EventType.WORKFLOW_EXECUTION_TERMINATED: _S.TERMINATED,
    EventType.WORKFLOW_EXECUTION_TIMED_OUT: _S.TIMED_OUT,
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _S.CONTINUED_AS_NEW,
}
_NO_KEEPALIVE = 5.0  # seconds between heartbeats when the activity has no heartbeat timeout


@dataclass
class FastcoreCheckpoint:
    """What a bridged activity heartbeats: a fastcore run's history and where it runs.

    Read it from ``activity.info().heartbeat_details`` or from a pending activity's
    heartbeat details in Temporal's ``describe()``, with ``from_heartbeat_details``.

    Attributes:
        workflow_id: The fastcore workflow id.
        run_id: The fastcore run id.
        workflow_type: The fastcore workflow type.
        events: The run's history as of the heartbeat.
        identity: The identity of the engine running it.
        bridge_address: The gRPC bridge endpoint of that worker, if it has one.
        host: The host name of that worker.
        pid: The process id of that worker.
    """

    workflow_id: str
    run_id: str
    workflow_type: str
    events: list[Event] = field(default_factory=list)
    identity: str = ""
    bridge_address: str | None = None
    host: str = ""
    pid: int = 0

    @property
    def status(self) -> WorkflowExecutionStatus:
        """The run's status as of the checkpoint (RUNNING until a close event)."""
        if self.events and self.events[-1].event_type in CLOSE_EVENTS:
            return _CLOSE_STATUS[self.events[-1].event_type]
        return _S.RUNNING

    def to_json(self) -> dict[str, Any]:
        """The JSON form heartbeated as the single heartbeat detail."""
        out = checkpoint_header(
            self.workflow_id,
            self.run_id,
            self.workflow_type,
            self.identity,
            self.bridge_address,
            self.host,
            self.pid,
        )
        out["events"] = [event_to_json(e) for e in self.events]
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> FastcoreCheckpoint:
        """Read ``to_json``'s form back; raises ``ValueError`` if it is not a checkpoint."""
        if obj.get("fastcore_checkpoint") != CHECKPOINT_VERSION:
            raise ValueError("not a fastcore checkpoint (or one of another version)")
        try:
            return cls(
                workflow_id=str(obj["workflow_id"]),
                run_id=str(obj["run_id"]),
                workflow_type=str(obj["workflow_type"]),
                events=[event_from_json(e) for e in obj.get("events") or ()],
                identity=str(obj.get("identity") or ""),
                bridge_address=obj.get("bridge_address") or None,
                host=str(obj.get("host") or ""),
                pid=int(obj.get("pid") or 0),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed fastcore checkpoint: {err!r}") from None

    @classmethod
    def from_heartbeat_details(cls, details: Sequence[Any]) -> FastcoreCheckpoint | None:
        """The checkpoint in an activity's heartbeat details; None when there is none."""
        if not details or not isinstance(details[0], Mapping):
            return None
        try:
            return cls.from_json(details[0])
        except ValueError:
            return None


def checkpoint_header(
    workflow_id: str,
    run_id: str,
    workflow_type: str,
    identity: str,
    bridge_address: str | None,
    host: str,
    pid: int,
) -> dict[str, Any]:
    """A checkpoint's JSON form without its events (the part every heartbeat repeats)."""
    return {
        "fastcore_checkpoint": CHECKPOINT_VERSION,
        "workflow_id": workflow_id,
        "run_id": run_id,
        "workflow_type": workflow_type,
        "identity": identity,
        "bridge_address": bridge_address,
        "host": host,
        "pid": pid,
    }


class Checkpointer:
    """Heartbeats a run's history: at once, per burst of events, and as a keepalive."""

    def __init__(
        self, handle: WorkflowHandle, header: dict[str, Any], gap: float, keepalive: float
    ) -> None:
        self._handle = handle
        self._header = header
        self._gap = gap
        self._keepalive = keepalive
        self._events: list[dict[str, Any]] = []
        self._loop = asyncio.get_running_loop()
        self._last = -math.inf
        self._flush: asyncio.Handle | None = None
        self._alive: asyncio.TimerHandle | None = None
        self._task = self._loop.create_task(self._follow())

    async def _follow(self) -> None:
        async for ev in self._handle.watch(len(self._events) + 1):
            self._events.append(event_to_json(ev))
            if self._flush is None:
                delay = self._last + self._gap - self._loop.time()
                if delay <= 0:
                    self._flush = self._loop.call_soon(self._send)  # after this burst
                else:
                    self._flush = self._loop.call_later(delay, self._send)

    def _send(self) -> None:
        self._flush = None
        if self._alive is not None:
            self._alive.cancel()
        details = dict(self._header)
        details["events"] = list(self._events)
        activity.heartbeat(details)
        self._last = self._loop.time()
        self._alive = self._loop.call_later(self._keepalive, self._send)

    def stop(self) -> None:
        """Stop heartbeating (the activity is ending)."""
        self._task.cancel()
        for h in (self._flush, self._alive):
            if h is not None:
                h.cancel()

    @classmethod
    def start(
        cls, handle: WorkflowHandle, header: dict[str, Any], info: activity.Info, interval: float
    ) -> Checkpointer:
        """Heartbeat ``handle``'s run for the attempt ``info``, at most every ``interval`` s."""
        hb = info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else None
        keepalive = hb * 0.4 if hb else _NO_KEEPALIVE
        return cls(handle, header, min(interval, keepalive), keepalive)
