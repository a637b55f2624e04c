"""``temporalio.client.Client`` drives a fastcore engine through the bridge, unchanged.

Each test uses the client as against a Temporal server: starts (with memo, typed search
attributes, id policies, request ids), results that wait and follow continue-as-new,
signals, queries, updates (stages, retries by id, rejections), update-with-start,
signal-with-start, describe, list and count with queries, cancel and terminate, and the
errors clients rely on (typed details, no retries).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload as TPayload
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.errordetails.v1 import NotFoundFailure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    TerminatedError,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from bridge import as_temporal_workflow
from fastcore import EventType as FcEventType
from tests.bridge.frontend import defs
from tests.bridge.frontend.conftest import Bridge

TIER = SearchAttributeKey.for_keyword("Tier")
SEATS = SearchAttributeKey.for_int("Seats")
OPENED = SearchAttributeKey.for_datetime("Opened")
TAGS = SearchAttributeKey.for_keyword_list("Tags")


async def test_start_describe_list_count(bridge: Bridge, unique_id: str) -> None:
    client = bridge.client
    opened = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    attrs = TypedSearchAttributes(
        [
            SearchAttributePair(TIER, "gold"),
            SearchAttributePair(SEATS, 12),
            SearchAttributePair(OPENED, opened),
            SearchAttributePair(TAGS, ["vip", "eu"]),
        ]
    )
    handle = await client.start_workflow(
        "Cart",
        "ann",
        id=unique_id,
        task_queue="carts",
        memo={"note": {"a": 1}},
        search_attributes=attrs,
        execution_timeout=timedelta(hours=1),
    )
    other = await client.start_workflow(
        "Cart",
        "bob",
        id=f"{unique_id}-2",
        task_queue="carts",
        search_attributes=TypedSearchAttributes([SearchAttributePair(SEATS, 3)]),
    )

    desc = await handle.describe()
    assert desc.id == unique_id and desc.run_id == handle.result_run_id
    assert desc.workflow_type == "Cart"
    assert desc.status is WorkflowExecutionStatus.RUNNING
    assert desc.task_queue == "carts"
    assert desc.close_time is None and desc.start_time is not None
    assert await desc.memo() == {"note": {"a": 1}}
    assert desc.typed_search_attributes[TIER] == "gold"
    assert desc.typed_search_attributes[SEATS] == 12
    assert desc.typed_search_attributes[OPENED] == opened
    assert desc.typed_search_attributes[TAGS] == ["vip", "eu"]
    assert desc.raw_description.execution_config.workflow_execution_timeout.seconds == 3600
    history = await handle.fetch_history()
    assert desc.history_length == len(history.events)

    async def ids(query: str) -> list[str]:
        return [w.id async for w in client.list_workflows(query)]

    mine = f"WorkflowId STARTS_WITH '{unique_id}'"
    assert sorted(await ids(mine)) == sorted([unique_id, f"{unique_id}-2"])
    assert await ids(f"{mine} AND Tier = 'gold'") == [unique_id]
    assert await ids(f"{mine} AND Seats > 5") == [unique_id]
    assert await ids(f"{mine} AND Seats BETWEEN 1 AND 5") == [f"{unique_id}-2"]
    assert await ids(f"{mine} AND Opened < '2025-06-01T00:00:00Z'") == [unique_id]
    assert await ids(f"{mine} AND Tags = 'eu'") == [unique_id]
    assert await ids(f"{mine} AND Tier IS NULL") == [f"{unique_id}-2"]
    listed = [w async for w in client.list_workflows(f"WorkflowId = '{unique_id}'")]
    assert await listed[0].memo() == {"note": {"a": 1}}
    assert listed[0].typed_search_attributes[TIER] == "gold"
    assert listed[0].task_queue == "carts"

    paged = [w.id async for w in client.list_workflows(mine, page_size=1)]
    assert sorted(paged) == sorted([unique_id, f"{unique_id}-2"])

    await other.terminate("not needed")
    count = await client.count_workflows(f"{mine} AND ExecutionStatus = 'Running'")
    assert count.count == 1
    grouped = await client.count_workflows(f"{mine} GROUP BY ExecutionStatus")
    assert grouped.count == 2
    assert sorted((g.group_values[0], g.count) for g in grouped.groups) == [
        ("Running", 1),
        ("Terminated", 1),
    ]

    with pytest.raises(RPCError) as unsupported:
        await client.count_workflows("Seats ORDER BY StartTime")
    assert unsupported.value.status is RPCStatusCode.INVALID_ARGUMENT
    with pytest.raises(RPCError) as wrong_type:
        await client.count_workflows("Seats = 'many'")
    assert "Int" in wrong_type.value.message


async def test_signal_query_update_result(bridge: Bridge, unique_id: str) -> None:
    handle = await bridge.client.start_workflow("Cart", "ann", id=unique_id, task_queue="q")
    await handle.signal("add", "apple")
    assert await handle.query("count") == 1
    assert await handle.execute_update("add_many", ["pear", "fig"]) == 3

    with pytest.raises(WorkflowQueryFailedError) as failed:
        await handle.query("broken")
    assert "broken query" in str(failed.value)
    with pytest.raises(WorkflowQueryFailedError):
        await handle.query("no_such_query")

    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update("add_many", [])
    cause = rejected.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ValueError" and cause.message == "nothing to add"
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("no_such_update", 1)
    with pytest.raises(WorkflowUpdateFailedError) as failed_update:
        await handle.execute_update("add_many", ["bomb"], id="bomb")
    cause = failed_update.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message) == ("Bomb", "refusing a bomb")
    with pytest.raises(WorkflowUpdateFailedError):  # its recorded outcome, not a second run
        await handle.get_update_handle("bomb").result()

    # An update retried with its id runs once; its outcome is the first one.
    assert await handle.execute_update("add_many", ["kiwi"], id="once") == 4
    assert await handle.execute_update("add_many", ["kiwi"], id="once") == 4
    assert await handle.query("count") == 4

    accepted = await handle.start_update(
        "add_many", ["lime"], id="later", wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert await accepted.result() == 5
    polled = handle.get_update_handle("later")
    assert await polled.result() == 5
    with pytest.raises(RPCError) as missing:
        await handle.get_update_handle("never-sent").result(rpc_timeout=timedelta(seconds=5))
    assert missing.value.status is RPCStatusCode.NOT_FOUND

    await handle.signal("checkout")
    result = await handle.result()
    assert result == {
        "owner": "ann",
        "items": ["apple", "pear", "fig", "kiwi", "lime"],
        "total": 20,
    }
    # A closed workflow still answers queries; signals and updates find nothing open.
    assert await handle.query("count") == 5
    with pytest.raises(RPCError) as closed:
        await handle.signal("add", "late")
    assert closed.value.status is RPCStatusCode.NOT_FOUND
    with pytest.raises(RPCError) as closed_update:
        await handle.execute_update("add_many", ["late"])
    assert closed_update.value.status is RPCStatusCode.NOT_FOUND

    # The served history is Temporal's own: its Replayer replays it against the same class.
    history = await handle.fetch_history()
    replayed = await Replayer(workflows=[as_temporal_workflow(defs.Cart)]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert replayed.replay_failure is None


async def test_update_with_start_and_signal_with_start(bridge: Bridge, unique_id: str) -> None:
    client = bridge.client

    def start_op() -> WithStartWorkflowOperation[object, object]:
        return WithStartWorkflowOperation(
            "Cart",
            "cy",
            id=unique_id,
            task_queue="q",
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    op = start_op()
    assert (
        await client.execute_update_with_start_workflow(
            "add_many", ["a"], start_workflow_operation=op
        )
        == 1
    )
    first = await op.workflow_handle()
    # the engine's own update-with-start: the update is in the new run's first activation
    events = await bridge.engine.get_workflow_handle(unique_id).fetch_history()
    assert events[1].event_type is FcEventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    assert events[1].attributes.get("with_start") is True
    op = start_op()
    assert (
        await client.execute_update_with_start_workflow(
            "add_many", ["b"], start_workflow_operation=op
        )
        == 2
    )
    assert (await op.workflow_handle()).first_execution_run_id == first.first_execution_run_id

    failing = WithStartWorkflowOperation(
        "Cart",
        "cy",
        id=unique_id,
        task_queue="q",
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.execute_update_with_start_workflow(
            "add_many", ["c"], start_workflow_operation=failing
        )
    with pytest.raises(WorkflowAlreadyStartedError):
        await failing.workflow_handle()

    # signal-with-start: the running workflow gets the signal; a new id starts with it.
    again = await client.start_workflow(
        "Cart", "cy", id=unique_id, task_queue="q", start_signal="checkout"
    )
    assert await again.result() == {"owner": "cy", "items": ["a", "b"], "total": 2}
    fresh = await client.start_workflow(
        "Cart",
        "dee",
        id=f"{unique_id}-new",
        task_queue="q",
        start_signal="add",
        start_signal_args=["fig"],
    )
    assert await fresh.query("count") == 1


async def test_start_delay_and_a_signal_with_start_that_ends_it(
    bridge: Bridge, unique_id: str
) -> None:
    """``start_delay`` records the run now and runs it after the delay; a signal-with-start
    runs it at once, as on Temporal."""
    client = bridge.client
    h = await client.start_workflow(
        "Cart", "ed", id=unique_id, task_queue="q", start_delay=timedelta(hours=1)
    )
    desc = await h.describe()
    assert desc.execution_time is not None and desc.start_time is not None
    assert desc.execution_time - desc.start_time == timedelta(hours=1)
    events = await bridge.engine.get_workflow_handle(unique_id).fetch_history()
    assert events[0].attributes["first_task_backoff"] == 3600.0
    await client.start_workflow(
        "Cart", "ed", id=unique_id, task_queue="q", start_signal="add", start_signal_args=["x"]
    )
    assert await h.query("count") == 1  # its code ran: the delay is over
    await h.signal("checkout")
    assert (await h.result())["items"] == ["x"]


async def test_start_policies_and_request_ids(bridge: Bridge, unique_id: str) -> None:
    client = bridge.client
    first = await client.start_workflow("Cart", "a", id=unique_id, task_queue="q")
    with pytest.raises(WorkflowAlreadyStartedError) as dup:
        await client.start_workflow("Cart", "a", id=unique_id, task_queue="q")
    assert dup.value.run_id == first.result_run_id

    same = await client.start_workflow(
        "Cart",
        "a",
        id=unique_id,
        task_queue="q",
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    assert same.result_run_id == first.result_run_id
    replaced = await client.start_workflow(
        "Cart",
        "b",
        id=unique_id,
        task_queue="q",
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    assert replaced.result_run_id != first.result_run_id
    old = client.get_workflow_handle(unique_id, run_id=first.result_run_id)
    assert (await old.describe()).status is WorkflowExecutionStatus.TERMINATED

    await replaced.terminate()
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow(
            "Cart",
            "c",
            id=unique_id,
            task_queue="q",
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )

    # The same request id twice is one start (a client's retry), not ALREADY_EXISTS.
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=f"{unique_id}-req",
        workflow_type=WorkflowType(name="Cart"),
        task_queue=TaskQueue(name="q"),
        request_id=str(uuid.uuid4()),
    )
    request.input.payloads.append(_json('"x"'))
    service = client.workflow_service
    one = await service.start_workflow_execution(request)
    two = await service.start_workflow_execution(request)
    assert one.run_id == two.run_id and one.started
    request.request_id = str(uuid.uuid4())
    with pytest.raises(RPCError) as taken:
        await service.start_workflow_execution(request)
    assert taken.value.status is RPCStatusCode.ALREADY_EXISTS

    with pytest.raises(RPCError) as unregistered:
        await client.start_workflow("NoSuchWorkflow", id=f"{unique_id}-x", task_queue="q")
    assert unregistered.value.status is RPCStatusCode.INVALID_ARGUMENT
    assert "not registered" in unregistered.value.message
    with pytest.raises(RPCError) as cron:
        await client.start_workflow(
            "Cart", "a", id=f"{unique_id}-cron", task_queue="q", cron_schedule="61 * * * *"
        )
    assert cron.value.status is RPCStatusCode.INVALID_ARGUMENT
    assert "cron minute field: '61' is outside 0-59" in cron.value.message
    # a cron workflow: its first run waits for the first schedule time, as on Temporal
    handle = await client.start_workflow(
        "Cart", "a", id=f"{unique_id}-cron", task_queue="q", cron_schedule="@every 1h"
    )
    desc = await handle.describe()
    assert desc.execution_time is not None and desc.start_time is not None
    assert desc.execution_time > desc.start_time
    started = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert started.cron_schedule == "@every 1h"
    assert started.first_workflow_task_backoff.ToTimedelta() > timedelta(minutes=59)
    await handle.terminate("done")


async def test_failures_cancel_terminate_and_continue_as_new(
    bridge: Bridge, unique_id: str
) -> None:
    client = bridge.client
    failing = await client.start_workflow("Failing", "no stock", id=unique_id, task_queue="q")
    with pytest.raises(WorkflowFailureError) as failed:
        await failing.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message, cause.non_retryable) == ("Refused", "no stock", True)
    assert cause.details == ({"why": "no stock"},)

    cart = await client.start_workflow("Cart", "a", id=f"{unique_id}-c", task_queue="q")
    await cart.cancel()
    with pytest.raises(WorkflowFailureError) as cancelled:
        await cart.result()
    assert isinstance(cancelled.value.cause, CancelledError)

    cart = await client.start_workflow("Cart", "a", id=f"{unique_id}-t", task_queue="q")
    await cart.terminate("enough", reason="done here")
    with pytest.raises(WorkflowFailureError) as terminated:
        await cart.result()
    assert isinstance(terminated.value.cause, TerminatedError)
    assert terminated.value.cause.message == "done here"

    looped = await client.start_workflow("Looper", 2, id=f"{unique_id}-l", task_queue="q")
    result = await looped.result()
    last = await client.get_workflow_handle(f"{unique_id}-l").describe()
    assert result == f"done in run {last.run_id}"
    assert last.run_id != looped.result_run_id
    first = await client.get_workflow_handle(
        f"{unique_id}-l", run_id=looped.result_run_id
    ).describe()
    assert first.status is WorkflowExecutionStatus.CONTINUED_AS_NEW


async def test_unknown_ids_are_clean_not_found(bridge: Bridge, unique_id: str) -> None:
    handle = bridge.client.get_workflow_handle(f"{unique_id}-missing")
    before = bridge.calls.counts["DescribeWorkflowExecution"]
    with pytest.raises(RPCError) as err:
        await handle.describe()
    assert err.value.status is RPCStatusCode.NOT_FOUND
    detail = NotFoundFailure()
    assert err.value.grpc_status.details[0].Unpack(detail)
    assert bridge.calls.counts["DescribeWorkflowExecution"] == before + 1  # not retried
    for call in (handle.result(), handle.signal("add", "x"), handle.query("count")):
        with pytest.raises(RPCError) as err:
            await call
        assert err.value.status is RPCStatusCode.NOT_FOUND
    with pytest.raises(RPCError) as other_ns:
        request = GetWorkflowExecutionHistoryRequest(
            namespace="elsewhere", execution=WorkflowExecution(workflow_id=unique_id)
        )
        await bridge.client.workflow_service.get_workflow_execution_history(request)
    assert other_ns.value.status is RPCStatusCode.NOT_FOUND
    assert "elsewhere" in other_ns.value.message


def _json(data: str, **meta: bytes) -> TPayload:
    return TPayload(metadata={"encoding": b"json/plain", **meta}, data=data.encode())


async def test_payload_encodings(bridge: Bridge, unique_id: str) -> None:
    client = bridge.client
    assert await client.execute_workflow("Echo", None, id=unique_id, task_queue="q") is None
    proto = WorkflowType(name="sent as protobuf JSON")
    got = await client.execute_workflow("Echo", proto, id=f"{unique_id}-p", task_queue="q")
    assert got == json_format.MessageToDict(proto)  # the workflow received the JSON object

    # recorded as the client sent it, byte for byte: the bridge decodes nothing
    history = await client.get_workflow_handle(f"{unique_id}-p").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    sent = (await client.data_converter.encode([proto]))[0]
    assert started.input.payloads[0] == sent
    assert started.input.payloads[0].metadata["encoding"] == b"json/protobuf"
    raw = await client.execute_workflow("Echo", b"\x00\xff", id=f"{unique_id}-b", task_queue="q")
    assert raw == b"\x00\xff"  # binary/plain bytes pass through too

    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=f"{unique_id}-enc",
        workflow_type=WorkflowType(name="Echo"),
        task_queue=TaskQueue(name="q"),
        request_id=str(uuid.uuid4()),
    )
    request.input.payloads.append(TPayload(metadata={"encoding": b"binary/encrypted"}, data=b"?"))
    with pytest.raises(RPCError) as refused:
        await client.workflow_service.start_workflow_execution(request)
    assert refused.value.status is RPCStatusCode.INVALID_ARGUMENT
    assert "binary/encrypted" in refused.value.message
    with pytest.raises(RPCError):
        await client.get_workflow_handle(f"{unique_id}-enc").describe()  # nothing started


async def test_history_pages_and_long_polls(bridge: Bridge, unique_id: str) -> None:
    client = bridge.client
    handle = await client.start_workflow("Cart", "ann", id=unique_id, task_queue="q")
    await handle.signal("add", "a")
    service = client.workflow_service
    execution = WorkflowExecution(workflow_id=unique_id)

    whole = await service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution)
    )
    assert not whole.next_page_token  # open, not waiting: everything there is, no token
    paged = []
    token = b""
    while True:
        page = await service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=execution,
                maximum_page_size=2,
                next_page_token=token,
            )
        )
        paged.extend(page.history.events)
        token = page.next_page_token
        if not token:
            break
    assert [e.SerializeToString() for e in paged] == [
        e.SerializeToString() for e in whole.history.events
    ]
    # as Temporal's frontend: a negative page size means the default, not an error
    negative = await service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=execution, maximum_page_size=-3
        )
    )
    assert [e.event_id for e in negative.history.events] == [e.event_id for e in paged]

    # A long poll on an open run waits; when the deadline nears it answers an empty page
    # with a token (the client asks again), never DEADLINE_EXCEEDED.
    waiting = GetWorkflowExecutionHistoryRequest(
        namespace="default",
        execution=execution,
        wait_new_event=True,
        next_page_token=f'{{"run": "{handle.result_run_id}", "next": {len(paged) + 1}}}'.encode(),
    )
    empty = await service.get_workflow_execution_history(
        waiting, retry=False, timeout=timedelta(seconds=3)
    )
    assert len(empty.history.events) == 0 and empty.next_page_token

    # A change wakes it: the signal's events arrive on the waiting call.
    polling = asyncio.ensure_future(
        service.get_workflow_execution_history(waiting, timeout=timedelta(seconds=60))
    )
    await bridge.calls.wait_for(
        "GetWorkflowExecutionHistory", bridge.calls.counts["GetWorkflowExecutionHistory"] + 1
    )
    await handle.signal("add", "b")
    woke = await polling
    assert woke.history.events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert woke.history.events[0].event_id == len(paged) + 1

    close_only = GetWorkflowExecutionHistoryRequest(
        namespace="default",
        execution=execution,
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )
    closing = asyncio.ensure_future(service.get_workflow_execution_history(close_only))
    await handle.signal("checkout")
    closed = await closing
    (event,) = closed.history.events
    assert event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    with pytest.raises(RPCError) as bad_token:
        await service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=execution, next_page_token=b"garbage"
            )
        )
    assert bad_token.value.status is RPCStatusCode.INVALID_ARGUMENT


async def test_describe_shows_the_engines_pending_activity(bridge: Bridge, unique_id: str) -> None:
    """Temporal's PendingActivityInfo comes from the engine: attempt, state, last failure."""
    handle = await bridge.client.start_workflow(
        "Retrying", "4242", id=unique_id, task_queue="payments"
    )
    for _ in range(2000):  # the first attempt fails at once; the retry waits an hour
        desc = await handle.describe()
        pending = list(desc.raw_description.pending_activities)
        if pending and pending[0].attempt == 2:
            break
        await asyncio.sleep(0.005)
    (info,) = pending
    assert info.activity_type.name == "declines" and info.activity_id == "1"
    assert info.attempt == 2 and info.maximum_attempts == 4
    assert info.state == 1  # PENDING_ACTIVITY_STATE_SCHEDULED: waiting out the backoff
    assert info.last_failure.message == "card 4242 declined"
    assert info.last_failure.application_failure_info.type == "Declined"
    assert "declines" in info.last_failure.stack_trace
    assert info.HasField("next_attempt_schedule_time") and info.HasField("last_started_time")
    assert info.last_worker_identity == bridge.engine.identity
    await handle.terminate()
