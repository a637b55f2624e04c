"""The ``compare-traces`` command: its options, ``main`` and ``compare_files``.

The package docstring (``bridge.compare``) says what it does.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._align import Span, align, format_table
from ._drive import parse_action
from ._html import render_html
from ._io import export_otlp, read_trace_file, write_trace_file
from ._live import load_workflow, module_definitions, run_both

__all__ = ["compare_files", "main"]

OTLP_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TEMPORAL_ENV = "TEMPORAL_ADDRESS"


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
        "--signal",
        dest="actions",
        action="append",
        type=lambda v: ("signal", v),
        default=[],
        metavar="NAME[=JSON]",
        help="send this signal after the start, with one JSON argument or none (repeat; "
        "signals and updates are sent in the order given)",
    )
    p.add_argument(
        "--update",
        dest="actions",
        action="append",
        type=lambda v: ("update", v),
        metavar="NAME[=JSON]",
        help="run this update after the start and wait for its result (repeat)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="each run's deadline; past it the run is ended and the error says why (%(default)s)",
    )
    p.add_argument(
        "--no-time-skipping",
        action="store_true",
        help="let timers take their real time (by default both runtimes skip them: Temporal's "
        "per-workflow time skipping, fastcore's VirtualClock)",
    )
    p.add_argument(
        "--scale",
        choices=("shared", "per-runtime"),
        default="shared",
        help="the page's time axis: one for both runtimes, or each its own (%(default)s; the "
        "page can switch)",
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
    if args.timeout <= 0:
        print("compare-traces: error: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        if args.traces:
            temporal, fastcore = compare_files(*args.traces)
            title = "compare-traces: " + " vs ".join(Path(p).name for p in args.traces)
            workflow_name = _workflow_name(temporal) or _workflow_name(fastcore) or "workflow"
        else:
            cls, module = load_workflow(args.workflow)
            values = _json_args(args.args)
            actions = [parse_action(kind, spec) for kind, spec in args.actions]
            workflows = module_definitions(module)[0]
            _progress(
                f"{args.workflow} on Temporal and on fastcore, {max(0, args.warmup)} warm-up "
                f"and 1 measured run each, each within {args.timeout:g}s"
                + ("" if args.no_time_skipping else ", timers skipped")
            )
            live = await run_both(
                cls,
                values,
                actions=actions,
                temporal_address=args.temporal_address,
                namespace=args.namespace,
                workflows=workflows,
                activities=_activities(args.activities, module),
                warmup=max(0, args.warmup),
                sandboxed=not args.unsandboxed,
                timeout=args.timeout,
                skip_time=not args.no_time_skipping,
                progress=_progress,
            )
            temporal, fastcore = live.temporal, live.fastcore
            workflow_name = _workflow_name(fastcore) or cls.__name__
            title = f"compare-traces: {workflow_name}"
            print(f"result on Temporal: {live.temporal_outcome.text()}")
            print(f"result on fastcore: {live.fastcore_outcome.text()}")
    except (ValueError, RuntimeError, OSError, ImportError) as err:
        hint = ""
        if "validating workflow" in str(err) and not args.unsandboxed:
            hint = (
                " (Temporal's sandbox refused the workflow's module; --unsandboxed runs it "
                "outside the sandbox)"
            )
        print(f"compare-traces: error: {err}{hint}", file=sys.stderr)
        return 1
    rows = align(temporal, fastcore)
    print(format_table(rows))
    page = Path(args.html)
    page.write_text(render_html(temporal, fastcore, title=title, scale=args.scale))
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
            print(f"compare-traces: error: {err}", file=sys.stderr)
            return 1
        print(f"exported {n} spans to {args.otlp_endpoint}")
    return 0


def _progress(line: str) -> None:
    """A progress line on stderr (stdout keeps the results and the table)."""
    print(f"compare-traces: {line}", file=sys.stderr, flush=True)


def _json_args(raw: Sequence[str]) -> list[Any]:
    values = []
    for i, text in enumerate(raw, 1):
        try:
            values.append(json.loads(text))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"--arg #{i} {text!r} is not JSON ({err}); a string is --arg '\"text\"'"
            ) from None
    return values


def _workflow_name(spans: Sequence[Span]) -> str | None:
    for s in sorted(spans, key=lambda s: s.start_ns):
        if s.name.startswith("RunWorkflow:"):
            return s.name.split(":", 1)[1]
    return None
