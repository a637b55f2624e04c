"""compare-traces' data and its alignment: spans, the rows pairing them, the text table.

The spans of each run are aligned by name (the n-th ``RunActivity:reserve`` of one run with
the n-th of the other), the whole run first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

ROOT_PREFIX = "compare-traces:"
"""The name prefix of the span each live run is wrapped in (not a step of the workflow)."""
RUNTIMES = ("temporal", "fastcore")


# --------------------------------------------------------------------------- the data


@dataclasses.dataclass(frozen=True)
class Span:
    """One finished span, as much of it as the comparison needs.

    Attributes:
        name: The span name, e.g. ``RunActivity:reserve``.
        trace_id: 32 hex digits.
        span_id: 16 hex digits.
        parent_id: The parent's span id, or None for a root.
        start_ns: Start, epoch nanoseconds.
        end_ns: End, epoch nanoseconds.
        kind: ``CLIENT``, ``SERVER``, ``INTERNAL``, ``PRODUCER`` or ``CONSUMER``.
        status: ``UNSET``, ``OK`` or ``ERROR``.
        attributes: The span's attributes.
    """

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start_ns: int
    end_ns: int
    kind: str = "INTERNAL"
    status: str = "UNSET"
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        """End minus start."""
        return max(0, self.end_ns - self.start_ns)

    def to_json(self) -> dict[str, Any]:
        """This module's file form of the span."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Row:
    """One step of the comparison: the same span on each runtime.

    Attributes:
        step: The span name, with ``#n`` from the second occurrence on.
        temporal_ns: Its duration on Temporal (None when only fastcore has it).
        fastcore_ns: Its duration on fastcore (None when only Temporal has it).
    """

    step: str
    temporal_ns: int | None
    fastcore_ns: int | None

    @property
    def ratio(self) -> float | None:
        """Temporal's duration over fastcore's (how many times faster fastcore is)."""
        if self.temporal_ns is None or self.fastcore_ns is None or self.fastcore_ns <= 0:
            return None
        return self.temporal_ns / self.fastcore_ns


# --------------------------------------------------------------------------- alignment


def _steps(spans: Sequence[Span]) -> list[tuple[str, Span]]:
    """(step name, span) in start order; the n-th occurrence of a name is ``name #n``."""
    seen: dict[str, int] = {}
    out = []
    for s in sorted(spans, key=lambda s: (s.start_ns, s.end_ns)):
        if s.name.startswith(ROOT_PREFIX):
            continue
        seen[s.name] = seen.get(s.name, 0) + 1
        n = seen[s.name]
        out.append((s.name if n == 1 else f"{s.name} #{n}", s))
    return out


def _whole(spans: Sequence[Span]) -> int | None:
    """The run's wall time: its wrapping span, or first start to last end."""
    roots = [s for s in spans if s.name.startswith(ROOT_PREFIX)]
    if roots:
        return roots[0].duration_ns
    if not spans:
        return None
    return max(s.end_ns for s in spans) - min(s.start_ns for s in spans)


WHOLE_RUN = "(whole run)"


def align(temporal: Sequence[Span], fastcore: Sequence[Span]) -> list[Row]:
    """The comparison rows: the whole run, then each step in Temporal's start order.

    Steps only one runtime has come where they fall in that runtime's order, with None on
    the other side.
    """
    t_steps, f_steps = _steps(temporal), _steps(fastcore)
    f_map = dict(f_steps)
    t_map = dict(t_steps)
    rows = [Row(WHOLE_RUN, _whole(temporal), _whole(fastcore))]
    order = [name for name, _ in t_steps]
    # fastcore-only steps go after the step that precedes them in fastcore's order
    for i, (name, _) in enumerate(f_steps):
        if name in t_map:
            continue
        prev = next((f_steps[j][0] for j in range(i - 1, -1, -1) if f_steps[j][0] in order), None)
        order.insert(order.index(prev) + 1 if prev is not None else 0, name)
    for name in order:
        t, f = t_map.get(name), f_map.get(name)
        rows.append(Row(name, t.duration_ns if t else None, f.duration_ns if f else None))
    return rows


def format_duration(ns: int | None) -> str:
    """A duration for people: ``850 ns``, ``12.4 µs``, ``3.21 ms``, ``1.50 s``."""
    if ns is None:
        return "-"
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def format_ratio(ratio: float | None) -> str:
    """``123.4x`` (Temporal's time over fastcore's), or ``-``."""
    if ratio is None:
        return "-"
    return f"{ratio:,.1f}x" if ratio < 100 else f"{ratio:,.0f}x"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table (what the terminal shows)."""
    header = ("step", "Temporal", "fastcore", "Temporal/fastcore")
    body = [
        (
            r.step,
            format_duration(r.temporal_ns),
            format_duration(r.fastcore_ns),
            format_ratio(r.ratio),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(b) for b in body)])
