"""The workflows ``fastcore-bridge dev`` hosts when ``--workflows`` names none: one class,
``Greeter``, with a signal, a query and an update, to try with the ``temporal`` CLI.

It is a ``--workflows`` module like any of yours (``make_engine`` and ``build_worker``), and
it shows the bridge's two ways to run the same class: through the bridge's frontend it runs
on the fastcore engine (``temporal ... --address <bridge>``); on the Temporal worker it is
registered as a Temporal workflow too (``temporal ... --address <Temporal>``)::

    temporal workflow start --address 127.0.0.1:7600 --task-queue fastcore-bridge \\
        --type Greeter --workflow-id greet-1 --input '"world"'
    temporal workflow update execute --address 127.0.0.1:7600 --workflow-id greet-1 \\
        --name add_name --input '"fastcore"'
    temporal workflow query --address 127.0.0.1:7600 --workflow-id greet-1 --name names
    temporal workflow signal --address 127.0.0.1:7600 --workflow-id greet-1 --name finish
    temporal workflow result --address 127.0.0.1:7600 --workflow-id greet-1
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastcore import Engine, activity, workflow
from fastcore.errors import ApplicationError

__all__ = ["ACTIVITIES", "WORKFLOWS", "Greeter", "build_worker", "compose_greeting", "make_engine"]


@activity.defn
async def compose_greeting(greeting: str, names: list[str]) -> str:
    """``Hello, world and fastcore!``."""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{greeting}, {listed}!"


@workflow.defn
class Greeter:
    """Collects names until ``finish`` (or an hour), then greets them all."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._finished = False

    @workflow.run
    async def run(self, name: str) -> str:
        self._names.append(name)
        await workflow.wait_condition(lambda: self._finished, timeout=timedelta(hours=1))
        greeting: str = await workflow.execute_activity(
            compose_greeting,
            args=["Hello", list(self._names)],
            start_to_close_timeout=timedelta(seconds=10),
        )
        return greeting

    @workflow.update
    def add_name(self, name: str) -> int:
        """Add a name; answers how many there are now (an empty one fails the update)."""
        if not name.strip():
            raise ApplicationError("a name cannot be empty", type="EmptyName")
        self._names.append(name)
        return len(self._names)

    @workflow.query
    def names(self) -> list[str]:
        """The names so far."""
        return list(self._names)

    @workflow.signal
    def finish(self) -> None:
        """Stop collecting: the workflow greets and ends."""
        self._finished = True


WORKFLOWS: list[type] = [Greeter]
ACTIVITIES: list[Any] = [compose_greeting]


def make_engine(store: str = "memory", **options: Any) -> Engine:
    """The fastcore engine ``dev`` hosts: ``Greeter`` and its activity."""
    return Engine(store, workflows=WORKFLOWS, activities=ACTIVITIES, **options)


def build_worker(
    client: Any,
    engine: Engine,
    *,
    task_queue: str,
    bridge_address: str | None = None,
    identity: str | None = None,
    **options: Any,
) -> Any:
    """The Temporal worker ``dev`` runs: ``Greeter`` as a Temporal workflow, its activity,
    and the activities that host fastcore sub-workflows in ``engine``."""
    from temporalio.worker import Worker

    from ..on_temporal import as_temporal_activities, as_temporal_workflow
    from ..subworkflow import fastcore_activities

    if identity is not None:
        options["identity"] = identity
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[as_temporal_workflow(w) for w in WORKFLOWS],
        activities=[
            *as_temporal_activities(ACTIVITIES),
            *fastcore_activities(engine, workflows=WORKFLOWS, bridge_address=bridge_address),
        ],
        **options,
    )
