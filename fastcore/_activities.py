"""Running one scheduled activity: attempts, retries with backoff, timeouts, heartbeats.

An ``async def`` activity is first driven by hand: if it returns without awaiting real I/O,
it costs no asyncio task. Otherwise the same coroutine continues as a task on the engine's
loop. A plain ``def`` runs in the engine's thread pool; a cancellation (requested, a timeout,
the engine shutting down) raises ``CancelledError`` in its thread, as temporalio does, unless
it was declared ``no_thread_cancel_exception`` (then it polls ``activity.is_cancelled()``).

Each failed attempt is logged (``fastcore._failure_logs``). An attempt that calls
``activity.raise_complete_async()`` ends without an outcome: the activity stays pending
(its timeouts still run) until an ``AsyncActivityHandle`` completes, fails or cancels it
(``complete_external``, ``fail_external``, ``cancel_external``).
"""

from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures
import contextlib
from collections.abc import Generator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from . import activity as _activity
from ._clock import Clock
from ._converter import DataConverter, Payload
from ._definitions import ActivityDefinition
from ._description import PendingActivityInfo, PendingActivityState
from ._failure import from_failure, to_failure
from ._failure_logs import activity_attempt_cancelled, activity_attempt_failed
from ._metric_meter import otel_meter
from ._signal import Signal
from ._store import RunRecord
from ._task_token import make_token
from ._telemetry import Telemetry
from ._thread_cancel import ThreadCancel
from ._timers import TimerEntry, TimerService
from .common import RetryPolicy
from .errors import (
    ApplicationError,
    CancelledError,
    RetryState,
    TimeoutType,
)
from .errors import TimeoutError as FcTimeoutError
from .history import Event

__all__ = ["ActivityHost", "ActivityTask", "HasRecord"]

_Context = _activity._Context
_new_context = object.__new__
_set_ctx = _activity._current.set
_reset_ctx = _activity._current.reset
_CompleteAsync = _activity._CompleteAsyncError
_Details = _activity.ActivityCancellationDetails
_CANCEL_REQUESTED = _Details(cancel_requested=True)
_TIMED_OUT = _Details(timed_out=True)
_WORKER_SHUTDOWN = _Details(worker_shutdown=True)


_DONE = object()
_NO_ENTRIES: list[Any] = []  # shared and never written (``ActivityTask._deadlines``)
_RUNNING = object()  # an attempt's result before it returned


class _Resume(collections.abc.Coroutine):  # type: ignore[type-arg]
    """Lets an asyncio task carry on a coroutine that was already started by hand.

    A coroutine object of its own (not an ``async def``), so a cancellation that arrives
    before the task's first step still reaches the activity at its await.
    """

    __slots__ = ("coro", "first")

    def __init__(self, coro: Any, first: Any) -> None:
        self.coro = coro
        self.first = first

    def send(self, value: Any) -> Any:
        first = self.first
        if first is not _DONE:
            self.first = _DONE
            return first
        return self.coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self.first = _DONE
        if val is None and tb is None:
            return self.coro.throw(typ)
        return self.coro.throw(typ, val, tb)  # pragma: no cover - old-style call

    def close(self) -> None:
        self.coro.close()

    def __await__(self) -> Generator[Any, Any, Any]:  # pragma: no cover - never awaited
        raise TypeError("not awaitable")


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _td(seconds: float | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds else None


class HasRecord(Protocol):
    """The run an activity belongs to: its record names the workflow in ``activity.info()``."""

    @property
    def record(self) -> RunRecord: ...


R = TypeVar("R", bound=HasRecord)


class ActivityHost(Protocol[R]):
    """What an activity task needs from the engine part that dispatches it."""

    clock: Clock
    timers: TimerService
    converter: DataConverter
    telemetry: Telemetry
    #: set when the engine begins to shut down (``activity.is_worker_shutdown()``)
    shutdown_signal: Signal
    #: whether that signal is set (a plain flag: read before every attempt)
    shutting_down: bool
    #: what ``activity.client()`` answers (the engine)
    client: Any

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The pool plain ``def`` activities run in."""
        ...

    def activity_started(self, task: ActivityTask[R], noted: bool = False) -> None:
        """An attempt is in flight (for time skipping and telemetry; ``noted``: telemetry's
        ``activity_attempt_started`` was called for it already)."""
        ...

    def activity_ended(self, task: ActivityTask[R], err: BaseException | None = None) -> None:
        """An attempt that was in flight ended (``err`` if it failed)."""
        ...

    def activity_resolved(self, task: ActivityTask[R], outcome: str, attrs: dict[str, Any]) -> None:
        """The activity is done (``outcome``: completed, failed, timed_out or canceled)."""
        ...

    def activity_fault(self, task: ActivityTask[R], err: BaseException) -> None:
        """Handling an attempt's outcome raised inside the engine (not in the activity)."""
        ...


class ActivityTask(Generic[R]):
    """One scheduled activity of one run, across all its attempts."""

    __slots__ = (
        "_attempt_id",
        "_attempt_scheduled",
        "_cancel_signal",
        "_deadline_entries",
        "_policy",
        "_raiser",
        "_started_at",
        "_task",
        "_thread_future",
        "async_pending",
        "attempt",
        "cancel_details",
        "cancel_requested",
        "defn",
        "event",
        "external_waiter",
        "finished",
        "heartbeat_details",
        "host",
        "last_failure",
        "last_heartbeat",
        "local",
        "run",
        "schedule_deadline",
        "telemetry_state",
        "timed_out",
        "wait_durable",
    )

    def __init__(
        self, host: ActivityHost[R], run: R, event: Event, defn: ActivityDefinition
    ) -> None:
        self.host = host
        self.run = run
        self.event = event
        self.defn = defn
        a = event.attributes
        self._policy: RetryPolicy | None = None
        s2c = a.get("schedule_to_close_timeout")
        self.schedule_deadline = event.timestamp + s2c if s2c else None
        self.attempt = 0
        self.heartbeat_details: Sequence[Any] = ()
        self.last_heartbeat = 0.0
        self.cancel_requested = False
        self.finished = False
        self.timed_out: TimeoutType | None = None
        self._attempt_id = 0
        self._task: Any = None
        #: armed deadlines (a shared empty list until the first: most attempts arm none
        #: that outlive them; ``_deadlines()`` makes the run's own)
        self._deadline_entries: list[TimerEntry] = _NO_ENTRIES
        self._attempt_scheduled = event.timestamp  # when the current attempt was due
        self._raiser: ThreadCancel | None = None  # the running sync attempt's thread
        self._thread_future: concurrent.futures.Future[Any] | None = None
        self._cancel_signal: Signal | None = None  # made when activity code waits on it
        #: why the activity was cancelled (``activity.cancellation_details()``)
        self.cancel_details: _activity.ActivityCancellationDetails | None = None
        #: the last attempt's failure (a failure dict), for ``describe()``
        self.last_failure: dict[str, Any] | None = None
        #: what telemetry keeps for this activity (its spans), None until its first attempt
        self.telemetry_state: Any = None
        #: the last attempt called ``activity.raise_complete_async()``: awaiting a handle
        self.async_pending = False
        #: an outcome reported through a handle waits until it is durable
        self.wait_durable = False
        self.external_waiter: asyncio.Future[None] | None = None
        #: a local activity's sequence number (0: an activity with a scheduled event)
        self.local = 0

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy, read from the scheduled event when first needed."""
        if self._policy is None:
            rp = self.event.attributes.get("retry_policy")
            self._policy = RetryPolicy.from_dict(rp) if rp else RetryPolicy()
        return self._policy

    def info(self) -> _activity.Info:
        """The running attempt's ``activity.info()`` (built on demand: most never ask)."""
        a = self.event.attributes
        rec = self.run.record
        rp = a.get("retry_policy")
        started = rec.history[0].attributes if rec.history else {}
        return _activity.Info(
            activity_id=a["activity_id"],
            activity_type=a["activity_type"],
            attempt=self.attempt,
            current_attempt_scheduled_time=datetime.fromtimestamp(self._attempt_scheduled, UTC),
            heartbeat_details=tuple(self.heartbeat_details),
            heartbeat_timeout=_td(a.get("heartbeat_timeout")),
            is_local=bool(self.local),
            namespace="default",
            schedule_to_close_timeout=_td(a.get("schedule_to_close_timeout")),
            scheduled_time=datetime.fromtimestamp(self.event.timestamp, UTC),
            start_to_close_timeout=_td(a.get("start_to_close_timeout")),
            started_time=datetime.fromtimestamp(self._started_at, UTC),
            # an activity runs on its workflow's task queue unless its call names one
            task_queue=a.get("task_queue") or started.get("task_queue") or "fastcore",
            task_token=self.task_token,
            workflow_id=rec.workflow_id,
            workflow_namespace="default",
            workflow_run_id=rec.run_id,
            workflow_type=rec.workflow_type,
            retry_policy=RetryPolicy.from_dict(rp) if rp else None,
        )

    def client(self) -> Any:
        """The engine's client (``activity.client()``): the engine itself."""
        return self.host.client

    def payload_converter(self) -> Any:
        """The engine's payload converter (``activity.payload_converter()``)."""
        return self.host.converter.payload_converter

    def metric_meter(self) -> Any:
        """A meter tagged with the namespace, task queue and activity type, as temporalio
        tags an activity's (``activity.metric_meter()``)."""
        info = self.info()
        return otel_meter(
            self.host.telemetry.meter,
            {
                "namespace": info.namespace,
                "task_queue": info.task_queue,
                "activity_type": info.activity_type,
            },
        )

    @property
    def task_token(self) -> bytes:
        """What names this activity to ``Engine.get_async_activity_handle``."""
        rec = self.run.record
        return make_token(rec.workflow_id, rec.run_id, self.event.event_id)

    def pending_info(self, identity: str) -> PendingActivityInfo:
        """What ``describe()`` shows of this activity (Temporal's ``PendingActivityInfo``)."""
        a = self.event.attributes
        running = self.in_progress
        if self.cancel_requested:
            state = PendingActivityState.CANCEL_REQUESTED
        elif running:
            state = PendingActivityState.STARTED
        else:
            state = PendingActivityState.SCHEDULED
        started = self.attempt > 0
        failure = self.last_failure
        conv = self.host.converter
        rp = a.get("retry_policy") or {}
        return PendingActivityInfo(
            activity_id=a["activity_id"],
            activity_type=a["activity_type"],
            state=state,
            attempt=max(self.attempt if running or not started else self.attempt + 1, 1),
            maximum_attempts=int(rp.get("maximum_attempts") or 0),
            scheduled_time=_utc(self.event.timestamp),
            last_started_time=_utc(self._started_at) if started else None,
            last_heartbeat_time=_utc(self.last_heartbeat) if started else None,
            heartbeat_details=tuple(self.heartbeat_details),
            last_failure=from_failure(failure, conv) if failure is not None else None,
            next_attempt_schedule_time=(
                _utc(self._attempt_scheduled) if started and not running else None
            ),
            expiration_time=(
                _utc(self.schedule_deadline) if self.schedule_deadline is not None else None
            ),
            last_worker_identity=identity if started else "",
        )

    # ---------------------------------------------------------------- what activity code asks

    def cancellation_details(self) -> _activity.ActivityCancellationDetails | None:
        """Why the activity was cancelled, once it was."""
        return self.cancel_details

    def shield(self) -> Any:
        """``activity.shield_thread_cancel_exception()``: delays the thread's cancellation."""
        r = self._raiser
        return r.shielded() if r is not None else contextlib.nullcontext()

    def _signal(self) -> Signal:
        sig = self._cancel_signal
        if sig is None:
            sig = self._cancel_signal = Signal()
            if self.cancel_requested:
                sig.set()
        return sig

    async def wait_cancelled(self) -> None:
        """``activity.wait_for_cancelled()``."""
        await self._signal().wait()

    def wait_cancelled_sync(self, timeout: float | None) -> None:
        """``activity.wait_for_cancelled_sync()``."""
        self._signal().wait_sync(timeout)

    def is_worker_shutdown(self) -> bool:
        """``activity.is_worker_shutdown()``."""
        return self.host.shutdown_signal.is_set()

    async def wait_worker_shutdown(self) -> None:
        """``activity.wait_for_worker_shutdown()``."""
        await self.host.shutdown_signal.wait()

    def wait_worker_shutdown_sync(self, timeout: float | None) -> None:
        """``activity.wait_for_worker_shutdown_sync()``."""
        self.host.shutdown_signal.wait_sync(timeout)

    # ---------------------------------------------------------------- attempts

    def start(self) -> None:
        """Begin the first attempt (also after a restart: activities are at-least-once)."""
        if self.schedule_deadline is not None:
            self._deadlines().append(
                self.host.timers.call_at(self.schedule_deadline, self._schedule_to_close_fired)
            )
        self._run_attempt()

    def _deadlines(self) -> list[TimerEntry]:
        """The attempt's armed deadlines, a list of its own (made on the first)."""
        entries = self._deadline_entries
        if entries is _NO_ENTRIES:
            entries = self._deadline_entries = []
        return entries

    def _run_attempt(self) -> None:
        if self.finished or self.host.shutting_down:
            return  # shutting down: the attempt runs again when the run is recovered
        self.attempt += 1
        self._attempt_id += 1
        attempt_id = self._attempt_id
        self.timed_out = None
        self.async_pending = False
        host = self.host
        a = self.event.attributes
        now = host.clock.now()
        self.last_heartbeat = now
        self._started_at = now
        ctx = _new_context(_Context)  # (``_Context(self)`` without an __init__ frame)
        ctx._attempt = self
        ctx._info = None
        ctx._logger_details = None
        defn = self.defn
        # An async attempt that returns without awaiting real I/O is recorded without the
        # in-flight bookkeeping (time skipping's count): it was never in flight. Telemetry
        # notes its span before its code runs (``noted``), and says what makes it current.
        quiet = defn.is_async
        tel = host.telemetry
        noted = tel.enabled
        trace_ctx: Any = None
        if not quiet:
            host.activity_started(self)
        elif noted:
            trace_ctx = tel.activity_attempt_started(self)
        # Outcomes are delivered outside every except block (and, below, outside the
        # activity's context): the workflow code they wake runs then, and must not find the
        # activity's exception as the context of its own, nor activity.info().
        error: BaseException | None = None
        try:
            inp = a.get("input") or []
            if defn.dynamic:
                args: list[Any] = [host.converter.decode(inp)]
            elif len(inp) == 1:  # the common call: one argument, no list comprehension
                hints = defn.arg_hints
                args = [host.converter.decode_one(inp[0], hints[0] if hints else None)]
            else:
                args = host.converter.decode(inp, defn.arg_hints)
        except BaseException as err:
            error = err
        if error is not None:
            if quiet:
                host.activity_started(self, noted)
            self._attempt_failed(attempt_id, error)
            return
        if quiet:
            result: Any = _RUNNING
            token = _set_ctx(ctx)
            trace_token = None if trace_ctx is None else tel.attach_trace(trace_ctx)
            try:
                coro = defn.fn(*args)
                try:
                    first = coro.send(None)
                except StopIteration as stop:
                    result = stop.value
                except BaseException as err:
                    error = err
                else:
                    host.activity_started(self, noted)
                    # It awaits real I/O: carry on as a task (it inherits the context).
                    task = asyncio.get_running_loop().create_task(_Resume(coro, first))
            finally:
                _reset_ctx(token)
                if trace_ctx is not None:
                    tel.detach_trace(trace_token)
            if error is not None:
                host.activity_started(self, noted)
                self._attempt_failed(attempt_id, error)
                return
            if result is not _RUNNING:
                # completed at once: never in flight
                try:
                    payload = host.converter.encode_one(result)
                except BaseException as err:
                    error = err
                if error is not None:
                    host.activity_started(self, noted)
                    self._attempt_failed(attempt_id, error)
                    return
                if noted:
                    tel.activity_attempt_ended(self)
                self.finished = True
                if self._deadline_entries:
                    self._finish()
                host.activity_resolved(
                    self, "completed", {"result": payload, "attempt": self.attempt}
                )
                return
            self._arm_attempt_timers(attempt_id, now)
            self._task = task
            task.add_done_callback(lambda t: self._task_done(attempt_id, t))
        else:
            raiser = None if defn.no_thread_cancel_exception else ThreadCancel()
            self._raiser = raiser
            thread_future = host.executor.submit(self._call_sync, ctx, args, raiser)
            self._thread_future = thread_future
            fut = asyncio.wrap_future(thread_future)
            self._arm_attempt_timers(attempt_id, now)
            self._task = fut
            fut.add_done_callback(lambda f: self._task_done(attempt_id, f))

    def _call_sync(self, ctx: Any, args: list[Any], raiser: ThreadCancel | None) -> Any:
        token = _set_ctx(ctx)
        trace_token = self.host.telemetry.enter_activity(self)
        try:
            if raiser is None:
                return self.defn.fn(*args)
            with raiser.active():
                return self.defn.fn(*args)
        finally:
            _reset_ctx(token)
            if trace_token is not None:
                self.host.telemetry.exit_activity(trace_token)

    def _task_done(self, attempt_id: int, fut: Any) -> None:
        try:
            if fut.cancelled():
                err: BaseException = asyncio.CancelledError()
            else:
                exc = fut.exception()
                if exc is None:
                    self._attempt_succeeded(attempt_id, fut.result())
                    return
                err = exc
            self._attempt_failed(attempt_id, err)
        except Exception as fault:  # the engine's handling raised, not the activity
            self.host.activity_fault(self, fault)

    def _arm_attempt_timers(self, attempt_id: int, now: float) -> None:
        a = self.event.attributes
        s2c = a.get("start_to_close_timeout")
        hb = a.get("heartbeat_timeout")
        if not s2c and not hb:
            return
        timers = self.host.timers
        if s2c:
            self._deadlines().append(
                timers.call_at(
                    now + s2c, self._attempt_timed_out, attempt_id, TimeoutType.START_TO_CLOSE
                )
            )
        if hb:
            self._deadlines().append(
                timers.call_at(now + hb, self._heartbeat_check, attempt_id, hb)
            )

    def _heartbeat_check(self, attempt_id: int, hb: float) -> None:
        if attempt_id != self._attempt_id or self.finished:
            return
        due = self.last_heartbeat + hb
        if self.host.clock.now() >= due:
            self._attempt_timed_out(attempt_id, TimeoutType.HEARTBEAT)
        else:
            self._deadlines().append(
                self.host.timers.call_at(due, self._heartbeat_check, attempt_id, hb)
            )

    def _attempt_timed_out(self, attempt_id: int, kind: TimeoutType) -> None:
        if attempt_id != self._attempt_id or self.finished:
            return
        err = FcTimeoutError(
            f"activity {kind.name} timeout",
            type=kind,
            last_heartbeat_details=tuple(self.heartbeat_details),
        )
        self._abandon_attempt(err, _TIMED_OUT)
        self._attempt_failed(attempt_id, err, timed_out=True)

    def _schedule_to_close_fired(self) -> None:
        if self.finished:
            return
        err = FcTimeoutError(
            "activity SCHEDULE_TO_CLOSE timeout",
            type=TimeoutType.SCHEDULE_TO_CLOSE,
            last_heartbeat_details=tuple(self.heartbeat_details),
        )
        task = self._task
        if (task is not None and not task.done()) or self.async_pending:
            activity_attempt_failed(self.info(), err)  # an attempt was still under way
        self._abandon_attempt(err, _TIMED_OUT)
        self._finish_failed(err, RetryState.TIMEOUT)

    def _abandon_attempt(
        self,
        err: BaseException | None = None,
        why: _activity.ActivityCancellationDetails | None = None,
    ) -> Any:
        """Stop the running attempt: its outcome no longer counts (``err`` says why).

        Returns an awaitable that completes when the attempt's code has stopped, when it was
        still running (a shutdown waits for it to unwind).
        """
        self._attempt_id += 1
        task = self._task
        self._task = None
        raiser = self._raiser
        self._raiser = None
        thread_future = self._thread_future
        self._thread_future = None
        if task is not None and not task.done():
            if why is not None and self.cancel_details is None:
                self.cancel_details = why
            self.host.activity_ended(self, err)
            if self.defn.is_async:
                task.cancel()
                return task
            if raiser is not None:
                raiser.cancel()  # CancelledError in its thread, as temporalio's
            if thread_future is None or thread_future.cancel():
                return None  # it had not started: it never will
            return asyncio.wrap_future(thread_future)  # done when the thread lets go
        return None

    # ---------------------------------------------------------------- outcomes

    def _attempt_succeeded(self, attempt_id: int, value: Any) -> None:
        if attempt_id != self._attempt_id or self.finished:
            return
        try:
            payload = self.host.converter.encode_one(value)
        except BaseException as err:
            self._attempt_failed(attempt_id, err)
            return
        self.host.activity_ended(self)
        self._finish()
        self.host.activity_resolved(self, "completed", {"result": payload, "attempt": self.attempt})

    def _attempt_failed(
        self,
        attempt_id: int,
        err: BaseException,
        *,
        timed_out: bool = False,
        already_ended: bool = False,
    ) -> None:
        if attempt_id != self._attempt_id and not timed_out:
            return
        if self.finished:
            return
        if isinstance(err, _CompleteAsync) and self.local:
            err = ApplicationError(
                "a local activity cannot complete asynchronously (raise_complete_async)",
                type="InvalidArgumentError",
                non_retryable=True,
            )
        if isinstance(err, _CompleteAsync):
            # the attempt ends without an outcome; a handle reports it (timeouts still run)
            self._task = None
            self._raiser = None
            self.async_pending = True
            if not already_ended:
                self.host.activity_ended(self, err)
            return
        if not timed_out and not already_ended:
            self.host.activity_ended(self, err)
        self._task = None
        self._raiser = None
        self.async_pending = False
        if self.cancel_requested:
            activity_attempt_cancelled(self.info())
            self._finish()
            self.host.activity_resolved(self, "canceled", {"details": []})
            return
        if isinstance(err, asyncio.CancelledError):
            err = CancelledError("Activity cancelled")
        activity_attempt_failed(self.info(), err)
        self.last_failure = to_failure(err, self.host.converter)
        policy = self.policy
        name = err.type if isinstance(err, ApplicationError) and err.type else type(err).__name__
        if isinstance(err, ApplicationError) and err.non_retryable:
            self._finish_failed(err, RetryState.NON_RETRYABLE_FAILURE)
            return
        if policy.non_retryable_error_types and name in policy.non_retryable_error_types:
            self._finish_failed(err, RetryState.NON_RETRYABLE_FAILURE)
            return
        if policy.maximum_attempts and self.attempt >= policy.maximum_attempts:
            self._finish_failed(err, RetryState.MAXIMUM_ATTEMPTS_REACHED)
            return
        delay = policy.backoff(self.attempt)
        if isinstance(err, ApplicationError) and err.next_retry_delay is not None:
            delay = err.next_retry_delay.total_seconds()
        retry_at = self.host.clock.now() + delay
        if self.schedule_deadline is not None and retry_at >= self.schedule_deadline:
            self._finish_failed(err, RetryState.TIMEOUT)
            return
        self._attempt_id += 1
        self._attempt_scheduled = retry_at
        # keep only the deadlines still armed: a retry loop of any length stays small
        entries = [e for e in self._deadline_entries if not e.cancelled]
        entries.append(self.host.timers.call_at(retry_at, self._run_attempt))
        self._deadline_entries = entries

    def _finish(self) -> None:
        self.finished = True
        self._task = None
        entries = self._deadline_entries
        if entries:
            for entry in entries:
                entry.cancel()
            self._deadline_entries = _NO_ENTRIES

    def _finish_failed(self, err: BaseException, retry_state: RetryState) -> None:
        self._finish()
        kind = "timed_out" if isinstance(err, FcTimeoutError) else "failed"
        failure = self.last_failure
        if failure is None or kind == "timed_out":
            failure = to_failure(err, self.host.converter)
        self.host.activity_resolved(
            self,
            kind,
            {"failure": failure, "attempt": self.attempt, "retry_state": int(retry_state)},
        )

    # ---------------------------------------------------------------- from outside

    def heartbeat(self, details: Sequence[Any]) -> None:
        """Called by ``activity.heartbeat`` (any thread); raises a cancellation that could
        not be raised in the thread asynchronously."""
        self.last_heartbeat = self.host.clock.now()
        if details:
            self.heartbeat_details = tuple(details)
        raiser = self._raiser
        if raiser is not None:
            raiser.check()

    def cancel(self) -> None:
        """The workflow asked to cancel: deliver it to the running attempt."""
        if self.finished or self.cancel_requested:
            return
        self.cancel_requested = True
        if self.cancel_details is None:
            self.cancel_details = _CANCEL_REQUESTED
        if self._cancel_signal is not None:
            self._cancel_signal.set()
        task = self._task
        if task is None and self.async_pending:
            return  # the completer learns it from heartbeat() and reports the outcome
        if task is None:
            # between attempts (backoff): nothing runs, so it is cancelled now
            self._attempt_id += 1
            self._finish()
            self.host.activity_resolved(self, "canceled", {"details": []})
        elif self.defn.is_async:
            task.cancel()
        elif self._raiser is not None:
            self._raiser.cancel()  # CancelledError in the thread; its outcome reports it
        # (no_thread_cancel_exception: the thread polls activity.is_cancelled())

    def abandon(self, *, shutdown: bool = False) -> Any:
        """The run closed (or the engine shuts down): stop without reporting anything.

        Returns what ran the attempt (an asyncio task, or an executor future) when it was
        still running, so a shutdown can wait for it to unwind.
        """
        if self.finished:
            return None
        self.cancel_requested = True
        task = self._abandon_attempt(None, _WORKER_SHUTDOWN if shutdown else _CANCEL_REQUESTED)
        if self._cancel_signal is not None:
            self._cancel_signal.set()
        self._finish()
        return task

    # ---------------------------------------------------------------- through a handle

    def complete_external(self, payload: Payload) -> None:
        """``AsyncActivityHandle.complete``: the activity completed with ``payload``."""
        self._abandon_attempt(None, _CANCEL_REQUESTED)
        self._finish()
        self.host.activity_resolved(self, "completed", {"result": payload, "attempt": self.attempt})

    def fail_external(self, err: BaseException) -> None:
        """``AsyncActivityHandle.fail``: this attempt failed; the retry policy decides."""
        self._abandon_attempt(err, _CANCEL_REQUESTED)
        self._attempt_failed(self._attempt_id, err, already_ended=True)

    @property
    def in_progress(self) -> bool:
        """Whether an attempt runs or awaits its asynchronous completion (not in backoff)."""
        return not self.finished and (self._task is not None or self.async_pending)

    def cancel_external(self, details: list[Payload]) -> None:
        """``AsyncActivityHandle.report_cancellation``: the activity was cancelled."""
        self._abandon_attempt(None, _CANCEL_REQUESTED)
        self._finish()
        self.host.activity_resolved(self, "canceled", {"details": details})
