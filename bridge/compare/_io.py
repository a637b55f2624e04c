"""compare-traces' spans in and out: trace files read and written, and OTLP export.

Trace files may be this tool's own (``write_trace_file``), OTLP JSON (the collector's file
exporter), Jaeger's JSON download, or the OpenTelemetry SDK's console exporter output.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ._align import Span

FILE_FORMAT = "fastcore-compare-traces/1"


# --------------------------------------------------------------------------- trace files


def _hex(value: Any, width: int) -> str:
    """An id as lowercase hex of ``width`` digits, from hex (``0x`` or not) or an int."""
    if isinstance(value, int):
        return f"{value:0{width}x}"
    text = str(value).lower().removeprefix("0x")
    return text.rjust(width, "0")


def _kind(value: Any) -> str:
    """A span kind from any of the spellings exporters use."""
    if isinstance(value, int):  # OTLP enum: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
        return {2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}.get(value, "INTERNAL")
    text = str(value or "INTERNAL").upper()
    for kind in ("SERVER", "CLIENT", "PRODUCER", "CONSUMER"):
        if kind in text:
            return kind
    return "INTERNAL"


def _status(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("status_code", value.get("code"))
    if value in (2, "2"):
        return "ERROR"
    if value in (1, "1"):
        return "OK"
    text = str(value or "UNSET").upper()
    return "ERROR" if "ERROR" in text else "OK" if text.endswith("OK") else "UNSET"


def _iso_ns(text: str) -> int:
    """Epoch nanoseconds of an ISO-8601 time (the SDK console exporter's format)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def _otlp_value(v: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_otlp_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def _from_otlp(doc: dict[str, Any]) -> list[Span]:
    out = []
    for rs in doc.get("resourceSpans") or []:
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
            for s in ss.get("spans") or []:
                parent = s.get("parentSpanId") or None
                out.append(
                    Span(
                        name=s["name"],
                        trace_id=_hex(s["traceId"], 32),
                        span_id=_hex(s["spanId"], 16),
                        parent_id=_hex(parent, 16) if parent else None,
                        start_ns=int(s["startTimeUnixNano"]),
                        end_ns=int(s["endTimeUnixNano"]),
                        kind=_kind(s.get("kind")),
                        status=_status(s.get("status") or {}),
                        attributes={
                            a["key"]: _otlp_value(a.get("value") or {})
                            for a in s.get("attributes") or []
                        },
                    )
                )
    return out


def _from_jaeger(doc: dict[str, Any]) -> list[Span]:
    out = []
    for t in doc.get("data") or []:
        for s in t.get("spans") or []:
            parent = next(
                (r["spanID"] for r in s.get("references") or [] if r.get("refType") == "CHILD_OF"),
                None,
            )
            tags = {tag["key"]: tag.get("value") for tag in s.get("tags") or []}
            start = int(s["startTime"]) * 1000  # microseconds
            out.append(
                Span(
                    name=s["operationName"],
                    trace_id=_hex(s["traceID"], 32),
                    span_id=_hex(s["spanID"], 16),
                    parent_id=_hex(parent, 16) if parent else None,
                    start_ns=start,
                    end_ns=start + int(s.get("duration") or 0) * 1000,
                    kind=_kind(tags.get("span.kind")),
                    status="ERROR" if tags.get("error") in (True, "true") else "UNSET",
                    attributes=tags,
                )
            )
    return out


def _from_sdk(s: dict[str, Any]) -> Span:
    """A span as ``ReadableSpan.to_json()`` writes it (the SDK's console exporter)."""
    ctx = s.get("context") or {}
    parent = s.get("parent_id")
    return Span(
        name=s["name"],
        trace_id=_hex(ctx["trace_id"], 32),
        span_id=_hex(ctx["span_id"], 16),
        parent_id=_hex(parent, 16) if parent else None,
        start_ns=_iso_ns(s["start_time"]),
        end_ns=_iso_ns(s["end_time"]),
        kind=_kind(s.get("kind")),
        status=_status(s.get("status") or {}),
        attributes=dict(s.get("attributes") or {}),
    )


def _spans_of(value: Any) -> list[Span]:
    if isinstance(value, list):
        return [sp for item in value for sp in _spans_of(item)]
    if not isinstance(value, dict):
        return []
    if "resourceSpans" in value:
        return _from_otlp(value)
    if "data" in value and isinstance(value["data"], list):
        return _from_jaeger(value)
    if "spans" in value:
        return [sp for item in value["spans"] for sp in _spans_of(item)]
    if "context" in value and "name" in value:
        return [_from_sdk(value)]
    if {"name", "trace_id", "span_id", "start_ns", "end_ns"} <= value.keys():
        fields = {f.name for f in dataclasses.fields(Span)}
        return [Span(**{k: v for k, v in value.items() if k in fields})]
    return []


def _json_values(text: str) -> Iterable[Any]:
    """Every JSON value in ``text``: one document, JSON lines, or objects one after another."""
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        value, i = decoder.raw_decode(text, i)
        yield value


def read_trace_file(path: str | Path) -> list[Span]:
    """The spans in a trace file (this module's format, OTLP JSON, Jaeger JSON, SDK console).

    A file with several traces gives the trace of the workflow run: the one with a
    ``RunWorkflow:`` span and the most spans.

    Raises:
        ValueError: The file holds no span this reader understands.
    """
    text = Path(path).read_text()
    try:
        spans = [sp for value in _json_values(text) for sp in _spans_of(value)]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a trace file this tool reads ({err})") from None
    if not spans:
        raise ValueError(f"{path}: no spans found")
    return _one_trace(spans)


def _one_trace(spans: list[Span]) -> list[Span]:
    by_trace: dict[str, list[Span]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, []).append(s)
    if len(by_trace) == 1:
        return spans
    best = max(
        by_trace.values(),
        key=lambda group: (any(s.name.startswith("RunWorkflow:") for s in group), len(group)),
    )
    return best


def write_trace_file(
    path: str | Path, spans: Sequence[Span], *, runtime: str, workflow: str
) -> None:
    """Write ``spans`` in this module's format (``--traces`` reads it back)."""
    doc = {
        "format": FILE_FORMAT,
        "runtime": runtime,
        "workflow": workflow,
        "spans": [s.to_json() for s in sorted(spans, key=lambda s: s.start_ns)],
    }
    Path(path).write_text(json.dumps(doc, indent=1, default=str) + "\n")


# --------------------------------------------------------------------------- OTLP export


def export_otlp(endpoint: str, runs: dict[str, Sequence[Span]]) -> int:
    """Send each run's spans to an OTLP/gRPC collector as service ``compare-traces.<run>``.

    Returns:
        How many spans were sent.

    Raises:
        RuntimeError: The OTLP exporter is not installed, or the collector refused them.
    """
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise RuntimeError(
            "--otlp-endpoint needs opentelemetry-exporter-otlp "
            "(pip install 'fastcore-temporal[otlp]')"
        ) from None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    insecure = not endpoint.startswith("https://")
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=insecure)
    sent = 0
    try:
        for runtime, spans in runs.items():
            resource = Resource.create({"service.name": f"compare-traces.{runtime}"})
            readable = []
            for s in spans:
                tid = int(s.trace_id, 16)
                ctx = SpanContext(tid, int(s.span_id, 16), False, TraceFlags(1))
                parent = (
                    SpanContext(tid, int(s.parent_id, 16), False, TraceFlags(1))
                    if s.parent_id
                    else None
                )
                readable.append(
                    ReadableSpan(
                        name=s.name,
                        context=ctx,
                        parent=parent,
                        resource=resource,
                        attributes={
                            k: v
                            for k, v in s.attributes.items()
                            if isinstance(v, str | bool | int | float)
                        },
                        kind=SpanKind[s.kind]
                        if s.kind in SpanKind.__members__
                        else SpanKind.INTERNAL,
                        status=Status(
                            StatusCode[s.status]
                            if s.status in StatusCode.__members__
                            else StatusCode.UNSET
                        ),
                        start_time=s.start_ns,
                        end_time=s.end_ns,
                    )
                )
            if exporter.export(readable) is not SpanExportResult.SUCCESS:
                raise RuntimeError(f"the OTLP collector at {endpoint} did not take the spans")
            sent += len(readable)
    finally:
        exporter.shutdown()
    return sent
