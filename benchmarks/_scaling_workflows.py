"""The N-step sub-workflow of the scaling benchmark, on each runtime and in each host.

One sub-workflow, three shapes, written once (:func:`run_steps`) and run by both runtimes'
workflow code, since both run ``asyncio.gather`` deterministically:

- ``sequential``: N steps one after another, each the previous result plus one;
- ``parallel``: N steps fanned out at once, each its input plus one, the results summed;
- ``signal``: N // 2 steps, a wait for the ``go`` signal (its value is added), the rest.

A step is a small async activity (``increment``). The hosts, one Temporal workflow type each:

- :class:`ActivitySteps`: N Temporal activities;
- :class:`LocalActivitySteps`: N Temporal local activities;
- :class:`FastcoreInActivity`: the fastcore :class:`Steps` inside one activity
  (``bridge.execute_fastcore_workflow``);
- :class:`FastcoreInLocalActivity`: the same inside one local activity (``local=True``).

The fastcore-hosted types forward their ``go`` signal to the sub-workflow where it runs
(``bridge.FastcoreMirror``: the bridge activity reports the run's location, a local activity
calls the worker's gRPC bridge), which is how a signal to a Temporal workflow reaches a
fastcore sub-workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow as tworkflow

import bridge
from benchmarks._fastcore_bench import increment as fastcore_increment
from benchmarks._scaling_model import SHAPES
from benchmarks._temporal_workflows import ACTIVITY_TIMEOUT, increment
from fastcore import workflow

__all__ = [
    "TEMPORAL_WORKFLOWS",
    "ActivitySteps",
    "FastcoreInActivity",
    "FastcoreInLocalActivity",
    "LocalActivitySteps",
    "Steps",
    "expected",
    "run_steps",
    "sub_workflow_id",
]

T = timedelta(seconds=30)


async def run_steps(
    step: Callable[[int], Awaitable[int]],
    wait: Callable[[], Awaitable[int]],
    value: int,
    n: int,
    shape: str,
) -> int:
    """Run the N-step sub-workflow of ``shape`` with ``step`` as its activity call.

    Args:
        step: Runs one step (an activity of the runtime at hand) on a value.
        wait: Waits for the ``go`` signal and returns its value.
        value: The input.
        n: The number of steps.
        shape: One of :data:`SHAPES`.
    """
    if shape == "parallel":
        return sum(await asyncio.gather(*(step(value) for _ in range(n))))
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    half = n // 2 if shape == "signal" else n
    for _ in range(half):
        value = await step(value)
    if shape == "signal":
        value += await wait()
        for _ in range(n - half):
            value = await step(value)
    return value


def expected(value: int, n: int, shape: str, signal: int = 0) -> int:
    """The result :func:`run_steps` returns (``signal``: the ``go`` signal's value)."""
    if shape == "parallel":
        return n * (value + 1)
    return value + n + (signal if shape == "signal" else 0)


def sub_workflow_id(workflow_id: str) -> str:
    """The fastcore sub-workflow's id under the Temporal workflow ``workflow_id``."""
    return f"{workflow_id}/steps"


# ---------------------------------------------------------------- fastcore


@workflow.defn
class Steps:
    """The sub-workflow in fastcore: each step a fastcore activity."""

    def __init__(self) -> None:
        self._go: int | None = None

    @workflow.run
    async def run(self, value: int, n: int, shape: str) -> int:
        async def step(x: int) -> int:
            result: int = await workflow.execute_activity(
                fastcore_increment, x, start_to_close_timeout=T
            )
            return result

        async def wait() -> int:
            await workflow.wait_condition(lambda: self._go is not None)
            assert self._go is not None
            return self._go

        return await run_steps(step, wait, value, n, shape)

    @workflow.signal
    def go(self, value: int) -> None:
        self._go = value


# ---------------------------------------------------------------- Temporal


class _Steps:
    """Runs the sub-workflow's steps as Temporal activities (``LOCAL``: local ones) and waits
    for the ``go`` signal itself."""

    LOCAL = False

    def __init__(self) -> None:
        self._go: int | None = None

    async def _run(self, value: int, n: int, shape: str) -> int:
        start = tworkflow.execute_local_activity if self.LOCAL else tworkflow.execute_activity

        async def step(x: int) -> int:
            return await start(increment, x, start_to_close_timeout=ACTIVITY_TIMEOUT)

        return await run_steps(step, self._wait, value, n, shape)

    async def _wait(self) -> int:
        await tworkflow.wait_condition(lambda: self._go is not None)
        assert self._go is not None
        return self._go

    @tworkflow.signal
    def go(self, value: int) -> None:
        self._go = value


@tworkflow.defn
class ActivitySteps(_Steps):
    """The sub-workflow as N Temporal activities."""

    @tworkflow.run
    async def run(self, value: int, n: int, shape: str) -> int:
        return await self._run(value, n, shape)


@tworkflow.defn
class LocalActivitySteps(_Steps):
    """The sub-workflow as N Temporal local activities."""

    LOCAL = True

    @tworkflow.run
    async def run(self, value: int, n: int, shape: str) -> int:
        return await self._run(value, n, shape)


class _HostsFastcore:
    """Runs :class:`Steps` through the bridge and forwards ``go`` to it where it runs."""

    LOCAL = False

    def __init__(self) -> None:
        self.mirror = bridge.FastcoreMirror(trace=False)

    async def _execute(self, value: int, n: int, shape: str) -> int:
        options: dict[str, Any] = (
            {"local": True} if self.LOCAL else {"heartbeat_timeout": timedelta(seconds=10)}
        )
        result: int = await bridge.execute_fastcore_workflow(
            Steps.run,
            args=[value, n, shape],
            id=sub_workflow_id(tworkflow.info().workflow_id),
            mirror=shape == "signal",  # the location the forwarded signal needs
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            **options,
        )
        return result

    @tworkflow.signal
    async def go(self, value: int) -> None:
        await self.mirror.signal(sub_workflow_id(tworkflow.info().workflow_id), Steps.go, value)


@tworkflow.defn
class FastcoreInActivity(_HostsFastcore):
    """The sub-workflow as one fastcore workflow inside one Temporal activity."""

    @tworkflow.run
    async def run(self, value: int, n: int, shape: str) -> int:
        return await self._execute(value, n, shape)


@tworkflow.defn
class FastcoreInLocalActivity(_HostsFastcore):
    """The sub-workflow as one fastcore workflow inside one Temporal local activity."""

    LOCAL = True

    @tworkflow.run
    async def run(self, value: int, n: int, shape: str) -> int:
        return await self._execute(value, n, shape)


TEMPORAL_WORKFLOWS: dict[str, type] = {
    "temporal_activities": ActivitySteps,
    "temporal_local_activities": LocalActivitySteps,
    "fastcore_in_activity": FastcoreInActivity,
    "fastcore_in_local_activity": FastcoreInLocalActivity,
}
"""The Temporal-hosted options, by the name the results use."""
