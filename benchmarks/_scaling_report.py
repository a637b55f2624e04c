"""The scaling benchmark's report: Markdown tables, the fitted costs and the one sentence.

Pure functions of the result dict (``benchmarks._scaling_model``), so a stored
``scaling.json`` renders again without a new run:
``python -m benchmarks._scaling_report benchmarks/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._bench_common import markdown_table
from benchmarks._scaling_model import (
    DURABLE,
    LABELS,
    OPTIONS,
    SHAPE_LABELS,
    SHAPES,
    Fit,
    fit_result,
    p50_by_steps,
    speedup_from,
)

__all__ = [
    "COMPARISONS",
    "KS",
    "fixed",
    "format_section",
    "headline",
    "stalls",
    "write_artifacts",
]

log = logging.getLogger(__name__)

KS = (2.0, 5.0, 10.0)
"""The speed-ups whose crossing N the report states."""

COMPARISONS = (
    ("fastcore_in_activity", "temporal_activities"),
    ("fastcore_in_local_activity", "temporal_local_activities"),
    ("fastcore_in_activity", "temporal_local_activities"),
    ("fastcore_in_local_activity", "temporal_activities"),
    ("fastcore_memory", "temporal_local_activities"),
    ("fastcore_sqlite_sync", "temporal_local_activities"),
)
"""(fastcore option, Temporal option) pairs the crossing table compares."""

TITLE = "## 7. Scaling: how the hybrid's advantage grows with the sub-workflow"


def ms(value: float) -> str:
    """A duration in milliseconds as it reads best: ``14.2 ms``, ``153 ms``, ``21.4 µs``."""
    if abs(value) < 1:
        return f"{value * 1000:.3g} µs"
    return f"{value:,.3g} ms" if abs(value) < 1000 else f"{value:,.0f} ms"


def fixed(value: float) -> str:
    """A fitted fixed cost in words; a negative one (noise at large N) reads as about zero."""
    return ms(value) if value >= 0 else f"about 0 (fitted {ms(value)})"


def from_n(crossing: float | None, fast: Fit, slow: Fit, measured_up_to: int) -> str:
    """A crossing N (``speedup_from``) in words; one past the largest N measured is marked."""
    if crossing is None:
        ratio = slow.slope_ms / fast.slope_ms if fast.slope_ms > 0 else math.inf
        return f"at no N (per step it is only {ratio:.1f}x)"
    if crossing <= 1:
        return "from N = 1"
    n = math.ceil(crossing)
    return f"from N = {n}" + (" (extrapolated)" if n > measured_up_to else "")


def _cell(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return markdown_table(headers, rows).splitlines()


def _by_n_rows(
    by: Mapping[tuple[str, int], Mapping[str, Any]],
    sizes: Sequence[int],
    cell: Callable[[Mapping[str, Any]], str],
) -> list[list[str]]:
    """A row per option measured at some N: its label, then ``cell`` of each N's row."""
    rows = []
    for option in OPTIONS:
        if not any((option, n) in by for n in sizes):
            continue
        cells = [LABELS[option]]
        for n in sizes:
            r = by.get((option, n))
            cells.append(cell(r) if r else "-")
        rows.append(cells)
    return rows


def headline(result: Mapping[str, Any], fits: Mapping[str, Mapping[str, Fit]] | None = None) -> str:
    """The sentence the README quotes: per-step and fixed costs, and from which N fastcore
    is 2x and 10x faster, fitted on the sequential shape's p50s."""
    seq = (fits if fits is not None else fit_result(result)).get("sequential", {})
    need = (
        "temporal_activities",
        "temporal_local_activities",
        "fastcore_in_activity",
        "fastcore_in_local_activity",
    )
    if any(o not in seq for o in need):
        return "Too few sizes were measured to fit per-step costs."
    a, b, c, d = (seq[o] for o in need)
    top = max(result["sizes"])
    return (
        f"Fitted on the measured p50s of N sequential steps, a Temporal activity costs "
        f"{ms(a.slope_ms)} per step and a local activity {ms(b.slope_ms)}, against "
        f"{ms(c.slope_ms)} per step for a fastcore sub-workflow in one activity "
        f"({fixed(c.intercept_ms)} fixed) and {ms(d.slope_ms)} in one local activity "
        f"({fixed(d.intercept_ms)} fixed): fastcore in a local activity is 2x faster than N "
        f"local activities {from_n(speedup_from(d, b, 2), d, b, top)} and 10x "
        f"{from_n(speedup_from(d, b, 10), d, b, top)}, and fastcore in an activity is 10x "
        f"faster than N activities {from_n(speedup_from(c, a, 10), c, a, top)}."
    )


def _latency_tables(result: Mapping[str, Any], sizes: Sequence[int]) -> list[str]:
    lines: list[str] = []
    for shape in SHAPES:
        rows = [r for r in result["latency"] if r["shape"] == shape]
        if not rows:
            continue
        by = {(r["option"], r["steps"]): r for r in rows}
        table = _by_n_rows(by, sizes, lambda r: f"{_cell(r['p50_ms'])} / {_cell(r['p95_ms'])}")
        samples = sorted({r["n"] for r in rows})
        count = f"{min(samples)}-{max(samples)} samples"
        lines += ["", f"{SHAPE_LABELS[shape]}, p50 / p95 ms ({count}):", ""]
        lines += _table(["option", *(f"N={n}" for n in sizes)], table)
    return lines


def _fit_table(fits: Mapping[str, Mapping[str, Fit]]) -> list[str]:
    shapes = [s for s in SHAPES if s in fits]
    headers = ["option"]
    for s in shapes:
        headers += [f"{s}: fixed ms", "per step ms", "R²"]
    rows = []
    for option in OPTIONS:
        if not any(option in fits[s] for s in shapes):
            continue
        cells = [LABELS[option]]
        for s in shapes:
            f = fits[s].get(option)
            cells += [_cell(f.intercept_ms), _cell(f.slope_ms), f"{f.r2:.3f}"] if f else ["-"] * 3
        rows.append(cells)
    return _table(headers, rows)


def _crossing_table(result: Mapping[str, Any], fits: Mapping[str, Fit]) -> list[str]:
    sizes = result["sizes"]
    lo, hi = min(sizes), max(sizes)
    headers = ["fastcore", "against", "per-step ratio"]
    headers += [f"{k:g}x from" for k in KS] + [f"measured at N={lo}", f"at N={hi}"]
    rows = []
    for fast_o, slow_o in COMPARISONS:
        fast, slow = fits.get(fast_o), fits.get(slow_o)
        if fast is None or slow is None:
            continue
        fp = p50_by_steps(result, "sequential", fast_o)
        sp = p50_by_steps(result, "sequential", slow_o)
        ratio = slow.slope_ms / fast.slope_ms if fast.slope_ms > 0 else None
        cells = [LABELS[fast_o], LABELS[slow_o], f"{_cell(ratio)}x" if ratio else "-"]
        for k in KS:
            crossing = speedup_from(fast, slow, k)
            n = None if crossing is None else max(1, math.ceil(crossing))
            cells.append("never" if n is None else f"N = {n}" + ("*" if n > hi else ""))
        for n in (lo, hi):
            cells.append(f"{_cell(sp[n] / fp[n])}x" if n in fp and n in sp else "-")
        rows.append(cells)
    return _table(headers, rows)


def _throughput_table(result: Mapping[str, Any], sizes: Sequence[int]) -> list[str]:
    by = {(r["option"], r["steps"]): r for r in result["throughput"]}
    rows = _by_n_rows(
        by, sizes, lambda r: f"{_cell(r['throughput_per_s'])} ({_cell(r['steps_per_s'])})"
    )
    return _table(["option", *(f"N={n}" for n in sizes)], rows)


def stalls(result: Mapping[str, Any]) -> str:
    """The samples far slower than their cell's median (over 1 s and 20x the p50), named."""
    found = [
        f"{LABELS.get(r['option'], r['option'])}, {r['shape']}, N={r['steps']}: "
        f"{r['max_ms'] / 1000:.1f} s (p50 {ms(r['p50_ms'])})"
        for r in result.get("latency", ())
        if r.get("max_ms", 0) > max(1000.0, 20 * r["p50_ms"])
    ]
    if not found:
        return ""
    return (
        "Stalls (the slowest sample of a cell, where it took over 1 s and 20x the cell's p50; "
        "the p50 and p95 above stand, the mean does not): " + "; ".join(found) + "."
    )


def _durability(fits: Mapping[str, Fit]) -> str:
    mem = fits.get("fastcore_memory")
    if mem is None:
        return ""
    parts = []
    for option, mode in DURABLE.items():
        f = fits.get(option)
        if f is not None:
            parts.append(
                f"`{mode}` costs {ms(f.slope_ms)} per step and {fixed(f.intercept_ms)} fixed"
            )
    if not parts:
        return ""
    return (
        f"Durability per step (sequential): the memory store costs {ms(mem.slope_ms)} per "
        f"step and {fixed(mem.intercept_ms)} fixed; on SQLite, " + "; ".join(parts) + "."
    )


def format_section(result: Mapping[str, Any], links: Mapping[str, str] | None = None) -> str:
    """The ``RESULTS.md`` section: plot link, sentence, latency, fits, crossings, throughput.

    Args:
        result: The result dict.
        links: ``{"svg": ..., "json": ...}`` paths relative to the Markdown file, if written.
    """
    links = links or {}
    sizes = result["sizes"]
    fits = fit_result(result)
    lines = [TITLE, ""]
    lines.append(
        "The same sub-workflow of N steps (each a small async activity), sequential, fanned "
        "out in parallel, and with a signal wait midway, run as N Temporal activities, N "
        "local activities, one fastcore sub-workflow inside one activity or one local "
        "activity (the worker's engine, memory store), and fastcore alone in-process on the "
        "memory store and on SQLite (`sync`, `batch`). Tuned dev server, unsandboxed runner, "
        "one worker, all in this run. Each sample is one sub-workflow, start to result, one "
        "at a time (the signal is sent right after the start); samples per N shrink as N "
        "grows."
    )
    if "svg" in links:
        data = f" (data: [{links['json']}]({links['json']}))" if "json" in links else ""
        lines += ["", f"![Latency against N, log-log]({links['svg']}){data}"]
    elif "svg_error" in links:
        lines += ["", f"The plot was not drawn: {links['svg_error']}."]
    lines += ["", f"**In one sentence:** {headline(result, fits)}"]
    lines += _latency_tables(result, sizes)
    if fits:
        lines += ["", "Fitted per option, `latency = fixed + per_step * N` (least squares on "]
        lines[-1] += "the p50s above):"
        lines += ["", *_fit_table(fits)]
        lines += [
            "",
            "An R² far below 1 means a flat line within the noise: the per-step cost is too "
            "small to see against the jitter of the fixed cost (the in-process rows show the "
            "engine's per-step cost alone).",
        ]
    if "sequential" in fits:
        lines += ["", "From which N fastcore is k times faster (the fitted lines, sequential):"]
        lines += ["", *_crossing_table(result, fits["sequential"])]
        lines += ["", f"\\* past the largest N measured ({max(sizes)}): extrapolated."]
        durability = _durability(fits["sequential"])
        if durability:
            lines += ["", durability]
    if result.get("throughput"):
        lines += [
            "",
            f"Throughput, N sequential steps, {result['concurrency']} sub-workflows at once: "
            "sub-workflows/s (steps/s):",
            "",
        ]
        lines += _throughput_table(result, sizes)
    notes = [*result.get("notes", ()), stalls(result)]
    for note in notes:
        if note:
            lines += ["", f"- {note}"]
    return "\n".join(lines)


def write_artifacts(
    result: Mapping[str, Any], out_dir: Path, *, stem: str = "scaling"
) -> dict[str, str]:
    """Write ``scaling.json`` and, with matplotlib installed, ``scaling.svg`` into ``out_dir``.

    Args:
        result: The result dict.
        out_dir: The directory (made if missing).
        stem: The files' name before ``.json`` and ``.svg``.

    Returns:
        The written files' names by kind (``json``, ``svg``), for :func:`format_section`;
        ``svg_error`` says why the plot was not drawn (also logged as a warning).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    links = {"json": f"{stem}.json"}
    try:
        from benchmarks._scaling_plot import render_svg
    except ImportError as err:
        why = f"{err} (install the plot extra: pip install -e '.[plot]')"
        log.warning("scaling plot not drawn: %s", why)
        links["svg_error"] = why
        return links
    render_svg(result, out_dir / f"{stem}.svg")
    links["svg"] = f"{stem}.svg"
    return links


def main(argv: Sequence[str] | None = None) -> None:
    """Print the section of a stored result; redraw its plot with ``--out-dir``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("result", type=Path, help="a scaling.json")
    parser.add_argument("--out-dir", type=Path, help="write scaling.svg and scaling.json here")
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text())
    links = write_artifacts(result, args.out_dir) if args.out_dir else {}
    print(format_section(result, links))


if __name__ == "__main__":
    main()
