"""RESULTS.md's hand-recorded section (simulation and fuzz counts) survives a benchmark run."""

from __future__ import annotations

from pathlib import Path

from benchmarks.run import KEPT_MARK, OUT, kept_sections


def test_the_recorded_section_is_kept_from_its_mark_to_the_end() -> None:
    text = f"# Benchmark results\n\n## 1. numbers\n\n{KEPT_MARK}\n## Simulation\n\n42 seeds\n"
    assert kept_sections(text) == f"{KEPT_MARK}\n## Simulation\n\n42 seeds\n"
    assert kept_sections("# Benchmark results\n\nno mark\n") == ""


def test_results_md_has_its_simulation_and_fuzz_section() -> None:
    kept = kept_sections(Path(OUT).read_text())
    assert "## Simulation and fuzzing" in kept
    assert "seeds" in kept and "fuzz" in kept
