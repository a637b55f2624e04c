"""BridgeClient takes temporalio's Client calls: connect's options, start_workflow's task
queue, search attributes and cron schedule, list_workflows(query) and count_workflows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
import temporalio.service

from bridge import BridgeClient, BridgeServer, RPCError, RPCStatusCode, TLSConfig
from bridge.rpc._connect import channel_settings
from fastcore import Engine, WorkflowExecutionCount, WorkflowExecutionStatus, workflow
from fastcore.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from fastcore.errors import InvalidArgumentError
from fastcore.testing import VirtualClock

TOKEN = "s3cret-token"
CUSTOMER = SearchAttributeKey.for_keyword("CustomerId")
AMOUNT = SearchAttributeKey.for_float("Amount")
OPENED = SearchAttributeKey.for_datetime("Opened")


@workflow.defn
class Invoice:
    def __init__(self) -> None:
        self.paid = False

    @workflow.run
    async def run(self, amount: float) -> str:
        workflow.upsert_search_attributes([AMOUNT.value_set(amount)])
        await workflow.wait_condition(lambda: self.paid)
        return f"paid {amount} on {workflow.info().task_queue}"

    @workflow.signal
    def pay(self) -> None:
        self.paid = True


@workflow.defn
class Beat:
    @workflow.run
    async def run(self) -> int:
        return (workflow.get_last_completion_result(int) or 0) + 1


@pytest_asyncio.fixture(loop_scope="function")
async def server(store_url: str) -> AsyncIterator[BridgeServer]:
    clock = VirtualClock(datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC))
    async with (
        Engine(store_url, workflows=[Invoice, Beat], clock=clock) as engine,
        BridgeServer(engine, token=TOKEN) as s,
    ):
        yield s


async def test_client_code_moves_with_its_imports(server: BridgeServer, unique_id: str) -> None:
    """What a Temporal user writes, with ``Client`` imported from the bridge."""
    Client = BridgeClient
    client = await Client.connect(
        server.address,
        namespace="default",
        api_key=TOKEN,
        identity="billing-service",
        rpc_metadata={"x-team": "billing"},
        keep_alive_config=temporalio.service.KeepAliveConfig(interval_millis=20_000),
        tls=False,
    )
    try:
        assert (client.namespace, client.identity) == ("default", "billing-service")
        handles = []
        for i, customer in enumerate(["c-1", "c-2", "c-1"]):
            handles.append(
                await client.start_workflow(
                    Invoice.run,
                    10.0 * (i + 1),
                    id=f"{unique_id}-{i}",
                    task_queue="billing",
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(CUSTOMER, customer),
                            SearchAttributePair(OPENED, datetime(2025, 1, 1 + i, tzinfo=UTC)),
                        ]
                    ),
                )
            )
        await handles[0].signal(Invoice.pay)
        assert await handles[0].result() == "paid 10.0 on billing"
        query = f"WorkflowId STARTS_WITH '{unique_id}' AND CustomerId = 'c-1'"
        listed = [w async for w in client.list_workflows(query)]
        assert [w.id for w in listed] == [handles[2].id, handles[0].id]  # open first
        assert listed[0].task_queue == "billing"
        assert listed[0].typed_search_attributes[OPENED] == datetime(2025, 1, 3, tzinfo=UTC)
        assert listed[0].typed_search_attributes[AMOUNT] == 30.0
        running = f"WorkflowId STARTS_WITH '{unique_id}' AND ExecutionStatus = 'Running'"
        assert (await client.count_workflows(running)).count == 2
        grouped = await client.count_workflows(
            f"WorkflowId STARTS_WITH '{unique_id}' GROUP BY ExecutionStatus"
        )
        assert isinstance(grouped, WorkflowExecutionCount) and grouped.count == 3
        assert sorted((g.group_values[0], g.count) for g in grouped.groups) == [
            ("Completed", 1), ("Running", 2)
        ]  # fmt: skip
        big = [w.id async for w in client.list_workflows("Amount > 15", page_size=1)]
        assert big == [handles[2].id, handles[1].id]
        page, token = await client.list_workflows("Amount > 15", page_size=1)
        assert [w.id for w in page] == [handles[2].id] and token is not None
        page, token = await client.list_workflows("Amount > 15", next_page_token=token)
        assert [w.id for w in page] == [handles[1].id] and token is None
        desc = await handles[1].describe()
        assert desc.typed_search_attributes[CUSTOMER] == "c-2" and desc.task_queue == "billing"
        with pytest.raises(InvalidArgumentError, match="unknown search attribute 'Nope'"):
            await client.list_workflows("Nope = 1")
        with pytest.raises(InvalidArgumentError, match="LIKE is not supported"):
            await client.count_workflows("WorkflowId LIKE 'x%'")
        with pytest.raises(InvalidArgumentError, match="another query"):
            await client.list_workflows("Amount > 1", next_page_token=b'{"close": null, '
                                        b'"start": 1, "run": "x", "q": "0"}')  # fmt: skip
    finally:
        await client.close()


async def test_cron_and_args_through_the_bridge(server: BridgeServer, unique_id: str) -> None:
    async with await BridgeClient.connect(server.address, api_key=TOKEN) as client:
        h = await client.start_workflow(Beat.run, id=unique_id, cron_schedule="@every 1m")
        assert h.result_run_id is not None
        first = client.get_workflow_handle(unique_id, run_id=h.result_run_id)
        assert await first.result(follow_runs=False) == 1
        desc = await first.describe()
        assert desc.execution_time == datetime(2025, 1, 1, 0, 1, 30, tzinfo=UTC)  # @every: from now
        with pytest.raises(InvalidArgumentError, match="outside 0-59"):
            await client.start_workflow(Beat.run, id=f"{unique_id}-x", cron_schedule="77 * * * *")
        bad = TypedSearchAttributes([SearchAttributePair(OPENED, datetime(2025, 1, 1))])
        with pytest.raises(InvalidArgumentError, match="time zone"):
            await client.start_workflow(
                Invoice.run, 1.0, id=f"{unique_id}-y", search_attributes=bad
            )
        # temporalio's args= form
        h2 = await client.start_workflow("Invoice", args=[2.5], id=f"{unique_id}-z")
        await h2.signal("pay")
        assert await h2.result() == "paid 2.5 on fastcore"
        # start_delay: recorded now, run after the delay (the engine's virtual clock here)
        delayed = await client.start_workflow(
            Beat.run, id=f"{unique_id}-d", start_delay=timedelta(minutes=5)
        )
        d = await delayed.describe()
        assert d.execution_time is not None and d.start_time is not None
        assert d.execution_time - d.start_time == timedelta(minutes=5)
        assert await delayed.result() == 1
        with pytest.raises(InvalidArgumentError, match="start_delay"):
            await client.start_workflow(
                Beat.run, id=f"{unique_id}-n", start_delay=timedelta(seconds=-1)
            )
    assert (await (await BridgeClient.connect(server.address, api_key=TOKEN)).count_workflows(
        f"WorkflowId = '{unique_id}-x'"
    )).count == 0  # fmt: skip


async def test_rpc_metadata_and_api_key_reach_the_server(server: BridgeServer) -> None:
    via_metadata = await BridgeClient.connect(
        server.address, rpc_metadata={"authorization": f"Bearer {TOKEN}"}
    )
    async with via_metadata:
        assert (await via_metadata.count_workflows()).count == 0
    async with await BridgeClient.connect(server.address, api_key="wrong") as wrong:
        with pytest.raises(RPCError) as refused:
            await wrong.count_workflows()
        assert refused.value.status is RPCStatusCode.UNAUTHENTICATED
        # per call metadata too: the call's authorization is the one checked first
        with pytest.raises(RPCError):
            await wrong.count_workflows(rpc_metadata={"x-call": "1"})


async def test_lazy_connect_waits_for_the_first_call() -> None:
    client = await BridgeClient.connect("127.0.0.1:9", lazy=True)  # nothing listens there
    try:
        with pytest.raises(RPCError) as failed:
            await client.count_workflows(rpc_timeout=timedelta(seconds=2))
        assert failed.value.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namespace": "prod"}, "one namespace, 'default'"),
        ({"plugins": [object()]}, "does not support plugins"),
        ({"retry_config": object()}, "does not support retry_config"),
        ({"runtime": object(), "dns_load_balancing_config": object()}, "dns_load_balancing"),
        ({"token": "a", "api_key": "b"}, "not both"),
        ({"rpc_metadata": {"x-bin": "text"}}, "bytes values go with names ending in '-bin'"),
        ({"tls": "yes"}, "tls must be a bool or a TLSConfig"),
        ({"grpc_compression": "brotli"}, "NONE or GZIP"),
        ({"data_converter": object()}, "fastcore's DataConverter"),
    ],
)
async def test_options_that_do_not_apply_are_refused(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await BridgeClient.connect("127.0.0.1:9", lazy=True, **options)  # type: ignore[arg-type]


def test_temporalio_tls_and_compression_settings_translate() -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    tls = temporalio.service.TLSConfig(server_root_ca_cert=ca, domain="bridge.local")
    settings = channel_settings(
        namespace="default",
        token=None,
        api_key="k",
        tls=tls,
        rpc_metadata={"authorization": "Bearer mine"},
        keep_alive_config=None,
        grpc_compression=temporalio.service.GrpcCompression.GZIP,
    )
    assert settings.tls == TLSConfig(server_root_ca_cert=ca, domain="bridge.local")
    # as temporalio: api_key is not sent when rpc_metadata carries an authorization
    assert settings.metadata == (("authorization", "Bearer mine"),)
    assert settings.compression is not None
    assert WorkflowExecutionStatus.RUNNING  # the enum the list rows carry
