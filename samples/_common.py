"""What the samples share: step records, the worker marker and the results table.

Every sample workflow returns a JSON-ready dict with a ``steps`` list; each step says what
ran, on which runtime (``"temporal"`` or ``"fastcore"``) and how long it took, in
microseconds, measured from the workflow's own deterministic clock (the timestamps of its
history events), so replay sees the same numbers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "FASTCORE",
    "TEMPORAL",
    "format_table",
    "human_duration",
    "step",
    "summary_line",
    "worker_marker",
]

FASTCORE = "fastcore"
TEMPORAL = "temporal"


def step(name: str, runtime: str, latency_us: float, note: str = "") -> dict[str, Any]:
    """One step of a scenario, as the workflows record it.

    Args:
        name: What ran, e.g. ``"preflight: check_limits"``.
        runtime: ``"temporal"`` or ``"fastcore"``.
        latency_us: How long it took, in microseconds.
        note: Anything worth a glance (the worker that ran it, a count, ...).
    """
    return {
        "step": name,
        "runtime": runtime,
        "latency_us": round(float(latency_us), 1),
        "note": note,
    }


def worker_marker() -> str:
    """``host:pid`` of the process running this code; results carry it so a test or a
    reader sees which worker ran each fastcore sub-workflow."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _latency(us: float) -> str:
    if us < 1_000:
        return f"{us:,.0f} us"
    if us < 1_000_000:
        return f"{us / 1_000:,.1f} ms"
    if us < 3_600_000_000:
        return f"{us / 1_000_000:,.1f} s"
    hours = us / 3_600_000_000
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} d"


def human_duration(seconds: float) -> str:
    """``seconds`` for a reader: ``"2.0 days"``, ``"3.0 h"``, ``"12.5 s"``."""
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    if seconds >= 3_600:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds:.1f} s"


def format_table(reports: Iterable[Mapping[str, Any]]) -> str:
    """The results table the demo prints: one row per step of every scenario, then the
    scenario's end-to-end time and outcome.

    Args:
        reports: ``run_sample`` results: ``scenario``, ``outcome``, ``steps``, ``elapsed_ms``.
    """
    header = ("scenario", "step", "ran on", "latency", "note")
    rows: list[Sequence[str]] = []
    for report in reports:
        if rows:
            rows.append(("",) * len(header))
        scenario = str(report["scenario"])
        for st in report.get("steps", ()):
            rows.append(
                (
                    scenario,
                    str(st["step"]),
                    str(st["runtime"]),
                    _latency(float(st["latency_us"])),
                    str(st.get("note", "")),
                )
            )
            scenario = ""  # the name once, on the scenario's first row
        rows.append(
            (
                scenario,
                "end to end, seen by the client",
                "",
                _latency(float(report.get("elapsed_ms", 0.0)) * 1000),
                f"=> {report.get('outcome', '')}",
            )
        )
    widths = [max([len(header[i]), *(len(r[i]) for r in rows)]) for i in range(len(header))]
    # The last column is not padded; its rule need not reach past the step notes.
    widths[-1] = max([len(header[-1]), *(len(r[-1]) for r in rows if not r[-1].startswith("=>"))])

    def line(cells: Sequence[str]) -> str:
        # Right-align the latency column so magnitudes line up.
        return "  ".join(
            c.rjust(w) if i == 3 else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def summary_line(reports: Iterable[Mapping[str, Any]]) -> str:
    """One line comparing a typical fastcore step with a typical Temporal activity.

    Counts the single steps (a fastcore activity; a Temporal activity's round trip), not
    the rows that sum several.
    """
    fast: list[float] = []
    slow: list[float] = []
    for report in reports:
        for st in report.get("steps", ()):
            name, latency = str(st["step"]), float(st["latency_us"])
            if st["runtime"] == FASTCORE and ":" in name and " x" not in name:
                fast.append(latency)
            elif st["runtime"] == TEMPORAL and "(Temporal activity)" in name and " x" not in name:
                slow.append(latency)
    if not fast or not slow:
        return ""
    f, t = sorted(fast)[len(fast) // 2], sorted(slow)[len(slow) // 2]
    return (
        f"median fastcore step {_latency(f)} vs median Temporal activity {_latency(t)} "
        f"(~{t / max(f, 0.001):,.0f}x)"
    )
