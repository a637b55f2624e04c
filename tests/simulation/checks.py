"""The invariants a simulated run must keep: Temporal's semantics, checked against a model of
what the client was told and what the store holds.

Each check returns the violations it found, as sentences that name the workflow, run and
event, so a failing seed says what went wrong before anyone reads its trace.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, defaultdict
from typing import Any

from fastcore import Replayer
from fastcore.common import WorkflowExecutionStatus as Status
from fastcore.history import CLOSE_EVENTS, Event, EventType

from .runner import Outcome, updates_deduplicated
from .workload import WORKFLOWS

__all__ = ["check", "check_against_reference", "temporal_replay"]

E = EventType
_ACTIVITY_CLOSED = {
    E.ACTIVITY_TASK_COMPLETED,
    E.ACTIVITY_TASK_FAILED,
    E.ACTIVITY_TASK_TIMED_OUT,
    E.ACTIVITY_TASK_CANCELED,
}


def _token(event: Event) -> str | None:
    payloads = event.attributes.get("input") or []
    if not payloads:
        return None
    value = json.loads(payloads[0].data)
    return value if isinstance(value, str) else None


def _chains(out: Outcome) -> dict[str, list[list[Event]]]:
    """Each workflow id's runs (histories), first to last (continue-as-new and retries name
    the run they follow: several can start at the same instant)."""
    runs: dict[str, dict[str, list[Event]]] = defaultdict(dict)
    for (wid, rid), events in out.histories.items():
        runs[wid][rid] = events
    by_id: dict[str, list[list[Event]]] = {}
    for wid, of_id in runs.items():
        after: dict[str | None, str] = {
            e[0].attributes.get("continued_run_id"): rid for rid, e in of_id.items()
        }
        chain: list[list[Event]] = []
        link = after.get(None)
        while link is not None and len(chain) < len(of_id):
            chain.append(of_id[link])
            link = after.get(link)
        # anything not linked (it should not happen) goes last, by time
        linked = {id(c) for c in chain}
        chain += sorted(
            (e for e in of_id.values() if id(e) not in linked), key=lambda e: e[0].timestamp
        )
        by_id[wid] = chain
    return defaultdict(list, by_id)


def check_histories(out: Outcome) -> list[str]:
    """Every history is well formed: dense ids from 1, its start first, one close, last."""
    bad = []
    for (wid, rid), events in out.histories.items():
        where = f"{wid} run {rid}"
        if [e.event_id for e in events] != list(range(1, len(events) + 1)):
            bad.append(f"{where}: event ids are not 1..{len(events)}")
        if not events or events[0].event_type is not E.WORKFLOW_EXECUTION_STARTED:
            bad.append(f"{where}: does not begin with its start")
            continue
        closes = [e for e in events if e.event_type in CLOSE_EVENTS]
        status = out.statuses[(wid, rid)]
        if status is Status.RUNNING:
            if closes:
                bad.append(f"{where}: RUNNING with a close event ({closes[0].event_type.value})")
        elif len(closes) != 1 or closes[0] is not events[-1]:
            bad.append(f"{where}: {status.name} but its close is not its one last event")
    return bad


def check_signals_and_updates(out: Outcome) -> list[str]:
    """An accepted signal or update reached its workflow exactly once (more only if the
    client sent it again, not knowing whether the first send had landed); a refused update
    left no trace."""
    bad = []
    chains = _chains(out)
    signaled: dict[str, Counter[str]] = defaultdict(Counter)
    accepted: dict[str, Counter[str]] = defaultdict(Counter)
    completed: dict[str, Counter[str]] = defaultdict(Counter)
    for wid, runs in chains.items():
        for events in runs:
            for e in events:
                if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED:
                    signaled[wid][_token(e) or "?"] += 1
                elif e.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                    accepted[wid][e.attributes["update_id"]] += 1
                elif e.event_type is E.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                    completed[wid][e.attributes["update_id"]] += 1
    sent_tokens: dict[str, set[str]] = defaultdict(set)
    for rec in out.records:
        op = rec.op
        if op.kind == "start" and "start_signal" in op.arg[1]:
            token = op.arg[1]["start_signal"]
            sent_tokens[op.workflow_id].add(token)
            first = chains[op.workflow_id][0] if chains[op.workflow_id] else []
            n = sum(
                1
                for e in first
                if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED and _token(e) == token
            )
            if n != 1:
                bad.append(f"{op.workflow_id}: its start signal {token!r} is in its first run {n}x")
        if op.kind not in ("signal", "update"):
            continue
        sent_tokens[op.workflow_id].add(op.arg)
        ok = [a for a in rec.answers if a.startswith("ok:")]
        errors = [a for a in rec.answers if a.startswith("error:")]
        counts = signaled if op.kind == "signal" else accepted
        n = counts[op.workflow_id][op.arg]
        what = f"{op.workflow_id}: {op.kind} {op.arg!r} (sent {rec.sends}x, answers {rec.answers})"
        if op.kind == "update" and op.arg.startswith("bad"):
            if n:
                bad.append(f"{what}: refused by its validator but in the history {n}x")
            if not errors or ok:
                bad.append(f"{what}: a refused update must raise at the call")
            continue
        if rec.sends > 1 and n >= 1:
            # Sent again after a crash hid the first answer: the first send had landed
            # (n >= 1), so the workflow may have finished since, and says so.
            errors = [a for a in errors if "WorkflowNotFoundError" not in a]
            ok = ok or ["ok:landed before the crash"]
        if errors:
            bad.append(f"{what}: the call failed")
        if not ok:
            bad.append(f"{what}: never acknowledged")
        if rec.sends == 1 and ok and n != 1:
            bad.append(f"{what}: acknowledged once, delivered {n}x")
        if op.kind == "update" and updates_deduplicated() and ok and n != 1:
            bad.append(f"{what}: one update id, accepted {n}x")
        if not 1 <= n <= rec.sends and ok:
            bad.append(f"{what}: delivered {n}x")
        if op.kind == "update":
            if completed[op.workflow_id][op.arg] != n:
                bad.append(f"{what}: accepted {n}x, completed {completed[op.workflow_id][op.arg]}x")
            if any(a.startswith("ok:applied") and a != f"ok:applied {op.arg}" for a in ok):
                bad.append(f"{what}: wrong result")
    for wid, counter in signaled.items():
        for token in counter:
            if token not in sent_tokens[wid]:
                bad.append(f"{wid}: a signal {token!r} nobody sent")
    return bad


def check_activities(out: Outcome) -> list[str]:
    """No activity whose outcome was durably recorded ran again afterwards."""
    bad = []
    runs_of = defaultdict(list)
    for x in out.world.executions:
        runs_of[(x.run_id, x.activity_id)].append(x)
    for (wid, rid), events in out.histories.items():
        scheduled = {
            e.event_id: e.attributes["activity_id"]
            for e in events
            if e.event_type is E.ACTIVITY_TASK_SCHEDULED
        }
        for e in events:
            if e.event_type not in _ACTIVITY_CLOSED:
                continue
            aid = scheduled.get(e.attributes["scheduled_event_id"])
            durable = out.world.durable_at.get((rid, e.event_id))
            if aid is None or durable is None:
                continue
            for x in runs_of[(rid, aid)]:
                if x.commits_before >= durable:
                    bad.append(
                        f"{wid} run {rid}: activity {aid} ran again (attempt {x.attempt}, life "
                        f"{x.life}) after its {e.event_type.value} (event {e.event_id}) was "
                        f"durable in commit {durable}"
                    )
    return bad


def check_timers(out: Outcome) -> list[str]:
    """Every timer fired at the deadline it was started with."""
    bad = []
    for (wid, rid), events in out.histories.items():
        started = {e.event_id: e for e in events if e.event_type is E.TIMER_STARTED}
        for e in events:
            if e.event_type is not E.TIMER_FIRED:
                continue
            s = started.get(e.attributes["started_event_id"])
            if s is None:
                bad.append(f"{wid} run {rid}: timer fired (event {e.event_id}) but never started")
            elif e.timestamp != s.attributes["fire_at"]:
                bad.append(
                    f"{wid} run {rid}: timer {s.attributes['timer_id']} fired at "
                    f"{e.timestamp} (event {e.event_id}), its deadline was "
                    f"{s.attributes['fire_at']}"
                )
    return bad


def check_endings(out: Outcome) -> list[str]:
    """Every workflow ended as its plan says it must (none left open: that is a hang)."""
    bad = []
    want = {
        "completed": "COMPLETED",
        "canceled": "CANCELED",
        "terminated": "TERMINATED",
        "timed_out": "TIMED_OUT",
        "failed": "FAILED",
    }
    for wid, ending in out.plan.endings.items():
        status, value = out.endings.get(wid, ("MISSING", None))
        if status != want[ending]:
            bad.append(f"{wid}: ended {status} ({value!r}), its plan ends {want[ending]}")
    for rec in out.records:
        if rec.pending:
            bad.append(f"{rec.op.kind} {rec.op.workflow_id}: never answered")
        if rec.op.kind in ("start", "cancel", "terminate", "query"):
            for a in rec.answers:
                if rec.op.kind == "query" and "is not ready for queries" in a:
                    continue  # a retry run in its backoff: Temporal's WorkflowNotReady
                if a.startswith("error:"):
                    bad.append(f"{rec.op.kind} {rec.op.workflow_id}: {a}")
    return bad


def check_replay(out: Outcome) -> list[str]:
    """Every history replays in fastcore's Replayer against the same code."""
    bad = []

    async def replay_all() -> None:
        replayer = Replayer(workflows=WORKFLOWS)
        for (wid, rid), events in out.histories.items():
            result = await replayer.replay_workflow(events, raise_on_replay_failure=False)
            if result.replay_failure is not None:
                bad.append(f"{wid} run {rid}: does not replay: {result.replay_failure}")

    asyncio.run(replay_all())
    return bad


def temporal_replay(out: Outcome, sample: int = 2) -> list[str]:
    """A sample of closed histories, translated to Temporal's format, replay in Temporal's
    own ``Replayer`` against the same class registered as a Temporal workflow."""
    from temporalio.worker import Replayer as TemporalReplayer
    from temporalio.worker import UnsandboxedWorkflowRunner

    from bridge.history import to_temporal
    from bridge.on_temporal import as_temporal_workflow

    closed = sorted(
        k
        for k, s in out.statuses.items()
        if s is not Status.RUNNING
        and (updates_deduplicated() or not _repeats_an_update(out.histories[k]))
    )
    picked = random.Random(f"replay-{out.seed}").sample(closed, min(sample, len(closed)))
    bad = []

    async def replay() -> None:
        replayer = TemporalReplayer(
            workflows=[as_temporal_workflow(cls) for cls in WORKFLOWS],
            workflow_runner=UnsandboxedWorkflowRunner(),  # test code is no sandbox import
        )
        for key in picked:
            history = to_temporal(out.histories[key])
            result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            if result.replay_failure is not None:
                bad.append(
                    f"{key[0]} run {key[1]}: Temporal's replay failed: {result.replay_failure}"
                )

    asyncio.run(replay())
    return bad


def _repeats_an_update(events: list[Event]) -> bool:
    """A history that accepted one update id twice (no dedupe yet): Temporal never writes
    one, and its replayer refuses it, so it is left out of that sample."""
    ids = [
        e.attributes["update_id"]
        for e in events
        if e.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    return len(ids) != len(set(ids))


def check(out: Outcome) -> list[str]:
    """Every invariant of one run."""
    bad = []
    for fn in (
        check_histories,
        check_signals_and_updates,
        check_activities,
        check_timers,
        check_endings,
        check_replay,
    ):
        bad += fn(out)
    bad += [f"logged: {e}" for e in out.world.errors]
    return bad


def check_against_reference(out: Outcome, reference: Outcome) -> list[str]:
    """A run with faults ends as the same seed without faults: same results, same statuses."""
    bad = []
    for wid, ending in out.plan.endings.items():
        got, want = out.endings.get(wid), reference.endings.get(wid)
        if ending == "completed":
            if got != want:
                bad.append(f"{wid}: ended {got!r}; without faults it ended {want!r}")
        elif (got or ("?",))[0] != (want or ("?",))[0]:
            bad.append(f"{wid}: status {got!r}; without faults {want!r}")
    return bad


def describe(values: Any) -> str:
    """A short rendering for failure messages."""
    text = repr(values)
    return text if len(text) < 400 else text[:400] + "..."
