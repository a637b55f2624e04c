"""Search attributes typed as temporalio's: set at start, upserted, shown, carried over."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from fastcore import Engine, EventType, RetryPolicy, WorkflowExecutionStatus, workflow
from fastcore.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from fastcore.errors import ApplicationError, InvalidArgumentError, StoreError

CUSTOMER = SearchAttributeKey.for_keyword("CustomerId")
SEATS = SearchAttributeKey.for_int("Seats")
SCORE = SearchAttributeKey.for_float("Score")
VIP = SearchAttributeKey.for_bool("Vip")
OPENED = SearchAttributeKey.for_datetime("Opened")
TAGS = SearchAttributeKey.for_keyword_list("Tags")
NOTE = SearchAttributeKey.for_text("Note")
WHEN = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


def wid() -> str:
    return f"sa-{uuid.uuid4().hex[:10]}"


def attrs(*pairs: SearchAttributePair[object]) -> TypedSearchAttributes:
    return TypedSearchAttributes(list(pairs))


@workflow.defn
class Tagger:
    """Upserts, waits for a signal, removes the customer, and reports what it saw."""

    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, seats: int) -> list[str]:
        seen = [sorted(p.key.name for p in workflow.info().typed_search_attributes)]
        workflow.upsert_search_attributes([SEATS.value_set(seats), TAGS.value_set(["eu", "new"])])
        info = workflow.info()
        assert info.typed_search_attributes[SEATS] == seats
        assert info.search_attributes["Tags"] == ["eu", "new"]
        seen.append(sorted(p.key.name for p in info.typed_search_attributes))
        await workflow.wait_condition(lambda: self.go)
        workflow.upsert_search_attributes([CUSTOMER.value_unset()])
        seen.append(sorted(p.key.name for p in workflow.info().typed_search_attributes))
        return [",".join(names) for names in seen]

    @workflow.signal
    def finish(self) -> None:
        self.go = True


@workflow.defn
class Renamer:
    """Continues as new once; the second run reports its search attributes."""

    @workflow.run
    async def run(self, hops: int, explicit: bool) -> dict[str, object]:
        if hops:
            workflow.upsert_search_attributes([SEATS.value_set(hops)])
            if explicit:
                workflow.continue_as_new(
                    0, explicit, search_attributes=attrs(SearchAttributePair(CUSTOMER, "next"))
                )
            workflow.continue_as_new(0, explicit)
        return {p.key.name: p.value for p in workflow.info().typed_search_attributes}


@workflow.defn
class FailsOnce:
    @workflow.run
    async def run(self) -> dict[str, object]:
        if workflow.info().attempt == 1:
            workflow.upsert_search_attributes([SEATS.value_set(99)])
            raise ApplicationError("first attempt fails")
        return {p.key.name: p.value for p in workflow.info().typed_search_attributes}


@workflow.defn
class BadUpsert:
    @workflow.run
    async def run(self, what: str) -> None:
        if what == "type":
            workflow.upsert_search_attributes(
                [SearchAttributeKey.for_int("CustomerId").value_set(1)]
            )
        elif what == "reserved":
            workflow.upsert_search_attributes(
                [SearchAttributeKey.for_keyword("WorkflowId").value_set("x")]
            )
        await workflow.wait_condition(lambda: False)


WORKFLOWS = [Tagger, Renamer, FailsOnce, BadUpsert]


def test_typed_search_attributes_as_temporalio_has_them() -> None:
    assert CUSTOMER.indexed_value_type is SearchAttributeIndexedValueType.KEYWORD
    assert TAGS.origin_value_type is Sequence
    assert [k._metadata_type for k in (NOTE, CUSTOMER, SEATS, SCORE, VIP, OPENED, TAGS)] == [
        "Text", "Keyword", "Int", "Double", "Bool", "Datetime", "KeywordList"
    ]  # fmt: skip
    sa = attrs(SearchAttributePair(SEATS, 3), SearchAttributePair(CUSTOMER, "c-1"))
    assert [p.key.name for p in sa] == ["CustomerId", "Seats"]  # sorted by name
    assert sa[SEATS] == 3 and SEATS in sa and SearchAttributeKey.for_keyword("Seats") not in sa
    assert sa.get(VIP) is None and sa.get(VIP, False) is False
    with pytest.raises(KeyError):
        sa[VIP]
    updated = sa.updated(SearchAttributePair(SEATS, 4), SearchAttributePair(VIP, True))
    assert updated[SEATS] == 4 and updated[VIP] is True and sa[SEATS] == 3
    with pytest.raises(ValueError, match="Duplicate"):
        attrs(SearchAttributePair(SEATS, 1), SearchAttributePair(SEATS, 2))
    assert len(TypedSearchAttributes.empty) == 0
    assert SEATS.value_unset().value is None and SEATS.value_set(5).key is SEATS


async def test_start_upsert_info_and_describe(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        start_sa = attrs(
            SearchAttributePair(CUSTOMER, "c-42"),
            SearchAttributePair(OPENED, WHEN),
            SearchAttributePair(SCORE, 0.5),
            SearchAttributePair(VIP, True),
            SearchAttributePair(NOTE, "Rush order"),
        )
        h = await engine.start_workflow(
            Tagger.run, 3, id=wid(), search_attributes=start_sa, task_queue="orders"
        )
        desc = await h.describe()
        sa = desc.typed_search_attributes
        assert sa[CUSTOMER] == "c-42" and sa[OPENED] == WHEN and sa[SCORE] == 0.5
        assert sa[VIP] is True and sa[NOTE] == "Rush order"
        assert sa[SEATS] == 3 and list(sa[TAGS]) == ["eu", "new"]
        assert desc.search_attributes["Tags"] == ["eu", "new"]  # the untyped form too
        assert desc.task_queue == "orders"
        await h.signal(Tagger.finish)
        assert await h.result() == [
            "CustomerId,Note,Opened,Score,Vip",
            "CustomerId,Note,Opened,Score,Seats,Tags,Vip",
            "Note,Opened,Score,Seats,Tags,Vip",
        ]
        done = await h.describe()
        assert (
            CUSTOMER not in done.typed_search_attributes
            and done.typed_search_attributes[SEATS] == 3
        )
        upserts = [
            e.attributes["search_attributes"]
            for e in await h.fetch_history()
            if e.event_type is EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        ]
        assert upserts[1] == {"CustomerId": {"type": "Keyword", "value": None}}
        started = (await h.fetch_history())[0].attributes
        assert started["search_attributes"]["Opened"] == {
            "type": "Datetime",
            "value": WHEN.isoformat(),
        }
        assert started["task_queue"] == "orders"


async def test_timezones_are_kept_as_instants(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        local = datetime(2025, 1, 31, 14, 0, tzinfo=timezone(timedelta(hours=2)))
        h = await engine.start_workflow(
            Tagger.run, 1, id=wid(), search_attributes=attrs(SearchAttributePair(OPENED, local))
        )
        assert (await h.describe()).typed_search_attributes[OPENED] == WHEN


async def test_deprecated_untyped_form_is_accepted_at_start(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        h = await engine.start_workflow(
            Tagger.run, 1, id=wid(), search_attributes={"CustomerId": ["c-1"], "Labels": ["a", "b"]}
        )
        sa = (await h.describe()).typed_search_attributes
        labels = SearchAttributeKey.for_keyword_list("Labels")
        assert sa[CUSTOMER] == "c-1" and list(sa[labels]) == ["a", "b"]


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (SearchAttributePair(SEATS, "three"), "'Seats' is a Int"),
        (SearchAttributePair(SEATS, 2.5), "'Seats' is a Int"),
        (SearchAttributePair(SCORE, True), "'Score' is a Double"),
        (SearchAttributePair(OPENED, datetime(2025, 1, 1)), "time zone"),
        (SearchAttributePair(TAGS, "eu"), "list of strings"),
        (SearchAttributePair(TAGS, ["eu", 1]), "must be strings"),
        (SearchAttributePair(SearchAttributeKey.for_keyword("WorkflowType"), "x"), "built in"),
        (SearchAttributePair(SearchAttributeKey.for_keyword("TemporalThing"), "x"), "reserved"),
    ],
)
async def test_bad_values_are_refused_at_the_start(
    store_url: str, pair: SearchAttributePair[object], message: str
) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        with pytest.raises(InvalidArgumentError, match=message):
            await engine.start_workflow(Tagger.run, 1, id=wid(), search_attributes=attrs(pair))
        assert [d async for d in engine.list_workflows()] == []  # nothing started


async def test_an_attribute_keeps_its_first_type(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        await engine.start_workflow(
            Tagger.run, 1, id=wid(), search_attributes=attrs(SearchAttributePair(CUSTOMER, "c"))
        )
        as_int = SearchAttributeKey.for_int("CustomerId")
        with pytest.raises(InvalidArgumentError, match="'CustomerId' is a Keyword"):
            await engine.start_workflow(
                Tagger.run, 1, id=wid(), search_attributes=attrs(SearchAttributePair(as_int, 1))
            )
        assert engine.search_attribute_keys["CustomerId"] == CUSTOMER


async def test_a_bad_upsert_fails_the_workflow_task(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        await engine.start_workflow(
            Tagger.run, 1, id=wid(), search_attributes=attrs(SearchAttributePair(CUSTOMER, "c"))
        )
        for what, message in (("type", "'CustomerId' is a Keyword"), ("reserved", "built in")):
            h = await engine.start_workflow(BadUpsert.run, what, id=wid())
            desc = await h.describe()
            assert desc.status is WorkflowExecutionStatus.RUNNING
            assert isinstance(desc.pending_task_failure, InvalidArgumentError)
            assert message in str(desc.pending_task_failure)
            kinds = [e.event_type for e in await h.fetch_history()]
            assert EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in kinds
            assert EventType.WORKFLOW_TASK_FAILED in kinds


async def test_continue_as_new_carries_current_or_named_attributes(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        start = attrs(SearchAttributePair(CUSTOMER, "c-1"))
        h = await engine.start_workflow(
            Renamer.run, 1, False, id=wid(), search_attributes=start, task_queue="q1"
        )
        assert await h.result() == {"CustomerId": "c-1", "Seats": 1}  # upserts included
        assert (await engine.get_workflow_handle(h.id).describe()).task_queue == "q1"
        h = await engine.start_workflow(Renamer.run, 1, True, id=wid(), search_attributes=start)
        assert await h.result() == {"CustomerId": "next"}  # what continue_as_new named


async def test_a_retry_run_starts_with_the_start_attributes(store_url: str) -> None:
    async with Engine(store_url, workflows=WORKFLOWS) as engine:
        h = await engine.start_workflow(
            FailsOnce.run,
            id=wid(),
            search_attributes=attrs(SearchAttributePair(CUSTOMER, "c-1")),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=1)),
        )
        # as Temporal: the retry gets the start's attributes, not the failed run's upserts
        assert await h.result() == {"CustomerId": "c-1"}


async def test_search_attributes_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sa.db"
    i = wid()
    async with Engine(url, workflows=WORKFLOWS) as engine:
        await engine.start_workflow(
            Tagger.run, 5, id=i, search_attributes=attrs(SearchAttributePair(CUSTOMER, "c-9"))
        )
    async with Engine(url, workflows=WORKFLOWS) as engine:
        # the registry is read back from the file: a query may name the attribute at once
        assert set(engine.search_attribute_keys) == {"CustomerId", "Seats", "Tags"}
        found = [d.id async for d in engine.list_workflows("CustomerId = 'c-9' AND Seats = 5")]
        assert found == [i]
        h = engine.get_workflow_handle(i)
        await h.signal(Tagger.finish)
        await h.result()
        sa = (await h.describe()).typed_search_attributes
        assert CUSTOMER not in sa and sa[SEATS] == 5
    async with Engine(url, workflows=WORKFLOWS) as engine:
        assert [d.id async for d in engine.list_workflows("CustomerId IS NULL AND Seats = 5")] == [
            i
        ]


async def test_keys_given_up_front_are_known_and_checked(tmp_path: Path) -> None:
    region = SearchAttributeKey.for_keyword("Region")
    async with Engine("memory", workflows=WORKFLOWS, search_attribute_keys=[region]) as engine:
        assert [d async for d in engine.list_workflows("Region = 'eu'")] == []
        with pytest.raises(InvalidArgumentError, match="'Region' is a Keyword"):
            await engine.start_workflow(
                Tagger.run,
                1,
                id=wid(),
                search_attributes=attrs(
                    SearchAttributePair(SearchAttributeKey.for_int("Region"), 1)
                ),
            )
    with pytest.raises(InvalidArgumentError, match="built in"):
        Engine(search_attribute_keys=[SearchAttributeKey.for_int("HistoryLength")])
    url = f"sqlite:///{tmp_path}/keys.db"
    async with Engine(url, workflows=WORKFLOWS) as engine:
        await engine.start_workflow(
            Tagger.run, 1, id=wid(), search_attributes=attrs(SearchAttributePair(CUSTOMER, "c"))
        )
    with pytest.raises(StoreError, match="'CustomerId' is a Int"):
        async with Engine(
            url,
            workflows=WORKFLOWS,
            search_attribute_keys=[SearchAttributeKey.for_int("CustomerId")],
        ):
            pass


@workflow.defn
class Counter:
    def __init__(self) -> None:
        self.n = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def bump(self) -> int:
        self.n += 1
        return self.n


async def test_update_with_start_carries_search_attributes(store_url: str) -> None:
    from fastcore.client import WithStartWorkflowOperation
    from fastcore.common import WorkflowIDConflictPolicy

    async with Engine(store_url, workflows=[Counter]) as engine:
        op = WithStartWorkflowOperation(
            Counter.run,
            id=wid(),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=attrs(SearchAttributePair(CUSTOMER, "c-5")),
        )
        assert (
            await engine.execute_update_with_start_workflow(
                Counter.bump, start_workflow_operation=op
            )
            == 1
        )
        handle = await op.workflow_handle()
        assert (await handle.describe()).typed_search_attributes[CUSTOMER] == "c-5"
        assert [d.id async for d in engine.list_workflows("CustomerId = 'c-5'")] == [handle.id]
        cron = WithStartWorkflowOperation(
            Counter.run,
            id=wid(),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            cron_schedule="@hourly",
        )
        with pytest.raises(InvalidArgumentError, match="cron_schedule"):
            await engine.execute_update_with_start_workflow(
                Counter.bump, start_workflow_operation=cron
            )
