"""fastcore workflows as Temporal activities: ``fastcore_activities(engine, workflows=[...])``.

One generic activity (``fastcore.run_workflow``) runs any of the given fastcore workflows in
the worker's engine. Temporal workflow code reaches it through
``bridge.execute_fastcore_workflow`` (``bridge._workflow_side``).

**Checkpoint.** While the sub-workflow runs, the activity heartbeats a ``FastcoreCheckpoint``:
the run's whole history (``event_to_json`` events) and where it runs (engine identity, the
optional bridge endpoint, host and pid). It heartbeats right after the start, after each new
burst of events (at most every ``checkpoint_interval``) and, between events, often enough to
beat ``heartbeat_timeout`` and to hear Temporal's cancellation. The Temporal SDK throttles what
it sends to one heartbeat per ``0.8 * heartbeat_timeout`` and keeps the newest, so the server
holds the history as of the last heartbeat it received. When an attempt ends without a result
(the worker died, the heartbeat timed out) Temporal retries the activity, on any worker; that
attempt reads the checkpoint and ``Engine.import_history`` resumes the run: activities it had
completed are not run again, activities that were in flight are. Steps that completed after the
last delivered heartbeat run again, as any Temporal activity retried after a crash.

**Which run an attempt uses.** The run still open in this engine if an earlier attempt left it
here; else the checkpoint's run if it was open or completed; else the run this engine already
completed for this activity (its result was never reported); else a fresh run. A checkpoint
that ended in failure starts a fresh run: that is what a retry of a failed activity means.

**Cancellation.** Temporal's cancellation (``cancel_requested``) becomes a fastcore cancel:
the sub-workflow sees ``asyncio.CancelledError``, its cleanup runs, the activity waits for it
to end and reports cancelled (or its result, if the workflow chose to complete). On worker
shutdown the run is left as it is and the attempt fails with a retryable ``WorkerShutdown``
error, so a retry resumes it from its checkpoint. Other reasons (the server timed the attempt
out or forgot it) leave the run alone: a retry that lands on this worker picks it up.

**Failures.** Temporal accepts only an ``ApplicationError`` as the failure of an activity
attempt (the server refuses any other failure on top), so the activity raises an
``ApplicationError`` whose cause is the sub-workflow's failure chain, converted kind for kind
to ``temporalio.exceptions`` (``ApplicationError``, ``TimeoutError``, ``CancelledError``,
``TerminatedError``, ``ActivityError``, ``ChildWorkflowError``) with their fields. The top is
made from the innermost failure (past any ``ActivityError``/``ChildWorkflowError`` wrappers),
so Temporal's retry rules see what a Temporal activity failing that way would show:

- ``ApplicationError``: the top *is* that error (type, message, details, ``non_retryable``,
  ``next_retry_delay``); retried per the activity's retry policy unless ``non_retryable`` or
  its type is in ``non_retryable_error_types``.
- ``TimeoutError`` (an activity in the sub-workflow timed out, or the sub-workflow's own
  execution timeout, which fastcore reports as ``START_TO_CLOSE``): the top's type is
  Temporal's own name for that timeout, ``TemporalTimeout:StartToClose`` (``Heartbeat``,
  ``ScheduleToClose``, ``ScheduleToStart``), and the ``TimeoutError`` with its
  ``TimeoutType`` is in the cause chain. As for Temporal's own timeouts, ``StartToClose`` and
  ``Heartbeat`` are retried (unless the policy lists that name in
  ``non_retryable_error_types``) and the others are not.
- ``CancelledError``/``TerminatedError`` (the sub-workflow was cancelled or terminated by
  someone other than this activity's Temporal workflow): type ``CancelledError`` or
  ``TerminatedError``, not retried.

Errors at the start (bad arguments, an id taken by another run) are non-retryable
``ApplicationError``s named after the fastcore error; a workflow type this worker does not
host is a retryable ``NotFoundError`` (as Temporal's own unregistered activity), so the retry
may reach a worker that hosts it.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import temporalio.api.common.v1
import temporalio.common
import temporalio.exceptions as texc
from temporalio import activity

import fastcore.errors as fc
from fastcore import Engine, Payload, WorkflowExecutionStatus, WorkflowHandle
from fastcore.history import CLOSE_EVENTS, Event, EventType, event_from_json, event_to_json

from ._mirror_stream import MIRROR_FLUSH_TIMEOUT, MirrorStream, mirror_target
from ._workflow_side import FASTCORE_ACTIVITY_NAME, FastcoreWorkflowInput

__all__ = ["FastcoreCheckpoint", "fastcore_activities", "to_temporal_error"]

CHECKPOINT_VERSION = 1
"""The checkpoint format's version, written as ``fastcore_checkpoint`` in the details."""

OWNER_MEMO_KEY = "temporal_activity"
"""Memo key of a bridged run: the Temporal workflow id, run id and activity id that own it."""

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
        out = _header(
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


def _header(
    workflow_id: str,
    run_id: str,
    workflow_type: str,
    identity: str,
    bridge_address: str | None,
    host: str,
    pid: int,
) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------- failures


def _details(values: Sequence[Any]) -> list[Any]:
    """Error details for temporalio: undecodable fastcore payloads pass as raw payloads."""
    out: list[Any] = []
    for v in values:
        if isinstance(v, Payload):
            raw = temporalio.api.common.v1.Payload(metadata=dict(v.metadata), data=v.data)
            out.append(temporalio.common.RawValue(raw))
        else:
            out.append(v)
    return out


def _convert_one(err: BaseException) -> BaseException:
    """The temporalio exception that mirrors one fastcore exception (no cause)."""
    out: BaseException
    if isinstance(err, fc.ApplicationError):
        out = texc.ApplicationError(
            err.message,
            *_details(err.details),
            type=err.type,
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
        )
    elif isinstance(err, fc.TimeoutError):
        out = texc.TimeoutError(
            err.message,
            type=texc.TimeoutType(int(err.type)) if err.type else None,
            last_heartbeat_details=_details(err.last_heartbeat_details),
        )
    elif isinstance(err, fc.CancelledError):
        out = texc.CancelledError(err.message, *_details(err.details))
    elif isinstance(err, fc.TerminatedError):
        out = texc.TerminatedError(err.message, *_details(err.details))
    elif isinstance(err, fc.ActivityError):
        out = texc.ActivityError(
            err.message,
            scheduled_event_id=err.scheduled_event_id,
            started_event_id=err.started_event_id,
            identity=err.identity,
            activity_type=err.activity_type,
            activity_id=err.activity_id,
            retry_state=texc.RetryState(int(err.retry_state)) if err.retry_state else None,
        )
    elif isinstance(err, fc.ChildWorkflowError):
        out = texc.ChildWorkflowError(
            err.message,
            namespace=err.namespace,
            workflow_id=err.workflow_id,
            run_id=err.run_id,
            workflow_type=err.workflow_type,
            initiated_event_id=err.initiated_event_id,
            started_event_id=err.started_event_id,
            retry_state=texc.RetryState(int(err.retry_state)) if err.retry_state else None,
        )
    elif isinstance(err, fc.FailureError):
        out = texc.ApplicationError(err.message)
    else:
        out = texc.ApplicationError(str(err), type=type(err).__name__)
    out.__suppress_context__ = True
    return out


def _convert_chain(err: BaseException) -> BaseException:
    top = _convert_one(err)
    cur, src, depth = top, err.__cause__, 0
    while src is not None and depth < 64:
        nxt = _convert_one(src)
        cur.__cause__ = nxt
        cur, src, depth = nxt, src.__cause__, depth + 1
    return top


_TIMEOUT_NAMES = {
    fc.TimeoutType.START_TO_CLOSE: "StartToClose",
    fc.TimeoutType.SCHEDULE_TO_START: "ScheduleToStart",
    fc.TimeoutType.SCHEDULE_TO_CLOSE: "ScheduleToClose",
    fc.TimeoutType.HEARTBEAT: "Heartbeat",
}
_RETRIED_TIMEOUTS = (fc.TimeoutType.START_TO_CLOSE, fc.TimeoutType.HEARTBEAT)


def to_temporal_error(failure: BaseException) -> texc.ApplicationError:
    """The error a bridged activity raises for a fastcore failure (see the module doc).

    Args:
        failure: The ``__cause__`` of fastcore's ``WorkflowFailureError``.

    Returns:
        An ``ApplicationError`` made from the innermost failure, caused by the whole chain
        converted to ``temporalio.exceptions`` (the error itself for a bare application error).
    """
    chain = _convert_chain(failure)
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
        converted = _convert_one(root)
        if isinstance(converted, texc.ApplicationError):
            top = converted
        else:  # a wrapper without a cause
            top = texc.ApplicationError(str(converted), type=type(root).__name__)
    top.__suppress_context__ = True
    top.__cause__ = chain
    return top


def _start_error(err: fc.FastcoreError) -> texc.ApplicationError:
    out = texc.ApplicationError(str(err), type=type(err).__name__, non_retryable=True)
    out.__suppress_context__ = True
    return out


# ---------------------------------------------------------------------------- checkpoints


class _Checkpointer:
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


# ---------------------------------------------------------------------------- the activity


class _Runner:
    """Runs one bridged sub-workflow per activity attempt."""

    def __init__(
        self,
        engine: Engine,
        workflows: Mapping[str, Any] | None,
        bridge_address: str | None,
        checkpoint_interval: float,
        on_timing: Callable[[float, float], None] | None,
    ) -> None:
        self.engine = engine
        self.workflows = workflows
        self.bridge_address = bridge_address
        self.checkpoint_interval = checkpoint_interval
        self.on_timing = on_timing
        self.host = socket.gethostname()
        self.pid = os.getpid()

    async def run(self, inp: FastcoreWorkflowInput) -> Any:
        if self.on_timing is None:
            return await self._run(inp, None)
        spent = [0.0]  # seconds awaiting the engine (start or import, then the result)
        start = time.perf_counter()
        result = await self._run(inp, spent)
        self.on_timing(time.perf_counter() - start, spent[0])
        return result

    async def _run(self, inp: FastcoreWorkflowInput, spent: list[float] | None) -> Any:
        info = activity.info()
        name = inp.workflow
        if self.workflows is not None and name not in self.workflows:
            raise texc.ApplicationError(
                f"fastcore workflow {name!r} is not registered on this worker (hosted: "
                f"{sorted(self.workflows)})",
                type="NotFoundError",
            )
        wid = inp.id or f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        owner = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity_id": info.activity_id,
        }
        t0 = time.perf_counter() if spent is not None else 0.0
        try:
            if info.attempt == 1 and not info.heartbeat_details:
                handle = await self._start(name, inp, wid, owner)
            else:
                handle = await self._attach(name, inp, wid, owner, info)
        except fc.FastcoreError as err:
            raise _start_error(err) from None
        if spent is not None:
            spent[0] += time.perf_counter() - t0
        checkpointer: list[_Checkpointer] = []
        mirrors: list[MirrorStream] = []
        follow = None
        if not info.is_local or inp.mirror:
            # Only runs that do not finish at once are checkpointed (and mirrored): the
            # callback fires only if result() below has to wait.
            def follow_run() -> None:
                if not info.is_local:
                    checkpointer.append(self._checkpointer(handle, name, info))
                if inp.mirror:
                    stream = self._mirror(handle, name, info, inp.state_query)
                    if stream is not None:
                        mirrors.append(stream)

            follow = asyncio.get_running_loop().call_soon(follow_run)
        flush = MIRROR_FLUSH_TIMEOUT.total_seconds()
        try:
            if spent is None:
                return await handle.result(result_type=object)
            t0 = time.perf_counter()
            result = await handle.result(result_type=object)
            spent[0] += time.perf_counter() - t0
            return result
        except fc.WorkflowFailureError as err:
            raise to_temporal_error(err.cause or err)  # noqa: B904 - the mapped chain is the cause
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            if details is not None and details.cancel_requested:
                return await self._cancel(handle)
            flush = 0.0  # the run stays open: leave at once; a retry's mirror resends it
            if details is not None and details.worker_shutdown:
                raise texc.ApplicationError(
                    "the worker is shutting down; a retry resumes the fastcore workflow "
                    f"{handle.id!r} from its checkpoint",
                    type="WorkerShutdown",
                ) from None
            raise
        finally:
            if follow is not None:
                follow.cancel()
            for c in checkpointer:
                c.stop()
            for m in mirrors:
                # The last batch (the closing event) before the result: a whole mirror.
                await m.close(flush)

    def _mirror(
        self, handle: WorkflowHandle, name: str, info: activity.Info, state_query: str | None
    ) -> MirrorStream | None:
        target = mirror_target(info)
        if target is None:
            return None
        location = {
            "workflow_id": handle.id,
            "run_id": handle.run_id or "",
            "workflow_type": name,
            "bridge_address": self.bridge_address or "",
            "identity": self.engine.identity,
            "host": self.host,
            "pid": self.pid,
            "activity_id": info.activity_id,
            "attempt": info.attempt,
        }
        return MirrorStream(
            handle, location, target, state_query=state_query, gap=self.checkpoint_interval
        )

    def _checkpointer(
        self, handle: WorkflowHandle, name: str, info: activity.Info
    ) -> _Checkpointer:
        hb = info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else None
        keepalive = hb * 0.4 if hb else _NO_KEEPALIVE
        header = _header(
            handle.id,
            handle.run_id or "",
            name,
            self.engine.identity,
            self.bridge_address,
            self.host,
            self.pid,
        )
        return _Checkpointer(handle, header, min(self.checkpoint_interval, keepalive), keepalive)

    async def _start(
        self, name: str, inp: FastcoreWorkflowInput, wid: str, owner: dict[str, Any]
    ) -> WorkflowHandle:
        try:
            return await self.engine.start_workflow(
                name,
                args=inp.args,
                id=wid,
                execution_timeout=(
                    timedelta(seconds=inp.execution_timeout) if inp.execution_timeout else None
                ),
                memo={**(inp.memo or {}), OWNER_MEMO_KEY: owner},
            )
        except fc.WorkflowAlreadyStartedError:
            live = await self._describe(wid)
            if (
                live is None
                or live.status is not _S.RUNNING
                or live.memo.get(OWNER_MEMO_KEY) != owner
            ):
                raise
            return self.engine.get_workflow_handle(wid, run_id=live.run_id)

    async def _describe(self, wid: str) -> Any:
        try:
            return await self.engine.get_workflow_handle(wid).describe()
        except fc.WorkflowNotFoundError:
            return None

    async def _attach(
        self,
        name: str,
        inp: FastcoreWorkflowInput,
        wid: str,
        owner: dict[str, Any],
        info: activity.Info,
    ) -> WorkflowHandle:
        engine = self.engine
        live = await self._describe(wid)
        mine = live is not None and live.memo.get(OWNER_MEMO_KEY) == owner
        if live is not None and mine and live.status is _S.RUNNING:
            return engine.get_workflow_handle(wid, run_id=live.run_id)  # left here earlier
        cp = FastcoreCheckpoint.from_heartbeat_details(info.heartbeat_details)
        if cp is not None and cp.workflow_id == wid and cp.events:
            if live is not None and live.run_id == cp.run_id:
                if live.status is _S.COMPLETED:
                    return engine.get_workflow_handle(wid, run_id=live.run_id)
            elif cp.status in (_S.RUNNING, _S.COMPLETED):
                return await engine.import_history(cp.events)
        if live is not None and mine and live.status is _S.COMPLETED:
            return engine.get_workflow_handle(wid, run_id=live.run_id)  # result not reported
        return await self._start(name, inp, wid, owner)

    async def _cancel(self, handle: WorkflowHandle) -> Any:
        """Cancel the sub-workflow, wait for its cleanup, and report how it ended."""
        await handle.cancel()
        try:
            return await asyncio.shield(handle.result(result_type=object))
        except fc.WorkflowFailureError as err:
            if isinstance(err.cause, fc.CancelledError):
                raise asyncio.CancelledError() from None
            raise to_temporal_error(err.cause or err)  # noqa: B904 - the mapped chain is the cause


def fastcore_activities(
    engine: Engine,
    *,
    workflows: Sequence[Any] | None = None,
    bridge_address: str | None = None,
    activity_name: str = FASTCORE_ACTIVITY_NAME,
    checkpoint_interval: timedelta = timedelta(milliseconds=50),
    on_timing: Callable[[float, float], None] | None = None,
) -> list[Callable[[FastcoreWorkflowInput], Awaitable[Any]]]:
    """Temporal activities that run fastcore workflows in ``engine``; register them on a Worker.

    ``Worker(client, task_queue=..., workflows=[...], activities=fastcore_activities(engine,
    workflows=[Checkout]))``; Temporal workflow code then calls
    ``await bridge.execute_fastcore_workflow(Checkout.run, order, ...)``.

    Args:
        engine: The worker's fastcore engine (started, or started on first use).
        workflows: The fastcore workflows (classes, run methods or names) this worker hosts;
            each must be registered with ``engine``. None hosts every workflow it has.
        bridge_address: This worker's gRPC bridge endpoint, recorded in each checkpoint so
            other processes can reach the sub-workflow (signals, queries) where it runs.
        activity_name: The activity's name (one per worker; the workflow side's default).
        checkpoint_interval: The shortest time between two checkpoint heartbeats.
        on_timing: Called after each successful attempt with the seconds spent in the
            activity and the part of them spent awaiting the engine (start or import, and
            the result): the difference is the bridge's own cost. For benchmarks.

    Returns:
        A list with the one generic activity.

    Raises:
        ValueError: A workflow in ``workflows`` is not registered with ``engine``.
    """
    hosted: dict[str, Any] | None = None
    if workflows is not None:
        hosted = {}
        for ref in workflows:
            defn = engine.workflow_definition(ref)
            if defn is None or defn.name is None:
                label = ref if isinstance(ref, str) else getattr(ref, "__qualname__", repr(ref))
                raise ValueError(f"fastcore workflow {label!r} is not registered with the engine")
            hosted[defn.name] = defn
    runner = _Runner(engine, hosted, bridge_address, checkpoint_interval.total_seconds(), on_timing)

    async def run_fastcore_workflow(input: FastcoreWorkflowInput) -> Any:
        return await runner.run(input)

    run_fastcore_workflow.__doc__ = "Run a fastcore workflow in this worker's engine."
    return [activity.defn(name=activity_name)(run_fastcore_workflow)]
