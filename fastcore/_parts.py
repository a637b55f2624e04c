"""The engine's parts, made and handed what they need from each other (``Engine``'s wiring).

Each part owns its state and is given, once, the bound methods it calls on the others, so the
hot path pays no extra indirection. ``connect_parts`` makes them in the order they depend on
each other and closes the loops with the parts' ``connect()``:

- ``RunTable``: the runs the engine knows, by workflow id and run id;
- ``Pipeline``: the one path every change to a run takes (queue, activate, commit, effects);
- ``Dispatcher``: activity attempts and durable timers, whose outcomes become inputs;
- ``RunStarter``: new runs (starts, children, continue-as-new, retries);
- ``Starts``: what a client's start does (id policies, request ids, start options);
- ``Children``: child workflows and what their parents hear of them;
- ``Closing``: closes from outside and what follows a close;
- ``ExternalRequests``: signals and cancellations one workflow sends another;
- ``Recovery``: rebuilding runs by replay, and retries of failed workflow tasks;
- ``Faults``: the engine's own exceptions while handling one run fail that run's task only;
- ``Notifier``: telling callers what durable events mean;
- ``TimeSkipper``: virtual time;
- ``HandleOperations``: what ``WorkflowHandle`` methods do;
- ``Updates``: updates sent once per id, found by id, followed to a stage;
- ``UpdateWithStart``: an update sent with a start;
- ``AsyncActivities``: activities completed from outside (``AsyncActivityHandle``);
- ``Lister``: ``list_workflows``/``count_workflows`` by visibility query.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from ._async_activity import AsyncActivities
from ._children import Children
from ._clock import Clock
from ._closing import Closing
from ._converter import DataConverter
from ._dispatch import Dispatcher
from ._environment import WorkflowEnvironment
from ._external import ExternalRequests
from ._faults import Faults
from ._lifecycle import Lifecycle
from ._listing import Lister
from ._notify import Notifier
from ._operations import HandleOperations
from ._pipeline import Pipeline
from ._recovery import Recovery
from ._registry import Registry
from ._run_table import RunTable
from ._search_attributes import SearchAttributeRegistry
from ._starting import RunStarter
from ._starts import Starts
from ._store import Store
from ._telemetry import Telemetry
from ._time_skip import TimeSkipper
from ._timers import TimerService
from ._updates import Updates
from ._with_start import UpdateWithStart

__all__ = ["Parts", "connect_parts"]


@dataclass(frozen=True, slots=True)
class Parts:
    """An engine's parts, connected (what the ``Engine`` facade calls)."""

    table: RunTable
    skipper: TimeSkipper
    notifier: Notifier
    pipeline: Pipeline
    dispatcher: Dispatcher
    starter: RunStarter
    closing: Closing
    external: ExternalRequests
    recovery: Recovery
    updates: Updates
    async_activities: AsyncActivities
    ops: HandleOperations
    lister: Lister
    starts: Starts
    with_start: UpdateWithStart

    def set_telemetry(self, telemetry: Telemetry) -> None:
        """Hand every part that makes spans or metrics a new ``Telemetry``."""
        for part in (
            self.pipeline,
            self.dispatcher,
            self.starter,
            self.closing,
            self.external,
            self.recovery,
            self.ops,
            self.updates,
        ):
            part.telemetry = telemetry


def connect_parts(
    *,
    store: Store,
    clock: Clock,
    timers: TimerService,
    converter: DataConverter,
    telemetry: Telemetry,
    registry: Registry,
    env: WorkflowEnvironment,
    lifecycle: Lifecycle,
    search_attributes: SearchAttributeRegistry,
    identity: str,
    max_closed_runs: int | None,
    executor: concurrent.futures.Executor | None,
    max_threads: int | None,
    retry_interval: float,
) -> Parts:
    """Make the parts of one engine and hand each what it needs from the others."""
    durable = store.durable
    table = RunTable(store, registry.workflow_definition, max_closed=max_closed_runs)
    skipper = TimeSkipper(clock, timers, lifecycle)
    notifier = Notifier(skipper)
    pipeline = Pipeline(
        store=store, clock=clock, telemetry=telemetry, notifier=notifier, skipper=skipper
    )
    dispatcher = Dispatcher(
        activity_definition=registry.activity_definition,
        clock=clock,
        timers=timers,
        converter=converter,
        telemetry=telemetry,
        skipper=skipper,
        pipeline=pipeline,
        executor=executor,
        max_threads=max_threads,
    )
    starter = RunStarter(
        runs=table,
        env=env,
        converter=converter,
        timers=timers,
        telemetry=telemetry,
        pipeline=pipeline,
        durable=durable,
    )
    children = Children(
        workflow_definition=registry.workflow_definition,
        runs=table,
        pipeline=pipeline,
        starter=starter,
    )
    closing = Closing(
        workflow_definition=registry.workflow_definition,
        clock=clock,
        telemetry=telemetry,
        runs=table,
        pipeline=pipeline,
        starter=starter,
        children=children,
        durable=durable,
    )
    external = ExternalRequests(
        runs=table,
        pipeline=pipeline,
        telemetry=telemetry,
        request_cancel=closing.request_cancel,
        cancel_child=closing.cancel_child,
    )
    recovery = Recovery(
        workflow_definition=registry.workflow_definition,
        runs=table,
        store=store,
        env=env,
        converter=converter,
        clock=clock,
        timers=timers,
        telemetry=telemetry,
        pipeline=pipeline,
        dispatcher=dispatcher,
        children=children,
        external=external,
        timed_out=closing.workflow_timed_out,
        plan_next=closing.plan_next,
        retry_interval=retry_interval,
    )
    faults = Faults(
        block=recovery.block, commit=pipeline.commit, schedule_retry=recovery.schedule_retry
    )
    timers.on_error = faults.timer_failed
    dispatcher.fault = faults.activity_failed
    pipeline.connect(
        fault=faults.run_failed,
        block=recovery.block,
        plan_next=closing.plan_next,
        schedule_activity=dispatcher.schedule_activity,
        cancel_activity=dispatcher.cancel_activity,
        start_timer=dispatcher.start_timer,
        cancel_timer=dispatcher.cancel_timer,
        start_child=children.start,
        cancel_child=external.request_cancel,
        signal_external=external.signal,
        start_local=dispatcher.start_local,
        cancel_local=dispatcher.cancel_local,
        closed=closing.closed,
    )
    starter.connect(timed_out=closing.workflow_timed_out, retry_task=recovery.retry_task)
    updates = Updates(
        lifecycle=lifecycle,
        runs=table,
        store=store,
        converter=converter,
        telemetry=telemetry,
        submit=pipeline.submit,
        notifier=notifier,
    )
    async_activities = AsyncActivities(lifecycle=lifecycle, runs=table, converter=converter)
    ops = HandleOperations(
        updates=updates,
        lifecycle=lifecycle,
        runs=table,
        store=store,
        env=env,
        converter=converter,
        telemetry=telemetry,
        pipeline=pipeline,
        notifier=notifier,
        close_from_outside=closing.close_from_outside,
        request_cancel=closing.request_cancel,
        end_start_delay=recovery.end_start_delay,
        identity=identity,
    )
    lister = Lister(
        lifecycle=lifecycle,
        store=store,
        runs=table,
        registry=search_attributes,
        describe=ops.description,
    )
    starts = Starts(
        lifecycle=lifecycle,
        workflow_for_start=registry.workflow_for_start,
        converter=converter,
        runs=table,
        store=store,
        new_run=starter.new_run,
        terminate_run=ops.terminate_run,
        signal=ops.signal,
        search_attributes=search_attributes,
        clock=clock,
    )
    with_start = UpdateWithStart(
        workflow_for_start=registry.workflow_for_start,
        converter=converter,
        start=starts.start,
        updates=updates,
        operations=ops,
    )
    return Parts(
        table=table,
        skipper=skipper,
        notifier=notifier,
        pipeline=pipeline,
        dispatcher=dispatcher,
        starter=starter,
        closing=closing,
        external=external,
        recovery=recovery,
        updates=updates,
        async_activities=async_activities,
        ops=ops,
        lister=lister,
        starts=starts,
        with_start=with_start,
    )
