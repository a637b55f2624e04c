"""One workflow run's code and its activations: command/event matching (the replay machine).

The engine appends an input event, calls ``activate``; the instance delivers it to the code
and runs the private loop until everything is parked. Every command the code issues either
appends a new event (live) or must match the next recorded event (replay); a mismatch raises
``NondeterminismError`` naming the event. A run rebuilt after a crash replays its whole
history and then continues live from where it was, without running activities again.

The instance is composed of parts that own their state: ``Commands`` (the runtime workflow
code calls, and what the code waits on), ``Handlers`` (signals, updates, queries) and the
``WorkflowLoop``; they reach the instance through small protocols (``CommandIssuer``,
``HandlerHost``), never by importing it.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Sequence
from typing import Any

from ._commands import LOCAL_ACTIVITY_MARKER, PATCH_MARKER, Commands
from ._converter import DataConverter
from ._definitions import HandlerDefinition, WorkflowDefinition
from ._environment import WorkflowEnvironment
from ._event_types import (
    ET_ACTIVITY_TASK_CANCELED,
    ET_ACTIVITY_TASK_COMPLETED,
    ET_ACTIVITY_TASK_FAILED,
    ET_ACTIVITY_TASK_TIMED_OUT,
    ET_CHILD_WORKFLOW_EXECUTION_CANCELED,
    ET_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    ET_CHILD_WORKFLOW_EXECUTION_FAILED,
    ET_CHILD_WORKFLOW_EXECUTION_STARTED,
    ET_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    ET_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    ET_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    ET_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    ET_MARKER_RECORDED,
    ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ET_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    ET_TIMER_FIRED,
    ET_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    ET_WORKFLOW_EXECUTION_CANCELED,
    ET_WORKFLOW_EXECUTION_COMPLETED,
    ET_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    ET_WORKFLOW_EXECUTION_FAILED,
    ET_WORKFLOW_EXECUTION_SIGNALED,
    ET_WORKFLOW_EXECUTION_STARTED,
    ET_WORKFLOW_EXECUTION_TERMINATED,
    ET_WORKFLOW_EXECUTION_TIMED_OUT,
    ET_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    ET_WORKFLOW_TASK_FAILED,
    ET_WORKFLOW_TASK_RETRIED,
)
from ._failure import to_failure
from ._futures import FAILURE_ONLY, _Abort, is_cancellation
from ._handlers import Handlers, unknown_update
from ._loop import WorkflowLoop
from ._main_task import MainTask
from ._store import RunRecord
from .errors import NondeterminismError, ReadOnlyContextError
from .history import COMMAND_EVENTS, Event, EventType
from .workflow import ContinueAsNewError

__all__ = ["WorkflowInstance", "is_with_start"]

_get_running_loop = asyncio.events._get_running_loop
_new_event = object.__new__
_set_running_loop = asyncio.events._set_running_loop


class WorkflowInstance:
    """One workflow run's code and its activation state: the replay machine.

    Its parts: ``commands`` (the runtime the code calls, and what the code waits on),
    the handlers (made on the first signal, update or query) and the private ``loop``.
    """

    __slots__ = (
        "blocked",
        "cancel_reason",
        "cancel_requested",
        "closed",
        "commands",
        "converter",
        "cursor",
        "deferred",
        "defn",
        "env",
        "failure_types",
        "handlers",
        "history",
        "loop",
        "main_task",
        "nondeterminism",
        "now",
        "obj",
        "read_only",
        "replay_end",
        "run",
        "start_args",
        "start_updates",
        "started_attrs",
        "task_failure",
    )

    def __init__(
        self,
        *,
        env: WorkflowEnvironment,
        run: RunRecord,
        defn: WorkflowDefinition,
        converter: DataConverter,
    ) -> None:
        self.env = env
        self.run = run
        self.history = run._history if run._history is not None else run.history
        self.defn = defn
        self.converter = converter
        self.cursor = 0  # index of the next history event to process or match
        self.replay_end = 0  # events below this index were recorded before this instance
        self.now = 0.0  # the workflow time of the activation being processed
        self.obj: Any = None
        self.main_task: MainTask | None = None
        self.closed = False
        self.cancel_requested = False
        self.cancel_reason: str | None = None
        self.task_failure: BaseException | None = None
        self.nondeterminism: NondeterminismError | None = None
        self.started_attrs: dict[str, Any] = {}
        self.read_only = False
        self.blocked = False
        self.deferred: list[Event] = []
        #: updates sent with the start (update-with-start), validated and accepted by the
        #: first activation (a ``StartUpdates``), or None
        self.start_updates: Any = None
        #: the run method's arguments as the start decoded them (decoded once), or None
        self.start_args: list[Any] | None = None
        self.failure_types: tuple[type[BaseException], ...] = (
            (*FAILURE_ONLY, *defn.failure_exception_types, *env.failure_exception_types)
            if defn.failure_exception_types or env.failure_exception_types
            else FAILURE_ONLY
        )
        self.commands = Commands(self)
        self.loop: WorkflowLoop = self.commands.loop
        #: the run's signal/update/query handlers; ``make_handlers`` makes them on first use
        #: (most runs never get a signal, so a parked run does not carry them)
        self.handlers: Handlers | None = None

    def make_handlers(self) -> Handlers:
        """The run's handlers, made now if they were not yet."""
        h = self.handlers
        if h is None:
            h = self.handlers = Handlers(self)
        return h

    def handler(self, kind: str, name: str) -> HandlerDefinition | None:
        """The handler of ``kind`` for ``name`` now (run-time ones first), or None."""
        h = self.handlers
        return h.handler(kind, name) if h is not None else self.defn.handler(kind, name)

    def handler_names(self, kind: str) -> list[str]:
        """The names with a handler of ``kind`` now, sorted."""
        return self.make_handlers().names(kind)

    def all_handlers_finished(self) -> bool:
        """Whether no signal or update handler is still running."""
        h = self.handlers
        return h is None or h.running == 0

    def metadata(self, builtin_queries: Sequence[str]) -> dict[str, Any]:
        """The ``__temporal_workflow_metadata`` query's answer: the workflow type, its query,
        signal and update handlers (with descriptions) and its current details, with the
        field names of temporalio's ``WorkflowMetadata``."""

        def definitions(kind: str, extra: Sequence[str] = ()) -> list[dict[str, str]]:
            out = []
            for name in sorted({*self.handler_names(kind), *extra}):
                h = self.handler(kind, name)
                out.append({"name": name, "description": (h.description if h else None) or ""})
            return out

        return {
            "definition": {
                "type": self.run.workflow_type,
                "query_definitions": definitions("query", builtin_queries),
                "signal_definitions": definitions("signal"),
                "update_definitions": definitions("update"),
            },
            "current_details": self.commands.get_current_details(),
        }

    def stack_trace(self) -> str:
        """The run's coroutine stacks, one per unfinished task, as temporalio formats its
        ``__stack_trace`` query (``temporal workflow stack`` shows it)."""
        stacks = []
        tasks: list[Any] = list(asyncio.all_tasks(self.loop))
        main = self.main_task
        if main is not None and not main.done():
            tasks.insert(0, main)
        for task in tasks:
            frames = [
                traceback.FrameSummary(f.f_code.co_filename, f.f_lineno, f.f_code.co_name)
                for f in task.get_stack()
            ]
            stacks.append(
                f"Stack for {task!r} (most recent call last):\n"
                + "\n".join(traceback.format_list(frames))
            )
        return "\n\n".join(stacks)

    def dispose(self) -> None:
        """Drop the code's state once the run is closed (keeps memory and GC work small)."""
        self.closed = True
        # break the instance <-> commands <-> loop (and handlers) cycles: refcounting frees
        # them at once, so a closed run leaves nothing for the cyclic collector
        self.commands.detach()
        self.handlers = None
        main = self.main_task
        if main is not None:
            if not main.done():
                main.detach()
            self.main_task = None

    # ------------------------------------------------------------------ commands

    def command(self, etype: EventType, attrs: dict[str, Any], what: str = "") -> Event:
        """Issue a command: append its event (live) or match the recorded one (replay)."""
        if self.read_only:
            raise ReadOnlyContextError(
                "queries and update validators must not change workflow state "
                f"(they issued {etype.name})"
            )
        if self.closed:
            raise RuntimeError("the workflow has already completed")
        history = self.history
        while self.cursor < len(history):
            recorded = history[self.cursor]
            if recorded.event_type is etype and (not what or self._same(recorded, what, attrs)):
                self.cursor += 1
                return recorded
            if (
                recorded.event_type is ET_MARKER_RECORDED
                and recorded.attributes.get("marker_name") == PATCH_MARKER
                and recorded.attributes.get("details", {}).get("deprecated")
            ):
                # a deprecated patch whose call was removed from the code: skip it
                self.cursor += 1
                continue
            self._nondeterministic(recorded, etype, attrs)
        if self.replay_end:
            # replaying a recorded activation: it issued no more commands than this
            self._nondeterministic(None, etype, attrs)
        ev = _new_event(Event)  # (no __init__ frame: every command makes one)
        ev.event_id = len(history) + 1
        ev.event_type = etype
        ev.timestamp = self.env.clock_now()
        ev.attributes = attrs
        history.append(ev)
        self.cursor = len(history)
        return ev

    def _same(self, recorded: Event, what: str, attrs: dict[str, Any]) -> bool:
        if what == "seq":  # a local activity's marker: the same local activity
            return bool(
                recorded.attributes.get("marker_name") == LOCAL_ACTIVITY_MARKER
                and (recorded.attributes.get("details") or {}).get("seq") == attrs["details"]["seq"]
            )
        return bool(recorded.attributes.get(what) == attrs.get(what))

    def _describe(self, etype: EventType, attrs: dict[str, Any]) -> str:
        detail = attrs.get("activity_type") or attrs.get("workflow_type") or ""
        if etype is ET_MARKER_RECORDED:
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
        self.now = marker.timestamp
        try:
            if event.event_type is ET_ACTIVITY_TASK_COMPLETED:  # the common input
                self.commands.activity_completed(event.attributes)
            else:
                self._deliver(event)
        except _Abort:
            return
        # Run the code until everything is parked. The run's loop is the running one
        # throughout: its callbacks and the conditions (workflow code too: workflow.* calls
        # in them work) see it.
        loop = self.loop
        prev = _get_running_loop()
        _set_running_loop(loop)
        try:
            while True:
                main = self.main_task
                if main is not None and main.woken:  # nothing ahead of it: step it now
                    main.woken = False  # (``MainTask.step_now``, inline: every step)
                    try:
                        main._context.run(main._step, None, True)
                        if main.done_pending:
                            main.done_pending = False
                            self._main_done(main)
                    except BaseException as failed:  # as the loop treats a failing callback
                        loop._error(failed)
                if loop._ready:
                    loop.run_once()
                if loop.errors:
                    err = loop.errors[0]
                    loop.errors = None
                    if isinstance(err, _Abort):
                        return
                    self.fail_task(err)
                    return
                if self.nondeterminism is not None or self.task_failure is not None:
                    return
                commands = self.commands
                if not commands.conditions or not commands.check_conditions():
                    return
        except _Abort:
            pass
        finally:
            _set_running_loop(prev)

    def waits_first_task(self) -> bool:
        """Whether the run is held back waiting out its first-task backoff (a start delay, a
        retry's or a cron run's): its start is the first input it holds, and no task failed."""
        deferred = self.deferred
        return (
            self.blocked
            and bool(deferred)
            and self.task_failure is None
            and self.nondeterminism is None
            and deferred[0] is self.history[0]
            and bool(deferred[0].attributes.get("first_task_backoff"))
        )

    def fail_task(self, err: BaseException) -> None:
        """Fail the workflow task with ``err``: the run stays open, blocked, and retries."""
        if isinstance(err, NondeterminismError):
            self.nondeterminism = err
        elif self.task_failure is None:
            self.task_failure = err

    def _deliver(self, event: Event) -> None:
        et = event.event_type
        a = event.attributes
        if et is ET_ACTIVITY_TASK_COMPLETED:
            self.commands.activity_completed(a)
        elif et is ET_WORKFLOW_EXECUTION_STARTED:
            self._start(event)
        elif et is ET_ACTIVITY_TASK_FAILED or et is ET_ACTIVITY_TASK_TIMED_OUT:
            self.commands.activity_failed(et, a)
        elif et is ET_ACTIVITY_TASK_CANCELED:
            self.commands.activity_canceled(a)
        elif et is ET_TIMER_FIRED:
            self.commands.timer_fired(a)
        elif et is ET_WORKFLOW_EXECUTION_SIGNALED:
            (self.handlers or self.make_handlers()).signal(a["signal_name"], a.get("input") or [])
        elif et is ET_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            (self.handlers or self.make_handlers()).accept_update(
                a["update_id"], a["name"], a.get("input") or [], event.event_id
            )
        elif et is ET_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            self.cancel_requested = True
            if self.cancel_reason is None:
                self.cancel_reason = str(a.get("reason") or "")
            if self.main_task is not None and not self.main_task.done():
                self.main_task.cancel()
        elif et is ET_CHILD_WORKFLOW_EXECUTION_STARTED:
            self.commands.other_workflows().child_started(a)
        elif et is ET_START_CHILD_WORKFLOW_EXECUTION_FAILED:
            self.commands.other_workflows().child_start_failed(a)
        elif et in _CHILD_CLOSE:
            self.commands.other_workflows().child_closed(et, a)
        elif et in _EXTERNAL_RESOLVED:
            self.commands.other_workflows().external_resolved(et, a)
        elif et is ET_MARKER_RECORDED and not self.commands.local_resolved(a):
            # a local activity's outcome that no local activity of the code waits for
            self._nondeterministic(event, None, None)

    # ------------------------------------------------------------------ start & main

    def _start(self, event: Event) -> None:
        a = event.attributes
        self.started_attrs = a
        defn = self.defn
        given = self.start_args
        if given is not None:  # decoded by the start (live): the same values, not decoded again
            self.start_args = None
            args: list[Any] = [given] if defn.dynamic else given
        elif defn.dynamic:
            args = [self.converter.decode(a.get("input") or [])]
        else:
            args = self.converter.decode(a.get("input") or [], defn.run_arg_hints)
        prev = _get_running_loop()
        _set_running_loop(self.loop)
        try:
            if defn.init_takes_args:
                self.obj = defn.cls(*args)
            else:
                self.obj = defn.cls()
            if defn.dynamic_config_fn is not None:
                self._apply_dynamic_config(defn.dynamic_config_fn(self.obj))
        finally:
            _set_running_loop(prev)
        # Signals and updates sent with the start are handled before the run method begins.
        i = event.event_id
        history = self.history
        while i < len(history) and is_with_start(history[i]):
            nxt = history[i]
            a = nxt.attributes
            handlers = self.handlers or self.make_handlers()
            if nxt.event_type is ET_WORKFLOW_EXECUTION_SIGNALED:
                handlers.signal(a["signal_name"], a.get("input") or [])
            else:
                handlers.accept_update(a["update_id"], a["name"], a.get("input") or [], i + 1)
            i += 1
            if self.cursor < i:
                self.cursor = i
        if self.start_updates is not None and i == len(history):
            self._accept_start_updates()
        if event.attributes.get("first_task_backoff"):
            # A cancel requested while the run waited for its first task (a cron or retry
            # backoff) reaches the code with the start, as Temporal delivers both in the
            # first activation: the run method is cancelled before its first step.
            while i < len(history):
                et = history[i].event_type
                if et is EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED:
                    self.cancel_requested = True
                    break
                if et is EventType.WORKFLOW_TASK_RETRIED or et in COMMAND_EVENTS:
                    break
                i += 1
        # the run method is the task itself; its outcome closes the run (no wrapper frame)
        task = self.main_task = MainTask(defn.run_fn(self.obj, *args), self.loop, self._main_done)
        if self.cancel_requested:
            task.cancel()

    def _accept_start_updates(self) -> None:
        """Validate the updates sent with the start; record and deliver the accepted ones
        (an update-with-start, live: a replay finds them recorded)."""
        pending = self.start_updates
        self.start_updates = None
        history = self.history
        handlers = self.handlers or self.make_handlers()
        for uid, name, payloads, args in pending.items:
            if handlers.handler("update", name) is None:
                pending.rejected[uid] = unknown_update(name, handlers.names("update"))
                continue
            try:
                handlers.validate_update(name, args)
            except Exception as err:
                pending.rejected[uid] = err  # not recorded, as Temporal records no rejection
                continue
            ev = Event(
                len(history) + 1,
                ET_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                self.now,
                {"update_id": uid, "name": name, "input": payloads, "with_start": True},
            )
            history.append(ev)
            self.cursor = len(history)
            handlers.pending_args[uid] = args
            handlers.accept_update(uid, name, payloads, ev.event_id)

    def _main_done(self, task: MainTask) -> None:
        """The run method returned or raised: issue the command that closes the run."""
        if self.closed:
            return
        if task.cancelled():
            if self.cancel_requested:
                self.close(ET_WORKFLOW_EXECUTION_CANCELED, {"details": []})
            else:
                self.fail_task(asyncio.CancelledError())
            return
        err = task.exception()
        if err is None:
            self.close(
                ET_WORKFLOW_EXECUTION_COMPLETED,
                {"result": self.converter.encode_one(task.result())},
            )
        elif isinstance(err, ContinueAsNewError):
            self.close(ET_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, self._continued(err))
        elif isinstance(err, _Abort):
            return
        elif isinstance(err, self.failure_types):
            if self.cancel_requested and is_cancellation(err):
                self.close(ET_WORKFLOW_EXECUTION_CANCELED, {"details": []})
            else:
                self.close(
                    ET_WORKFLOW_EXECUTION_FAILED,
                    {"failure": to_failure(err, self.converter)},
                )
        else:
            self.fail_task(err)

    def _apply_dynamic_config(self, config: Any) -> None:
        """A dynamic workflow's ``@workflow.dynamic_config`` answer configures this run."""
        types = getattr(config, "failure_exception_types", None)
        if types is not None:
            self.failure_types = (*FAILURE_ONLY, *types, *self.env.failure_exception_types)

    def _continued(self, err: ContinueAsNewError) -> dict[str, Any]:
        """The continue-as-new event's attributes: the next run's input and its options (an
        option left out is not recorded: the next run keeps this run's)."""
        attrs: dict[str, Any] = {
            "new_execution_run_id": str(self.commands.uuid4()),
            "workflow_type": err.workflow or self.run.workflow_type,
            "input": self.converter.encode(err.input_args),
        }
        if err.task_queue is not None:
            attrs["task_queue"] = err.task_queue
        if err.run_timeout is not None:
            attrs["run_timeout"] = err.run_timeout.total_seconds()
        if err.memo is not None:
            attrs["memo"] = {k: self.converter.encode_one(v) for k, v in err.memo.items()}
        if err.retry_policy is not None:
            attrs["retry_policy"] = err.retry_policy.to_dict()
        if err.search_attributes is not None:
            attrs["search_attributes"] = dict(err.search_attributes)
        if err.backoff_start_interval is not None:
            attrs["backoff_start_interval"] = err.backoff_start_interval.total_seconds()
        return attrs

    def close(self, etype: EventType, attrs: dict[str, Any]) -> None:
        """Issue the command that closes the run (warning about handlers it abandons)."""
        self.command(etype, attrs)
        self.closed = True
        if self.handlers is not None and self.replay_end == 0:
            self.handlers.warn_unfinished()

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
                if et in COMMAND_EVENTS and not is_local_activity_marker(ev):
                    self._skip_or_fail(ev)
                    i = self.cursor
                    continue
                if et is ET_WORKFLOW_TASK_FAILED:
                    blocked = True
                    i += 1
                    continue
                if et is ET_WORKFLOW_TASK_RETRIED:
                    if i + 1 < n and history[i + 1].event_type is ET_WORKFLOW_TASK_FAILED:
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
                if et in (
                    ET_WORKFLOW_EXECUTION_TERMINATED,
                    ET_WORKFLOW_EXECUTION_TIMED_OUT,
                ):
                    self.closed = True
                    self.cursor = i + 1
                    break
                # an input
                j = i + 1
                if et is ET_WORKFLOW_EXECUTION_STARTED:
                    while j < n and is_with_start(history[j]):
                        j += 1
                if (
                    blocked
                    or (j < n and history[j].event_type is ET_WORKFLOW_TASK_FAILED)
                    or (
                        et is ET_WORKFLOW_EXECUTION_STARTED
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
            ev.event_type is ET_MARKER_RECORDED
            and ev.attributes.get("marker_name") == PATCH_MARKER
            and ev.attributes.get("details", {}).get("deprecated")
        ):
            self.cursor = ev.event_id
            return
        if self.closed and ev.event_type is ET_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            self.cursor = ev.event_id
            return
        try:
            self._nondeterministic(ev, None, None)
        except _Abort:
            self.cursor = ev.event_id
            raise


def is_with_start(event: Event) -> bool:
    """Whether an event is a signal or an update sent with its run's start."""
    return bool(
        event.attributes.get("with_start")
        and (
            event.event_type is ET_WORKFLOW_EXECUTION_SIGNALED
            or event.event_type is ET_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        )
    )


def is_local_activity_marker(ev: Event) -> bool:
    """Whether ``ev`` records a local activity's outcome: an input, though a marker."""
    return (
        ev.event_type is ET_MARKER_RECORDED
        and ev.attributes.get("marker_name") == LOCAL_ACTIVITY_MARKER
    )


_EXTERNAL_RESOLVED = frozenset(
    {
        ET_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        ET_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        ET_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        ET_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    }
)
_CHILD_CLOSE = frozenset(
    {
        ET_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        ET_CHILD_WORKFLOW_EXECUTION_FAILED,
        ET_CHILD_WORKFLOW_EXECUTION_CANCELED,
        ET_CHILD_WORKFLOW_EXECUTION_TERMINATED,
        ET_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    }
)
