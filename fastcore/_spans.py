"""Spans off the workflow's path: the hooks note each span's facts, a builder makes them later.

An OpenTelemetry SDK span costs 15-30 microseconds to start and end (attribute checks, the
span object and its read-only copy, the processor); a 3-activity workflow has eight. So the
engine's telemetry hooks do not make SDK spans: ``SpanBuilder.start`` notes a span's name,
kind, parent, start time and attributes in a ``PendingSpan`` and chooses its ids up front
(the ids the history's ``trace_context`` records and that activity code and gRPC calls see
as the current span), and ``finish`` queues it once ended. The builder then makes the real
spans through the tracer, in bulk, with those ids, timestamps, parents, events and status:
in an event-loop callback after the step that ended them (the caller has its answer
first), at once when many are waiting, and all of them when the engine shuts down.

The ids reach the SDK through the tracer's ``id_generator`` (a wrapper that hands out the
chosen ids while the builder makes a span, and the SDK's own ids otherwise). A tracer that
has no ``id_generator`` (not the OpenTelemetry SDK's) gets its spans started at once, as
before, and only ended later. Sampling: a root span asks the tracer's sampler when the
span is noted (unless it is the SDK's default, parent-based always-on); a child carries its
parent's flags, as parent-based samplers decide; the builder's span asks the sampler again.

``PendingSpan`` is a ``opentelemetry.trace.Span``: code that runs while it is current (an
activity, a handler) can read its context, set attributes, add events or record an
exception, and those go into the span when it is made.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, TypeAlias

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace.propagation import _SPAN_KEY

from ._loop import WorkflowLoop

__all__ = ["SPAN_KEY", "PendingSpan", "SpanBuilder", "context_var", "traceparent"]

SPAN_KEY = _SPAN_KEY
"""The key of the current span in an OpenTelemetry context (``trace.set_span_in_context``'s)."""

_log = logging.getLogger("fastcore.telemetry")
_time_ns = time.time_ns
_get_running_loop = asyncio.events._get_running_loop
_ids = random.Random(os.urandom(16))
_EMPTY = otel_context.Context()
_new_span = object.__new__
_SAMPLED = int(trace.TraceFlags.SAMPLED)
_RANDOM_TRACE_ID = int(getattr(trace.TraceFlags, "RANDOM_TRACE_ID", 0))
#: Ended spans built per event-loop callback, as soon as this many wait (a few milliseconds).
_BATCH = 256
#: Seconds fewer ended spans wait for more before they are made anyway.
_DELAY = 0.02
#: Ended spans that may wait; beyond this many (a loop that never yields) they are made now.
_MAX_WAITING = 8192


def context_var() -> ContextVar[otel_context.Context] | None:
    """The context variable OpenTelemetry keeps the current context in, when its runtime
    context is the default (``contextvars``) one: setting and resetting it is what
    ``context.attach``/``detach`` do, without their Python frames. None otherwise."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    var = getattr(runtime, "_current_context", None)
    return var if isinstance(var, ContextVar) else None


def traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """A W3C ``traceparent`` string."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


SpanParent: TypeAlias = "PendingSpan | otel_context.Context | None"
"""What a span hangs under: a noted span, an OpenTelemetry context, or nothing (a root)."""


class PendingSpan(trace.Span):
    """A span noted on the workflow's path; the builder makes the real one later."""

    __slots__ = (
        "attrs",
        "done",
        "end_ns",
        "flags",
        "kind",
        "name",
        "parent",
        "span_id",
        "start_ns",
        "trace_id",
    )

    # rarer facts: class defaults until set (the base class gives instances a __dict__)
    events: list[tuple[str, Any, int]] | None = None
    exceptions: list[tuple[BaseException, Any, int, bool]] | None = None
    status: tuple[Any, ...] | None = None
    links: list[trace.Link] | None = None
    live: Any = None  # the tracer's span, for a tracer whose ids cannot be chosen
    _sc: trace.SpanContext | None = None
    _ctx: otel_context.Context | None = None

    def __init__(
        self,
        name: str,
        kind: trace.SpanKind,
        parent: SpanParent,
        attrs: dict[str, Any],
        start_ns: int,
        trace_id: int,
        span_id: int,
        flags: int,
    ) -> None:
        self.name = name
        self.kind = kind
        self.parent = parent
        self.attrs = attrs
        self.start_ns = start_ns
        self.end_ns = 0
        self.trace_id = trace_id
        self.span_id = span_id
        self.flags = flags
        self.done = False  # ended (no more changes are taken)

    def context(self) -> otel_context.Context:
        """A context with this span as the current one (what its children hang under)."""
        ctx = self._ctx
        if ctx is None:
            ctx = self._ctx = trace.set_span_in_context(self, _EMPTY)
        return ctx

    # -- opentelemetry.trace.Span ------------------------------------------------------------

    def get_span_context(self) -> trace.SpanContext:
        sc = self._sc
        if sc is None:
            if self.live is not None:
                sc = self.live.get_span_context()
            else:
                sc = trace.SpanContext(
                    self.trace_id, self.span_id, False, trace.TraceFlags(self.flags)
                )
            self._sc = sc
        assert sc is not None
        return sc

    def is_recording(self) -> bool:
        return not self.done and bool(self.flags & _SAMPLED)

    def set_attribute(self, key: str, value: Any) -> None:
        if self.live is not None:
            self.live.set_attribute(key, value)
        elif not self.done:
            self.attrs[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        if self.live is not None:
            self.live.add_event(name, attributes, timestamp)
        elif not self.done:
            if self.events is None:
                self.events = []
            self.events.append((name, attributes, timestamp or _time_ns()))

    def add_link(self, context: trace.SpanContext, attributes: Any = None) -> None:
        if self.live is not None:
            self.live.add_link(context, attributes)
        elif not self.done:
            if self.links is None:
                self.links = []
            self.links.append(trace.Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self.live is not None:
            self.live.update_name(name)
        elif not self.done:
            self.name = name

    def set_status(self, status: Any, description: str | None = None) -> None:
        if self.live is not None:
            self.live.set_status(status, description)
        elif not self.done:
            self.status = (status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Any = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        if self.live is not None:
            self.live.record_exception(exception, attributes, timestamp, escaped)
        elif not self.done:
            if self.exceptions is None:
                self.exceptions = []
            self.exceptions.append((exception, attributes, timestamp or _time_ns(), escaped))

    def end(self, end_time: int | None = None) -> None:
        """The engine ends its spans itself (when the run, attempt or handler ends)."""

    def __repr__(self) -> str:
        return f"PendingSpan({self.name!r}, span_id={self.span_id:016x})"


class _ChosenIds:
    """The tracer's id generator: the ids chosen for the span being built, else the SDK's."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.trace_id = 0
        self.span_id = 0

    def generate_trace_id(self) -> int:
        return self.trace_id or int(self.fallback.generate_trace_id())

    def generate_span_id(self) -> int:
        return self.span_id or int(self.fallback.generate_span_id())

    def is_trace_id_random(self) -> bool:
        check = getattr(self.fallback, "is_trace_id_random", None)
        return bool(check()) if check is not None else False


def _sdk_tracer(tracer: Any) -> Any:
    """The tracer whose ids can be chosen: the SDK's, or the one inside temporalio's
    replay-safe wrapper (which only adds replay handling inside Temporal workflows)."""
    for candidate in (tracer, getattr(tracer, "_tracer", None)):
        if candidate is not None and hasattr(candidate, "id_generator"):
            return candidate
    return None


def _is_default_sampler(sampler: Any) -> bool:
    """Whether ``sampler`` is the SDK's default: parent-based, roots always sampled."""
    try:
        description = str(sampler.get_description())
    except Exception:
        return False
    return description.startswith("ParentBased{root:AlwaysOnSampler,") and (
        "remoteParentSampled:AlwaysOnSampler" in description
        and "remoteParentNotSampled:AlwaysOffSampler" in description
        and "localParentSampled:AlwaysOnSampler" in description
        and "localParentNotSampled:AlwaysOffSampler" in description
    )


class SpanBuilder:
    """Notes spans on the workflow's path and makes the real ones off it, in bulk."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer
        sdk = _sdk_tracer(tracer)
        self._chosen: _ChosenIds | None = None
        self._sampler: Any = None
        self._default_sampler = True
        self._random_ids = False
        if sdk is not None:
            chosen = _ChosenIds(sdk.id_generator)
            sdk.id_generator = chosen
            self._tracer = sdk
            self._chosen = chosen
            self._sampler = getattr(sdk, "sampler", None)
            self._default_sampler = self._sampler is None or _is_default_sampler(self._sampler)
            self._random_ids = chosen.is_trace_id_random()
        #: a root's flags under the default sampler (every root sampled)
        self._root_sampled = (_RANDOM_TRACE_ID if self._random_ids else 0) | _SAMPLED
        self._ended: deque[PendingSpan] = deque()
        self._handle: asyncio.Handle | None = None  # the next build, when one is scheduled
        self._soon = False  # whether it is the next loop iteration (or a short delay)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def deferred(self) -> bool:
        """Whether spans are made later (False: started at once, ended later)."""
        return self._chosen is not None

    # ------------------------------------------------------------------ on the workflow's path

    def start(
        self,
        name: str,
        kind: trace.SpanKind,
        parent: SpanParent,
        attrs: dict[str, Any],
        *,
        start_ns: int | None = None,
        links: list[trace.Link] | None = None,
    ) -> PendingSpan:
        """Note a span starting now (or at ``start_ns``) under ``parent`` (None: a root)."""
        start_ns = start_ns or _time_ns()
        if self._chosen is None:
            return self._start_live(name, kind, parent, attrs, start_ns, links)
        # made without an __init__ frame (this is on every workflow's path)
        p = _new_span(PendingSpan)
        if type(parent) is PendingSpan:  # not isinstance: an ABC's check is slow for a Context
            p.trace_id = parent.trace_id
            p.flags = parent.flags
        else:
            # the span a context holds, read as trace.get_current_span(ctx) reads it
            ctx: Any = parent  # a Context or None (not a PendingSpan: checked above)
            cur = None if ctx is None else ctx.get(_SPAN_KEY)
            sc = None if cur is None or not isinstance(cur, trace.Span) else cur.get_span_context()
            if sc is not None and sc.is_valid:
                p.trace_id = sc.trace_id
                p.flags = int(sc.trace_flags) & (_SAMPLED | _RANDOM_TRACE_ID)
            else:
                trace_id = p.trace_id = _ids.getrandbits(128) or 1
                p.flags = (
                    self._root_sampled
                    if self._default_sampler
                    else self._root_flags(trace_id, name, kind, attrs, links)
                )
        p.name = name
        p.kind = kind
        p.parent = parent
        p.attrs = attrs
        p.start_ns = start_ns
        p.end_ns = 0
        p.span_id = _ids.getrandbits(64) or 1
        p.done = False
        if links:
            p.links = links
        return p

    def child(
        self, name: str, kind: trace.SpanKind, parent: SpanParent, attrs: dict[str, Any]
    ) -> PendingSpan:
        """``start`` now, leaner for its common case: a child of a noted span (a run's
        span under its start, an attempt's under its activity's)."""
        if self._chosen is None or type(parent) is not PendingSpan:
            return self.start(name, kind, parent, attrs)
        p = _new_span(PendingSpan)
        p.name = name
        p.kind = kind
        p.parent = parent
        p.attrs = attrs
        p.start_ns = _time_ns()
        p.end_ns = 0
        p.trace_id = parent.trace_id
        p.span_id = _ids.getrandbits(64) or 1
        p.flags = parent.flags
        p.done = False
        return p

    def instant(
        self, name: str, kind: trace.SpanKind, parent: SpanParent, attrs: dict[str, Any]
    ) -> PendingSpan:
        """Note a span that starts and ends now (a start or a signal: a point in time)."""
        if self._chosen is None:
            p = self.start(name, kind, parent, attrs)
            self.finish(p, max(_time_ns(), p.start_ns + 1))
            return p
        # made and queued inline (on every workflow's and activity's path)
        if type(parent) is PendingSpan:
            now = _time_ns()
            p = _new_span(PendingSpan)
            p.name = name
            p.kind = kind
            p.parent = parent
            p.attrs = attrs
            p.start_ns = now
            p.trace_id = parent.trace_id
            p.span_id = _ids.getrandbits(64) or 1
            p.flags = parent.flags
        else:
            p = self.start(name, kind, parent, attrs)
            now = p.start_ns
        p.done = True
        end_ns = _time_ns()
        p.end_ns = end_ns if end_ns > now else now + 1  # it took the time of noting it
        ended = self._ended
        ended.append(p)
        if self._handle is None or len(ended) >= _BATCH:
            self._queued()
        return p

    def instant_then_child(
        self,
        instant_name: str,
        instant_kind: trace.SpanKind,
        parent: SpanParent,
        instant_attrs: dict[str, Any],
        name: str,
        kind: trace.SpanKind,
        attrs: dict[str, Any],
    ) -> PendingSpan:
        """``instant``, then ``child`` under it, in one step (a start span and the span of
        what it started: a run, an activity's first attempt); the child's ``parent`` is the
        instant. The child starts when the instant ends."""
        if self._chosen is None:
            up = self.instant(instant_name, instant_kind, parent, instant_attrs)
            return self.child(name, kind, up, attrs)
        if type(parent) is PendingSpan:
            now = _time_ns()
            up = _new_span(PendingSpan)
            up.name = instant_name
            up.kind = instant_kind
            up.parent = parent
            up.attrs = instant_attrs
            up.start_ns = now
            up.trace_id = parent.trace_id
            up.span_id = _ids.getrandbits(64) or 1
            up.flags = parent.flags
        else:
            up = self.start(instant_name, instant_kind, parent, instant_attrs)
            now = up.start_ns
        t = _time_ns()
        if t <= now:
            t = now + 1  # it took the time of noting it: never zero
        up.done = True
        up.end_ns = t
        p = _new_span(PendingSpan)
        p.name = name
        p.kind = kind
        p.parent = up
        p.attrs = attrs
        p.start_ns = t
        p.end_ns = 0
        p.trace_id = up.trace_id
        p.span_id = _ids.getrandbits(64) or 1
        p.flags = up.flags
        p.done = False
        ended = self._ended
        ended.append(up)
        if self._handle is None or len(ended) >= _BATCH:
            self._queued()
        return p

    def _start_live(
        self,
        name: str,
        kind: trace.SpanKind,
        parent: SpanParent,
        attrs: dict[str, Any],
        start_ns: int,
        links: list[trace.Link] | None,
    ) -> PendingSpan:
        """A tracer whose ids cannot be chosen: its span starts now; the builder ends it."""
        ctx = parent.context() if isinstance(parent, PendingSpan) else parent or _EMPTY
        live = self._tracer.start_span(
            name, context=ctx, kind=kind, attributes=attrs, links=links, start_time=start_ns
        )
        sc = live.get_span_context()
        p = PendingSpan(
            name, kind, parent, attrs, start_ns, sc.trace_id, sc.span_id, int(sc.trace_flags)
        )
        p.live = live
        return p

    def _root_flags(
        self,
        trace_id: int,
        name: str,
        kind: trace.SpanKind,
        attrs: dict[str, Any],
        links: list[trace.Link] | None,
    ) -> int:
        flags = _RANDOM_TRACE_ID if self._random_ids else 0
        if self._default_sampler:
            return flags | _SAMPLED
        try:
            result = self._sampler.should_sample(_EMPTY, trace_id, name, kind, attrs, links)
            sampled = bool(result.decision.is_sampled())
        except Exception:
            _log.warning("the tracer's sampler failed; sampling the trace", exc_info=True)
            sampled = True
        return flags | (_SAMPLED if sampled else 0)

    def finish(self, p: PendingSpan, end_ns: int | None = None) -> None:
        """``p`` ended now (or at ``end_ns``): queue it to be made."""
        if p.done:
            return
        p.done = True
        p.end_ns = end_ns or _time_ns()
        ended = self._ended
        ended.append(p)
        if self._handle is None or len(ended) >= _BATCH:
            self._queued()

    def _queued(self) -> None:
        """A span was queued with no build scheduled, or a batch is full: schedule one."""
        n = len(self._ended)
        if n >= _BATCH:
            if n >= _MAX_WAITING:
                self.flush()
            elif not self._soon:
                self._schedule(soon=True)
        elif self._handle is None:
            self._schedule(soon=False)

    def _schedule(self, *, soon: bool) -> None:
        """Build a batch in the next loop iteration (``soon``), or the stragglers shortly."""
        loop = _get_running_loop()
        if loop is None or isinstance(loop, WorkflowLoop):
            loop = self._loop  # the engine's loop, seen before (a handler's code runs here)
        else:
            self._loop = loop
        if loop is None or loop.is_closed():
            self.flush()
            return
        if self._handle is not None:
            self._handle.cancel()
        self._soon = soon
        self._handle = (
            loop.call_soon(self._build_some) if soon else loop.call_later(_DELAY, self._build_some)
        )

    # ------------------------------------------------------------------ off it

    def _build_some(self) -> None:
        self._handle = None
        ended = self._ended
        for _ in range(min(_BATCH, len(ended))):
            self._build(ended.popleft())
        if ended:
            self._schedule(soon=len(ended) >= _BATCH)

    def flush(self) -> None:
        """Make every ended span now."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        ended = self._ended
        while ended:
            self._build(ended.popleft())

    def _build(self, p: PendingSpan) -> None:
        try:
            span = p.live
            if span is None:
                if not p.flags & _SAMPLED and self._default_sampler:
                    return  # the SDK would make a non-recording span of it
                chosen = self._chosen
                assert chosen is not None
                chosen.trace_id, chosen.span_id = p.trace_id, p.span_id
                try:
                    span = self._tracer.start_span(
                        p.name,
                        context=_parent_context(p.parent),
                        kind=p.kind,
                        attributes=p.attrs,
                        links=p.links,
                        start_time=p.start_ns,
                    )
                finally:
                    chosen.trace_id = chosen.span_id = 0
                if span.is_recording() and span.get_span_context().span_id != p.span_id:
                    self._ids_refused()
                for name, attributes, ts in p.events or ():
                    span.add_event(name, attributes, ts)
                for exc, attributes, ts, escaped in p.exceptions or ():
                    span.record_exception(exc, attributes, ts, escaped)
                if p.status is not None:
                    span.set_status(*p.status)
            span.end(end_time=p.end_ns)
        except Exception:
            _log.warning("could not make span %r; it is lost", p.name, exc_info=True)

    def _ids_refused(self) -> None:
        """The tracer made its own ids: the recorded links would be wrong. Stop choosing."""
        _log.warning(
            "the tracer did not take the span ids fastcore chose (its id_generator is not "
            "used); fastcore starts its spans at once from now on"
        )
        self._chosen = None


def _parent_context(parent: Any) -> otel_context.Context:
    if type(parent) is PendingSpan:
        return parent.context()
    return parent if parent is not None else _EMPTY
