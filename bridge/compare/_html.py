"""compare-traces' HTML page: the table and both timelines, self-contained.

Inline CSS and script, nothing fetched: the script draws each run's spans as an SVG
timeline, Temporal above fastcore, on one time axis for both (or each its own: a switch on
the page, ``--scale`` for its first state). Each timeline starts at its run's start and
spans the run's whole time, the table's first row, which the page explains.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from ._align import (
    ROOT_PREFIX,
    WHOLE_RUN,
    Span,
    _steps,
    align,
    format_duration,
    format_ratio,
)


def _root(spans: Sequence[Span]) -> Span | None:
    return next((s for s in spans if s.name.startswith(ROOT_PREFIX)), None)


def _timeline_json(spans: Sequence[Span]) -> dict[str, Any]:
    """One run for the page's script: its whole-run time and each span's offset into it.

    Offsets count from the start of the run's wrapping ``compare-traces:`` span (the
    client's start call) when there is one, else from the first span; ``total`` is that
    span's duration (what the table calls the whole run), else first start to last end.
    """
    steps = [s for s in spans if not s.name.startswith(ROOT_PREFIX)]
    root = _root(spans)
    if not steps:
        return {"total": root.duration_ns if root else 0, "measured": root is not None, "spans": []}
    ids = {s.span_id: s for s in steps}

    def depth(s: Span) -> int:
        d, cur, guard = 0, s, 0
        while cur.parent_id in ids and guard < 64:
            cur, d, guard = ids[cur.parent_id], d + 1, guard + 1
        return d

    t0 = root.start_ns if root else min(s.start_ns for s in steps)
    end = root.end_ns if root else max(s.end_ns for s in steps)
    step_names = {id(s): name for name, s in _steps(steps)}
    return {
        "total": max(1, end - t0, max(s.end_ns for s in steps) - t0),
        "measured": root is not None,
        "spans": [
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
        ],
    }


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
.timeline .axis line.whole { stroke: #5b6475; stroke-dasharray: 4 3; }
#totals { margin: 4px 0 8px; padding-left: 20px; } #scale { margin: 12px 0 0; }
"""

_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var RUNTIMES = ["temporal", "fastcore"];
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmt(ns) {
    if (ns < 1e3) { return Math.round(ns) + " ns"; }
    if (ns < 1e6) { return (ns / 1e3).toFixed(1) + " \u00b5s"; }
    if (ns < 1e9) { return (ns / 1e6).toFixed(2) + " ms"; }
    return (ns / 1e9).toFixed(2) + " s";
  }
  function draw(scale) {
    var shared = 1;
    RUNTIMES.forEach(function (r) { shared = Math.max(shared, data.runs[r].total); });
    var drawn = 0;
    RUNTIMES.forEach(function (runtime) {
      var run = data.runs[runtime];
      var spans = run.spans;
      var svg = document.getElementById("timeline-" + runtime);
      while (svg.firstChild) { svg.removeChild(svg.firstChild); }
      var width = 1100, rowH = 20, top = 22, labelW = 300, plotW = width - labelW - 90;
      var axisMax = scale === "shared" ? shared : Math.max(1, run.total);
      var height = top + Math.max(1, spans.length) * rowH + 6;
      svg.setAttribute("viewBox", "0 0 " + width + " " + height);
      var axis = el("g", {"class": "axis"}, svg);
      for (var i = 0; i <= 4; i++) {
        var x = labelW + plotW * i / 4;
        el("line", {x1: x, x2: x, y1: 14, y2: height}, axis);
        var t = el("text", {x: x, y: 11, "text-anchor": i === 0 ? "start" : "middle"}, axis);
        t.textContent = fmt(Math.round(axisMax * i / 4));
      }
      var wholeX = labelW + plotW * Math.min(1, run.total / axisMax);
      el("line", {"class": "whole", x1: wholeX, x2: wholeX, y1: 14, y2: height}, axis);
      spans.forEach(function (s, row) {
        var x = labelW + plotW * s.start / axisMax;
        var w = Math.max(1.5, plotW * s.duration / axisMax);
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
      svg.setAttribute("data-axis-max", String(Math.round(axisMax)));
      document.getElementById("total-" + runtime).textContent = fmt(run.total);
      drawn += 1;
    });
    document.body.setAttribute("data-timelines", String(drawn));
    document.body.setAttribute("data-scale", scale);
  }
  var choices = document.querySelectorAll("input[name=scale]");
  choices.forEach(function (input) {
    input.checked = input.value === data.scale;
    input.addEventListener("change", function () { draw(input.value); });
  });
  draw(data.scale);
})();
"""


def render_html(
    temporal: Sequence[Span],
    fastcore: Sequence[Span],
    *,
    title: str = "compare-traces",
    scale: str = "shared",
) -> str:
    """A self-contained page: the table, and both timelines (Temporal above fastcore).

    Args:
        temporal: Temporal's spans.
        fastcore: fastcore's spans.
        title: The page's title.
        scale: ``"shared"``: both timelines on one time axis; ``"per-runtime"``: each on
            its own. The page has a switch for it.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    rows = align(temporal, fastcore)
    runs = {"temporal": _timeline_json(temporal), "fastcore": _timeline_json(fastcore)}
    payload = json.dumps({"scale": scale, "runs": runs}).replace("</", "<\\/")
    cells = []
    for r in rows:
        cls = ' class="whole"' if r.step == WHOLE_RUN else ""
        cells.append(
            f"<tr{cls}><td>{html.escape(r.step)}</td><td>{format_duration(r.temporal_ns)}</td>"
            f"<td>{format_duration(r.fastcore_ns)}</td><td>{format_ratio(r.ratio)}</td></tr>"
        )
    esc = html.escape(title)
    totals = "".join(
        f"<li><b>{label}</b>: {_total_note(runs[key], label)}</li>"
        for key, label in (("temporal", "Temporal"), ("fastcore", "fastcore"))
    )
    radios = "".join(
        f'<label><input type="radio" name="scale" value="{value}"'
        f"{' checked' if value == scale else ''}> {text}</label> "
        for value, text in (
            ("shared", "one time axis for both"),
            ("per-runtime", "each runtime its own axis"),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc}</h1>
<p class="sub">The same workflow on each runtime, aligned span by span: each row is a span
both runtimes name alike (the n-th <code>RunActivity:x</code> with the n-th), with its
duration on each and their ratio.</p>
<table id="steps">
<thead><tr><th>step</th><th>Temporal</th><th>fastcore</th><th>Temporal/fastcore</th></tr></thead>
<tbody>
{"".join(cells)}
</tbody>
</table>
<h2>What the totals are</h2>
<ul id="totals">{totals}</ul>
<p class="sub">Each timeline starts where its whole run starts, and a dashed line marks
where it ends. The steps overlap (a workflow span holds its activities), so they do not
add up to the whole run; the time between them is the runtime's own: dispatching tasks,
round trips to the server, the worker's polling.</p>
<form id="scale">Time axis: {radios}</form>
<h2>Temporal <small>(whole run <span id="total-temporal"></span>)</small></h2>
<div class="timeline temporal"><svg id="timeline-temporal" role="img"
 aria-label="Temporal timeline"></svg></div>
<h2>fastcore <small>(whole run <span id="total-fastcore"></span>)</small></h2>
<div class="timeline fastcore"><svg id="timeline-fastcore" role="img"
 aria-label="fastcore timeline"></svg></div>
<script type="application/json" id="trace-data">{payload}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


SCALES = ("shared", "per-runtime")
"""The page's time axis choices."""


def _total_note(run: dict[str, Any], label: str) -> str:
    total = format_duration(int(run["total"]))
    if run["measured"]:
        return (
            f"the whole run took {total}: from the client's start call until its result "
            f"arrived (with the signals and updates sent between), measured around the "
            f"run by compare-traces' own <code>{ROOT_PREFIX}{label.lower()}</code> span. "
            "It is the table's first row."
        )
    return (
        f"{total} from the first span's start to the last span's end (the trace file has "
        "no run-wrapping span, so the client's own time before and after is not in it). "
        "It is the table's first row."
    )
