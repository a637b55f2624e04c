"""The same Python client code against the Temporal dev server and against the bridge.

``transcript`` is ordinary ``temporalio.client`` code: connect, start a workflow (memo, a
custom search attribute), signal, update (and a rejected update), query (and a failing
query), result, describe, list and count. It runs unchanged against the session's dev
server, with a Temporal worker running the workflow (``bridge.as_temporal_workflow``), and
against a fastcore engine behind the bridge; the two transcripts must be equal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from bridge import as_temporal_activities, as_temporal_workflow
from tests.bridge.frontend import defs
from tests.bridge.frontend.conftest import Bridge

TIER = SearchAttributeKey.for_keyword("CartTier")
_T = TypeVar("_T")


async def eventually(read: Callable[[], Awaitable[_T]], ok: Callable[[_T], bool]) -> _T:
    """Read until ``ok`` holds (Temporal's visibility is eventually consistent), 30 s at most."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        value = await read()
        if ok(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def transcript(client: Client, workflow_id: str, task_queue: str) -> dict[str, Any]:
    """Everything a client sees of one Cart, as plain data."""
    t: dict[str, Any] = {}
    handle = await client.start_workflow(
        "Cart",
        "ann",
        id=workflow_id,
        task_queue=task_queue,
        memo={"note": "hi"},
        search_attributes=TypedSearchAttributes([SearchAttributePair(TIER, "gold")]),
    )
    await handle.signal("add", "apple")
    t["update"] = await handle.execute_update("add_many", ["pear", "fig"])
    t["query"] = await handle.query("count")
    try:
        await handle.execute_update("add_many", [])
    except WorkflowUpdateFailedError as err:
        cause: Any = err.cause
        t["rejected"] = (type(cause).__name__, cause.type, cause.message)
    try:
        await handle.query("broken")
    except WorkflowQueryFailedError as err:
        t["query_failed"] = str(err)
    # an update retried with its id: the first outcome, the handler runs once
    t["dedupe"] = [
        await handle.execute_update("add_many", ["kiwi"], id="once"),
        await handle.execute_update("add_many", ["lime"], id="once"),
        await handle.get_update_handle("once").result(),
        await handle.query("count"),
    ]
    await handle.signal("checkout")
    t["result"] = await handle.result()
    t["with_start"] = await update_with_start(client, f"{workflow_id}-uws", task_queue)

    desc = await handle.describe()
    t["describe"] = {
        "id": desc.id,
        "type": desc.workflow_type,
        "status": desc.status.name if desc.status else None,
        "task_queue": desc.task_queue,
        "memo": await desc.memo(),
        "tier": desc.typed_search_attributes.get(TIER),
        "closed": desc.close_time is not None,
        "parent": desc.parent_id,
    }

    async def rows(query: str) -> list[tuple[Any, ...]]:
        return [
            (
                w.id,
                w.status.name if w.status else None,
                w.workflow_type,
                w.typed_search_attributes.get(TIER),
            )
            async for w in client.list_workflows(query)
        ]

    def closed(listed: list[tuple[Any, ...]]) -> bool:
        return bool(listed) and listed[0][1] == "COMPLETED"

    mine = f"WorkflowId = '{workflow_id}'"
    t["list"] = await eventually(lambda: rows(mine), closed)
    t["list_query"] = await eventually(
        lambda: rows(f"{mine} AND CartTier = 'gold' AND ExecutionStatus = 'Completed'"), closed
    )
    t["count"] = (await client.count_workflows(mine)).count
    return t


async def update_with_start(client: Client, workflow_id: str, task_queue: str) -> list[Any]:
    """Update-with-start: the start, a retry of its update (by id), a second update."""

    def op() -> WithStartWorkflowOperation[Any, Any]:
        return WithStartWorkflowOperation(
            "Cart",
            "bo",
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    seen: list[Any] = []
    for items, update_id in ((["a"], "w-1"), (["b"], "w-1"), (["c"], "w-2")):
        seen.append(
            await client.execute_update_with_start_workflow(
                "add_many", items, start_workflow_operation=op(), id=update_id
            )
        )
    handle = client.get_workflow_handle(workflow_id)
    seen.append(await handle.query("count"))
    await handle.signal("checkout")
    seen.append(await handle.result())
    return seen


async def _register_search_attribute(client: Client) -> None:
    request = AddSearchAttributesRequest(
        namespace="default",
        search_attributes={TIER.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise

    async def known() -> bool:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        return TIER.name in listed.custom_attributes

    assert await eventually(known, bool)


async def test_same_client_code_agrees(
    bridge: Bridge, temporal_client: Client, unique_id: str
) -> None:
    await _register_search_attribute(temporal_client)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        worker = Worker(
            temporal_client,
            task_queue=unique_id,
            workflows=[as_temporal_workflow(defs.Cart)],
            activities=as_temporal_activities(defs.ACTIVITIES),
            activity_executor=pool,
        )
        async with worker:
            on_temporal = await transcript(temporal_client, unique_id, unique_id)
    bridge_client = await Client.connect(bridge.server.address)
    on_fastcore = await transcript(bridge_client, unique_id, unique_id)

    assert on_fastcore == on_temporal
    items = ["apple", "pear", "fig", "kiwi"]
    assert on_fastcore["result"] == {"owner": "ann", "items": items, "total": 16}
    assert on_fastcore["dedupe"] == [4, 4, 4, 4]
    with_start = on_fastcore["with_start"]
    assert with_start[:4] == [1, 1, 2, 2]
    assert with_start[4] == {"owner": "bo", "items": ["a", "c"], "total": 2}
    assert on_fastcore["rejected"] == ("ApplicationError", "ValueError", "nothing to add")
    assert on_fastcore["list"] == [(unique_id, "COMPLETED", "Cart", "gold")]
