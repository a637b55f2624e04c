"""message_passing/safe_message_handlers/workflow.py: a cluster manager whose update
handlers assign and free nodes atomically, under an ``asyncio.Lock``.

Source: temporalio/samples-python message_passing/safe_message_handlers/workflow.py at
950681e582aa80db108c8c428fbc3ce23e7da1d4 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from fastcore import workflow
from fastcore.common import RetryPolicy
from fastcore.errors import ApplicationError
from tests.samples_temporal.message_passing.safe_message_handlers.activities import (
    AssignNodesToJobInput,
    FindBadNodesInput,
    UnassignNodesForJobInput,
    assign_nodes_to_job,
    find_bad_nodes,
    unassign_nodes_for_job,
)


# A workflow that continues as new keeps its whole state in one serializable structure, to
# hand it to the next run.
@dataclass
class ClusterManagerState:
    cluster_started: bool = False
    cluster_shutdown: bool = False
    nodes: dict[str, str | None] = dataclasses.field(default_factory=dict)
    jobs_assigned: set[str] = dataclasses.field(default_factory=set)


@dataclass
class ClusterManagerInput:
    state: ClusterManagerState | None = None
    test_continue_as_new: bool = False


@dataclass
class ClusterManagerResult:
    num_currently_assigned_nodes: int
    num_bad_nodes: int


# Message inputs and outputs are dataclasses too, so fields can be added compatibly.
@dataclass
class ClusterManagerAssignNodesToJobInput:
    # a job already assigned is resized to this
    total_num_nodes: int
    job_name: str


@dataclass
class ClusterManagerDeleteJobInput:
    job_name: str


@dataclass
class ClusterManagerAssignNodesToJobResult:
    nodes_assigned: set[str]


@workflow.defn
class ClusterManagerWorkflow:
    """Tracks which job each node of a cluster runs.

    Signals start and shut down the cluster; updates assign nodes to jobs and delete jobs,
    each atomically.
    """

    @workflow.init
    def __init__(self, input: ClusterManagerInput) -> None:
        if input.state:
            self.state = input.state
        else:
            self.state = ClusterManagerState()

        if input.test_continue_as_new:
            self.max_history_length = 120
            self.sleep_interval_seconds = 1

        # Keeps handlers from interleaving their changes to the nodes.
        self.nodes_lock = asyncio.Lock()
        self.max_history_length: int | None = None
        self.sleep_interval_seconds: int = 600

    @workflow.signal
    async def start_cluster(self) -> None:
        self.state.cluster_started = True
        self.state.nodes = {str(k): None for k in range(25)}
        workflow.logger.info("Cluster started")

    @workflow.signal
    async def shutdown_cluster(self) -> None:
        await workflow.wait_condition(lambda: self.state.cluster_started)
        self.state.cluster_shutdown = True
        workflow.logger.info("Cluster shut down")

    # An update, not a signal: the client may wait for the nodes before sending them work.
    @workflow.update
    async def assign_nodes_to_job(
        self, input: ClusterManagerAssignNodesToJobInput
    ) -> ClusterManagerAssignNodesToJobResult:
        await workflow.wait_condition(lambda: self.state.cluster_started)
        if self.state.cluster_shutdown:
            # An ApplicationError fails the update for its caller; another exception would
            # fail the workflow task and retry it, and the workflow would be stuck.
            raise ApplicationError("Cannot assign nodes to a job: Cluster is already shut down")

        async with self.nodes_lock:
            # idempotent: a job already assigned answers its nodes
            if input.job_name in self.state.jobs_assigned:
                return ClusterManagerAssignNodesToJobResult(
                    self.get_assigned_nodes(job_name=input.job_name)
                )
            unassigned_nodes = self.get_unassigned_nodes()
            if len(unassigned_nodes) < input.total_num_nodes:
                raise ApplicationError(
                    f"Cannot assign {input.total_num_nodes} nodes; "
                    f"have only {len(unassigned_nodes)} available"
                )
            nodes_to_assign = unassigned_nodes[: input.total_num_nodes]
            # Without the lock this await would let delete_job and the health checks change
            # the nodes in between.
            await self._assign_nodes_to_job(nodes_to_assign, input.job_name)
            return ClusterManagerAssignNodesToJobResult(
                nodes_assigned=self.get_assigned_nodes(job_name=input.job_name)
            )

    async def _assign_nodes_to_job(self, assigned_nodes: list[str], job_name: str) -> None:
        await workflow.execute_activity(
            assign_nodes_to_job,
            AssignNodesToJobInput(nodes=assigned_nodes, job_name=job_name),
            start_to_close_timeout=timedelta(seconds=10),
        )
        for node in assigned_nodes:
            self.state.nodes[node] = job_name
        self.state.jobs_assigned.add(job_name)

    # An update although it returns nothing: the client may wait for the nodes to be free.
    @workflow.update
    async def delete_job(self, input: ClusterManagerDeleteJobInput) -> None:
        await workflow.wait_condition(lambda: self.state.cluster_started)
        if self.state.cluster_shutdown:
            raise ApplicationError("Cannot delete a job: Cluster is already shut down")

        async with self.nodes_lock:
            nodes_to_unassign = [k for k, v in self.state.nodes.items() if v == input.job_name]
            await self._unassign_nodes_for_job(nodes_to_unassign, input.job_name)

    async def _unassign_nodes_for_job(self, nodes_to_unassign: list[str], job_name: str) -> None:
        await workflow.execute_activity(
            unassign_nodes_for_job,
            UnassignNodesForJobInput(nodes=nodes_to_unassign, job_name=job_name),
            start_to_close_timeout=timedelta(seconds=10),
        )
        for node in nodes_to_unassign:
            self.state.nodes[node] = None

    def get_unassigned_nodes(self) -> list[str]:
        return [k for k, v in self.state.nodes.items() if v is None]

    def get_bad_nodes(self) -> set[str]:
        return {k for k, v in self.state.nodes.items() if v == "BAD!"}

    def get_assigned_nodes(self, *, job_name: str | None = None) -> set[str]:
        if job_name:
            return {k for k, v in self.state.nodes.items() if v == job_name}
        else:
            return {k for k, v in self.state.nodes.items() if v is not None and v != "BAD!"}

    async def perform_health_checks(self) -> None:
        async with self.nodes_lock:
            assigned_nodes = self.get_assigned_nodes()
            try:
                bad_nodes = await workflow.execute_activity(
                    find_bad_nodes,
                    FindBadNodesInput(nodes_to_check=assigned_nodes),
                    start_to_close_timeout=timedelta(seconds=10),
                    # Optional, and it holds the lock: one attempt, no endless retries.
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
                for node in bad_nodes:
                    self.state.nodes[node] = "BAD!"
            except Exception as e:
                workflow.logger.warn(f"Health check failed with error {type(e).__name__}:{e}")

    @workflow.run
    async def run(self, input: ClusterManagerInput) -> ClusterManagerResult:
        await workflow.wait_condition(lambda: self.state.cluster_started)
        # health checks at intervals
        while True:
            await self.perform_health_checks()
            try:
                await workflow.wait_condition(
                    lambda: self.state.cluster_shutdown or self.should_continue_as_new(),
                    timeout=timedelta(seconds=self.sleep_interval_seconds),
                )
            except asyncio.TimeoutError:
                pass
            if self.state.cluster_shutdown:
                break
            # A long-running entity workflow: checkpoint its state and continue as new.
            if self.should_continue_as_new():
                # no assignment or deletion left half done
                await workflow.wait_condition(lambda: workflow.all_handlers_finished())
                workflow.logger.info("Continuing as new")
                workflow.continue_as_new(
                    ClusterManagerInput(
                        state=self.state,
                        test_continue_as_new=input.test_continue_as_new,
                    )
                )
        # let handlers such as job deletions finish before completing
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return ClusterManagerResult(
            len(self.get_assigned_nodes()),
            len(self.get_bad_nodes()),
        )

    def should_continue_as_new(self) -> bool:
        if workflow.info().is_continue_as_new_suggested():
            return True
        # for testing only; in production the engine suggests when
        if (
            self.max_history_length
            and workflow.info().get_current_history_length() > self.max_history_length
        ):
            return True
        return False
