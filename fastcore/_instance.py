"""One workflow run's code, state and command/event matching (the replay machine).

The engine appends an input event, calls ``activate``; the instance delivers it to the code
and runs the private loop until everything is parked. Every command the code issues either
appends a new event (live) or must match the next recorded event (replay); a mismatch raises
``NondeterminismError`` naming the event. A run rebuilt after a crash replays its whole
history and then continues live from where it was, without running activities again.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._commands import _Commands
from ._converter import DataConverter
from ._definitions import WorkflowDefinition
from ._failure import from_failure, to_failure
from ._futures import FAILURE_ONLY, _Abort, _ActivityFuture, _ChildHandle, is_cancellation
from ._handlers_rt import _Handlers
from ._loop import WorkflowLoop
from .common import (
    RetryPolicy,
)
from .errors import (
    ActivityError,
    CancelledError,
    FailureError,
    NondeterminismError,
    RetryState,
    WorkflowAlreadyStartedError,
)
from .history import COMMAND_EVENTS, Event, EventType
from .workflow import ContinueAsNewError, Info, ParentInfo

if TYPE_CHECKING:
    from ._store import RunRecord

__all__ = ["WorkflowInstance"]

_NONE: dict[Any, Any] = {}  # shared and never written: replaced by a dict on first write

E = EventType
_PATCH_MARKER = "core_patch"
_DEFAULT_ACTIVITY_RETRY = RetryPolicy().to_dict()


class WorkflowInstance(_Commands, _Handlers):
    """The live state of one workflow run and the runtime its code calls into."""

    __slots__ = (
        "_activities",
        "_activity_seq",
        "_children",
        "_conditions",
        "_failure_types",
        "_info",
        "_now",
        "_patches",
        "_random",
        "_read_only",
        "_running_handlers",
        "_started_attrs",
        "_timer_counter",
        "_timers",
        "blocked",
        "cancel_requested",
        "closed",
        "converter",
        "cursor",
        "deferred",
        "defn",
        "engine",
        "history",
        "loop",
        "main_task",
        "nondeterminism",
        "obj",
        "replay_end",
        "run",
        "task_failure",
    )

    def __init__(
        self,
        *,
        engine: Any,
        run: RunRecord,
        defn: WorkflowDefinition,
        converter: DataConverter,
    ) -> None:
        self.engine = engine
        self.run = run
        self.history = run.history
        self.defn = defn
        self.converter = converter
        self.loop = WorkflowLoop(self)  # type: ignore[abstract]
        self.cursor = 0  # index of the next history event to process or match
        self.replay_end = 0  # events below this index were recorded before this instance
        self.obj: Any = None
        self.main_task: asyncio.Task[Any] | None = None
        self.closed = False
        self.cancel_requested = False
        self.task_failure: BaseException | None = None
        self.nondeterminism: NondeterminismError | None = None
        self._now = 0.0
        self._random: _random.Random | None = None
        self._timers: dict[int, Callable[[], None]] = {}
        self._timer_counter = 0
        self._activity_seq = 0
        self._activities: dict[int, _ActivityFuture] = {}
        self._children: dict[int, tuple[asyncio.Future[Any], _ChildHandle]] = _NONE
        self._conditions: list[tuple[asyncio.Future[Any], Callable[[], bool]]] = []
        self._patches: dict[str, bool] = _NONE
        self._running_handlers = 0
        self._info: Info | None = None
        self._started_attrs: dict[str, Any] = {}
        self._read_only = False
        self.blocked = False
        self.deferred: list[Event] = []
        self._failure_types: tuple[type[BaseException], ...] = (
            (FailureError, *defn.failure_exception_types, *engine.failure_exception_types)
            if defn.failure_exception_types or engine.failure_exception_types
            else FAILURE_ONLY
        )

    def dispose(self) -> None:
        """Drop the code's state once the run is closed (keeps memory and GC work small)."""
        self.closed = True
        self._activities.clear()
        self._timers.clear()
        self._children.clear()
        self._conditions.clear()
        self.main_task = None
        self.loop._ready.clear()

    # ------------------------------------------------------------------ runtime API

    def is_replaying(self) -> bool:
        return self.replay_end > 0

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    def random(self) -> _random.Random:
        if self._random is None:
            self._random = _random.Random(self._started_attrs.get("seed", 0))
        return self._random

    def info(self) -> Info:
        if self._info is None:
            self._info = self._make_info()
        return self._info

    def _make_info(self) -> Info:
        a = self._started_attrs
        parent = a.get("parent")
        run = self.run
        started = self.history[0].timestamp if self.history else self._now
        return Info(
            workflow_id=run.workflow_id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            attempt=int(a.get("attempt") or 1),
            namespace="default",
            task_queue="fastcore",
            start_time=datetime.fromtimestamp(started, UTC),
            run_timeout=timedelta(seconds=a["run_timeout"]) if a.get("run_timeout") else None,
            execution_timeout=(
                timedelta(seconds=a["execution_timeout"]) if a.get("execution_timeout") else None
            ),
            parent=(
                ParentInfo("default", parent["workflow_id"], parent["run_id"]) if parent else None
            ),
            continued_run_id=a.get("continued_run_id"),
            first_execution_run_id=a.get("first_run_id") or run.run_id,
            retry_policy=(
                RetryPolicy.from_dict(a["retry_policy"]) if a.get("retry_policy") else None
            ),
            _history_length=lambda: self.cursor,
        )

    def memo(self) -> Mapping[str, Any]:
        memo = self._started_attrs.get("memo") or {}
        return {k: self.converter.decode_one(v) for k, v in memo.items()}

    def instance(self) -> Any:
        return self.obj

    def all_handlers_finished(self) -> bool:
        return self._running_handlers == 0

    # ------------------------------------------------------------------ commands

    def _command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event:
        """Issue a command: append its event (live) or match the recorded one (replay)."""
        if self._read_only:
            raise RuntimeError("queries and update validators must not change workflow state")
        if self.closed:
            raise RuntimeError("the workflow has already completed")
        history = self.history
        while self.cursor < len(history):
            recorded = history[self.cursor]
            if recorded.event_type is etype and (not what or self._same(recorded, what, attrs)):
                self.cursor += 1
                return recorded
            if (
                recorded.event_type is E.MARKER_RECORDED
                and recorded.attributes.get("marker_name") == _PATCH_MARKER
                and recorded.attributes.get("details", {}).get("deprecated")
            ):
                # a deprecated patch whose call was removed from the code: skip it
                self.cursor += 1
                continue
            self._nondeterministic(recorded, etype, attrs)
        if self.replay_end:
            # replaying a recorded activation: it issued no more commands than this
            self._nondeterministic(None, etype, attrs)
        ev = Event(len(history) + 1, etype, self.engine.clock_now(), attrs)
        history.append(ev)
        self.cursor = len(history)
        return ev

    def _same(self, recorded: Event, what: str, attrs: dict[str, Any]) -> bool:
        return bool(recorded.attributes.get(what) == attrs.get(what))

    def _describe(self, etype: EventType, attrs: dict[str, Any]) -> str:
        detail = attrs.get("activity_type") or attrs.get("workflow_type") or ""
        if etype is E.MARKER_RECORDED:
            detail = attrs.get("details", {}).get("patch_id", "")
        return f"{etype.value}({detail})" if detail else etype.value

    def _nondeterministic(
        self, recorded: Event | None, etype: EventType | None, attrs: dict[str, Any] | None
    ) -> None:
        expected = (
            self._describe(recorded.event_type, recorded.attributes) if recorded else "nothing"
        )
        found = self._describe(etype, attrs or {}) if etype is not None else "nothing"
        index = recorded.event_id if recorded else len(self.history) + 1
        err = NondeterminismError(
            f"Nondeterminism in workflow {self.run.workflow_type!r} (id {self.run.workflow_id!r}) "
            f"at event {index}: history has {expected}, the code issued {found}",
            workflow_id=self.run.workflow_id,
            workflow_type=self.run.workflow_type,
            event_index=index,
            expected=expected,
            found=found,
        )
        self.nondeterminism = err
        raise _Abort()

    # ------------------------------------------------------------------ activation

    def activate(self, event: Event, after: int | None = None) -> None:
        """Deliver one input event (already in ``history``) and run the code until parked.

        ``after`` is the id of the event the commands follow (the input itself, or the
        ``WORKFLOW_TASK_RETRIED`` marker that re-delivers it).
        """
        marker = self.history[after - 1] if after is not None else event
        self.cursor = marker.event_id  # the next event to match is the one after it
        self._now = marker.timestamp
        try:
            self._deliver(event)
            self._run()
        except _Abort:
            pass

    def _run(self) -> None:
        loop = self.loop
        while True:
            loop.run_once()
            if loop.errors:
                err = loop.errors[0]
                loop.errors = None
                if isinstance(err, _Abort):
                    return
                self._fail_task(err)
                return
            if self.nondeterminism is not None or self.task_failure is not None:
                return
            if not self._conditions or not self._check_conditions():
                return

    def _fail_task(self, err: BaseException) -> None:
        if isinstance(err, NondeterminismError):
            self.nondeterminism = err
        elif self.task_failure is None:
            self.task_failure = err

    def _deliver(self, event: Event) -> None:
        et = event.event_type
        a = event.attributes
        if et is E.WORKFLOW_EXECUTION_STARTED:
            self._start(event)
        elif et is E.ACTIVITY_TASK_COMPLETED:
            fut = self._activities.pop(a["scheduled_event_id"], None)
            if fut is not None and not fut.done():
                fut.set_result(
                    self.converter.decode_one(a["result"], fut._hint)
                    if a.get("result") is not None
                    else None
                )
        elif et is E.ACTIVITY_TASK_FAILED or et is E.ACTIVITY_TASK_TIMED_OUT:
            fut = self._activities.pop(a["scheduled_event_id"], None)
            if fut is not None and not fut.done():
                err = ActivityError(
                    "Activity task failed"
                    if et is E.ACTIVITY_TASK_FAILED
                    else "Activity task timed out",
                    scheduled_event_id=fut._seq,
                    activity_type=fut.activity_type,
                    activity_id=fut.activity_id,
                    retry_state=RetryState(
                        a.get("retry_state") or RetryState.NON_RETRYABLE_FAILURE
                    ),
                )
                err.__cause__ = from_failure(a["failure"], self.converter)
                fut.set_exception(err)
        elif et is E.ACTIVITY_TASK_CANCELED:
            fut = self._activities.pop(a["scheduled_event_id"], None)
            if fut is not None and not fut.done():
                fut.set_exception(self._activity_cancelled(fut))
        elif et is E.TIMER_FIRED:
            cb = self._timers.pop(a["started_event_id"], None)
            if cb is not None:
                cb()
        elif et is E.WORKFLOW_EXECUTION_SIGNALED:
            self._signal(a["signal_name"], a.get("input") or [])
        elif et is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            self._accept_update(a["update_id"], a["name"], a.get("input") or [], event.event_id)
        elif et is E.WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            self.cancel_requested = True
            if self.main_task is not None and not self.main_task.done():
                self.main_task.cancel()
        elif et is E.CHILD_WORKFLOW_EXECUTION_STARTED:
            entry = self._children.get(a["initiated_event_id"])
            if entry is not None:
                started, handle = entry
                handle.run_id = a.get("run_id")
                handle.first_execution_run_id = a.get("run_id")
                handle._started = True
                if not started.done():
                    started.set_result(handle)
        elif et is E.START_CHILD_WORKFLOW_EXECUTION_FAILED:
            entry = self._children.pop(a["initiated_event_id"], None)
            if entry is not None:
                started, handle = entry
                if not started.done():
                    started.set_exception(
                        WorkflowAlreadyStartedError(
                            a.get("workflow_id", ""), a.get("workflow_type", "")
                        )
                    )
                if not handle.done():
                    handle.cancel = lambda msg=None: False  # type: ignore[method-assign]
        elif et in _CHILD_CLOSE:
            entry = self._children.pop(a["initiated_event_id"], None)
            if entry is None:
                return
            started, handle = entry
            if handle.done():
                return
            if et is E.CHILD_WORKFLOW_EXECUTION_COMPLETED:
                r = a.get("result")
                handle.set_result(
                    self.converter.decode_one(r, handle._hint) if r is not None else None
                )
            else:
                cerr = self._child_error(
                    handle, RetryState(a["retry_state"]) if a.get("retry_state") else None
                )
                if et is E.CHILD_WORKFLOW_EXECUTION_FAILED:
                    cerr.__cause__ = from_failure(a["failure"], self.converter)
                elif et is E.CHILD_WORKFLOW_EXECUTION_CANCELED:
                    cerr.__cause__ = CancelledError("Child workflow cancelled")
                elif et is E.CHILD_WORKFLOW_EXECUTION_TERMINATED:
                    from .errors import TerminatedError

                    cerr.__cause__ = TerminatedError("Child workflow terminated")
                else:
                    from .errors import TimeoutError as FcTimeoutError
                    from .errors import TimeoutType

                    cerr.__cause__ = FcTimeoutError(
                        "Child workflow timed out", type=TimeoutType.START_TO_CLOSE
                    )
                handle.set_exception(cerr)
                if not started.done():
                    started.set_exception(cerr)

    # ------------------------------------------------------------------ start & main

    def _start(self, event: Event) -> None:
        a = event.attributes
        self._started_attrs = a
        defn = self.defn
        if defn.dynamic:
            args: list[Any] = [self.converter.decode(a.get("input") or [])]
        else:
            args = self.converter.decode(a.get("input") or [], defn.run_arg_hints)
        token = self.loop.enter()
        try:
            if defn.init_takes_args:
                self.obj = defn.cls(*args)
            else:
                self.obj = defn.cls()
        finally:
            self.loop.leave(token)
        # Signals sent with the start are handled before the run method begins.
        i = event.event_id
        while i < len(self.history):
            nxt = self.history[i]
            if nxt.event_type is E.WORKFLOW_EXECUTION_SIGNALED and nxt.attributes.get("with_start"):
                self._signal(nxt.attributes["signal_name"], nxt.attributes.get("input") or [])
                i += 1
                if self.cursor < i:
                    self.cursor = i
            else:
                break
        # the run method is the task itself; its outcome closes the run (no wrapper frame)
        task = self.loop.create_task(defn.run_fn(self.obj, *args))
        task.add_done_callback(self._main_done)
        self.main_task = task

    def _main_done(self, task: asyncio.Task[Any]) -> None:
        """The run method returned or raised: issue the command that closes the run."""
        if self.closed:
            return
        if task.cancelled():
            if self.cancel_requested:
                self._close(E.WORKFLOW_EXECUTION_CANCELED, {"details": []})
            else:
                self._fail_task(asyncio.CancelledError())
            return
        err = task.exception()
        if err is None:
            self._close(
                E.WORKFLOW_EXECUTION_COMPLETED, {"result": self.converter.encode_one(task.result())}
            )
        elif isinstance(err, ContinueAsNewError):
            self._close(
                E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
                {
                    "new_execution_run_id": str(self.uuid4()),
                    "workflow_type": err.workflow or self.run.workflow_type,
                    "input": self.converter.encode(err.input_args),
                },
            )
        elif isinstance(err, _Abort):
            return
        elif isinstance(err, self._failure_types):
            if self.cancel_requested and is_cancellation(err):
                self._close(E.WORKFLOW_EXECUTION_CANCELED, {"details": []})
            else:
                self._close(
                    E.WORKFLOW_EXECUTION_FAILED, {"failure": to_failure(err, self.converter)}
                )
        else:
            self._fail_task(err)

    def _close(self, etype: EventType, attrs: dict[str, Any]) -> None:
        self._command(etype, attrs)
        self.closed = True

    # ------------------------------------------------------------------ replay

    def replay(self) -> list[Event]:
        """Re-run the code against the whole recorded history.

        Returns the inputs that were held back by a failed workflow task and never
        re-delivered; the engine re-delivers them live. Sets ``nondeterminism`` or
        ``task_failure`` when the code no longer fits.
        """
        history = self.history
        n = len(history)
        self.replay_end = n
        deferred: list[Event] = []
        blocked = False
        i = 0
        try:
            while i < n and self.nondeterminism is None and self.task_failure is None:
                ev = history[i]
                et = ev.event_type
                if et in COMMAND_EVENTS:
                    self._skip_or_fail(ev)
                    i = self.cursor
                    continue
                if et is E.WORKFLOW_TASK_FAILED:
                    blocked = True
                    i += 1
                    continue
                if et is E.WORKFLOW_TASK_RETRIED:
                    if i + 1 < n and history[i + 1].event_type is E.WORKFLOW_TASK_FAILED:
                        i += 2  # the retry failed too: still held back
                        continue
                    target = ev.attributes["input_event_id"]
                    if not deferred or deferred[0].event_id != target:
                        self._nondeterministic(ev, None, None)
                    x = deferred.pop(0)
                    blocked = bool(deferred)
                    self.activate(x, after=ev.event_id)
                    i = self.cursor
                    continue
                if et in (E.WORKFLOW_EXECUTION_TERMINATED, E.WORKFLOW_EXECUTION_TIMED_OUT):
                    self.closed = True
                    self.cursor = i + 1
                    break
                # an input
                j = i + 1
                if et is E.WORKFLOW_EXECUTION_STARTED:
                    while (
                        j < n
                        and history[j].event_type is E.WORKFLOW_EXECUTION_SIGNALED
                        and history[j].attributes.get("with_start")
                    ):
                        j += 1
                if (
                    blocked
                    or (j < n and history[j].event_type is E.WORKFLOW_TASK_FAILED)
                    or (
                        et is E.WORKFLOW_EXECUTION_STARTED
                        and ev.attributes.get("first_task_backoff")
                    )
                ):
                    deferred.append(ev)
                    blocked = True
                    i = j
                    continue
                self.activate(ev)
                i = self.cursor
        except _Abort:
            pass
        self.replay_end = 0
        return deferred

    def _skip_or_fail(self, ev: Event) -> None:
        if (
            ev.event_type is E.MARKER_RECORDED
            and ev.attributes.get("marker_name") == _PATCH_MARKER
            and ev.attributes.get("details", {}).get("deprecated")
        ):
            self.cursor = ev.event_id
            return
        if self.closed and ev.event_type is E.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            self.cursor = ev.event_id
            return
        try:
            self._nondeterministic(ev, None, None)
        except _Abort:
            self.cursor = ev.event_id
            raise


_CHILD_CLOSE = frozenset(
    {
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.CHILD_WORKFLOW_EXECUTION_FAILED,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    }
)
