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
