"""One seed, end to end: run it without faults (on SQLite and on the memory store), run it
with the faults it decides, check every invariant and compare the runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .checks import check, check_against_reference, temporal_replay
from .runner import faults_for, run_seed

__all__ = ["SeedReport", "reproduce_command", "simulate"]


def reproduce_command(seed: int) -> str:
    """The one command that runs ``seed`` again, exactly."""
    return f"python -m tests.simulation --seed {seed}"


@dataclass
class SeedReport:
    """What one seed did and what it broke."""

    seed: int
    violations: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    lives: int = 0
    commits: int = 0
    activity_attempts: int = 0
    workflows: int = 0
    ops: int = 0
    seconds: float = 0.0
    digest: str = ""

    @property
    def ok(self) -> bool:
        return not self.violations

    def failure_text(self) -> str:
        lines = [f"seed {self.seed} FAILED ({len(self.violations)} violations)"]
        lines += [f"  faults: {f}" for f in self.injected] or ["  faults: none"]
        lines += [f"  - {v}" for v in self.violations[:25]]
        if len(self.violations) > 25:
            lines.append(f"  ... and {len(self.violations) - 25} more")
        lines.append(f"  reproduce: {reproduce_command(self.seed)}")
        return "\n".join(lines)


def simulate(seed: int, *, temporal: bool = False) -> SeedReport:
    """Run ``seed`` without and with faults and check everything; never raises for a
    violation (it is in the report), only for a broken simulator."""
    started = time.perf_counter()
    report = SeedReport(seed)
    reference = run_seed(seed)
    report.violations += [f"without faults: {v}" for v in check(reference)]
    memory = run_seed(seed, store="memory")
    report.violations += [f"memory store: {v}" for v in check_against_reference(memory, reference)]
    last_op = max((op.at for op in reference.plan.ops), default=0.0)
    faults = faults_for(seed, reference.world.commit_attempts, last_op)
    faulted = run_seed(seed, faults=faults)
    report.violations += check(faulted)
    report.violations += check_against_reference(faulted, reference)
    if temporal:
        report.violations += temporal_replay(faulted)
    report.injected = list(faulted.world.injected)
    report.lives = faulted.lives
    report.commits = faulted.world.commits
    report.activity_attempts = len(faulted.world.executions)
    report.workflows = len(faulted.histories)
    report.ops = sum(r.sends for r in faulted.records)
    report.digest = faulted.digest()
    report.seconds = time.perf_counter() - started
    return report
