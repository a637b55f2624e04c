"""The simulated workload: one workflow type that runs any plan, one activity that behaves as
told, and the random plan of a seed (which workflows, which steps, which client calls when).

Everything a run computes is a function of its plan and of which signals and updates reached
it, never of timing or of the order they arrived in, so the result of a run with faults must
equal the result of the same seed without them. Activities misbehave on purpose (fail,
time out, stop heartbeating, take virtual time) as a function of their attempt number only.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastcore import RetryPolicy, activity, workflow
from fastcore.errors import ActivityError, ApplicationError, ChildWorkflowError
from fastcore.errors import CancelledError as FcCancelledError
from fastcore.errors import TimeoutError as FcTimeoutError

from .world import current_world

__all__ = ["ACTIVITIES", "WORKFLOWS", "Op", "Plan", "SimFlow", "make_plan"]

T = timedelta


# ------------------------------------------------------------------ the activity


@activity.defn(name="sim_step")
async def sim_step(spec: dict[str, Any]) -> str:
    """Do what ``spec`` says for this attempt: fail, take (virtual) time, heartbeat, stall."""
    info = activity.info()
    world = current_world()
    world.activity_started(info.workflow_id, info.workflow_run_id, info.activity_id, info.attempt)
    if spec.get("fatal"):
        raise ApplicationError(f"{spec['key']} cannot be done", type="Fatal", non_retryable=True)
    if info.attempt <= int(spec.get("fail_first", 0)):
        raise ApplicationError(f"{spec['key']} attempt {info.attempt} failed", type="Planned")
    duration = int(spec.get("duration", 0))
    beat = int(spec.get("heartbeat", 0))
    elapsed = 0
    while elapsed < duration:
        step = min(beat or duration, duration - elapsed)
        await world.sleep(step)
        elapsed += step
        if beat and not spec.get("stall"):
            activity.heartbeat(elapsed)
    return f"{spec['key']}:ok"


@activity.defn(name="sim_cleanup")
async def sim_cleanup(key: str) -> str:
    """What a cancelled run does on its way out."""
    info = activity.info()
    current_world().activity_started(
        info.workflow_id, info.workflow_run_id, info.activity_id, info.attempt
    )
    return f"cleaned {key}"


# ------------------------------------------------------------------ the workflow


def _options(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "start_to_close_timeout": T(seconds=int(spec.get("s2c", 60))),
        "heartbeat_timeout": T(seconds=int(spec["hb_timeout"])) if "hb_timeout" in spec else None,
        "retry_policy": RetryPolicy(
            initial_interval=T(seconds=1),
            backoff_coefficient=2.0,
            maximum_attempts=int(spec.get("attempts", 3)),
        ),
    }


@workflow.defn(name="SimFlow")
class SimFlow:
    """Runs a plan of steps; its state is what signals and updates brought (as sets)."""

    def __init__(self) -> None:
        self.signals: set[str] = set()
        self.updates: set[str] = set()

    @workflow.run
    async def run(self, plan: dict[str, Any]) -> dict[str, Any]:
        carry = plan.get("carry") or {}
        self.signals.update(carry.get("signals", ()))
        self.updates.update(carry.get("updates", ()))
        outcomes: list[Any] = list(carry.get("outcomes", ()))
        steps: list[dict[str, Any]] = plan["steps"]
        wid = workflow.info().workflow_id
        try:
            for i in range(int(plan.get("pos", 0)), len(steps)):
                step = steps[i]
                kind = step["kind"]
                if kind == "act":
                    outcomes.append(await self._act(step))
                elif kind == "parallel":
                    outcomes.append(
                        list(await asyncio.gather(*(self._act(s) for s in step["acts"])))
                    )
                elif kind == "sleep":
                    await workflow.sleep(T(seconds=int(step["seconds"])))
                    outcomes.append(f"slept {step['seconds']}")
                elif kind == "signals":
                    need = int(step["count"])

                    def enough(need: int = need) -> bool:
                        return self._sent() >= need

                    await workflow.wait_condition(enough)
                    outcomes.append(f"{need} signals")
                elif kind == "child":
                    outcomes.append(await self._child(step["plan"], f"{wid}/c{i}"))
                elif kind == "can":
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(
                        {
                            "steps": steps,
                            "pos": i + 1,
                            "carry": {
                                "signals": sorted(self.signals),
                                "updates": sorted(self.updates),
                                "outcomes": outcomes,
                            },
                        }
                    )
                elif kind == "forever":
                    await workflow.wait_condition(lambda: False)
                elif kind == "wait_timeout":  # a condition that never holds, with a timeout
                    try:
                        await workflow.wait_condition(
                            lambda: False, timeout=T(seconds=int(step["seconds"]))
                        )
                    except TimeoutError:
                        outcomes.append(f"waited {step['seconds']}")
                elif kind == "cancel_act":  # start an activity, then cancel it
                    handle = workflow.start_activity(sim_step, step["act"], **_options(step["act"]))
                    await workflow.sleep(T(seconds=int(step["after"])))
                    handle.cancel()
                    try:
                        await handle
                        outcomes.append("not cancelled")
                    except ActivityError as err:
                        outcomes.append(f"cancelled: {type(err.cause).__name__}")
                elif kind == "fail":
                    raise ApplicationError(f"{wid} fails as planned", type="PlannedFailure")
        except (asyncio.CancelledError, ActivityError, ChildWorkflowError) as err:
            # cancelled: at the await it was parked on, or through the activity or child it
            # was waiting for (as in temporalio)
            if not isinstance(err, asyncio.CancelledError) and not isinstance(
                err.cause, FcCancelledError
            ):
                raise
            await workflow.execute_activity(sim_cleanup, wid, start_to_close_timeout=T(seconds=30))
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return {
            "outcomes": outcomes,
            "signals": sorted(self.signals),
            "updates": sorted(self.updates),
        }

    def _sent(self) -> int:
        """Signals the client sent one by one (not the one that came with the start)."""
        return sum(1 for token in self.signals if token.startswith("s-"))

    async def _act(self, spec: dict[str, Any]) -> str:
        try:
            return str(await workflow.execute_activity(sim_step, spec, **_options(spec)))
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, FcCancelledError):
                raise  # the run is being cancelled: let it end so
            if isinstance(cause, ApplicationError):
                kind = cause.type or "ApplicationError"
            elif isinstance(cause, FcTimeoutError):
                kind = f"timeout {cause.type.name if cause.type else '?'}"
            else:
                kind = type(cause).__name__
            return f"{spec['key']}:failed:{kind}"

    async def _child(self, plan: dict[str, Any], child_id: str) -> Any:
        try:
            return await workflow.execute_child_workflow(SimFlow.run, plan, id=child_id)
        except ChildWorkflowError as err:
            if isinstance(err.cause, FcCancelledError):
                raise  # cancelled with its parent
            return f"child failed: {type(err.cause).__name__}"

    @workflow.signal
    def add(self, token: str) -> None:
        self.signals.add(token)

    @workflow.update
    async def apply(self, token: str) -> str:
        if token.startswith("slow"):  # an update whose handler runs an activity
            await workflow.execute_activity(
                sim_step,
                {"key": token, "duration": 3},
                start_to_close_timeout=T(seconds=60),
            )
        self.updates.add(token)
        return f"applied {token}"

    @apply.validator  # type: ignore[untyped-decorator]
    def _check(self, token: str) -> None:
        if token.startswith("bad"):
            raise ApplicationError(f"refused {token}", type="Refused")

    @workflow.query
    def state(self) -> dict[str, Any]:
        return {"signals": sorted(self.signals), "updates": sorted(self.updates)}


WORKFLOWS: list[type] = [SimFlow]
ACTIVITIES: list[Any] = [sim_step, sim_cleanup]


# ------------------------------------------------------------------ a seed's plan


@dataclass
class Op:
    """One client call at a virtual time: start, signal, update, query, cancel, terminate."""

    at: float
    kind: str
    workflow_id: str
    arg: Any = None


@dataclass
class Plan:
    """What one seed does: its client calls in time order, and the ending it expects."""

    ops: list[Op]
    #: workflow id -> "completed" (result compared with the seed without faults),
    #: "canceled", "terminated", "timed_out" or "failed" (its status is)
    endings: dict[str, str] = field(default_factory=dict)


def _activity(rng: random.Random, key: str) -> dict[str, Any]:
    roll = rng.random()
    spec: dict[str, Any] = {"kind": "act", "key": key}
    if roll < 0.35:
        pass  # succeeds at once
    elif roll < 0.5:
        spec.update(fail_first=rng.randint(1, 2), attempts=3)  # fails, then succeeds
    elif roll < 0.58:
        spec.update(fail_first=5, attempts=2)  # fails every attempt it gets
    elif roll < 0.63:
        spec.update(fatal=True)  # non-retryable
    elif roll < 0.78:
        spec.update(duration=rng.randint(1, 20))  # slow
    elif roll < 0.85:
        spec.update(duration=rng.randint(5, 12), s2c=3, attempts=2)  # times out
    elif roll < 0.93:
        spec.update(duration=rng.randint(4, 12), heartbeat=2, hb_timeout=5)  # heartbeats
    else:
        spec.update(duration=10, heartbeat=2, hb_timeout=3, stall=True, attempts=2)  # stalls
    return spec


def _steps(rng: random.Random, key: str, depth: int, signals: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    cans = 0
    for i in range(rng.randint(2, 6)):
        roll = rng.random()
        k = f"{key}.{i}"
        if roll < 0.4:
            steps.append(_activity(rng, k))
        elif roll < 0.52:
            steps.append(
                {
                    "kind": "parallel",
                    "acts": [_activity(rng, f"{k}.{j}") for j in range(rng.randint(2, 3))],
                }
            )
        elif roll < 0.7:
            steps.append({"kind": "sleep", "seconds": rng.randint(1, 40)})
        elif roll < 0.8 and depth == 0:
            child = {"steps": _steps(rng, f"{k}c", depth + 1, 0)}
            steps.append({"kind": "child", "plan": child})
        elif roll < 0.88 and depth == 0 and cans < 2:
            steps.append({"kind": "can"})
            cans += 1
        elif roll < 0.92:
            steps.append({"kind": "wait_timeout", "seconds": rng.randint(1, 20)})
        elif roll < 0.96:
            act = {"key": k, "duration": rng.randint(30, 60), "heartbeat": 5, "hb_timeout": 20}
            steps.append({"kind": "cancel_act", "act": act, "after": rng.randint(1, 10)})
        else:
            steps.append(_activity(rng, k))
    if signals:
        steps.insert(rng.randint(0, len(steps)), {"kind": "signals", "count": signals})
    return steps


def make_plan(seed: int) -> tuple[Plan, dict[str, dict[str, Any]]]:
    """The seed's client calls and each workflow's plan."""
    rng = random.Random(seed)
    ops: list[Op] = []
    plans: dict[str, dict[str, Any]] = {}
    endings: dict[str, str] = {}
    seq = 0

    def at(base: float) -> float:
        # every call gets its own fraction of a second, so no two calls and no call and a
        # timer (whole seconds after some call) share an instant
        nonlocal seq
        seq += 1
        return math.floor(base) + seq / 1024

    for n in range(rng.randint(3, 7)):
        wid = f"wf-{n}"
        ending = rng.choices(
            ["completed", "canceled", "terminated", "timed_out", "failed"],
            [0.6, 0.15, 0.1, 0.07, 0.08],
        )[0]
        signals = rng.randint(0, 3) if ending == "completed" else 0
        steps = _steps(rng, wid, 0, signals)
        options: dict[str, Any] = {}
        if ending in ("canceled", "terminated"):
            steps.append({"kind": "forever"})
        elif ending == "timed_out":
            steps.append({"kind": "forever"})
            options["execution_timeout"] = rng.randint(60, 400)
        elif ending == "failed":
            steps.append({"kind": "fail"})
            options["attempts"] = rng.randint(1, 3)  # the workflow's own retry policy
        if rng.random() < 0.2:
            options["start_signal"] = f"w-{wid}"  # signal-with-start
        plans[wid] = {"steps": steps}
        endings[wid] = ending
        start = rng.uniform(0, 30)
        ops.append(Op(at(start), "start", wid, (plans[wid], options)))
        # Signals and updates only while the run is sure to be open, whatever the timing:
        # before the last signal it waits for, or before it is cancelled or terminated.
        signal_times = sorted(start + rng.uniform(0, 60) for _ in range(signals))
        end = start + rng.uniform(5, 120)
        open_until = signal_times[-1] if signal_times else None
        if ending in ("canceled", "terminated"):
            open_until = end
        for j, t in enumerate(signal_times):
            ops.append(Op(at(t), "signal", wid, f"s-{wid}-{j}"))
        if open_until is not None and open_until - start > 3:
            window = open_until - start - 2  # a whole second clear of the last call
            for j in range(rng.randint(0, 2)):
                kind = rng.choices(["bad", "u", "slow"], [0.2, 0.6, 0.2])[0]
                if kind == "slow" and (window <= 5 or ending == "terminated"):
                    kind = "u"  # a termination does not wait for a handler: no slow one
                token = f"{kind}-{wid}-{j}"
                # a slow update's handler runs a 3 s activity: it ends before the run may
                when = start + 1 + rng.uniform(0, window - 5 if kind == "slow" else window)
                ops.append(Op(at(when), "update", wid, token))
            if ending != "completed":
                for j in range(rng.randint(0, 2)):
                    t = start + 1 + rng.uniform(0, window)
                    ops.append(Op(at(t), "signal", wid, f"x-{wid}-{j}"))
        for _ in range(rng.randint(0, 2)):
            ops.append(Op(at(start + rng.uniform(0, 80)), "query", wid))
        if ending in ("canceled", "terminated"):
            ops.append(Op(at(end), "cancel" if ending == "canceled" else "terminate", wid))
    ops.sort(key=lambda op: op.at)
    return Plan(ops, endings), plans
