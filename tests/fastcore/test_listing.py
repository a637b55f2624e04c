"""Engine.list_workflows(query=...) / count_workflows(query=...): Temporal's visibility language,
filtered by the store (indexed SQL on SQLite, Python on memory), the same answers on both."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fastcore import Engine, WorkflowExecutionCount, WorkflowExecutionStatus, workflow
from fastcore import _sqlite_visibility as sqlite_visibility
from fastcore._visibility import parse
from fastcore.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from fastcore.errors import ApplicationError, InvalidArgumentError
from fastcore.testing import VirtualClock

TIER = SearchAttributeKey.for_keyword("Tier")
SEATS = SearchAttributeKey.for_int("Seats")
TAGS = SearchAttributeKey.for_keyword_list("Tags")
NOTE = SearchAttributeKey.for_text("Note")
OPENED = SearchAttributeKey.for_datetime("Opened")
T0 = datetime(2025, 3, 1, tzinfo=UTC)


@workflow.defn
class Order:
    def __init__(self) -> None:
        self.outcome = ""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: bool(self.outcome))
        if self.outcome == "fail":
            raise ApplicationError("declined")
        return self.outcome

    @workflow.signal
    def finish(self, outcome: str) -> None:
        self.outcome = outcome


@workflow.defn
class Refund:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


def sa(**values: object) -> TypedSearchAttributes:
    keys = {"Tier": TIER, "Seats": SEATS, "Tags": TAGS, "Note": NOTE, "Opened": OPENED}
    return TypedSearchAttributes([SearchAttributePair(keys[k], v) for k, v in values.items()])


async def seed(engine: Engine, clock: VirtualClock, prefix: str) -> dict[str, str]:
    """Six runs, one a minute: ids by name. o1/o2 complete, o3 fails, the rest run."""
    plan = [
        ("o1", Order, sa(Tier="gold", Seats=3, Tags=["eu", "new"], Note="Rush order, fragile")),
        ("o2", Order, sa(Tier="silver", Seats=10, Tags=["us"], Opened=T0 + timedelta(days=2))),
        ("o3", Order, sa(Tier="gold", Seats=7, Opened=T0 + timedelta(days=5))),
        ("o4", Order, sa(Seats=1, Note="customer asked")),
        ("r1", Refund, sa(Tier="bronze", Tags=["eu"])),
        ("x1", Order, None),
    ]
    ids = {}
    for name, wf, attrs in plan:
        ids[name] = f"{prefix}-{name}"
        await engine.start_workflow(
            wf.run,
            id=ids[name],
            search_attributes=attrs,
            task_queue="refunds" if wf is Refund else None,
        )
        await clock.advance(timedelta(minutes=1))
    for name, outcome in (("o2", "ok"), ("o1", "ok"), ("o3", "fail")):
        h = engine.get_workflow_handle(ids[name])
        await h.signal(Order.finish, outcome)
        try:
            await h.result()
        except Exception:
            pass
        await clock.advance(timedelta(minutes=1))
    return ids


QUERIES: list[tuple[str, list[str]]] = [
    # (query, names in Temporal's order: open runs newest first, then closed by close time)
    ("", ["x1", "r1", "o4", "o3", "o1", "o2"]),
    ("WorkflowType = 'Refund'", ["r1"]),
    ("WorkflowType != 'Refund'", ["x1", "o4", "o3", "o1", "o2"]),
    ("ExecutionStatus = 'Running'", ["x1", "r1", "o4"]),
    ("ExecutionStatus IN ('Completed', 'Failed')", ["o3", "o1", "o2"]),
    ("ExecutionStatus = 'Completed' OR Tier = 'bronze'", ["r1", "o1", "o2"]),
    ("Tier = 'gold'", ["o3", "o1"]),
    ("Tier != 'gold'", ["r1", "o2"]),  # no Tier: not a match, as Temporal
    ("Tier IN ('gold', 'bronze') AND ExecutionStatus != 'Failed'", ["r1", "o1"]),
    ("Tier NOT IN ('gold')", ["r1", "o2"]),
    ("Tier IS NULL", ["x1", "o4"]),
    ("Tier IS NOT NULL AND Seats IS NULL", ["r1"]),
    ("Seats >= 3", ["o3", "o1", "o2"]),
    ("Seats < 3", ["o4"]),
    ("Seats BETWEEN 3 AND 7", ["o3", "o1"]),
    ("Seats NOT BETWEEN 3 AND 7", ["o4", "o2"]),
    ("Tags = 'eu'", ["r1", "o1"]),
    ("Tags IN ('us', 'new')", ["o1", "o2"]),
    ("Tags != 'eu'", ["o2"]),
    ("Note = 'rush'", ["o1"]),  # Text: a case-insensitive word match
    ("Opened > '2025-03-03T00:00:00Z'", ["o3"]),
    ("Opened BETWEEN '2025-03-01T00:00:00Z' AND '2025-03-04T00:00:00+00:00'", ["o2"]),
    ("WorkflowId STARTS_WITH '{p}-o'", ["o4", "o3", "o1", "o2"]),
    ("WorkflowId NOT STARTS_WITH '{p}-o'", ["x1", "r1"]),
    ("TaskQueue = 'refunds'", ["r1"]),
    ("(Tier = 'gold' OR Tier = 'silver') AND (Seats > 5 OR Tags = 'eu')", ["o3", "o1", "o2"]),
    ("StartTime >= '2025-03-01T00:03:00Z'", ["x1", "r1", "o4"]),
    ("CloseTime < '2025-03-01T00:08:00Z'", ["o1", "o2"]),
    ("ExecutionTime < '2025-03-01T00:01:00Z'", ["o1"]),
]


async def test_queries_answer_the_same_on_both_stores(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Order, Refund], clock=clock) as engine:
        prefix = f"l-{uuid.uuid4().hex[:8]}"
        ids = await seed(engine, clock, prefix)
        for query, expected in QUERIES:
            q = query.format(p=prefix)
            found = [d.id async for d in engine.list_workflows(q)]
            assert found == [ids[n] for n in expected], q
            assert (await engine.count_workflows(q)).count == len(expected), q


async def test_rows_carry_what_temporal_lists(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Order, Refund], clock=clock) as engine:
        await engine.start_workflow(
            Refund.run, id="row-1", memo={"who": "ann"}, search_attributes=sa(Tier="gold"),
            task_queue="refunds",
        )  # fmt: skip
        [row] = [d async for d in engine.list_workflows("WorkflowId = 'row-1'")]
        assert row.workflow_type == "Refund" and row.status is WorkflowExecutionStatus.RUNNING
        assert row.memo == {"who": "ann"} and row.raw_memo["who"].data == b'"ann"'
        assert row.typed_search_attributes[TIER] == "gold" and row.task_queue == "refunds"
        assert row.start_time == row.execution_time and row.history_length >= 1
        assert row.close_time is None


async def test_paging_and_limit(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Order, Refund], clock=clock) as engine:
        ids = await seed(engine, clock, f"p-{uuid.uuid4().hex[:8]}")
        everything = [d.id async for d in engine.list_workflows()]
        assert len(everything) == len(ids)
        pages: list[list[str]] = []
        token: bytes | None = None
        while True:
            page, token = await engine.list_workflows(page_size=4, next_page_token=token)
            pages.append([d.id for d in page])
            if token is None:
                break
        assert pages == [everything[:4], everything[4:]]
        assert [d.id async for d in engine.list_workflows(page_size=1)] == everything
        assert [d.id async for d in engine.list_workflows(limit=3, page_size=2)] == everything[:3]
        it = engine.list_workflows("ExecutionStatus = 'Running'", page_size=2)
        await it.fetch_next_page()
        assert [d.id for d in it.current_page or []] == everything[:2]
        assert it.next_page_token is not None
        _, running_token = await engine.list_workflows("ExecutionStatus = 'Running'", page_size=1)
        assert running_token is not None
        with pytest.raises(InvalidArgumentError, match="another query"):
            await engine.list_workflows("Tier = 'gold'", next_page_token=running_token)
        with pytest.raises(InvalidArgumentError, match="bad next_page_token"):
            await engine.list_workflows(next_page_token=b"garbage")
        running, _ = await engine.list_workflows(status=WorkflowExecutionStatus.RUNNING)
        assert [d.id for d in running] == everything[:3]
        failed, _ = await engine.list_workflows(
            "Tier = 'gold'", status=WorkflowExecutionStatus.FAILED
        )
        assert [d.status for d in failed] == [WorkflowExecutionStatus.FAILED]


async def test_count_groups_by_status(store_url: str) -> None:
    clock = VirtualClock(T0)
    async with Engine(store_url, workflows=[Order, Refund], clock=clock) as engine:
        await seed(engine, clock, f"c-{uuid.uuid4().hex[:8]}")
        counted = await engine.count_workflows("WorkflowType = 'Order' GROUP BY ExecutionStatus")
        assert isinstance(counted, WorkflowExecutionCount)
        assert counted.count == 5
        assert sorted((g.group_values[0], g.count) for g in counted.groups) == [
            ("Completed", 2), ("Failed", 1), ("Running", 2)
        ]  # fmt: skip
        plain = await engine.count_workflows()
        assert plain.count == 6 and list(plain.groups) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("Nope = 'x'", "unknown search attribute 'Nope'"),
        ("WorkflowId LIKE 'a%'", "LIKE is not supported"),
        ("WorkflowId = 'a' ORDER BY StartTime", "ORDER BY is not supported"),
        ("Seats = 'three'", "is an Int"),
        ("Tier > 'a' AND", "expected a search attribute name"),
        ("NOT Tier = 'a'", "a bare NOT is not supported"),
        ("ExecutionStatus = 'Sleeping'", "is not an ExecutionStatus"),
        ("Tags > 'a'", "> is not supported on 'Tags'"),
    ],
)
async def test_unsupported_queries_are_clear_errors(
    store_url: str, query: str, message: str
) -> None:
    async with Engine(
        store_url, workflows=[Order], search_attribute_keys=[TIER, SEATS, TAGS]
    ) as engine:
        await engine.start_workflow(Order.run, id=f"e-{uuid.uuid4().hex[:8]}")
        with pytest.raises(InvalidArgumentError, match=message):
            await engine.list_workflows(query)
        with pytest.raises(InvalidArgumentError, match=message):
            await engine.count_workflows(query)
        with pytest.raises(InvalidArgumentError, match="GROUP BY is only supported by count"):
            await engine.list_workflows("GROUP BY ExecutionStatus")


async def test_sqlite_answers_from_its_indexes(tmp_path: Path) -> None:
    """The filter is SQL the planner answers from indexes, never a Python pass over runs."""
    url = f"sqlite:///{tmp_path}/plan.db"
    clock = VirtualClock(T0)
    async with Engine(url, workflows=[Order, Refund], clock=clock) as engine:
        await seed(engine, clock, "plan")
    types = {"Tier": "Keyword", "Seats": "Int", "Tags": "KeywordList"}
    conn = sqlite3.connect(f"{tmp_path}/plan.db")
    try:
        for query, index in (
            ("Tier = 'gold'", "search_attributes_by_value"),
            ("Seats BETWEEN 3 AND 7", "search_attributes_by_value"),
            ("Tags IN ('eu', 'us')", "search_attributes_by_value"),
            ("WorkflowId STARTS_WITH 'plan-o'", "sqlite_autoindex_runs_1"),
            ("WorkflowType = 'Refund'", "runs_by_type"),
            ("ExecutionStatus = 'Running'", "runs_by_status"),
            ("", "runs_by_recency"),
        ):
            where, params = sqlite_visibility._where(parse(query, types))
            sql = (
                f"EXPLAIN QUERY PLAN SELECT id FROM runs WHERE ({where}) "
                "ORDER BY coalesce(close_time, 9e999) DESC, start_time DESC, run_id DESC LIMIT 10"
            )
            plan = " | ".join(row[3] for row in conn.execute(sql, params))
            assert index in plan, (query, plan)
            assert not plan.startswith("SCAN runs") or index == "runs_by_recency", plan
    finally:
        conn.close()


async def test_a_store_from_schema_1_is_migrated(tmp_path: Path) -> None:
    """Runs written before search attributes existed list with their memo, and can be
    filtered by the built-in attributes."""
    from fastcore._sqlite_schema import APPLICATION_ID as _APPLICATION_ID
    from fastcore._sqlite_schema import MIGRATIONS as _MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
    started = {
        "event_id": 1,
        "event_type": "WORKFLOW_EXECUTION_STARTED",
        "timestamp": T0.timestamp(),
        "attributes": {
            "workflow_type": "Refund", "workflow_id": "old-1", "run_id": "r-1", "input": [],
            "attempt": 1, "parent": None, "continued_run_id": None, "first_run_id": "r-1",
            "execution_timeout": None, "run_timeout": None, "execution_deadline": None,
            "memo": {"who": {"_payload": {"metadata": {"encoding": "json/plain"}, "data": '"bo"'}}},
            "retry_policy": None, "seed": 7,
        },
    }  # fmt: skip
    conn.execute(
        "INSERT INTO runs (workflow_id, run_id, workflow_type, status, start_time, close_time, "
        "history_length) VALUES ('old-1', 'r-1', 'Refund', 1, ?, NULL, 1)",
        (T0.timestamp(),),
    )
    conn.execute(
        "INSERT INTO events (run, event_id, data) VALUES (1, 1, ?)", (json.dumps(started),)
    )
    conn.commit()
    conn.close()
    async with Engine(f"sqlite:///{path}", workflows=[Refund]) as engine:
        [row] = [d async for d in engine.list_workflows("WorkflowType = 'Refund'")]
        assert (row.id, row.memo, row.task_queue) == ("old-1", {"who": "bo"}, "fastcore")
        assert row.execution_time == T0
        assert (await engine.count_workflows("TaskQueue = 'fastcore'")).count == 1


@workflow.defn
class Parent:
    @workflow.run
    async def run(self) -> None:
        await workflow.start_child_workflow(Refund.run, id=workflow.info().workflow_id + "-kid")
        await workflow.wait_condition(lambda: False)


async def test_a_child_row_names_its_parent(store_url: str) -> None:
    async with Engine(store_url, workflows=[Parent, Refund]) as engine:
        h = await engine.start_workflow(Parent.run, id=f"pa-{uuid.uuid4().hex[:8]}")
        kid = engine.get_workflow_handle(f"{h.id}-kid")
        desc = await kid.describe()
        assert (desc.parent_id, desc.parent_run_id) == (h.id, h.result_run_id)
        [row] = [d async for d in engine.list_workflows(f"WorkflowId = '{h.id}-kid'")]
        assert (row.parent_id, row.parent_run_id) == (h.id, h.result_run_id)
        await h.terminate()  # the child goes too (parent close policy), both closed
    if store_url != "memory":  # read back from the file, not from the engine's memory
        async with Engine(store_url, workflows=[Parent, Refund]) as engine:
            [row] = [d async for d in engine.list_workflows(f"WorkflowId = '{h.id}-kid'")]
            assert (row.parent_id, row.parent_run_id) == (h.id, h.result_run_id)
            assert row.status is WorkflowExecutionStatus.TERMINATED
