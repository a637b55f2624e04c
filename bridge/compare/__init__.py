"""Trace comparison: one workflow definition on both runtimes, compared span by span.

Either run a fastcore workflow class on a Temporal worker (through
``bridge.as_temporal_workflow``, with Temporal's ``OpenTelemetryPlugin``) and on a fastcore
``Engine``, or read two trace files exported earlier. The spans of each run are aligned by
name (the n-th ``RunActivity:reserve`` of one run with the n-th of the other: both runtimes
name their spans as Temporal's plugin does), and each step shows its duration on Temporal,
its duration on fastcore and their ratio. The table is printed, and a self-contained HTML
page (inline CSS and script, nothing fetched) draws both timelines one above the other, on
one time axis (or each its own), and says what each total measures.

A live run is checked before anything starts (the arguments and each ``--signal`` and
``--update`` against the workflow's signatures), is driven by those signals and updates,
skips timers on both runtimes (Temporal's per-workflow time skipping on the dev server it
starts, a ``VirtualClock`` on fastcore; Temporal's other time-skipping environment,
``WorkflowEnvironment.start_time_skipping``, downloads a Java test server, which an offline
machine cannot), has a deadline (``--timeout``) past which it fails naming the runtime and
the last failure, and prints its progress on stderr as it goes.

Trace files may be this module's own (``--save-traces``), OTLP JSON (the collector's file
exporter), Jaeger's JSON download, or the OpenTelemetry SDK's console exporter output. With
``--otlp-endpoint`` (the Jaeger service of docker-compose.yml: ``http://127.0.0.1:4317``)
both runs are also exported, as services ``compare-traces.temporal`` and
``compare-traces.fastcore``.

Run it as ``fastcore-bridge compare-traces ...`` or ``python -m bridge.compare ...``;
``main(argv)`` is the entry point both use.

``_command`` is the command (its options and ``main``), ``_align`` holds the spans and their
alignment, ``_io`` the trace files and OTLP export, ``_html`` the page, ``_live`` the live
runs' setup and ``_drive`` each run.
"""

from __future__ import annotations

from ._align import (
    ROOT_PREFIX,
    RUNTIMES,
    WHOLE_RUN,
    Row,
    Span,
    align,
    format_duration,
    format_ratio,
    format_table,
)
from ._command import compare_files, main
from ._drive import Action, CompareError, Outcome, check_call, parse_action
from ._html import SCALES, render_html
from ._io import FILE_FORMAT, export_otlp, read_trace_file, write_trace_file
from ._live import LiveRuns, load_workflow, run_both

__all__ = [
    "FILE_FORMAT",
    "ROOT_PREFIX",
    "RUNTIMES",
    "SCALES",
    "WHOLE_RUN",
    "Action",
    "CompareError",
    "LiveRuns",
    "Outcome",
    "Row",
    "Span",
    "align",
    "check_call",
    "compare_files",
    "export_otlp",
    "format_duration",
    "format_ratio",
    "format_table",
    "load_workflow",
    "main",
    "parse_action",
    "read_trace_file",
    "render_html",
    "run_both",
    "write_trace_file",
]
