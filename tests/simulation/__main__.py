"""``python -m tests.simulation``: run many seeds (the long mode), or one seed in detail.

    python -m tests.simulation --seeds 5000            # seeds 1..5000, a summary at the end
    python -m tests.simulation --seeds 500 --start 9000
    python -m tests.simulation --seed 1234             # one seed, exactly as it ran before

A failing seed prints its violations and the command that runs it again; the exit status is
1 when any seed failed. ``--temporal-every K`` also replays a sample of every K-th seed's
histories in Temporal's own Replayer (slower).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from .runner import faults_for, run_seed
from .simulate import reproduce_command, simulate


def _one(seed: int) -> int:
    reference = run_seed(seed)
    last_op = max((op.at for op in reference.plan.ops), default=0.0)
    faults = faults_for(seed, reference.world.commit_attempts, last_op)
    report = simulate(seed, temporal=True)
    print(
        f"seed {seed}: {len(reference.plan.ops)} client calls, "
        f"{len(reference.plan.endings)} workflows"
    )
    for line in faults.describe():
        print(f"  fault: {line}")
    print(
        f"  lives: {report.lives}, commits: {report.commits}, activity attempts: "
        f"{report.activity_attempts}, runs: {report.workflows}, digest: {report.digest[:16]}"
    )
    faulted = run_seed(seed, faults=faults)
    for rec in faulted.records:
        op = rec.op
        arg = "" if op.kind in ("start", "query", "cancel", "terminate") else f" {op.arg}"
        print(f"  t={op.at:9.3f} {op.kind:9} {op.workflow_id}{arg}: {rec.answers}")
    for wid, (status, value) in sorted(faulted.endings.items()):
        print(f"  {wid}: {status} {value!r}"[:300])
    if report.ok:
        print("  OK: every invariant holds")
        return 0
    print(report.failure_text())
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--seed", type=int, help="run this one seed and show what it did")
    parser.add_argument("--seeds", type=int, default=200, help="how many seeds (%(default)s)")
    parser.add_argument("--start", type=int, default=1, help="the first seed (%(default)s)")
    parser.add_argument(
        "--temporal-every",
        type=int,
        default=0,
        metavar="K",
        help="also replay every K-th seed's histories in Temporal's Replayer (0: never)",
    )
    args = parser.parse_args(argv)
    if args.seed is not None:
        return _one(args.seed)
    started = time.perf_counter()
    failed: list[int] = []
    faults: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for n, seed in enumerate(range(args.start, args.start + args.seeds), 1):
        temporal = bool(args.temporal_every) and seed % args.temporal_every == 0
        report = simulate(seed, temporal=temporal)
        for what in report.injected:
            faults[what.split(" at ")[0] + (" (torn)" if "torn" in what else "")] += 1
        totals["lives"] += report.lives
        totals["commits"] += report.commits
        totals["activity attempts"] += report.activity_attempts
        totals["runs"] += report.workflows
        totals["client calls"] += report.ops
        if not report.ok:
            failed.append(seed)
            print(report.failure_text(), flush=True)
        if n % 100 == 0:
            print(
                f"... {n} seeds, {len(failed)} failed, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    seconds = time.perf_counter() - started
    print(
        f"{args.seeds} seeds ({args.start}..{args.start + args.seeds - 1}) in {seconds:.1f} s: "
        f"{args.seeds - len(failed)} passed, {len(failed)} failed"
    )
    print("faults injected: " + ", ".join(f"{k} x{v}" for k, v in sorted(faults.items())))
    print(f"  ({sum(faults.values())} in all)")
    print("simulated: " + ", ".join(f"{v} {k}" for k, v in totals.items()))
    for seed in failed:
        print(f"reproduce: {reproduce_command(seed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
