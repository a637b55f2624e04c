"""Deterministic simulation in the suite: a bounded number of seeds, each run without faults
and with the crashes and restarts it decides, every invariant checked (see README: the long
mode runs thousands, and one command reproduces any seed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fastcore._sqlite_store import SqliteStore

from .checks import check
from .runner import Faults, faults_for, run_seed
from .simulate import SeedReport, simulate
from .world import CrashPoint

ROOT = Path(__file__).resolve().parents[2]
CI_SEEDS = range(1, 161)  # about 10 s; `python -m tests.simulation --seeds 5000` for more
#: seeds that found bugs (README's list): kept, whatever the range above becomes
FOUND_BUGS = [180, 197, 266, 268, 2049, 2079]
CHUNK = 40


def _failures(reports: list[SeedReport]) -> str:
    return "\n\n".join(r.failure_text() for r in reports if not r.ok)


@pytest.mark.parametrize(
    "first", list(range(CI_SEEDS.start, CI_SEEDS.stop, CHUNK)), ids=lambda s: f"seeds-{s}"
)
def test_seeds_keep_every_invariant(first: int) -> None:
    seeds = range(first, min(first + CHUNK, CI_SEEDS.stop))
    reports = [simulate(seed) for seed in seeds]
    assert all(r.ok for r in reports), _failures(reports)
    faults = sum(len(r.injected) for r in reports)
    assert faults >= len(seeds)  # the seeds really crash and restart the engine


def test_seeds_that_found_bugs() -> None:
    reports = [simulate(seed, temporal=True) for seed in FOUND_BUGS]
    assert all(r.ok for r in reports), _failures(reports)


def test_every_kind_of_fault_is_injected() -> None:
    """Over the CI seeds, each crash point and clean restarts all happen (the hooks are live)."""
    kinds: Counter[str] = Counter()
    for seed in CI_SEEDS:
        reference = run_seed(seed)
        last_op = max(op.at for op in reference.plan.ops)
        for c in faults_for(seed, reference.world.commit_attempts, last_op).crashes:
            kinds["torn" if c.torn else c.point] += 1
        if seed > CI_SEEDS.start + 40:
            break
    assert set(kinds) == {"begin", "rows", "events", "committed", "torn"}, kinds


def test_histories_replay_in_temporals_replayer() -> None:
    """A sample of each of these seeds' histories, translated, replays in Temporal's own
    Replayer against the same class registered as a Temporal workflow."""
    reports = [simulate(seed, temporal=True) for seed in (3, 7, 21, 42)]
    assert all(r.ok for r in reports), _failures(reports)


def test_a_seed_runs_the_same_every_time() -> None:
    """One seed, one run: the same histories, answers and faults, also in another process
    with another hash seed (so `python -m tests.simulation --seed N` reproduces it)."""
    seeds = (7, 42)
    here = [simulate(seed).digest for seed in seeds]
    assert here == [simulate(seed).digest for seed in seeds]
    code = (
        "from tests.simulation.simulate import simulate\n"
        f"print(' '.join(simulate(s).digest for s in {seeds!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == here


class _AcksBeforeCommit(SqliteStore):
    """A broken store: tells callers "done" before the commit, as a buggy group commit would."""

    def append(self, run: Any, events: Any) -> None:
        super().append(run, events)
        return None


def test_the_checks_catch_a_store_that_acknowledges_too_early() -> None:
    seed = 1
    reference = run_seed(seed)
    crashes = [CrashPoint(n, "begin") for n in range(5, reference.world.commit_attempts, 4)]
    out = run_seed(seed, faults=Faults(crashes), store_class=_AcksBeforeCommit)
    violations = check(out)
    assert any("delivered 0x" in v or "ended" in v for v in violations), violations


def test_the_checks_catch_a_lost_acknowledged_signal() -> None:
    """Remove an acknowledged signal from what the store holds: the signal check fires."""
    out = run_seed(2)
    assert check(out) == []
    for events in out.histories.values():
        for i, e in enumerate(events):
            if (
                e.event_type.value == "WORKFLOW_EXECUTION_SIGNALED"
                and str(e.attributes["input"][0].data).find("s-") >= 0
            ):
                del events[i]
                violations = check(out)
                assert any("delivered 0x" in v for v in violations), violations
                return
    pytest.fail("seed 2 sends no signal")
