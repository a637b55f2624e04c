"""Issue 18's targets, each next to what this run measured: the last table of RESULTS.md.

``targets_table`` takes the rows every section returned (by section name) and gives one
Markdown row per measure of the issue: the number the issue started from, the target, this
run's number and whether it reached the target. A measure whose section did not run (or
failed) says so instead of a number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from benchmarks._bench_common import markdown_table

__all__ = ["targets_table"]

Result = dict[str, Any]
Rows = Mapping[str, Sequence[Result]]


def _find(rows: Sequence[Result], **kw: Any) -> Result | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in kw.items())), None)


def _p50_us(section: str, **kw: Any) -> Callable[[Rows], float | None]:
    def get(rows: Rows) -> float | None:
        r = _find(rows.get(section, ()), **kw)
        return r["p50_ms"] * 1000 if r and r.get("p50_ms") is not None else None

    return get


def _rate(section: str, **kw: Any) -> Callable[[Rows], float | None]:
    def get(rows: Rows) -> float | None:
        r = _find(rows.get(section, ()), **kw)
        return r.get("throughput_per_s") if r else None

    return get


def _many(mode: str) -> Callable[[Rows], float | None]:
    """Workflows/s of the durability section's all-at-once run on one SQLite mode."""

    def get(rows: Rows) -> float | None:
        for r in rows.get("durability", ()):
            if r.get("server") == f"sqlite-{mode}" and str(r.get("benchmark")).startswith("many_"):
                rate = r.get("throughput_per_s")
                return float(rate) if rate is not None else None
        return None

    return get


def _tracing_path(rows: Rows) -> float | None:
    r = _find(rows.get("tracing", ()), config="batch_exporter")
    return r.get("path_overhead_us") if r else None


def _bridge_ratio(call: str, key: str = "ratio") -> Callable[[Rows], float | None]:
    def get(rows: Rows) -> float | None:
        from benchmarks._bridge_bench import floor_ratios

        found = [r for r in floor_ratios(rows.get("bridge", ())) if r["call"] == call]
        return found[0][key] if found else None

    return get


def _bytes(rows: Rows) -> float | None:
    r = _find(rows.get("engine", ()), benchmark="memory_per_waiting_workflow")
    return r.get("bytes_per_workflow") if r else None


def _temporal_ratio(rows: Rows) -> float | None:
    engine = rows.get("engine", ())
    fc = _find(engine, runtime="fastcore", benchmark="three_activities")
    temporal = [
        r
        for r in engine
        if r.get("runtime") == "temporal"
        and r.get("benchmark") == "three_activities"
        and r.get("p50_ms") is not None
    ]
    if not fc or not temporal or not fc.get("p50_ms"):
        return None
    return float(min(r["p50_ms"] for r in temporal) / fc["p50_ms"])


# measure, the starting point, target text, getter, reached(value), format
_TARGETS: tuple[
    tuple[str, str, str, Callable[[Rows], float | None], Callable[[float], bool], str], ...
] = (
    (
        "3-activity workflow, start to result, p50",
        "62-77 µs",
        "≤ 20 µs",
        _p50_us("engine", runtime="fastcore", benchmark="three_activities"),
        lambda v: v <= 20,
        "{:.1f} µs",
    ),
    (
        "empty workflow p50",
        "18-20 µs",
        "≤ 6 µs",
        _p50_us("engine", runtime="fastcore", benchmark="noop"),
        lambda v: v <= 6,
        "{:.1f} µs",
    ),
    (
        "signal round trip p50",
        "15-17 µs",
        "≤ 8 µs",
        _p50_us("engine", runtime="fastcore", benchmark="signal_round_trip"),
        lambda v: v <= 8,
        "{:.1f} µs",
    ),
    (
        "3-activity workflows/s, 10,000 at once, memory store",
        "7,600-7,900",
        "≥ 30,000",
        _rate("engine", runtime="fastcore", benchmark="throughput"),
        lambda v: v >= 30_000,
        "{:,.0f}",
    ),
    (
        "same on SQLite `batch`",
        "5,100 (1,000 at once)",
        "≥ 15,000",
        _many("batch"),
        lambda v: v >= 15_000,
        "{:,.0f}",
    ),
    (
        "same on SQLite `sync`",
        "4,900 (1,000 at once)",
        "≥ 8,000",
        _many("sync"),
        lambda v: v >= 8_000,
        "{:,.0f}",
    ),
    (
        "tracing on (real provider, batch export), added on the workflow's path (p50)",
        "370-450 µs per workflow",
        "≤ 20 µs",
        _tracing_path,
        lambda v: v <= 20,
        "{:+.1f} µs",
    ),
    (
        "gRPC bridge signal round trip p50, over grpcio's fastest floor",
        "0.71-0.93 ms (1.04x grpc.aio's)",
        "≤ 1.1x",
        _bridge_ratio("signal"),
        lambda v: v <= 1.1,
        "{:.2f}x",
    ),
    (
        "gRPC bridge query round trip p50, over grpcio's fastest floor",
        "0.75 ms",
        "≤ 1.1x",
        _bridge_ratio("query"),
        lambda v: v <= 1.1,
        "{:.2f}x",
    ),
    (
        "the same two calls over grpc.aio's floor on their transport (what an asyncio client "
        "can reach): signal",
        "1.04x (TCP)",
        "≤ 1.1x",
        _bridge_ratio("signal", "same_transport_ratio"),
        lambda v: v <= 1.1,
        "{:.2f}x",
    ),
    (
        "... query",
        "1.10x (TCP)",
        "≤ 1.1x",
        _bridge_ratio("query", "same_transport_ratio"),
        lambda v: v <= 1.1,
        "{:.2f}x",
    ),
    (
        "bytes per parked workflow",
        "3,946",
        "≤ 4,096",
        _bytes,
        lambda v: v <= 4096,
        "{:,.0f}",
    ),
    (
        "ratio to Temporal's best, 3-activity p50",
        "~500x",
        "≥ 2,000x",
        _temporal_ratio,
        lambda v: v >= 2000,
        "{:,.0f}x",
    ),
)


def targets_table(rows: Rows) -> str:
    """The issue's table with this run's numbers (Markdown, with its heading)."""
    cells = []
    for measure, before, target, get, ok, fmt in _TARGETS:
        try:
            value = get(rows)
        except Exception as err:  # a section's rows in an unexpected shape: say so
            value, note = None, f"not measured ({type(err).__name__})"
        else:
            note = "not measured (section not run or failed)"
        if value is None:
            cells.append([measure, before, target, note, "-"])
        else:
            cells.append([measure, before, target, fmt.format(value), "yes" if ok(value) else "no"])
    return "\n".join(
        [
            "## Targets (issue 18), this run",
            "",
            "Every measure of the issue, from the sections above; `PROFILE.md` says where the "
            "time goes for the ones not reached.",
            "",
            markdown_table(
                ["measure", "when the issue was filed", "target", "this run", "reached"], cells
            ),
        ]
    )
