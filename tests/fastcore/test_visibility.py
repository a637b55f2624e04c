"""Temporal's visibility query language: parse, evaluate, compile to SQL (and they agree)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest

from fastcore.common import WorkflowExecutionStatus as S
from fastcore.errors import InvalidArgumentError
from fastcore.integration import visibility as v

TYPES = {
    "Tier": "Keyword",
    "Seats": "Int",
    "Score": "Double",
    "Vip": "Bool",
    "Opened": "Datetime",
    "Tags": "KeywordList",
    "Note": "Text",
}


def _at(day: int) -> datetime:
    return datetime(2025, 1, day, tzinfo=UTC)


ROWS: list[dict[str, Any]] = [
    {"WorkflowId": "order-1", "WorkflowType": "Checkout", "ExecutionStatus": S.RUNNING,
     "StartTime": _at(1), "CloseTime": None, "Tier": "gold", "Seats": 3, "Score": 1.5,
     "Vip": True, "Opened": _at(2), "Tags": ["eu", "new"], "Note": "Rush order, fragile"},
    {"WorkflowId": "order-2", "WorkflowType": "Checkout", "ExecutionStatus": S.COMPLETED,
     "StartTime": _at(3), "CloseTime": _at(4), "Tier": "silver", "Seats": 10, "Score": 0.5,
     "Vip": False, "Opened": _at(5), "Tags": ["us"], "Note": None},
    {"WorkflowId": "refund-1", "WorkflowType": "Refund", "ExecutionStatus": S.FAILED,
     "StartTime": _at(6), "CloseTime": _at(7), "Tier": None, "Seats": None, "Score": None,
     "Vip": None, "Opened": None, "Tags": None, "Note": "customer asked"},
    {"WorkflowId": "Order-3", "WorkflowType": "Checkout", "ExecutionStatus": S.TERMINATED,
     "StartTime": _at(8), "CloseTime": _at(9), "Tier": "gold", "Seats": 7, "Score": 2.0,
     "Vip": False, "Opened": _at(1), "Tags": [], "Note": "RUSH"},
]  # fmt: skip

QUERIES = [
    "",
    "WorkflowType = 'Checkout'",
    "WorkflowType != 'Checkout'",
    "ExecutionStatus = 'Running'",
    "ExecutionStatus != 'Running'",
    "ExecutionStatus IN ('Completed', 'Failed')",
    "ExecutionStatus NOT IN ('Completed', 'Failed')",
    "WorkflowId STARTS_WITH 'order-'",
    "WorkflowId NOT STARTS_WITH 'order-'",
    "Tier = 'gold' AND ExecutionStatus = 'Running'",
    "Tier = 'gold' OR WorkflowType = 'Refund'",
    "(Tier = 'gold' OR Tier = 'silver') AND Seats >= 5",
    "Seats BETWEEN 3 AND 7",
    "Seats NOT BETWEEN 3 AND 7",
    "Score > 1 AND Score <= 2",
    "Vip = true",
    "Vip = false",
    "Opened < '2025-01-03T00:00:00Z'",
    "StartTime >= '2025-01-03T00:00:00Z' AND CloseTime < '2025-01-08T00:00:00+00:00'",
    "CloseTime IS NULL",
    "Tier IS NOT NULL",
    "Tags = 'eu'",
    "Tags IN ('us', 'eu')",
    "Tags != 'eu'",
    "Note = 'rush'",
    '`Tier` = "gold"',
    "Tier = 'gold' GROUP BY ExecutionStatus",
]


def _ids(query: str) -> set[str]:
    parsed = v.parse(query, TYPES)
    return {r["WorkflowId"] for r in ROWS if v.evaluate(parsed, r)}


def test_parses_the_forms_temporal_documents() -> None:
    q = v.parse("WorkflowType = 'A' AND (Tier IN ('x', 'y') OR Seats BETWEEN 1 AND 2)", TYPES)
    assert q.where == v.And(
        (
            v.Comparison("WorkflowType", "=", "A"),
            v.Or((v.InList("Tier", ("x", "y")), v.Between("Seats", 1, 2))),
        )
    )
    assert v.parse("ExecutionStatus = 1").where == v.Comparison("ExecutionStatus", "=", "Running")
    assert v.parse("ExecutionStatus = 'timedout'").where == (
        v.Comparison("ExecutionStatus", "=", "TimedOut")
    )
    grouped = v.parse("GROUP BY ExecutionStatus")
    assert grouped.where is None and grouped.group_by == ("ExecutionStatus",)
    assert v.parse("  ").where is None
    when = v.parse("StartTime > 1735689600000000000").where
    assert isinstance(when, v.Comparison) and when.value == _at(1)


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("Foo = 'x'", "unknown search attribute 'Foo'"),
        ("WorkflowId LIKE 'x%'", "LIKE is not supported"),
        ("NOT WorkflowId = 'x'", "bare NOT"),
        ("WorkflowId = 'x' ORDER BY StartTime", "ORDER BY is not supported"),
        ("GROUP BY WorkflowType", "GROUP BY supports only ExecutionStatus"),
        ("ExecutionStatus = 'Done'", "is not an ExecutionStatus"),
        ("ExecutionStatus > 'Running'", "> is not supported on 'ExecutionStatus'"),
        ("Seats = 'many'", "'Seats' is an Int"),
        ("Tier = 3", "quote the value"),
        ("Vip = 'maybe'", "use true or false"),
        ("Opened > 'yesterday'", "RFC 3339"),
        ("Tier STARTS_WITH 'g' AND Note STARTS_WITH 'r'", "STARTS_WITH is not supported on 'Note'"),
        ("Tags > 'a'", "> is not supported on 'Tags'"),
        ("WorkflowId = 'a' AND", "expected a search attribute name, found the end"),
        ("(WorkflowId = 'a'", "expected ')'"),
        ("WorkflowId = 'a' 'b'", "unexpected \"'b'\" at position 17"),
        ("WorkflowId ~ 'a'", "unexpected character '~'"),
    ],
)
def test_unsupported_or_malformed_is_a_clear_error(query: str, wanted: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        v.parse(query, TYPES)
    assert wanted in str(err.value)
    assert query in str(err.value)


def test_evaluates_as_temporal_sql_visibility() -> None:
    assert _ids("Tier = 'gold'") == {"order-1", "Order-3"}
    assert _ids("Tier != 'gold'") == {"order-2"}  # a missing value matches no comparison
    assert _ids("Tier IS NULL") == {"refund-1"}
    assert _ids("WorkflowId STARTS_WITH 'order-'") == {"order-1", "order-2"}  # case-sensitive
    assert _ids("Tags = 'eu'") == {"order-1"}  # list containment
    assert _ids("Note = 'rush'") == {"order-1", "Order-3"}  # text: case-insensitive substring
    assert _ids("ExecutionStatus = 'Failed' OR Seats > 8") == {"refund-1", "order-2"}
    assert _ids("Opened BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-02T00:00:00Z'") == {
        "order-1",
        "Order-3",
    }
    row = {"ExecutionStatus": 2, "StartTime": _at(1).timestamp()}  # ints and epoch seconds
    assert v.evaluate(v.parse("ExecutionStatus = 'Completed' AND StartTime < '2025-01-02'"), row)


def _sqlite_rows() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    cols = ["WorkflowId", "WorkflowType", "ExecutionStatus", "StartTime", "CloseTime", *TYPES]
    db.execute(f"CREATE TABLE runs ({', '.join(cols)})")
    for r in ROWS:
        values: list[Any] = []
        for c in cols:
            x = r.get(c)
            if isinstance(x, datetime):
                x = x.timestamp()
            elif isinstance(x, list):
                x = json.dumps(x)
            elif isinstance(x, S):
                x = int(x)
            values.append(x)
        db.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(cols))})", values)
    return db


@pytest.mark.parametrize("query", QUERIES)
def test_sql_and_evaluate_agree(query: str) -> None:
    db = _sqlite_rows()
    parsed = v.parse(query, TYPES)
    where, params = v.to_sql(parsed, lambda attr: f'"{attr}"')
    got = {row[0] for row in db.execute(f"SELECT WorkflowId FROM runs WHERE {where}", params)}
    assert got == _ids(query)
    assert "'" not in where.replace("'$", "")  # values travel as parameters, never inlined
