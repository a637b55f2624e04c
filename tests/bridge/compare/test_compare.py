"""compare-traces: alignment, the table, trace files, a live run on both runtimes, the page.

The live run uses Temporal's ``OpenTelemetryPlugin``, which needs the global tracer provider;
the ``global_provider_reset`` fixture (conftest.py) gives the test a fresh one and restores
the previous state afterwards (as temporalio's own tests reset it).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from bridge._devserver import DevServer
from bridge.compare import (
    WHOLE_RUN,
    Row,
    Span,
    align,
    format_duration,
    format_table,
    main,
    read_trace_file,
    render_html,
    write_trace_file,
)
from fastcore import activity, workflow

CHROMIUM = Path("/usr/bin/chromium")
T = timedelta(seconds=10)


# ---------------------------------------------------------------------- a workflow to compare


@activity.defn
async def add_one(value: int) -> int:
    return value + 1


@workflow.defn
class ThreeSteps:
    """The benchmark's shape: three sequential activities."""

    @workflow.run
    async def run(self, value: int) -> int:
        for _ in range(3):
            value = await workflow.execute_activity(add_one, value, start_to_close_timeout=T)
        return value


# ---------------------------------------------------------------------- helpers


def span(name: str, start: int, end: int, parent: str | None = None, sid: str = "") -> Span:
    return Span(
        name=name,
        trace_id="ab" * 16,
        span_id=sid or f"{abs(hash((name, start))) % 16**16:016x}",
        parent_id=parent,
        start_ns=start,
        end_ns=end,
    )


def run_of(scale: int) -> list[Span]:
    """A run: start, run, two activities (each scheduled then run), times ``scale``."""
    return [
        span("StartWorkflow:W", 0, 1 * scale, sid="0000000000000001"),
        span("RunWorkflow:W", 1 * scale, 20 * scale, "0000000000000001", "0000000000000002"),
        span("StartActivity:a", 2 * scale, 3 * scale, "0000000000000002", "0000000000000003"),
        span("RunActivity:a", 4 * scale, 8 * scale, "0000000000000003", "0000000000000004"),
        span("StartActivity:a", 9 * scale, 10 * scale, "0000000000000002", "0000000000000005"),
        span("RunActivity:a", 11 * scale, 19 * scale, "0000000000000005", "0000000000000006"),
    ]


# ---------------------------------------------------------------------- alignment and table


def test_rows_align_by_name_and_occurrence() -> None:
    rows = align(run_of(1000), run_of(10))
    assert [r.step for r in rows] == [
        WHOLE_RUN,
        "StartWorkflow:W",
        "RunWorkflow:W",
        "StartActivity:a",
        "RunActivity:a",
        "StartActivity:a #2",
        "RunActivity:a #2",
    ]
    by = {r.step: r for r in rows}
    assert by["RunActivity:a #2"] == Row("RunActivity:a #2", 8000, 80)
    assert by["RunActivity:a #2"].ratio == 100.0
    assert by[WHOLE_RUN] == Row(WHOLE_RUN, 20000, 200)


def test_steps_only_one_runtime_has() -> None:
    temporal = [*run_of(1000), span("SignalWorkflow:go", 30_000, 31_000)]
    fastcore = [*run_of(10)[:4], span("HandleSignal:go", 50, 51)]
    rows = align(temporal, fastcore)
    by = {r.step: r for r in rows}
    assert by["SignalWorkflow:go"] == Row("SignalWorkflow:go", 1000, None)
    assert by["HandleSignal:go"] == Row("HandleSignal:go", None, 1)
    assert by["RunActivity:a #2"].fastcore_ns is None and by["RunActivity:a #2"].ratio is None
    # a fastcore-only step sits after the step that precedes it on fastcore
    steps = [r.step for r in rows]
    assert steps.index("HandleSignal:go") == steps.index("RunActivity:a") + 1


def test_the_table() -> None:
    table = format_table(align(run_of(1_000_000), run_of(1000)))
    assert table.splitlines() == [
        "step                Temporal  fastcore  Temporal/fastcore",
        "------------------  --------  --------  -----------------",
        "(whole run)         20.00 ms   20.0 µs             1,000x",
        "StartWorkflow:W      1.00 ms    1.0 µs             1,000x",
        "RunWorkflow:W       19.00 ms   19.0 µs             1,000x",
        "StartActivity:a      1.00 ms    1.0 µs             1,000x",
        "RunActivity:a        4.00 ms    4.0 µs             1,000x",
        "StartActivity:a #2   1.00 ms    1.0 µs             1,000x",
        "RunActivity:a #2     8.00 ms    8.0 µs             1,000x",
    ]
    assert format_duration(999) == "999 ns"
    assert format_duration(2_500_000_000) == "2.50 s"


# ---------------------------------------------------------------------- trace files


def test_own_format_round_trip(tmp_path: Path) -> None:
    spans = run_of(1000)
    write_trace_file(tmp_path / "t.json", spans, runtime="temporal", workflow="W")
    assert sorted(read_trace_file(tmp_path / "t.json"), key=lambda s: s.start_ns) == spans


def test_reads_otlp_json(tmp_path: Path) -> None:
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "RunWorkflow:W",
                                "kind": 2,
                                "startTimeUnixNano": "1000",
                                "endTimeUnixNano": "5000",
                                "attributes": [
                                    {"key": "temporalWorkflowID", "value": {"stringValue": "w"}},
                                    {"key": "fastcore.attempt", "value": {"intValue": "1"}},
                                ],
                                "status": {"code": 2},
                            },
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b175",
                                "parentSpanId": "eee19b7ec3c1b174",
                                "name": "RunActivity:a",
                                "kind": "SPAN_KIND_SERVER",
                                "startTimeUnixNano": "2000",
                                "endTimeUnixNano": "3000",
                            },
                        ]
                    }
                ],
            }
        ]
    }
    (tmp_path / "otlp.json").write_text(json.dumps(doc))
    run, act = sorted(read_trace_file(tmp_path / "otlp.json"), key=lambda s: s.start_ns)
    assert (run.name, run.kind, run.status, run.duration_ns) == (
        "RunWorkflow:W",
        "SERVER",
        "ERROR",
        4000,
    )
    assert run.attributes == {"temporalWorkflowID": "w", "fastcore.attempt": 1}
    assert act.parent_id == run.span_id == "eee19b7ec3c1b174"


def test_reads_jaeger_json(tmp_path: Path) -> None:
    doc = {
        "data": [
            {
                "traceID": "d269b633813fc60c",
                "spans": [
                    {
                        "traceID": "d269b633813fc60c",
                        "spanID": "1",
                        "operationName": "RunWorkflow:W",
                        "references": [],
                        "startTime": 1_700_000_000_000_000,
                        "duration": 250,
                        "tags": [{"key": "span.kind", "type": "string", "value": "server"}],
                    },
                    {
                        "traceID": "d269b633813fc60c",
                        "spanID": "2",
                        "operationName": "RunActivity:a",
                        "references": [{"refType": "CHILD_OF", "spanID": "1"}],
                        "startTime": 1_700_000_000_000_100,
                        "duration": 50,
                        "tags": [{"key": "error", "type": "bool", "value": True}],
                    },
                ],
            }
        ]
    }
    (tmp_path / "jaeger.json").write_text(json.dumps(doc))
    run, act = sorted(read_trace_file(tmp_path / "jaeger.json"), key=lambda s: s.start_ns)
    assert run.trace_id == "0000000000000000d269b633813fc60c"
    assert (run.kind, run.duration_ns, act.duration_ns) == ("SERVER", 250_000, 50_000)
    assert act.parent_id == "0000000000000001" and act.status == "ERROR"


def test_reads_the_sdk_console_exporter_output(tmp_path: Path) -> None:
    out = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
    tracer = provider.get_tracer("t")
    with (
        tracer.start_as_current_span("RunWorkflow:W"),
        tracer.start_as_current_span("RunActivity:a"),
    ):
        pass
    # and an unrelated, smaller trace in the same file: the workflow's trace is chosen
    with tracer.start_as_current_span("other"):
        pass
    provider.shutdown()
    (tmp_path / "console.txt").write_text(out.getvalue())
    spans = read_trace_file(tmp_path / "console.txt")
    assert sorted(s.name for s in spans) == ["RunActivity:a", "RunWorkflow:W"]
    by = {s.name: s for s in spans}
    assert by["RunActivity:a"].parent_id == by["RunWorkflow:W"].span_id


def test_a_file_without_spans_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(ValueError, match="no spans"):
        read_trace_file(tmp_path / "empty.json")


async def test_main_on_two_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_trace_file(tmp_path / "t.json", run_of(1_000_000), runtime="temporal", workflow="W")
    write_trace_file(tmp_path / "f.json", run_of(1000), runtime="fastcore", workflow="W")
    page = tmp_path / "page.html"
    code = await main(
        [
            "--traces",
            str(tmp_path / "t.json"),
            str(tmp_path / "f.json"),
            "--html",
            str(page),
            "--no-otlp",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert format_table(align(run_of(1_000_000), run_of(1000))) in out
    assert page.exists()
    assert (
        await main(
            [
                "--traces",
                str(tmp_path / "missing.json"),
                str(tmp_path / "f.json"),
                "--html",
                str(page),
                "--no-otlp",
            ]
        )
        == 1
    )


# ---------------------------------------------------------------------- the page


def test_the_page_is_self_contained() -> None:
    page = render_html(run_of(1_000_000), run_of(1000), title="W <&>")
    assert "W &lt;&amp;&gt;" in page
    # nothing is fetched: no external script, stylesheet, image or font
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert page.count('<svg id="timeline-') == 2
    assert page.index('id="timeline-temporal"') < page.index('id="timeline-fastcore"')


def chromium_dom(page: Path, tmp_path: Path) -> str:
    """The DOM of ``page`` after its script ran, as headless Chromium dumps it."""
    out = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _timeline_bars(dom: str, runtime: str) -> list[str]:
    m = re.search(rf'<svg id="timeline-{runtime}".*?</svg>', dom, re.S)
    assert m, f"no {runtime} timeline in the DOM"
    return re.findall(r'<g class="bar[^"]*" data-step="([^"]+)"', m.group(0))


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (scripts/install_chromium.sh)"
)
def test_the_page_renders_both_timelines_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    page.write_text(render_html(run_of(1_000_000), run_of(1000), title="W"))
    dom = chromium_dom(page, tmp_path)
    assert 'data-timelines="2"' in dom
    steps = [
        "StartWorkflow:W",
        "RunWorkflow:W",
        "StartActivity:a",
        "RunActivity:a",
        "StartActivity:a #2",
        "RunActivity:a #2",
    ]
    assert _timeline_bars(dom, "temporal") == steps
    assert _timeline_bars(dom, "fastcore") == steps
    assert re.search(r'id="total-temporal">20.00 ms<', dom)
    assert re.search(r'id="total-fastcore">20.0 µs<', dom)


def test_the_page_explains_each_total() -> None:
    root_t = span("compare-traces:temporal", 0, 25_000_000, sid="00000000000000aa")
    root_f = span("compare-traces:fastcore", 0, 30_000, sid="00000000000000bb")
    page = render_html([root_t, *run_of(1_000_000)], [root_f, *run_of(1000)], title="W")
    assert "the whole run took 25.00 ms: from the client's start call until its result" in page
    assert "the whole run took 30.0 µs" in page
    # without the wrapping span (a trace file of another tool), it says what it measured
    page = render_html(run_of(1_000_000), run_of(1000), title="W")
    assert "from the first span's start to the last span's end" in page
    with pytest.raises(ValueError, match="scale"):
        render_html(run_of(1), run_of(1), scale="log")


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (scripts/install_chromium.sh)"
)
@pytest.mark.parametrize("scale", ["shared", "per-runtime"])
def test_the_page_draws_one_time_axis_or_one_per_runtime(scale: str, tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    page.write_text(render_html(run_of(1_000_000), run_of(1000), title="W", scale=scale))
    dom = chromium_dom(page, tmp_path)
    assert f'data-scale="{scale}"' in dom
    axes = dict(re.findall(r'<svg id="timeline-(\w+)"[^>]*data-axis-max="(\d+)"', dom))
    if scale == "shared":  # both on Temporal's (the longer) run
        assert axes == {"temporal": "20000000", "fastcore": "20000000"}
    else:
        assert axes == {"temporal": "20000000", "fastcore": "20000"}
    assert re.search(rf'<input type="radio" name="scale" value="{scale}"[^>]*checked', dom)


# ---------------------------------------------------------------------- a live run


async def test_one_workflow_on_both_runtimes(
    temporal_server: DevServer,
    global_provider_reset: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page, saved = tmp_path / "live.html", tmp_path / "traces"
    code = await main(
        [
            "--workflow",
            f"{__name__}:ThreeSteps",
            "--arg",
            "10",
            "--temporal-address",
            temporal_server.target,
            "--unsandboxed",
            "--html",
            str(page),
            "--save-traces",
            str(saved),
            "--no-otlp",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "result on Temporal: 13" in out and "result on fastcore: 13" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("step "))
    table = lines[header : header + 2 + 1 + 8]
    steps = [re.split(r"\s{2,}", line)[0] for line in table[2:]]
    assert steps == [
        WHOLE_RUN,
        "StartWorkflow:ThreeSteps",
        "RunWorkflow:ThreeSteps",
        "StartActivity:add_one",
        "RunActivity:add_one",
        "StartActivity:add_one #2",
        "RunActivity:add_one #2",
        "StartActivity:add_one #3",
        "RunActivity:add_one #3",
    ]
    for line in table[2:]:
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == 4 and cells[3].endswith("x"), line  # both durations, a ratio
    temporal = read_trace_file(saved / "temporal.json")
    fastcore = read_trace_file(saved / "fastcore.json")
    rows = {r.step: r for r in align(temporal, fastcore)}
    # Temporal's whole run takes server round trips; fastcore's does not
    whole = rows[WHOLE_RUN]
    assert whole.temporal_ns is not None and whole.fastcore_ns is not None
    assert whole.temporal_ns > whole.fastcore_ns
    # each runtime's trace is one tree: start -> run -> activities
    for spans in (temporal, fastcore):
        assert len({s.trace_id for s in spans}) == 1
        ids = {s.name: s.span_id for s in spans}
        run = next(s for s in spans if s.name == "RunWorkflow:ThreeSteps")
        assert run.parent_id == ids["StartWorkflow:ThreeSteps"]
        assert {s.parent_id for s in spans if s.name == "StartActivity:add_one"} == {run.span_id}
    # the saved files compare to the same table
    assert (
        await main(
            [
                "--traces",
                str(saved / "temporal.json"),
                str(saved / "fastcore.json"),
                "--html",
                str(tmp_path / "again.html"),
                "--no-otlp",
            ]
        )
        == 0
    )
    assert "\n".join(table) in capsys.readouterr().out
    if CHROMIUM.exists():
        dom = chromium_dom(page, tmp_path)
        assert 'data-timelines="2"' in dom
        assert len(_timeline_bars(dom, "temporal")) == len(_timeline_bars(dom, "fastcore")) == 8


# ---------------------------------------------------------------------- OTLP export


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def Export(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_otlp_export_is_a_flag_away(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collector = _Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        write_trace_file(tmp_path / "t.json", run_of(1_000_000), runtime="temporal", workflow="W")
        write_trace_file(tmp_path / "f.json", run_of(1000), runtime="fastcore", workflow="W")
        code = await asyncio.to_thread(
            lambda: asyncio.run(
                main(
                    [
                        "--traces",
                        str(tmp_path / "t.json"),
                        str(tmp_path / "f.json"),
                        "--html",
                        str(tmp_path / "p.html"),
                        "--otlp-endpoint",
                        f"http://127.0.0.1:{port}",
                    ]
                )
            )
        )
    finally:
        await server.stop(None)
    assert code == 0
    assert f"exported 12 spans to http://127.0.0.1:{port}" in capsys.readouterr().out
    got: dict[str, list[str]] = {}
    for req in collector.requests:
        for rs in req.resource_spans:
            service = next(
                a.value.string_value for a in rs.resource.attributes if a.key == "service.name"
            )
            for ss in rs.scope_spans:
                got.setdefault(service, []).extend(s.name for s in ss.spans)
    assert sorted(got) == ["compare-traces.fastcore", "compare-traces.temporal"]
    assert sorted(got["compare-traces.temporal"]) == sorted(s.name for s in run_of(1))
