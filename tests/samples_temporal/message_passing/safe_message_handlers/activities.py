"""message_passing/safe_message_handlers/activities.py: stand-in cluster operations.

Source: temporalio/samples-python message_passing/safe_message_handlers/activities.py at
b90b1effa607b95db6cc27703627e6762fc811d9 (re-written, not copied).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastcore import activity


@dataclass
class AssignNodesToJobInput:
    nodes: list[str]
    job_name: str


@dataclass
class ClusterState:
    node_ids: list[str]


@activity.defn
async def start_cluster() -> ClusterState:
    return ClusterState(node_ids=[f"{i}" for i in range(25)])


@activity.defn
async def assign_nodes_to_job(input: AssignNodesToJobInput) -> None:
    print(f"Assigning nodes {input.nodes} to job {input.job_name}")
    await asyncio.sleep(0.1)


@dataclass
class UnassignNodesForJobInput:
    nodes: list[str]
    job_name: str


@activity.defn
async def unassign_nodes_for_job(input: UnassignNodesForJobInput) -> None:
    print(f"Deallocating nodes {input.nodes} from job {input.job_name}")
    await asyncio.sleep(0.1)


@dataclass
class FindBadNodesInput:
    nodes_to_check: set[str]


@activity.defn
async def find_bad_nodes(input: FindBadNodesInput) -> set[str]:
    await asyncio.sleep(0.1)
    bad_nodes = {n for n in input.nodes_to_check if int(n) % 5 == 0}
    if bad_nodes:
        print(f"Found bad nodes: {bad_nodes}")
    else:
        print("No new bad nodes found.")
    return bad_nodes
