"""The scaling benchmark's result: its names, and the straight-line fit of latency against N.

Pure Python (no Temporal, no plotting), so the plot, the report and the tests share it.

A result is a dict, JSON-able as it is::

    {
        "sizes": [1, 3, 10, 30, 100],
        "concurrency": 20,
        "latency": [  # one row per option, shape and N
            {"option": "temporal_activities", "shape": "sequential", "steps": 10,
             "n": 20, "p50_ms": 160.2, "p95_ms": 190.4, "mean_ms": 165.0},
            ...
        ],
        "throughput": [  # sequential shape, `concurrency` workflows at once
            {"option": ..., "steps": 10, "concurrency": 20, "workflows": 20,
             "wall_s": 1.3, "throughput_per_s": 15.4, "steps_per_s": 154.0},
            ...
        ],
        "probes": [...],  # single samples of what is too slow to sample (latency rows)
        "notes": ["..."],
    }
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DURABLE",
    "HOSTED",
    "IN_PROCESS",
    "LABELS",
    "OPTIONS",
    "SHAPES",
    "SHAPE_LABELS",
    "Fit",
    "fit_line",
    "fit_result",
    "p50_by_steps",
    "speedup_from",
]

SHAPES = ("sequential", "parallel", "signal")
"""The sub-workflow's shapes: steps one after another, fanned out, a signal wait midway."""

SHAPE_LABELS = {
    "sequential": "N sequential steps",
    "parallel": "N steps in parallel",
    "signal": "N steps, a signal wait midway",
}

HOSTED = (
    "temporal_activities",
    "temporal_local_activities",
    "fastcore_in_activity",
    "fastcore_in_local_activity",
)
"""The options a Temporal workflow runs (one Temporal workflow per sub-workflow)."""

IN_PROCESS = ("fastcore_memory", "fastcore_sqlite_batch", "fastcore_sqlite_sync")
"""fastcore alone in this process, on the memory store and on SQLite."""

DURABLE = {"fastcore_sqlite_sync": "sync", "fastcore_sqlite_batch": "batch"}
"""The SQLite-backed options and their durability mode."""

OPTIONS = HOSTED + IN_PROCESS
"""Every option, in the order tables and legends list them."""

LABELS = {
    "temporal_activities": "N Temporal activities",
    "temporal_local_activities": "N Temporal local activities",
    "fastcore_in_activity": "fastcore in one activity",
    "fastcore_in_local_activity": "fastcore in one local activity",
    "fastcore_memory": "fastcore in-process (memory)",
    "fastcore_sqlite_batch": "fastcore in-process (SQLite batch)",
    "fastcore_sqlite_sync": "fastcore in-process (SQLite sync)",
}
"""How each option reads in tables and on the plot."""


@dataclass(frozen=True)
class Fit:
    """A straight line through (N, p50 latency): ``latency = intercept + slope * N``.

    Attributes:
        intercept_ms: The fixed cost, milliseconds (what a sub-workflow costs at N = 0).
        slope_ms: The cost of each further step, milliseconds.
        r2: The coefficient of determination (1.0: the points lie on the line).
        points: How many (N, latency) points it was fitted on.
    """

    intercept_ms: float
    slope_ms: float
    r2: float
    points: int

    def at(self, steps: float) -> float:
        """The fitted latency at ``steps``, milliseconds."""
        return self.intercept_ms + self.slope_ms * steps


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """Ordinary least squares of ``ys`` on ``xs``.

    Raises:
        ValueError: Fewer than two points, lengths differ, or all ``xs`` are equal.
    """
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x values but {len(ys)} y values")
    if len(xs) < 2:
        raise ValueError("a line needs at least two points")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("every x is the same: the slope is undefined")
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return Fit(intercept_ms=intercept, slope_ms=slope, r2=r2, points=len(xs))


def p50_by_steps(result: Mapping[str, Any], shape: str, option: str) -> dict[int, float]:
    """The measured p50 latencies (ms) of ``option`` in ``shape``, by N."""
    return {
        int(r["steps"]): float(r["p50_ms"])
        for r in result.get("latency", ())
        if r["shape"] == shape and r["option"] == option and r.get("p50_ms") is not None
    }


def fit_result(result: Mapping[str, Any]) -> dict[str, dict[str, Fit]]:
    """A :class:`Fit` on the p50s of each shape and option with two sizes or more."""
    fits: dict[str, dict[str, Fit]] = {}
    for shape in SHAPES:
        for option in OPTIONS:
            points = p50_by_steps(result, shape, option)
            if len(points) >= 2:
                xs = sorted(points)
                fits.setdefault(shape, {})[option] = fit_line(xs, [points[x] for x in xs])
    return fits


def speedup_from(fast: Fit, slow: Fit, k: float) -> float | None:
    """From which N the ``slow`` line is at least ``k`` times the ``fast`` one, for good.

    Solves ``slow(N) = k * fast(N)``. Returns 1.0 when it holds from the first step on,
    the crossing point (a real number: round it up for a step count) when it holds from
    there on, and None when it does not hold for every large N (the per-step costs differ by
    less than ``k``).

    Raises:
        ValueError: ``k`` is not positive.
    """
    if not k > 0:
        raise ValueError(f"k must be positive, not {k}")
    gap_slope = slow.slope_ms - k * fast.slope_ms
    gap_at_one = slow.at(1) - k * fast.at(1)
    if gap_slope < 0 or (gap_slope == 0 and gap_at_one < 0):
        return None
    if gap_at_one >= 0:
        return 1.0
    crossing = (k * fast.intercept_ms - slow.intercept_ms) / gap_slope
    return crossing if math.isfinite(crossing) else None
