"""``benchmarks.run`` updates the sections it ran in an existing RESULTS.md and keeps the rest."""

from __future__ import annotations

from benchmarks.run import merge_sections, section_text

EXISTING = """# Benchmark results

Recorded 2026-11-28 03:53 UTC by `bash scripts/bench`.

## 1. The engine

engine numbers

_(engine: 56 s)_

## 3. The hybrid

### not a section heading

hybrid numbers

_(hybrid: 33 s)_

Total benchmark time: 164 s.
"""


def fresh(name: str, title: str, body: str) -> str:
    return f"# Benchmark results\n\n## {title}\n\n{body}\n\n_({name}: 9 s; recorded now)_\n\n"


def test_sections_are_found_by_heading_and_timing_line() -> None:
    sections = section_text(EXISTING)
    assert set(sections) == {"engine", "hybrid"}
    assert sections["engine"] == "## 1. The engine\n\nengine numbers\n\n_(engine: 56 s)_"
    assert sections["hybrid"].startswith("## 3. The hybrid\n\n### not a section heading")


def test_a_section_is_replaced_in_place_and_the_others_kept() -> None:
    merged = merge_sections(
        EXISTING, fresh("hybrid", "3. The hybrid", "new hybrid numbers"), ["hybrid"]
    )
    assert "new hybrid numbers" in merged
    assert "\nhybrid numbers" not in merged
    assert "_(hybrid: 9 s; recorded now)_" in merged
    assert "engine numbers\n\n_(engine: 56 s)_" in merged
    assert merged.startswith("# Benchmark results\n\nRecorded 2026-11-28")
    assert merged.endswith("Total benchmark time: 164 s.\n")


def test_a_new_section_goes_before_the_total_line() -> None:
    merged = merge_sections(EXISTING, fresh("scaling", "6. Scaling", "curves"), ["scaling"])
    assert merged.index("_(hybrid: 33 s)_") < merged.index("## 6. Scaling")
    assert merged.index("_(scaling: 9 s; recorded now)_") < merged.index("Total benchmark time")
    assert (
        section_text(merged)["scaling"]
        == "## 6. Scaling\n\ncurves\n\n_(scaling: 9 s; recorded now)_"
    )
