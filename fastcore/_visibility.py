"""Temporal's visibility query language: parse a list filter, evaluate it, compile it to SQL.

The language ``temporal workflow list --query`` and ``Client.list_workflows(query)`` speak,
over the built-in attributes (``WorkflowId``, ``WorkflowType``, ``RunId``,
``ExecutionStatus``, ``StartTime``, ``CloseTime``, ``ExecutionTime``, ``TaskQueue``,
``HistoryLength``) and custom search attributes of known types::

    WorkflowType = 'Checkout' AND (ExecutionStatus = 'Running' OR CustomerTier IN ('gold'))
    StartTime BETWEEN '2025-01-01T00:00:00Z' AND '2025-02-01T00:00:00Z'
    WorkflowId STARTS_WITH 'order-' AND Amount >= 100
    ExecutionStatus != 'Completed' GROUP BY ExecutionStatus

Supported: ``= != <> < <= > >=``, ``[NOT] IN (...)``, ``[NOT] BETWEEN .. AND ..``,
``[NOT] STARTS_WITH``, ``IS [NOT] NULL``, ``AND``/``OR``/parentheses, and a trailing ``GROUP
BY ExecutionStatus`` (for counts). Anything else (``LIKE``, a bare ``NOT``, ``ORDER BY``, an
unknown attribute, a value of the wrong type, an operator a type does not support) raises
``InvalidArgumentError`` naming what to change: never a silent full scan or empty answer.

Semantics, as Temporal's SQL visibility: a comparison with a missing value is false (also
``!=``); ``KeywordList = v`` means the list contains ``v``; ``Text = v`` is a case-insensitive
substring match (Temporal's full-text match is approximated); datetimes compare as instants.

This module is pure (standard library only): ``parse`` gives a ``Query``, ``evaluate`` tests a
row (a mapping of attribute name to value; the memory store lists with it), ``to_sql``
compiles the filter to a parameterised SQLite ``WHERE`` fragment (the SQLite store's lists
and counts, answered from its indexes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .common import WorkflowExecutionStatus
from .errors import InvalidArgumentError

__all__ = [
    "BUILTIN_ATTRIBUTES",
    "STATUS_NAMES",
    "And",
    "Between",
    "Comparison",
    "Expr",
    "InList",
    "IsNull",
    "Or",
    "Query",
    "SearchAttributeType",
    "StartsWith",
    "attribute_names",
    "evaluate",
    "evaluate_expr",
    "parse",
    "parse_datetime",
    "status_name",
    "to_sql",
]


class SearchAttributeType(StrEnum):
    """A search attribute's type; the values are Temporal's ``type`` metadata names."""

    KEYWORD = "Keyword"
    TEXT = "Text"
    INT = "Int"
    DOUBLE = "Double"
    BOOL = "Bool"
    DATETIME = "Datetime"
    KEYWORD_LIST = "KeywordList"


T = SearchAttributeType
_STATUS = "ExecutionStatus"

BUILTIN_ATTRIBUTES: Mapping[str, SearchAttributeType] = {
    "WorkflowId": T.KEYWORD,
    "WorkflowType": T.KEYWORD,
    "RunId": T.KEYWORD,
    _STATUS: T.KEYWORD,
    "StartTime": T.DATETIME,
    "CloseTime": T.DATETIME,
    "ExecutionTime": T.DATETIME,
    "TaskQueue": T.KEYWORD,
    "HistoryLength": T.INT,
}
"""Attributes every run has, and their types."""

STATUS_NAMES: Mapping[WorkflowExecutionStatus, str] = {
    WorkflowExecutionStatus.RUNNING: "Running",
    WorkflowExecutionStatus.COMPLETED: "Completed",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.CANCELED: "Canceled",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    WorkflowExecutionStatus.TIMED_OUT: "TimedOut",
}
"""The names ``ExecutionStatus`` takes in queries, as Temporal writes them."""

_STATUS_BY_NAME = {name.lower(): status for status, name in STATUS_NAMES.items()}


def status_name(status: WorkflowExecutionStatus | int) -> str:
    """The query name of a status (``Running``, ``Completed``, ...)."""
    return STATUS_NAMES[WorkflowExecutionStatus(status)]


# ---------------------------------------------------------------------------- the AST


@dataclass(frozen=True)
class Comparison:
    """``attr op value`` with ``op`` one of ``= != < <= > >=``."""

    attr: str
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    """``attr [NOT] IN (values...)``."""

    attr: str
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    """``attr [NOT] BETWEEN low AND high`` (both ends included)."""

    attr: str
    low: Any
    high: Any
    negated: bool = False


@dataclass(frozen=True)
class StartsWith:
    """``attr [NOT] STARTS_WITH prefix``."""

    attr: str
    prefix: str
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """``attr IS [NOT] NULL``."""

    attr: str
    negated: bool = False


@dataclass(frozen=True)
class And:
    """All of ``items``."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items``."""

    items: tuple[Expr, ...]


Expr = Comparison | InList | Between | StartsWith | IsNull | And | Or


@dataclass(frozen=True)
class Query:
    """A parsed query: its filter (None matches every row), GROUP BY attributes, and the
    type of every attribute it names."""

    where: Expr | None
    group_by: tuple[str, ...] = ()
    types: Mapping[str, SearchAttributeType] = field(default_factory=dict)


# ---------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
      | (?P<ident>`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "starts_with", "is", "null", "group", "by", "order"}
    | {"like", "true", "false", "limit", "asc", "desc"}
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | num | op | ident | kw | end
    text: str
    pos: int
    value: Any = None


def _unquote(s: str) -> str:
    body = s[1:-1]
    if s[0] == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            raise _error(text, at, f"unexpected character {text[at]!r}")
        kind = m.lastgroup or ""
        raw = m.group(kind)
        start = m.start(kind)
        pos = m.end()
        if kind == "str":
            out.append(_Tok("str", raw, start, _unquote(raw)))
        elif kind == "num":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            out.append(_Tok("num", raw, start, value))
        elif kind == "ident" and raw.startswith("`"):
            out.append(_Tok("ident", raw[1:-1], start))
        elif kind == "ident" and raw.lower() in _KEYWORDS:
            out.append(_Tok("kw", raw.lower(), start))
        else:
            out.append(_Tok(kind, raw, start))
    out.append(_Tok("end", "", len(text)))
    return out


def _error(text: str, pos: int, what: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"invalid visibility query {text!r}: {what} at position {pos}")


# ---------------------------------------------------------------------------- the parser

_OPS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_RANGE_OPS = frozenset({"<", "<=", ">", ">="})


def parse(text: str, attributes: Mapping[str, SearchAttributeType | str] = {}) -> Query:
    """Parse a visibility query.

    Args:
        text: The query; empty or blank matches every run.
        attributes: Custom search attributes and their types (built-ins are always known).

    Raises:
        InvalidArgumentError: The query is malformed or uses what is not supported; the
            message names what and where.
    """
    types: dict[str, SearchAttributeType] = {k: T(v) for k, v in attributes.items()}
    types.update(BUILTIN_ATTRIBUTES)
    return _Parser(text, types).query()


class _Parser:
    def __init__(self, text: str, types: dict[str, SearchAttributeType]) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.types = types
        self.used: dict[str, SearchAttributeType] = {}

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, tok: _Tok, what: str) -> InvalidArgumentError:
        return _error(self.text, tok.pos, what)

    def accept_kw(self, *words: str) -> bool:
        if self.peek().kind == "kw" and self.peek().text in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.take()
        if tok.kind != kind or (text is not None and tok.text != text):
            want = repr(text) if text is not None else kind
            got = repr(tok.text) if tok.kind != "end" else "the end"
            raise self.fail(tok, f"expected {want}, found {got}")
        return tok

    def query(self) -> Query:
        where = None
        if self.peek().kind != "end" and not (
            self.peek().kind == "kw" and self.peek().text in ("group", "order")
        ):
            where = self.or_expr()
        group_by: list[str] = []
        if self.accept_kw("group"):
            self.expect("kw", "by")
            while True:
                tok = self.expect("ident")
                if tok.text != _STATUS:
                    raise self.fail(tok, f"GROUP BY supports only {_STATUS}, not {tok.text!r}")
                group_by.append(tok.text)
                if self.peek().text != ",":
                    break
                self.take()
        tok = self.peek()
        if tok.kind == "kw" and tok.text == "order":
            raise self.fail(tok, "ORDER BY is not supported (runs are listed newest first)")
        if tok.kind != "end":
            raise self.fail(tok, f"unexpected {tok.text!r}")
        return Query(where, tuple(group_by), dict(self.used))

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.accept_kw("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.primary()]
        while self.accept_kw("and"):
            items.append(self.primary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def primary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect("op", ")")
            return inner
        if tok.kind == "kw" and tok.text == "not":
            raise self.fail(tok, "a bare NOT is not supported; use !=, NOT IN or NOT BETWEEN")
        if tok.kind != "ident":
            got = repr(tok.text) if tok.kind != "end" else "the end"
            raise self.fail(tok, f"expected a search attribute name, found {got}")
        return self.predicate()

    def attribute(self) -> tuple[str, SearchAttributeType]:
        tok = self.take()
        kind = self.types.get(tok.text)
        if kind is None:
            known = ", ".join(sorted(self.types))
            raise self.fail(tok, f"unknown search attribute {tok.text!r} (known: {known})")
        self.used[tok.text] = kind
        return tok.text, kind

    def predicate(self) -> Expr:
        attr, kind = self.attribute()
        tok = self.take()
        if tok.kind == "op" and tok.text in _OPS:
            op = _OPS[tok.text]
            _check_op(self, tok, attr, kind, op)
            return Comparison(attr, op, self.value(attr, kind))
        negated = False
        if tok.kind == "kw" and tok.text == "not":
            negated = True
            tok = self.take()
        if tok.kind == "kw" and tok.text == "in":
            self.expect("op", "(")
            values = [self.value(attr, kind)]
            while self.peek().text == ",":
                self.take()
                values.append(self.value(attr, kind))
            self.expect("op", ")")
            return InList(attr, tuple(values), negated)
        if tok.kind == "kw" and tok.text == "between":
            _check_op(self, tok, attr, kind, "BETWEEN")
            low = self.value(attr, kind)
            self.expect("kw", "and")
            return Between(attr, low, self.value(attr, kind), negated)
        if tok.kind == "kw" and tok.text == "starts_with":
            _check_op(self, tok, attr, kind, "STARTS_WITH")
            prefix = self.value(attr, kind)
            return StartsWith(attr, str(prefix), negated)
        if tok.kind == "kw" and tok.text == "is" and not negated:
            negated = self.accept_kw("not")
            self.expect("kw", "null")
            return IsNull(attr, negated)
        if tok.kind == "kw" and tok.text == "like":
            raise self.fail(tok, "LIKE is not supported; use STARTS_WITH")
        got = repr(tok.text) if tok.kind != "end" else "the end"
        raise self.fail(tok, f"expected an operator after {attr!r}, found {got}")

    def value(self, attr: str, kind: SearchAttributeType) -> Any:
        tok = self.take()
        if tok.kind == "kw" and tok.text in ("true", "false"):
            raw: Any = tok.text == "true"
        elif tok.kind in ("str", "num"):
            raw = tok.value
        else:
            got = repr(tok.text) if tok.kind != "end" else "the end"
            raise self.fail(tok, f"expected a value for {attr!r}, found {got}")
        try:
            return _coerce(attr, kind, raw)
        except (TypeError, ValueError) as err:
            raise self.fail(tok, str(err)) from None


def _check_op(p: _Parser, tok: _Tok, attr: str, kind: SearchAttributeType, op: str) -> None:
    ok = True
    if attr == _STATUS or kind in (T.BOOL, T.KEYWORD_LIST, T.TEXT):
        ok = op in ("=", "!=")
    elif op == "STARTS_WITH":
        ok = kind is T.KEYWORD
    if not ok:
        raise p.fail(tok, f"{op} is not supported on {attr!r} ({kind.value})")


def parse_datetime(value: Any) -> datetime:
    """An aware datetime from RFC 3339 text, an aware/naive datetime (UTC), or epoch
    nanoseconds (an int, as Temporal accepts)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a datetime")
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1e9, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an RFC 3339 datetime (e.g. '2025-01-31T12:00:00Z')"
            ) from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise ValueError(f"{value!r} is not a datetime")


def _coerce(attr: str, kind: SearchAttributeType, raw: Any) -> Any:
    """The query value as the attribute's Python type."""
    if attr == _STATUS:
        if isinstance(raw, int) and not isinstance(raw, bool):
            try:
                return STATUS_NAMES[WorkflowExecutionStatus(raw)]
            except ValueError:
                pass
        status = _STATUS_BY_NAME.get(str(raw).lower())
        if status is None:
            names = ", ".join(STATUS_NAMES.values())
            raise ValueError(f"{raw!r} is not an ExecutionStatus ({names})")
        return STATUS_NAMES[status]
    if kind in (T.KEYWORD, T.TEXT, T.KEYWORD_LIST):
        if not isinstance(raw, str):
            raise ValueError(f"{attr!r} is a {kind.value}: quote the value ('{raw}')")
        return raw
    if kind is T.INT or kind is T.DOUBLE:
        number, what = (int, "an Int") if kind is T.INT else (float, "a Double")
        if not isinstance(raw, bool) and (number is float or isinstance(raw, int | str)):
            try:
                return number(raw)
            except ValueError:
                pass
        raise ValueError(f"{attr!r} is {what}, not {raw!r}")
    if kind is T.BOOL:
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if not isinstance(raw, bool):
            raise ValueError(f"{attr!r} is a Bool: use true or false, not {raw!r}")
        return raw
    return parse_datetime(raw)


# ---------------------------------------------------------------------------- evaluation


def _row_value(row: Mapping[str, Any], attr: str, kind: SearchAttributeType) -> Any:
    value = row.get(attr)
    if value is None:
        return None
    if attr == _STATUS and isinstance(value, int) and not isinstance(value, str):
        return STATUS_NAMES[WorkflowExecutionStatus(value)]
    if kind is T.DATETIME:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)  # epoch seconds, as fastcore keeps time
        return parse_datetime(value)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    try:
        if op == "=":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:  # a row value of another type than the attribute's: no match
        return False


def _matches(kind: SearchAttributeType, value: Any, wanted: Any) -> bool:
    """Equality as the type defines it (list containment, text substring)."""
    if kind is T.KEYWORD_LIST:
        return wanted in value if isinstance(value, list | tuple) else bool(value == wanted)
    if kind is T.TEXT:
        return isinstance(value, str) and wanted.lower() in value.lower()
    return bool(value == wanted)


def evaluate(query: Query | Expr | None, row: Mapping[str, Any]) -> bool:
    """Whether ``row`` (attribute name -> value; missing or None when unset) matches.

    ``ExecutionStatus`` may be a status or its name, datetimes ``datetime`` or epoch seconds.
    """
    if isinstance(query, Query):
        return evaluate_expr(query.where, row, query.types)
    return evaluate_expr(query, row, {})


def evaluate_expr(
    expr: Expr | None, row: Mapping[str, Any], types: Mapping[str, SearchAttributeType]
) -> bool:
    """``evaluate`` for a bare expression with the attribute types it was parsed with."""
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(evaluate_expr(e, row, types) for e in expr.items)
    if isinstance(expr, Or):
        return any(evaluate_expr(e, row, types) for e in expr.items)
    kind = types.get(expr.attr) or BUILTIN_ATTRIBUTES.get(expr.attr) or T.KEYWORD
    value = _row_value(row, expr.attr, kind)
    if isinstance(expr, IsNull):
        return (value is not None) if expr.negated else (value is None)
    if value is None:
        return False
    if isinstance(expr, Comparison):
        if expr.op in ("=", "!="):
            hit = _matches(kind, value, expr.value)
            return hit if expr.op == "=" else not hit
        return _compare(expr.op, value, expr.value)
    if isinstance(expr, InList):
        hit = any(_matches(kind, value, v) for v in expr.values)
        return hit != expr.negated
    if isinstance(expr, Between):
        hit = _compare(">=", value, expr.low) and _compare("<=", value, expr.high)
        return hit != expr.negated
    hit = isinstance(value, str) and value.startswith(expr.prefix)
    return hit != expr.negated


# ---------------------------------------------------------------------------- SQL


def _sql_param(attr: str, kind: SearchAttributeType, value: Any) -> Any:
    if attr == _STATUS:
        return int(_STATUS_BY_NAME[str(value).lower()])
    if kind is T.DATETIME:
        return parse_datetime(value).timestamp()
    if kind is T.BOOL:
        return 1 if value else 0
    return value


def _prefix_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None: no such
    string is easy to write, or the prefix is empty)."""
    if not prefix:
        return None
    nxt = ord(prefix[-1]) + 1
    if nxt > 0x10FFFF or 0xD800 <= nxt <= 0xDFFF:
        return None
    return prefix[:-1] + chr(nxt)


def to_sql(
    query: Query,
    column: Callable[[str], str],
    *,
    param: Callable[[str, Any], Any] | None = None,
    attribute_table: str | None = None,
    run_column: str = "id",
) -> tuple[str, list[Any]]:
    """Compile the filter to a parameterised SQLite ``WHERE`` fragment (``?`` placeholders).

    Args:
        query: A parsed query.
        column: The SQL expression holding an attribute (e.g. ``"workflow_id"`` or
            ``"json_extract(search_attributes, '$.Tier')"``). Datetimes are expected as
            epoch seconds, ``ExecutionStatus`` as its integer value, Bools as 0/1 and
            KeywordLists as JSON arrays.
        param: Converts a query value to its parameter; the default follows the storage
            described above.
        attribute_table: A table of custom attribute values, one row per value (``run``,
            ``name``, ``value``; a KeywordList has a row per item), indexed on ``(name,
            value)``. With it, a predicate on a custom attribute becomes ``run_column IN
            (SELECT run FROM attribute_table WHERE name = ? AND ...)``, answered from that
            index; ``column`` is then only asked for built-in attributes.
        run_column: The column ``attribute_table.run`` refers to.

    Returns:
        The fragment (``"1"`` for no filter) and its parameters, in order.
    """
    params: list[Any] = []
    convert = param or (lambda attr, value: _sql_param(attr, query.types[attr], value))

    def p(attr: str, value: Any) -> str:
        params.append(convert(attr, value))
        return "?"

    def eq(attr: str, col: str, value: Any) -> str:
        kind = query.types[attr]
        if kind is T.KEYWORD_LIST:
            return (
                f"EXISTS (SELECT 1 FROM json_each({col}) WHERE json_each.value = {p(attr, value)})"
            )
        if kind is T.TEXT:
            params.append(str(value).lower())
            return f"instr(lower({col}), ?) > 0"
        return f"{col} = {p(attr, value)}"

    def starts_with(col: str, prefix: str) -> str:
        bound = _prefix_bound(prefix)
        if not prefix:
            return f"{col} IS NOT NULL"
        if bound is None:
            params.extend((len(prefix), prefix))
            return f"substr({col}, 1, ?) = ?"
        params.extend((prefix, bound))
        return f"({col} >= ? AND {col} < ?)"  # a range an index on the column answers

    def walk(expr: Expr) -> str:
        if isinstance(expr, And | Or):
            glue = " AND " if isinstance(expr, And) else " OR "
            return "(" + glue.join(walk(e) for e in expr.items) + ")"
        if attribute_table is not None and expr.attr not in BUILTIN_ATTRIBUTES:
            return walk_table(expr)
        col = column(expr.attr)
        if isinstance(expr, IsNull):
            return f"{col} IS {'NOT ' if expr.negated else ''}NULL"
        if isinstance(expr, Comparison):
            if expr.op == "=":
                return eq(expr.attr, col, expr.value)
            if expr.op == "!=":
                return f"({col} IS NOT NULL AND NOT ({eq(expr.attr, col, expr.value)}))"
            return f"{col} {expr.op} {p(expr.attr, expr.value)}"
        if isinstance(expr, InList):
            any_of = " OR ".join(eq(expr.attr, col, v) for v in expr.values)
            if expr.negated:
                return f"({col} IS NOT NULL AND NOT ({any_of}))"
            return f"({any_of})"
        if isinstance(expr, Between):
            inner = f"{col} BETWEEN {p(expr.attr, expr.low)} AND {p(expr.attr, expr.high)}"
            return f"({col} IS NOT NULL AND NOT ({inner}))" if expr.negated else inner
        inner = starts_with(col, expr.prefix)
        return f"({col} IS NOT NULL AND NOT ({inner}))" if expr.negated else inner

    def cond(build: Callable[[], str]) -> tuple[str, list[Any]]:
        """A condition on ``value`` and its parameters, kept apart from the others."""
        nonlocal params
        outer, params = params, []
        try:
            return build(), params
        finally:
            params = outer

    def runs_where(attr: str, condition: tuple[str, list[Any]] | None = None) -> str:
        params.append(attr)
        where = "name = ?"
        if condition is not None:
            where += f" AND {condition[0]}"
            params.extend(condition[1])
        return f"{run_column} IN (SELECT run FROM {attribute_table} WHERE {where})"

    def value_eq(attr: str, value: Any) -> str:
        if query.types[attr] is T.TEXT:
            params.append(str(value).lower())
            return "instr(lower(value), ?) > 0"
        return f"value = {p(attr, value)}"

    def matching(attr: str, condition: tuple[str, list[Any]], negated: bool) -> str:
        if not negated:
            return runs_where(attr, condition)
        # Temporal: a comparison with a missing value is false, negated ones included
        return f"({runs_where(attr)} AND NOT ({runs_where(attr, condition)}))"

    def walk_table(expr: Expr) -> str:
        assert not isinstance(expr, And | Or)
        attr = expr.attr
        if isinstance(expr, IsNull):
            has = runs_where(attr)
            return has if expr.negated else f"NOT ({has})"
        if isinstance(expr, Comparison):
            value = expr.value
            if expr.op in ("=", "!="):
                return matching(attr, cond(lambda: value_eq(attr, value)), expr.op == "!=")
            op = expr.op
            return runs_where(attr, cond(lambda: f"value {op} {p(attr, value)}"))
        if isinstance(expr, InList):
            values = expr.values
            if query.types[attr] is T.TEXT:
                c = cond(lambda: "(" + " OR ".join(value_eq(attr, v) for v in values) + ")")
            else:
                c = cond(lambda: "value IN (" + ", ".join(p(attr, v) for v in values) + ")")
            return matching(attr, c, expr.negated)
        if isinstance(expr, Between):
            low, high = expr.low, expr.high
            c = cond(lambda: f"value BETWEEN {p(attr, low)} AND {p(attr, high)}")
            return matching(attr, c, expr.negated)
        prefix = expr.prefix
        return matching(attr, cond(lambda: starts_with("value", prefix)), expr.negated)

    if query.where is None:
        return "1", params
    return walk(query.where), params


def attribute_names(query: Query) -> Sequence[str]:
    """The attributes a query names, in first-use order."""
    return list(query.types)
