"""The scaling plot: latency against the sub-workflow's size N, log-log, one line per option.

:func:`render_svg` is a pure function from a result dict (``benchmarks._scaling_model``) to
an SVG file: one panel per shape, each option's p50 as a line (shaded up to its p95), the
probe samples as crosses. It draws on a bare ``matplotlib.figure.Figure`` (no pyplot, no
global state) and writes a reproducible file: text stays text (``svg.fonttype: none``),
element ids are salted with a constant, and no date is stamped. Each line's SVG element id
is ``line-<shape>-<option>`` (``probe-<shape>-<option>`` for probes).

matplotlib comes with the ``plot`` extra (``pip install -e '.[plot]'``; ``scripts/bench``
installs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from benchmarks._scaling_model import LABELS, OPTIONS, SHAPE_LABELS, SHAPES

__all__ = ["STYLE", "render_svg"]

STYLE: dict[str, dict[str, Any]] = {
    "temporal_activities": {"color": "#d62728", "marker": "o", "linestyle": "-"},
    "temporal_local_activities": {"color": "#ff7f0e", "marker": "o", "linestyle": "-"},
    "fastcore_in_activity": {"color": "#1f77b4", "marker": "s", "linestyle": "-"},
    "fastcore_in_local_activity": {"color": "#17becf", "marker": "s", "linestyle": "-"},
    "fastcore_memory": {"color": "#2ca02c", "marker": "^", "linestyle": ":"},
    "fastcore_sqlite_batch": {"color": "#9467bd", "marker": "^", "linestyle": ":"},
    "fastcore_sqlite_sync": {"color": "#8c564b", "marker": "^", "linestyle": ":"},
}
"""Colour, marker and line style of each option: Temporal's own steps solid circles,
fastcore inside Temporal solid squares, fastcore alone dotted triangles."""

_RC: Any = {"svg.fonttype": "none", "svg.hashsalt": "fastcore-scaling", "font.size": 9}


def _series(rows: Any, shape: str, option: str) -> list[tuple[int, float, float]]:
    points = [
        (int(r["steps"]), float(r["p50_ms"]), float(r["p95_ms"]))
        for r in rows
        if r["shape"] == shape and r["option"] == option
    ]
    return sorted(points)


def render_svg(result: Mapping[str, Any], path: Path, *, title: str | None = None) -> Path:
    """Draw ``result``'s latencies against N (log-log) into the SVG file ``path``.

    Args:
        result: The result dict; its ``latency`` rows are drawn, ``probes`` as crosses.
        path: The SVG file to write (its directory must exist).
        title: The figure's title; a default says what is drawn.

    Returns:
        ``path``.

    Raises:
        ValueError: ``result`` has no latency rows to draw.
    """
    rows = list(result.get("latency", ()))
    if not rows:
        raise ValueError("the result has no latency rows to plot")
    shapes = [s for s in SHAPES if any(r["shape"] == s for r in rows)]
    sizes = sorted({int(r["steps"]) for r in rows})
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(4.2 * len(shapes) + 0.6, 5.2), layout="constrained")
        axes = fig.subplots(1, len(shapes), sharey=True, squeeze=False)[0]
        handles, labels = [], []
        for ax, shape in zip(axes, shapes, strict=True):
            for option in OPTIONS:
                points = _series(rows, shape, option)
                if not points:
                    continue
                ns = [p[0] for p in points]
                style = STYLE.get(option, {})
                (line,) = ax.plot(
                    ns, [p[1] for p in points], label=LABELS.get(option, option), **style
                )
                line.set_gid(f"line-{shape}-{option}")
                band = ax.fill_between(
                    ns,
                    [p[1] for p in points],
                    [p[2] for p in points],
                    color=style.get("color"),
                    alpha=0.12,
                    linewidth=0,
                )
                band.set_gid(f"p95-{shape}-{option}")
                if line.get_label() not in labels:
                    handles.append(line)
                    labels.append(line.get_label())
            for probe in result.get("probes", ()):
                if probe["shape"] == shape:
                    style = STYLE.get(probe["option"], {})
                    (mark,) = ax.plot(
                        [probe["steps"]],
                        [probe["p50_ms"]],
                        marker="x",
                        markersize=9,
                        linestyle="none",
                        color=style.get("color"),
                    )
                    mark.set_gid(f"probe-{shape}-{probe['option']}")
                    ax.annotate(
                        "one probe: " + LABELS.get(probe["option"], probe["option"]),
                        (probe["steps"], probe["p50_ms"]),
                        textcoords="offset points",
                        xytext=(8, -4),
                        fontsize=7,
                        color=style.get("color"),
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(FixedLocator(sizes))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.set_title(SHAPE_LABELS.get(shape, shape))
            ax.set_xlabel("steps in the sub-workflow, N")
            ax.grid(True, which="major", alpha=0.3)
            ax.grid(True, which="minor", axis="y", alpha=0.1)
        axes[0].set_ylabel("latency per sub-workflow, ms (p50; shaded to p95)")
        fig.suptitle(title or "Sub-workflow latency against its size N (log-log)")
        fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False)
        fig.savefig(path, format="svg", metadata={"Date": None})
    return path
