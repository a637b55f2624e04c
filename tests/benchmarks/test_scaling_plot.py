"""The scaling benchmark's pure parts: the least-squares fit, the crossing N, the report and
the SVG plot, on small made-up results (no timing, no Temporal)."""

from __future__ import annotations

import logging
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from benchmarks._scaling_model import LABELS, Fit, fit_line, fit_result, speedup_from
from benchmarks._scaling_plot import render_svg
from benchmarks._scaling_report import (
    fixed,
    format_section,
    headline,
    stalls,
    write_artifacts,
)

SVG = "{http://www.w3.org/2000/svg}"
SIZES = [1, 10, 100]
# option: (fixed ms, per step ms) of the made-up lines
LINES = {
    "temporal_activities": (10.0, 15.0),
    "temporal_local_activities": (8.0, 3.0),
    "fastcore_in_activity": (20.0, 0.05),
    "fastcore_in_local_activity": (12.0, 0.05),
    "fastcore_memory": (0.02, 0.01),
}


def fake_result(shapes: tuple[str, ...] = ("sequential", "signal")) -> dict[str, Any]:
    latency = [
        {
            "option": option,
            "shape": shape,
            "steps": n,
            "n": 5,
            "p50_ms": fixed + per_step * n,
            "p95_ms": 1.5 * (fixed + per_step * n),
            "mean_ms": fixed + per_step * n,
        }
        for shape in shapes
        for option, (fixed, per_step) in LINES.items()
        for n in SIZES
    ]
    throughput = [
        {
            "option": option,
            "steps": n,
            "workflows": 10,
            "wall_s": 1.0,
            "throughput_per_s": 10.0,
            "steps_per_s": 10.0 * n,
        }
        for option in LINES
        for n in SIZES
    ]
    probe = {"option": "fastcore_in_local_activity", "shape": "signal", "steps": 1}
    probe |= {"n": 1, "p50_ms": 13000.0, "p95_ms": 13000.0, "mean_ms": 13000.0}
    return {
        "sizes": SIZES,
        "concurrency": 10,
        "latency": latency,
        "throughput": throughput,
        "probes": [probe],
        "notes": ["a note"],
    }


# ---------------------------------------------------------------- the fit


def test_fit_recovers_an_exact_line() -> None:
    fit = fit_line([1, 3, 10, 30, 100], [5 + 2 * n for n in (1, 3, 10, 30, 100)])
    assert fit.intercept_ms == pytest.approx(5)
    assert fit.slope_ms == pytest.approx(2)
    assert fit.r2 == pytest.approx(1)
    assert fit.points == 5
    assert fit.at(50) == pytest.approx(105)


def test_fit_is_least_squares() -> None:
    # y = 1, 3, 2 at x = 0, 1, 2: slope 0.5, intercept 1.5 (worked by hand), R² = 0.25
    fit = fit_line([0, 1, 2], [1, 3, 2])
    assert fit.slope_ms == pytest.approx(0.5)
    assert fit.intercept_ms == pytest.approx(1.5)
    assert fit.r2 == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("xs", "ys", "message"),
    [([1], [2], "two points"), ([1, 1], [2, 3], "same"), ([1, 2], [1], "x values")],
)
def test_fit_refuses_what_has_no_line(xs: list[float], ys: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_line(xs, ys)


def test_speedup_from_solves_for_n() -> None:
    slow, fast = Fit(20, 15, 1, 5), Fit(10, 0.01, 1, 5)
    assert speedup_from(fast, slow, 2) == 1.0  # 35 >= 2 * 10.01 already at N = 1
    crossing = speedup_from(fast, slow, 10)  # 20 + 15N = 100 + 0.1N
    assert crossing is not None
    assert crossing == pytest.approx(80 / 14.9)
    assert slow.at(crossing) == pytest.approx(10 * fast.at(crossing))
    assert speedup_from(fast, slow, 2000) is None  # per step only 1500x


def test_speedup_from_never_when_fastcore_grows_as_fast() -> None:
    assert speedup_from(Fit(1, 0.5, 1, 3), Fit(2, 1, 1, 3), 3) is None
    assert speedup_from(Fit(1, 1, 1, 3), Fit(5, 2, 1, 3), 2) == 1.0  # equal growth, ahead
    with pytest.raises(ValueError, match="positive"):
        speedup_from(Fit(1, 1, 1, 3), Fit(5, 2, 1, 3), 0)


def test_fit_result_per_shape_and_option() -> None:
    fits = fit_result(fake_result())
    assert set(fits) == {"sequential", "signal"}
    for option, (fixed_ms, per_step) in LINES.items():
        assert fits["sequential"][option].intercept_ms == pytest.approx(fixed_ms)
        assert fits["sequential"][option].slope_ms == pytest.approx(per_step)
    # one probe point makes no line
    assert fits["signal"]["fastcore_in_local_activity"].points == len(SIZES)


# ---------------------------------------------------------------- the report


def test_headline_states_costs_and_crossings() -> None:
    sentence = headline(fake_result())
    # local activities 8 + 3N vs fastcore in a local activity 12 + 0.05N:
    # 2x from N = (24 - 8) / (3 - 0.1) = 5.5 -> 6; 10x from N = (120 - 8) / (3 - 0.5) = 44.8 -> 45
    assert "2x faster than N local activities from N = 6 " in sentence
    assert "and 10x from N = 45," in sentence
    # activities 10 + 15N vs fastcore in an activity 20 + 0.05N: 10x from (200 - 10) / 14.5
    assert f"10x faster than N activities from N = {math.ceil(190 / 14.5)}." in sentence
    assert "15 ms per step" in sentence and "50 µs per step" in sentence


def test_a_crossing_past_the_largest_n_measured_is_marked() -> None:
    result = fake_result()
    result["sizes"] = [1, 10]
    result["latency"] = [r for r in result["latency"] if r["steps"] in (1, 10)]
    assert "and 10x from N = 45 (extrapolated)," in headline(result)
    assert "2x faster than N local activities from N = 6 and" in headline(result)
    text = format_section(result)
    assert "| N = 45* |" in text
    assert "past the largest N measured (10): extrapolated" in text


def test_a_negative_fitted_fixed_cost_reads_as_about_zero() -> None:
    result = fake_result()
    for row in result["latency"]:
        if row["option"] == "fastcore_memory":
            row["p50_ms"] = -0.05 + 0.02 * row["steps"]
    result["latency"] += [
        {"option": "fastcore_sqlite_sync", "shape": "sequential", "steps": n, "n": 5}
        | {"p50_ms": 0.4 + 0.03 * n, "p95_ms": 1.0, "mean_ms": 0.5}
        for n in SIZES
    ]
    assert fixed(-0.05) == "about 0 (fitted -50 µs)"
    assert fixed(0.4) == "400 µs"
    assert (
        "the memory store costs 20 µs per step and about 0 (fitted -50 µs) fixed; "
        "on SQLite, `sync` costs 30 µs per step and 400 µs fixed."
    ) in format_section(result)


def test_a_stalled_sample_is_named() -> None:
    result = fake_result()
    for row in result["latency"]:
        row["max_ms"] = 2 * row["p95_ms"]
    assert stalls(result) == ""
    row = result["latency"][0]  # temporal_activities, sequential, N = 1: p50 25 ms
    row["max_ms"] = 20_100.0
    assert stalls(result).endswith(": N Temporal activities, sequential, N=1: 20.1 s (p50 25 ms).")
    assert stalls(result) in format_section(result)


def test_section_has_tables_link_and_notes() -> None:
    text = format_section(fake_result(), {"svg": "scaling.svg", "json": "scaling.json"})
    assert "![Latency against N, log-log](scaling.svg)" in text
    assert "| option | N=1 | N=10 | N=100 |" in text
    assert "| N Temporal activities | 25 / 37.5 | 160 / 240 | 1,510 / 2,265 |" in text
    assert "- a note" in text
    # 10 + 15N against 20 + 0.05N: 2x from N = 30 / 14.9, 5x from 90 / 14.75, 10x from 190 / 14.5
    row = "| fastcore in one activity | N Temporal activities | 300x | N = 3 | N = 7 | N = 14 |"
    assert row + " 1.25x | 60.4x |" in text
    assert headline(fake_result()) in text


# ---------------------------------------------------------------- the plot


def _points(path_d: str) -> list[tuple[float, float]]:
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path_d)]
    return list(zip(nums[::2], nums[1::2], strict=True))


def test_plot_renders_a_valid_svg_with_one_line_per_option(tmp_path: Path) -> None:
    result = fake_result()
    out = render_svg(result, tmp_path / "scaling.svg")
    root = ET.parse(out).getroot()  # well-formed XML
    assert root.tag == f"{SVG}svg"
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    for shape in ("sequential", "signal"):
        for option in LINES:
            group = by_id[f"line-{shape}-{option}"]
            path = group.find(f"{SVG}path")  # the line; its markers follow in <defs>/<use>
            assert path is not None
            points = _points(path.get("d", ""))
            assert len(points) == len(SIZES)
            xs = [x for x, _ in points]
            # log x axis: N = 1, 10, 100 lie evenly spaced
            assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], rel=1e-3)
        assert f"p95-{shape}-fastcore_memory" in by_id
    assert "probe-signal-fastcore_in_local_activity" in by_id
    texts = {"".join(el.itertext()).strip() for el in root.iter(f"{SVG}text")}
    for option in LINES:
        assert LABELS[option] in texts
    assert "N sequential steps" in texts
    assert "steps in the sub-workflow, N" in texts


def test_plot_is_reproducible_and_refuses_an_empty_result(tmp_path: Path) -> None:
    a = render_svg(fake_result(), tmp_path / "a.svg").read_bytes()
    b = render_svg(fake_result(), tmp_path / "b.svg").read_bytes()
    assert a == b
    with pytest.raises(ValueError, match="no latency rows"):
        render_svg({"latency": []}, tmp_path / "c.svg")


def test_write_artifacts_writes_the_data_and_the_plot(tmp_path: Path) -> None:
    links = write_artifacts(fake_result(), tmp_path / "out")
    assert links == {"json": "scaling.json", "svg": "scaling.svg"}
    assert ET.parse(tmp_path / "out" / "scaling.svg").getroot().tag == f"{SVG}svg"
    assert '"fastcore_in_activity"' in (tmp_path / "out" / "scaling.json").read_text()


def test_without_matplotlib_the_data_is_written_and_the_reason_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delitem(sys.modules, "benchmarks._scaling_plot", raising=False)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with caplog.at_level(logging.WARNING, logger="benchmarks._scaling_report"):
        links = write_artifacts(fake_result(), tmp_path)
    assert "svg" not in links and "plot extra" in links["svg_error"]
    assert (tmp_path / "scaling.json").exists() and not (tmp_path / "scaling.svg").exists()
    assert "scaling plot not drawn" in caplog.text
    assert "The plot was not drawn: " in format_section(fake_result(), links)
