"""compare-traces' HTML page: the table and both timelines, self-contained.

Inline CSS and script, nothing fetched: the script draws each run's spans as an SVG
timeline, Temporal above fastcore, each with its own time scale.
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
