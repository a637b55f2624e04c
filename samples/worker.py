"""The samples' worker: a Temporal worker whose activities host a fastcore engine.

One function builds it, so ``fastcore-bridge dev`` and ``worker`` (``--workflows
samples.worker``: they call ``make_engine`` and ``build_worker``), the demo
(``python -m samples``), the samples run alone, and the tests all run the same thing::

    async with Engine(store, workflows=fc.WORKFLOWS, activities=fc.ACTIVITIES) as engine:
        worker = build_worker(client, engine, task_queue="fastcore-bridge")
        await worker.run()

or, with the engine made and closed for you, ``async with running_worker(client, ...)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

import bridge
from fastcore import Engine

from . import fastcore_defs as fc
from . import temporal_activities as ta
from . import temporal_workflows as tw

__all__ = [
    "FASTCORE_ACTIVITIES",
    "FASTCORE_WORKFLOWS",
    "TEMPORAL_ACTIVITIES",
    "TEMPORAL_WORKFLOWS",
    "build_worker",
    "make_engine",
    "running_worker",
]

FASTCORE_WORKFLOWS: Sequence[type] = tuple(fc.WORKFLOWS)
FASTCORE_ACTIVITIES: Sequence[Any] = tuple(fc.ACTIVITIES)
TEMPORAL_WORKFLOWS: Sequence[type] = tuple(tw.WORKFLOWS)
TEMPORAL_ACTIVITIES: Sequence[Any] = tuple(ta.ACTIVITIES)


def make_engine(store: str = "memory", **options: Any) -> Engine:
    """A fastcore engine with every sample workflow and activity registered.

    Args:
        store: ``"memory"`` or ``"sqlite:///path/to/fastcore.db"``.
        **options: More ``Engine`` options (``identity``, ``tracer_provider``, ...).
    """
    return Engine(
        store,
        workflows=list(FASTCORE_WORKFLOWS),
        activities=list(FASTCORE_ACTIVITIES),
        **options,
    )


def build_worker(
    client: Client,
    engine: Engine,
    *,
    task_queue: str,
    bridge_address: str | None = None,
    identity: str | None = None,
    **options: Any,
) -> Worker:
    """A Temporal worker for the samples: their Temporal workflows and activities, and one
    activity per fastcore workflow that runs it in ``engine``.

    Args:
        client: A connected Temporal client.
        engine: A fastcore engine made by :func:`make_engine` (or with the same
            definitions); it must stay open while the worker runs.
        task_queue: The Temporal task queue to poll.
        bridge_address: This worker's gRPC bridge address, so signals and queries for
            the fastcore sub-workflows it runs can find them; None when there is none.
        identity: The worker's identity in Temporal (the SDK's default when None).
        **options: More ``temporalio.worker.Worker`` options.
    """
    activities = [
        *TEMPORAL_ACTIVITIES,
        *bridge.fastcore_activities(
            engine, workflows=list(FASTCORE_WORKFLOWS), bridge_address=bridge_address
        ),
    ]
    if identity is not None:
        options["identity"] = identity
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(TEMPORAL_WORKFLOWS),
        activities=activities,
        **options,
    )


@asynccontextmanager
async def running_worker(
    client: Client,
    *,
    task_queue: str,
    store: str = "memory",
    bridge_address: str | None = None,
    identity: str | None = None,
    engine_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[Engine, Worker]]:
    """Run a sample worker (and its engine) for the duration of the ``async with`` block.

    Yields:
        The engine and the running worker.
    """
    async with make_engine(store, **(engine_options or {})) as engine:
        worker = build_worker(
            client,
            engine,
            task_queue=task_queue,
            bridge_address=bridge_address,
            identity=identity,
            **options,
        )
        async with worker:
            yield engine, worker
