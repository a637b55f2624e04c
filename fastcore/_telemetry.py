"""Hooks the engine calls at each step; OpenTelemetry spans and metrics hang off them.

``Telemetry(tracer_provider, meter_provider)`` is what ``Engine.__init__`` makes. With no
provider given and none set globally it is this module's no-op base class: every hook is an
empty method, no span or instrument exists, and ``opentelemetry`` is not even imported unless
something else already did. With a provider (given, or the global one when none is given) it
is ``_OtelTelemetry``, which uses only the ``opentelemetry-api`` package.

Spans, named as ``temporalio.contrib.opentelemetry`` names them, so the same workflow on
each runtime can be compared span by span::

    StartWorkflow:<type>        CLIENT  the start call; parent: the caller's current span
      RunWorkflow:<type>        SERVER  start to close of the run
        StartActivity:<type>    CLIENT  the activity is scheduled (once, not per attempt)
          RunActivity:<type>    SERVER  one per attempt
        StartChildWorkflow:<type> CLIENT  a child is started
          RunWorkflow:<type>    SERVER  the child's run
    HandleSignal:<name> / HandleQuery:<name> / HandleUpdate:<name>   SERVER
        parent: the caller's current span when there is one, else the run's RunWorkflow

A continued-as-new run's ``RunWorkflow`` is a child of the previous run's (as Temporal, where
the new run carries the old run's context); a retried run's is a sibling of the first one.
Attributes: ``temporalWorkflowID``, ``temporalRunID`` (and ``temporalActivityID`` on activity
spans) as Temporal's plugin sets them, plus ``fastcore.attempt`` and ``fastcore.outcome``
(``completed``, ``failed``, ``timed_out``, ``canceled``, ``terminated``, ``continued_as_new``;
``abandoned`` for an attempt stopped because its run closed or the engine shut down;
``completing_async`` for an attempt that called ``activity.raise_complete_async()``;
``benign`` for an attempt that raised a ``BENIGN`` ``ApplicationError``).
Failures are recorded on the span (an ``exception`` event and an ERROR status), except a
``BENIGN`` one, which, as in temporalio, is neither an error on its span nor counted by
``fastcore.workflow.failed`` (it still counts in ``closed`` with status ``failed``).

Replay never emits a span twice. The started event keeps the trace context of the run's
``RunWorkflow`` parent (``trace_context``: W3C ``traceparent`` strings and the start time), as
Temporal keeps it in the started event's header. A run rebuilt by replay after a crash or an
``import_history`` gets one ``RunWorkflow`` span, under that same parent, starting at the
original start time, linked to the span that was lost with the process. Activities that were
scheduled before the replay do not get a second ``StartActivity``; their new attempts get
their own ``RunActivity``. A workflow task failure is recorded on the span once, not again
when a retry of the task fails the same way or when replay meets the recorded failure (the
metric counts every failed task execution, as Temporal's ``workflow_task_execution_failed``).
Spans of runs still open when the engine shuts down are left open: the engine that recovers
the run emits them.

Metrics (a meter named ``fastcore``; engines sharing a meter provider share the values).
The counters are observable instruments over in-process tallies, so counting costs a dict
update and the reader collects the totals; the histograms are recorded as they happen::

    fastcore.workflow.started           counter        workflow_type
    fastcore.workflow.completed         counter        workflow_type
    fastcore.workflow.failed            counter        workflow_type
    fastcore.workflow.closed            counter        workflow_type, status (every close)
    fastcore.workflow.task_failed       counter        workflow_type (each failed execution)
    fastcore.workflow.open              updowncounter  workflow_type
    fastcore.activity.attempts          counter        activity_type, outcome
    fastcore.activity.duration          histogram (s)  activity_type, outcome
    fastcore.signal.received            counter        workflow_type, signal_name
    fastcore.journal.commit.duration    histogram (s)  (stores that commit asynchronously)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

from ._failure import failure_is_benign, is_benign
from .activity import _CompleteAsyncError as _CompleteAsync
from .common import WorkflowExecutionStatus
from .errors import CancelledError as FcCancelledError
from .errors import TimeoutError as FcTimeoutError
from .history import EventType

__all__ = ["Telemetry"]

_RUNNING = WorkflowExecutionStatus.RUNNING
_perf_counter = time.perf_counter
_new_state = object.__new__
_DURATIONS_DELAY = 0.02  # seconds activity durations wait to be recorded in bulk
_get_running_loop = asyncio.events._get_running_loop
_NOTHING: contextlib.AbstractContextManager[None] = contextlib.nullcontext()  # reusable
_TASK_FAILED = EventType.WORKFLOW_TASK_FAILED
_CLOSED_KEEP = 4096  # contexts of closed runs kept for their continued-as-new / retried runs
_SECONDS_BUCKETS = (
    0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip


class Telemetry:
    """The engine's telemetry hooks; this base class does nothing (no provider is set).

    ``Telemetry(tracer_provider, meter_provider)`` returns the OpenTelemetry implementation
    instead when a provider is given, or, when none is, when a global provider was set through
    ``opentelemetry.trace.set_tracer_provider`` / ``opentelemetry.metrics.set_meter_provider``.

    Args:
        tracer_provider: An OpenTelemetry ``TracerProvider``; the global one when None.
        meter_provider: An OpenTelemetry ``MeterProvider``; the global one when None.
    """

    enabled = False
    """Whether any span or metric is recorded."""

    meter: Any = None

    attach_trace: Any = None
    """Makes the context ``activity_attempt_started`` answered current; answers a token."""

    detach_trace: Any = None
    """Undoes ``attach_trace`` with its token."""
    """The OpenTelemetry meter (None: no meter provider anywhere); user code's
    ``workflow.metric_meter()``/``activity.metric_meter()`` record through it."""

    def __new__(cls, tracer_provider: Any = None, meter_provider: Any = None) -> Telemetry:
        if cls is Telemetry:
            tracer, meter = _resolve(tracer_provider, meter_provider)
            if tracer is not None or meter is not None:
                inst: Telemetry = object.__new__(_OtelTelemetry)
                inst._resolved = (tracer, meter)  # type: ignore[attr-defined]
                return inst
        return object.__new__(cls)

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider

    def workflow_started(self, run: Any) -> None:
        """A new run's started event is in its history (not yet committed)."""

    def workflow_closed(self, run: Any, event: Any) -> None:
        """A run's close event is committed."""

    def workflow_task_failed(self, run: Any, err: BaseException | None) -> None:
        """A workflow task failed (the run stays open and blocked)."""

    def activity_attempt_started(self, task: Any) -> Any:
        """An activity attempt begins; the context that makes its span current, or None.

        The caller runs the attempt's code inside it: ``token = attach_trace(context)``
        before, ``detach_trace(token)`` after (an async attempt's first step; a thread's
        attempt uses ``enter_activity`` instead).
        """
        return None

    def activity_attempt_ended(self, task: Any, error: BaseException | None = None) -> None:
        """An activity attempt ended: returned (``error`` None) or raised/timed out."""

    def enter_activity(self, task: Any) -> Any:
        """Make the attempt's span current for the activity's code; a token for ``exit``."""
        return None

    def exit_activity(self, token: Any) -> None:
        """Undo ``enter_activity``."""

    def signal_received(self, run: Any, name: str) -> None:
        """A signal is about to be delivered to a run."""

    def query_span(self, run: Any, name: str) -> contextlib.AbstractContextManager[None]:
        """Around a query handler."""
        return _NOTHING

    def update_span(self, run: Any, name: str) -> contextlib.AbstractContextManager[None]:
        """Around an update: validation, then until its handler completes."""
        return _NOTHING

    def suppress_replay(self, run: Any) -> None:
        """A run is about to be rebuilt by replaying its history (recovery, import, query)."""

    def journal_commit_started(self) -> Any:
        """A store commit the engine waits for begins; a token for ``journal_committed``."""
        return None

    def journal_committed(self, token: Any) -> None:
        """The commit begun with ``token`` is durable."""

    def flush(self) -> None:
        """Make the spans that ended and are still waiting to be made (see ``_spans``)."""

    def shutdown(self) -> None:
        """The engine shut down."""


# ---------------------------------------------------------------------- resolving providers


def _resolve(tracer_provider: Any, meter_provider: Any) -> tuple[Any, Any]:
    """The tracer and meter to use; None for each that is not configured anywhere."""
    if tracer_provider is None and meter_provider is None and "opentelemetry" not in sys.modules:
        return None, None  # nobody imported opentelemetry, so nobody set a global provider
    try:
        from opentelemetry import metrics, trace
    except ImportError:
        if tracer_provider is not None or meter_provider is not None:
            raise
        return None, None
    tracer = None
    tp = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    if not isinstance(tp, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        tracer = tp.get_tracer("fastcore")
    meter = None
    mp = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    proxy = getattr(getattr(metrics, "_internal", None), "_ProxyMeterProvider", None)
    noop_types: tuple[type, ...] = (metrics.NoOpMeterProvider,)
    if isinstance(proxy, type):
        noop_types += (proxy,)
    if not isinstance(mp, noop_types):
        meter = mp.get_meter("fastcore")
    return tracer, meter


# ---------------------------------------------------------------------- the real thing


class _RunState:
    """What telemetry keeps for one open run."""

    __slots__ = (
        "ctx",
        "ids",
        "last_task_failure",
        "open",
        "parent_ctx",
        "span",
        "wtype",
    )

    def __init__(
        self, wtype: str, span: Any, ctx: Any, parent_ctx: Any, ids: dict[str, Any]
    ) -> None:
        self.wtype = wtype
        self.ids = ids  # temporalWorkflowID and temporalRunID (never changed: shared)
        self.span = span  # its RunWorkflow span (a PendingSpan), None without a tracer
        self.ctx = ctx  # what its spans hang under: the RunWorkflow span
        self.parent_ctx = parent_ctx  # what its RunWorkflow hangs under (a retry's parent too)
        self.open = True  # False once closed: its activities' late ends are not recorded
        self.last_task_failure: tuple[str, str] | None = None


class _ActState:
    """One scheduled activity: its ``StartActivity`` span and the running attempt.

    Kept on the activity task itself (``ActivityTask.telemetry_state``): no table to look
    it up in or to sweep.
    """

    __slots__ = ("attrs", "name", "owner", "parent", "run", "span", "t0")

    def __init__(
        self, owner: Any, run: _RunState, parent: Any, attrs: dict[str, Any], name: str
    ) -> None:
        self.owner = owner  # the telemetry that made it (an engine's can be replaced)
        self.run = run
        self.parent = parent
        self.attrs = attrs  # of its spans (never changed: shared)
        self.name = name  # of its RunActivity spans
        self.span: Any = None
        self.t0 = 0.0  # when the running attempt began (0.0: none is running)


def _outcome(task: Any, error: BaseException | None) -> str:
    if error is None:
        return "abandoned" if task.finished else "completed"
    if isinstance(error, FcTimeoutError):
        return "timed_out"
    if isinstance(error, asyncio.CancelledError | FcCancelledError):
        return "canceled"
    if isinstance(error, _CompleteAsync):
        return "completing_async"
    if is_benign(error):
        return "benign"  # temporalio records no failure for a BENIGN error
    return "failed"


_CLOSE_OUTCOMES: dict[Any, str] = {}


def _close_outcome(event: Any) -> str:
    et = event.event_type
    outcome = _CLOSE_OUTCOMES.get(et)
    if outcome is None:
        outcome = _CLOSE_OUTCOMES[et] = str(et.value).removeprefix("WORKFLOW_EXECUTION_").lower()
    return outcome


class _OtelTelemetry(Telemetry):
    """Spans and metrics through opentelemetry-api (see the module docstring).

    Spans are noted on the workflow's path and made off it (``fastcore._spans``).
    """

    enabled = True

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        super().__init__(tracer_provider, meter_provider)
        tracer, meter = getattr(self, "_resolved", None) or _resolve(
            tracer_provider, meter_provider
        )
        self._tracer: Any = tracer
        self._b: Any = None
        if tracer is not None:
            from opentelemetry import context, trace

            from . import _spans

            self._b = _spans.SpanBuilder(tracer)
            self._spans = _spans
            self._trace = trace
            self._context = context
            self._attach = context.attach
            self._set_span_in_context = trace.set_span_in_context
            self._CLIENT = trace.SpanKind.CLIENT
            self._SERVER = trace.SpanKind.SERVER
            self._PendingSpan = _spans.PendingSpan
            self._OtelContext = context.Context
            self._new_dict = dict.__new__
            self._dict_set = dict.__setitem__
            self._span_key = _spans.SPAN_KEY
            # how activity code's context gets its span: the context variable itself when
            # the runtime context is the default contextvars one (C calls, no frames)
            var = _spans.context_var()
            self._get_current = context.get_current if var is None else var.get
            self.attach_trace = context.attach if var is None else var.set
            self.detach_trace = context.detach if var is None else var.reset
        self._m: Any = None
        self._loop: Any = None  # the engine's event loop, once seen
        self.meter = meter
        if meter is not None:
            from ._metrics import metrics_for

            self._m = metrics_for(meter)
        self._names: dict[str, tuple[str, str]] = {}  # activity type: span names
        self._wnames: dict[str, tuple[str, str]] = {}  # workflow type: span names
        self._runs: dict[str, _RunState] = {}  # open runs
        self._closed: dict[str, _RunState] = {}  # recently closed, for their next runs
        self._resumable: dict[str, Any] = {}  # rebuilt by replay; span made on first need
        self._replayed: dict[str, int] = {}  # history length when replayed
        self._task_failures: dict[str, int] = {}  # last WORKFLOW_TASK_FAILED recorded

    # ------------------------------------------------------------------ helpers

    def _state(self, run: Any) -> _RunState | None:
        rid = run.record.run_id
        state = self._runs.get(rid)
        if state is None and rid in self._resumable:
            state = self._resume(self._resumable.pop(rid))
        return state

    def _has_current_span(self) -> bool:
        return bool(self._trace.get_current_span().get_span_context().is_valid)

    def _ctx_from_traceparent(self, value: Any) -> Any:
        trace = self._trace
        try:
            _version, trace_id, span_id, flags = str(value).split("-")
            sc = trace.SpanContext(
                int(trace_id, 16), int(span_id, 16), True, trace.TraceFlags(int(flags, 16))
            )
        except (ValueError, TypeError):
            return None
        if not sc.is_valid:
            return None
        return trace.set_span_in_context(trace.NonRecordingSpan(sc))

    def _ids(self, run: Any) -> dict[str, Any]:
        state = self._runs.get(run.record.run_id)
        if state is not None:
            return state.ids
        rec = run.record
        return {"temporalWorkflowID": rec.workflow_id, "temporalRunID": rec.run_id}

    def _start_parent(
        self, run: Any, started: dict[str, Any]
    ) -> tuple[Any, str | None, dict[str, Any]]:
        """What the run's spans hang under (None: the caller's context), and the start
        span to make, if any."""
        wtype = run.record.workflow_type
        prev_id = started.get("continued_run_id")
        if prev_id:
            prev = self._closed.get(prev_id) or self._runs.get(prev_id)
            if prev is not None:
                # a retry is another try of the same start; a continue-as-new comes from the run
                return (
                    (prev.parent_ctx if (started.get("attempt") or 1) > 1 else prev.ctx),
                    None,
                    {},
                )
            return None, None, {}
        parent = started.get("parent")
        if parent:
            pstate = self._runs.get(parent["run_id"])
            if pstate is None and parent["run_id"] in self._resumable:
                pstate = self._resume(self._resumable.pop(parent["run_id"]))
            attrs = {
                "temporalWorkflowID": parent["workflow_id"],
                "temporalRunID": parent["run_id"],
                "fastcore.child_workflow_id": run.record.workflow_id,
            }
            return (
                (pstate.ctx if pstate is not None else None),
                f"StartChildWorkflow:{wtype}",
                attrs,
            )
        return None, f"StartWorkflow:{wtype}", {}  # its attributes: the run's ids

    def _resume(self, run: Any) -> _RunState:
        """The one RunWorkflow span of a run rebuilt by replay (its first was lost)."""
        rec = run.record
        wtype = rec.workflow_type
        started = rec.history[0].attributes if rec.history else {}
        span = ctx = parent_ctx = None
        if self._tracer is not None:
            trace = self._trace
            tc = started.get("trace_context") or {}
            parent_ctx = self._ctx_from_traceparent(tc.get("traceparent"))
            links = []
            lost = self._ctx_from_traceparent(tc.get("run_span"))
            if lost is not None:
                links.append(
                    trace.Link(
                        trace.get_current_span(lost).get_span_context(),
                        {"fastcore.link": "run span before replay"},
                    )
                )
            if self._has_current_span():
                links.append(
                    trace.Link(
                        trace.get_current_span().get_span_context(),
                        {"fastcore.link": "resumed by"},
                    )
                )
            attrs = self._ids(run)
            attrs["fastcore.attempt"] = started.get("attempt") or 1
            attrs["fastcore.resumed"] = True
            start_ns = tc.get("start_ns")
            span = self._b.start(
                f"RunWorkflow:{wtype}",
                self._SERVER,
                parent_ctx if parent_ctx is not None else self._context.get_current(),
                attrs,
                start_ns=int(start_ns) if start_ns else None,
                links=links,
            )
            ctx = span
        state = _RunState(wtype, span, ctx, parent_ctx, self._ids(run))
        self._runs[rec.run_id] = state
        return state

    # ------------------------------------------------------------------ workflows

    def workflow_started(self, run: Any) -> None:
        rec = run.record
        wtype = rec.workflow_type
        span = ctx = parent_ctx = None
        ids = {"temporalWorkflowID": rec.workflow_id, "temporalRunID": rec.run_id}
        b = self._b
        if b is not None:
            started = rec.history[0].attributes
            names = self._wnames.get(wtype)
            if names is None:
                names = self._wnames[wtype] = (f"StartWorkflow:{wtype}", f"RunWorkflow:{wtype}")
            if started.get("continued_run_id") or started.get("parent"):
                # a continued, retried or child run hangs under the run it came from
                parent_ctx, start_name, start_attrs = self._start_parent(run, started)
            else:
                parent_ctx, start_name, start_attrs = None, names[0], None
            if parent_ctx is None:
                parent_ctx = self._get_current()
            run_attrs = {**ids, "fastcore.attempt": started.get("attempt") or 1}
            if start_name is not None:  # its start span, then the run's under it
                span = ctx = b.instant_then_child(
                    start_name,
                    self._CLIENT,
                    parent_ctx,
                    start_attrs or ids,
                    names[1],
                    self._SERVER,
                    run_attrs,
                )
                parent_ctx = span.parent
            else:
                span = ctx = b.child(names[1], self._SERVER, parent_ctx, run_attrs)
            # the W3C traceparents (as _spans.traceparent writes them), formatted inline
            trace_hex = f"{span.trace_id:032x}"
            tc: dict[str, Any] = {
                "run_span": f"00-{trace_hex}-{span.span_id:016x}-{span.flags:02x}",
                "start_ns": span.start_ns,
            }
            if type(parent_ctx) is self._PendingSpan:
                if parent_ctx.trace_id != span.trace_id:  # (a child always shares it)
                    trace_hex = f"{parent_ctx.trace_id:032x}"
                tc["traceparent"] = (
                    f"00-{trace_hex}-{parent_ctx.span_id:016x}-{parent_ctx.flags:02x}"
                )
            else:
                psc = self._trace.get_current_span(parent_ctx).get_span_context()
                if psc.is_valid:
                    tc["traceparent"] = self._spans.traceparent(
                        psc.trace_id, psc.span_id, psc.trace_flags
                    )
            started["trace_context"] = tc
        state = _new_state(_RunState)  # _RunState(wtype, span, ctx, parent_ctx, ids), no frame
        state.wtype = wtype
        state.ids = ids
        state.span = span
        state.ctx = ctx
        state.parent_ctx = parent_ctx
        state.open = True
        state.last_task_failure = None
        self._runs[rec.run_id] = state
        m = self._m
        if m is not None:
            m.started.add(1, wtype)
            m.open.add(1, wtype)

    def workflow_closed(self, run: Any, event: Any) -> None:
        rid = run.record.run_id
        state = self._runs.pop(rid, None)
        if state is None:
            if rid not in self._resumable:
                return  # not a run this engine had open
            state = self._resume(self._resumable.pop(rid))
            del self._runs[rid]
        outcome = _CLOSE_OUTCOMES.get(event.event_type) or _close_outcome(event)
        span = state.span
        if span is not None:
            if span.live is None and not span.done:
                span.attrs["fastcore.outcome"] = outcome  # its own dict, not yet built
            else:
                span.set_attribute("fastcore.outcome", outcome)
            benign = outcome == "failed" and failure_is_benign(event.attributes.get("failure"))
            if outcome == "failed" and not benign:
                failure = event.attributes.get("failure") or {}
                etype = (failure.get("application_failure_info") or {}).get(
                    "type"
                ) or "ApplicationError"
                message = failure.get("message") or ""
                span.add_event(
                    "exception",
                    {
                        "exception.type": etype,
                        "exception.message": message,
                        "exception.stacktrace": failure.get("stack_trace") or "",
                    },
                )
                span.set_status(
                    self._trace.Status(self._trace.StatusCode.ERROR, f"{etype}: {message}")
                )
            elif outcome == "timed_out":
                span.set_status(
                    self._trace.Status(self._trace.StatusCode.ERROR, "workflow execution timed out")
                )
            self._b.finish(span)
        # forget it: it is closed (kept a while for a continued-as-new or retried run)
        state.open = False
        if self._replayed:
            self._replayed.pop(rid, None)
        if self._task_failures:
            self._task_failures.pop(rid, None)
        closed = self._closed
        closed[rid] = state
        if len(closed) > _CLOSED_KEEP:
            del closed[next(iter(closed))]
        m = self._m
        if m is not None:
            m.open.add(-1, state.wtype)
            m.closed.add(1, state.wtype, outcome)
            if outcome == "completed":
                m.completed.add(1, state.wtype)
            elif outcome == "failed" and not failure_is_benign(event.attributes.get("failure")):
                m.failed.add(1, state.wtype)  # a BENIGN failure is not counted, as temporalio's

    def workflow_task_failed(self, run: Any, err: BaseException | None) -> None:
        rid = run.record.run_id
        history = run.record.history
        last = history[-1] if history else None
        if last is not None and last.event_type is _TASK_FAILED:
            if last.event_id <= self._task_failures.get(rid, 0):
                return  # recorded already: this is the same failure, met again by a retry
            self._task_failures[rid] = last.event_id
        state = self._state(run)
        if state is None:
            return
        if state.span is not None and err is not None:
            # a retry that fails the same way adds nothing to the span (the metric counts it)
            key = (type(err).__name__, str(err))
            if state.last_task_failure != key:
                state.last_task_failure = key
                state.span.record_exception(err, {"fastcore.workflow_task_failed": True})
        m = self._m
        if m is not None:
            m.task_failed.add(1, state.wtype)

    def suppress_replay(self, run: Any) -> None:
        rec = run.record
        rid = rec.run_id
        if rec.status is not _RUNNING or rid in self._runs or rid in self._resumable:
            return  # a closed run replayed for a query, or one that is live already
        history = rec.history
        self._replayed[rid] = len(history)
        for ev in reversed(history):
            if ev.event_type is _TASK_FAILED:
                self._task_failures[rid] = ev.event_id
                break
        self._resumable[rid] = run
        m = self._m
        if m is not None:
            m.open.add(1, rec.workflow_type)

    # ------------------------------------------------------------------ activities

    def activity_attempt_started(self, task: Any) -> Any:
        act = task.telemetry_state
        b = self._b
        if act is None or act.owner is not self:
            run = task.run
            state = self._runs.get(run.record.run_id) or self._state(run)
            if state is None:
                return None
            ev = task.event
            a = ev.attributes
            atype = a["activity_type"]
            names = self._names.get(atype)
            if names is None:
                names = self._names[atype] = (f"StartActivity:{atype}", f"RunActivity:{atype}")
            attrs = {**state.ids, "temporalActivityID": a["activity_id"]}
            parent = state.ctx
            replayed = self._replayed
            span = None
            if b is not None and (not replayed or ev.event_id > replayed.get(run.record.run_id, 0)):
                # its StartActivity (once, not per attempt) and the first attempt's span
                span = b.instant_then_child(
                    names[0],
                    self._CLIENT,
                    parent,
                    attrs,
                    names[1],
                    self._SERVER,
                    {**attrs, "fastcore.attempt": task.attempt},
                )
                parent = span.parent
            act = _new_state(_ActState)  # _ActState(self, state, ...) without its frame
            act.owner = self
            act.run = state
            act.parent = parent
            act.attrs = attrs
            act.name = names[1]
            task.telemetry_state = act
        elif not act.run.open:
            return None  # its run closed (an attempt of an activity it left behind)
        else:
            span = None
        # when the attempt began: for the duration metric (1.0 without one: "running")
        act.t0 = _perf_counter() if self._m is not None else 1.0
        if b is None:
            act.span = None
            return None
        if span is None:
            span = b.child(
                act.name, self._SERVER, act.parent, {**act.attrs, "fastcore.attempt": task.attempt}
            )
        act.span = span
        # what makes it current for the activity's code: the current context plus the span
        cur = self._get_current()
        if cur:
            return self._OtelContext({**cur, self._span_key: span})
        ctx = self._new_dict(self._OtelContext)  # a Context of one entry, no dict copied
        self._dict_set(ctx, self._span_key, span)
        return ctx

    def activity_attempt_ended(self, task: Any, error: BaseException | None = None) -> None:
        act = task.telemetry_state
        if act is None or act.t0 == 0.0 or act.owner is not self or not act.run.open:
            return
        t0 = act.t0
        act.t0 = 0.0
        if error is None:
            outcome = "abandoned" if task.finished else "completed"
        else:
            outcome = _outcome(task, error)
        span = act.span
        if span is not None:
            act.span = None
            if span.live is None:
                span.attrs["fastcore.outcome"] = outcome  # its own dict, not yet built
            else:
                span.live.set_attribute("fastcore.outcome", outcome)
            if error is not None and outcome in ("failed", "timed_out"):
                span.record_exception(error)
                span.set_status(
                    self._trace.Status(
                        self._trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"
                    )
                )
            self._b.finish(span)
        m = self._m
        if m is not None:
            atype = task.event.attributes["activity_type"]
            m.attempts.add(1, atype, outcome)
            m.durations.append((_perf_counter() - t0, atype, outcome))  # recorded off the path
            if not m.scheduled:
                self._schedule_durations(m)

    def enter_activity(self, task: Any) -> Any:
        act = task.telemetry_state
        if act is None or act.span is None or act.owner is not self or not act.run.open:
            return None
        return self._attach(self._set_span_in_context(act.span))

    def exit_activity(self, token: Any) -> None:
        if token is not None:
            self._context.detach(token)

    # ------------------------------------------------------------------ handlers

    def _handler_parent(self, run: Any) -> Any:
        if self._has_current_span():
            return self._context.get_current()  # the caller's span (a gRPC call) is the cause
        state = self._state(run) or self._closed.get(run.record.run_id)
        if state is not None and state.ctx is not None:
            return state.ctx
        return self._context.get_current()

    def signal_received(self, run: Any, name: str) -> None:
        b = self._b
        if b is not None:
            b.instant(
                f"HandleSignal:{name}", self._SERVER, self._handler_parent(run), self._ids(run)
            )
        m = self._m
        if m is not None:
            m.signals.add(1, run.record.workflow_type, name)

    @contextlib.contextmanager
    def _handler_span(self, kind: str, run: Any, name: str) -> Iterator[None]:
        b = self._b
        if b is None:
            yield
            return
        span = b.start(f"{kind}:{name}", self._SERVER, self._handler_parent(run), self._ids(run))
        token = self._context.attach(self._trace.set_span_in_context(span))
        try:
            yield
        except Exception as exc:  # as the SDK's start_as_current_span records it
            span.record_exception(exc)
            span.set_status(
                self._trace.Status(self._trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
            )
            raise
        finally:
            self._context.detach(token)
            b.finish(span)

    def query_span(self, run: Any, name: str) -> contextlib.AbstractContextManager[None]:
        return self._handler_span("HandleQuery", run, name)

    def update_span(self, run: Any, name: str) -> contextlib.AbstractContextManager[None]:
        return self._handler_span("HandleUpdate", run, name)

    # ------------------------------------------------------------------ store and lifecycle

    def journal_commit_started(self) -> Any:
        return time.perf_counter() if self._m is not None else None

    def journal_committed(self, token: Any) -> None:
        if token is not None and self._m is not None:
            self._m.commit.record(time.perf_counter() - token)
        if self._b is not None:
            # what a caller is about to be told has its spans made first (and exported, by a
            # synchronous processor): a crash after the answer does not lose them
            self._b.flush()

    def _schedule_durations(self, m: Any) -> None:
        """Record the noted activity durations shortly (at once without an event loop)."""
        loop = _get_running_loop()
        if loop is not None and getattr(loop, "_fastcore_runtime", None) is not None:
            loop = self._loop  # a workflow's own loop: use the engine's
        else:
            self._loop = loop
        if loop is None or loop.is_closed():
            m.record_durations()
            return
        m.scheduled = True
        loop.call_later(_DURATIONS_DELAY, m.record_durations)

    def flush(self) -> None:
        if self._b is not None:
            self._b.flush()
        if self._m is not None and self._m.durations:
            self._m.record_durations()

    def shutdown(self) -> None:
        self.flush()
        m = self._m
        if m is not None:
            # the runs still open leave this engine (the one that recovers them counts them)
            for state in self._runs.values():
                m.open.add(-1, state.wtype)
            for run in self._resumable.values():
                m.open.add(-1, run.record.workflow_type)
        for state in self._runs.values():
            state.open = False  # what their activities do from now on is not recorded
        self._runs.clear()
        self._resumable.clear()
        self._closed.clear()
        self._replayed.clear()
        self._task_failures.clear()
