"""Shared option types, named and valued as in ``temporalio.common``/``temporalio.workflow``.

Search attributes are typed as temporalio types them: a ``SearchAttributeKey`` made with
``SearchAttributeKey.for_keyword/for_int/for_float/for_bool/for_datetime/for_text/
for_keyword_list(name)`` names an attribute and its type, ``TypedSearchAttributes`` holds
``SearchAttributePair``s (set at a start with ``search_attributes=``), and
``key.value_set(v)``/``key.value_unset()`` make the ``SearchAttributeUpdate``s
``workflow.upsert_search_attributes`` takes.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, ClassVar, Generic, NamedTuple, TypeAlias, TypeVar, get_origin, overload

from ._metric_meter import (
    MetricAttributes,
    MetricCommon,
    MetricCounter,
    MetricGauge,
    MetricGaugeFloat,
    MetricHistogram,
    MetricHistogramFloat,
    MetricHistogramTimedelta,
    MetricMeter,
)
from ._payload import RawValue
from ._priority import Priority

__all__ = [
    "ActivityCancellationType",
    "ChildWorkflowCancellationType",
    "MetricAttributes",
    "MetricCommon",
    "MetricCounter",
    "MetricGauge",
    "MetricGaugeFloat",
    "MetricHistogram",
    "MetricHistogramFloat",
    "MetricHistogramTimedelta",
    "MetricMeter",
    "ParentClosePolicy",
    "Priority",
    "QueryRejectCondition",
    "RawValue",
    "RetryPolicy",
    "SearchAttributeIndexedValueType",
    "SearchAttributeKey",
    "SearchAttributePair",
    "SearchAttributeUpdate",
    "SearchAttributeValue",
    "SearchAttributeValueType",
    "SearchAttributeValues",
    "SearchAttributes",
    "TypedSearchAttributes",
    "WorkflowExecutionStatus",
    "WorkflowIDConflictPolicy",
    "WorkflowIDReusePolicy",
]


@dataclass
class RetryPolicy:
    """How an activity (or workflow) is retried; Temporal's semantics.

    ``maximum_attempts=0`` means unlimited. ``maximum_interval`` defaults to 100x the
    initial interval. A failure whose ``ApplicationError.type`` or exception class name is in
    ``non_retryable_error_types`` is not retried.
    """

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta | None = None
    maximum_attempts: int = 0
    non_retryable_error_types: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.initial_interval < timedelta(0):
            raise ValueError("RetryPolicy.initial_interval must not be negative")
        if not self.backoff_coefficient >= 1:  # also refuses NaN, which would poison timers
            raise ValueError("RetryPolicy.backoff_coefficient must be at least 1")
        if self.maximum_attempts < 0:
            raise ValueError("RetryPolicy.maximum_attempts must not be negative")
        if self.maximum_interval is not None and self.maximum_interval < self.initial_interval:
            raise ValueError("RetryPolicy.maximum_interval must be >= initial_interval")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), for any attempt.

        ``initial_interval * backoff_coefficient ** (attempt - 1)``, capped at
        ``maximum_interval`` as Temporal caps it: the power is compared in log space first, so
        an attempt in the thousands (a retry loop without ``maximum_attempts``) gets the
        maximum instead of an ``OverflowError``.
        """
        initial = self.initial_interval.total_seconds()
        maximum = (
            self.maximum_interval.total_seconds()
            if self.maximum_interval is not None
            else initial * 100
        )
        coefficient = float(self.backoff_coefficient)
        exponent = max(attempt - 1, 0)
        if initial <= 0.0 or exponent == 0 or coefficient == 1.0:
            return min(initial, maximum)
        if exponent * math.log(coefficient) >= math.log(maximum / initial):
            return maximum
        return min(initial * coefficient**exponent, maximum)

    def to_dict(self) -> dict[str, Any]:
        """The form recorded in history events."""
        return {
            "initial_interval": self.initial_interval.total_seconds(),
            "backoff_coefficient": self.backoff_coefficient,
            "maximum_interval": (
                self.maximum_interval.total_seconds() if self.maximum_interval else None
            ),
            "maximum_attempts": self.maximum_attempts,
            "non_retryable_error_types": list(self.non_retryable_error_types or ()),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RetryPolicy:
        """Read the recorded form back."""
        mi = d.get("maximum_interval")
        return cls(
            initial_interval=timedelta(seconds=d.get("initial_interval", 1.0)),
            backoff_coefficient=d.get("backoff_coefficient", 2.0),
            maximum_interval=timedelta(seconds=mi) if mi is not None else None,
            maximum_attempts=d.get("maximum_attempts", 0),
            non_retryable_error_types=d.get("non_retryable_error_types") or None,
        )


class WorkflowExecutionStatus(IntEnum):
    """Status of a workflow run; Temporal's values."""

    RUNNING = 1
    COMPLETED = 2
    FAILED = 3
    CANCELED = 4
    TERMINATED = 5
    CONTINUED_AS_NEW = 6
    TIMED_OUT = 7


class WorkflowIDReusePolicy(IntEnum):
    """Whether a closed workflow's id may start a new run."""

    ALLOW_DUPLICATE = 1
    ALLOW_DUPLICATE_FAILED_ONLY = 2
    REJECT_DUPLICATE = 3
    TERMINATE_IF_RUNNING = 4


class WorkflowIDConflictPolicy(IntEnum):
    """What a start does when a workflow with the id is running."""

    UNSPECIFIED = 0
    FAIL = 1
    USE_EXISTING = 2
    TERMINATE_EXISTING = 3


class ParentClosePolicy(IntEnum):
    """What happens to a child when its parent closes."""

    UNSPECIFIED = 0
    TERMINATE = 1
    ABANDON = 2
    REQUEST_CANCEL = 3


class ActivityCancellationType(IntEnum):
    """How an activity cancellation is waited on."""

    TRY_CANCEL = 0
    WAIT_CANCELLATION_COMPLETED = 1
    ABANDON = 2


class ChildWorkflowCancellationType(IntEnum):
    """How a child workflow cancellation is waited on."""

    ABANDON = 0
    TRY_CANCEL = 1
    WAIT_CANCELLATION_COMPLETED = 2
    WAIT_CANCELLATION_REQUESTED = 3


class QueryRejectCondition(IntEnum):
    """Whether a query is refused for a closed workflow (``handle.query(reject_condition=)``)."""

    NONE = 1
    NOT_OPEN = 2
    NOT_COMPLETED_CLEANLY = 3


# ---------------------------------------------------------------------- search attributes

SearchAttributeValues: TypeAlias = list[str] | list[int] | list[float] | list[bool] | list[datetime]
"""A value of the deprecated untyped form: always a list (temporalio's alias)."""

SearchAttributes: TypeAlias = Mapping[str, SearchAttributeValues]
"""The deprecated untyped form: name -> list of values (temporalio's alias)."""

SearchAttributeValue: TypeAlias = str | int | float | bool | datetime | Sequence[str]
"""Any typed search attribute value."""

SearchAttributeValueType = TypeVar(
    "SearchAttributeValueType", str, int, float, bool, datetime, Sequence[str]
)

_T = TypeVar("_T")


class SearchAttributeIndexedValueType(IntEnum):
    """How a search attribute is indexed; Temporal's ``IndexedValueType`` values."""

    TEXT = 1
    KEYWORD = 2
    INT = 3
    DOUBLE = 4
    BOOL = 5
    DATETIME = 6
    KEYWORD_LIST = 7


_METADATA_TYPES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


class SearchAttributeKey(ABC, Generic[SearchAttributeValueType]):
    """A search attribute's name and type; make one with a ``for_*`` static method."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The attribute's name."""

    @property
    @abstractmethod
    def indexed_value_type(self) -> SearchAttributeIndexedValueType:
        """How the attribute is indexed."""

    @property
    @abstractmethod
    def value_type(self) -> type[SearchAttributeValueType]:
        """The Python type of its values (may be generic: see ``origin_value_type``)."""

    @property
    def origin_value_type(self) -> type:
        """The Python type of its values, without generics (usable with ``isinstance``)."""
        return get_origin(self.value_type) or self.value_type

    @property
    def _metadata_type(self) -> str:
        """The type name Temporal writes in a payload's ``type`` metadata."""
        return _METADATA_TYPES[self.indexed_value_type]

    def value_set(
        self, value: SearchAttributeValueType
    ) -> SearchAttributeUpdate[SearchAttributeValueType]:
        """An update that sets this attribute to ``value``."""
        return _SearchAttributeUpdate[SearchAttributeValueType](self, value)

    def value_unset(self) -> SearchAttributeUpdate[SearchAttributeValueType]:
        """An update that removes this attribute."""
        return _SearchAttributeUpdate[SearchAttributeValueType](self, None)

    @staticmethod
    def for_text(name: str) -> SearchAttributeKey[str]:
        """A ``Text`` attribute (full-text matched by ``=``)."""
        return _SearchAttributeKey[str](name, SearchAttributeIndexedValueType.TEXT, str)

    @staticmethod
    def for_keyword(name: str) -> SearchAttributeKey[str]:
        """A ``Keyword`` attribute (matched exactly)."""
        return _SearchAttributeKey[str](name, SearchAttributeIndexedValueType.KEYWORD, str)

    @staticmethod
    def for_int(name: str) -> SearchAttributeKey[int]:
        """An ``Int`` attribute."""
        return _SearchAttributeKey[int](name, SearchAttributeIndexedValueType.INT, int)

    @staticmethod
    def for_float(name: str) -> SearchAttributeKey[float]:
        """A ``Double`` attribute."""
        return _SearchAttributeKey[float](name, SearchAttributeIndexedValueType.DOUBLE, float)

    @staticmethod
    def for_bool(name: str) -> SearchAttributeKey[bool]:
        """A ``Bool`` attribute."""
        return _SearchAttributeKey[bool](name, SearchAttributeIndexedValueType.BOOL, bool)

    @staticmethod
    def for_datetime(name: str) -> SearchAttributeKey[datetime]:
        """A ``Datetime`` attribute (values must carry a time zone)."""
        return _SearchAttributeKey[datetime](
            name, SearchAttributeIndexedValueType.DATETIME, datetime
        )

    @staticmethod
    def for_keyword_list(name: str) -> SearchAttributeKey[Sequence[str]]:
        """A ``KeywordList`` attribute (``=`` matches a list that contains the value)."""
        return _SearchAttributeKey[Sequence[str]](
            name,
            SearchAttributeIndexedValueType.KEYWORD_LIST,
            Sequence[str],  # type: ignore[type-abstract]  # a generic alias, as temporalio
        )

    @staticmethod
    def _from_metadata_type(name: str, metadata_type: str) -> SearchAttributeKey[Any] | None:
        """The key a payload's ``type`` metadata names (PascalCase or Temporal's enum name)."""
        for index_type, pascal in _METADATA_TYPES.items():
            if metadata_type in (pascal, f"INDEXED_VALUE_TYPE_{index_type.name}"):
                return _SearchAttributeKey[Any](name, index_type, _VALUE_TYPES[index_type])
        return None


@dataclass(frozen=True)
class _SearchAttributeKey(SearchAttributeKey[SearchAttributeValueType]):
    _name: str
    _indexed_value_type: SearchAttributeIndexedValueType
    _value_type: type[SearchAttributeValueType]

    @property
    def name(self) -> str:
        return self._name

    @property
    def indexed_value_type(self) -> SearchAttributeIndexedValueType:
        return self._indexed_value_type

    @property
    def value_type(self) -> type[SearchAttributeValueType]:
        return self._value_type


_VALUE_TYPES: dict[SearchAttributeIndexedValueType, Any] = {
    SearchAttributeIndexedValueType.TEXT: str,
    SearchAttributeIndexedValueType.KEYWORD: str,
    SearchAttributeIndexedValueType.INT: int,
    SearchAttributeIndexedValueType.DOUBLE: float,
    SearchAttributeIndexedValueType.BOOL: bool,
    SearchAttributeIndexedValueType.DATETIME: datetime,
    SearchAttributeIndexedValueType.KEYWORD_LIST: Sequence[str],
}


class SearchAttributePair(NamedTuple, Generic[SearchAttributeValueType]):
    """A key and its value."""

    key: SearchAttributeKey[SearchAttributeValueType]
    value: SearchAttributeValueType


class SearchAttributeUpdate(ABC, Generic[SearchAttributeValueType]):
    """A change to one search attribute: a new value, or None to remove it."""

    @property
    @abstractmethod
    def key(self) -> SearchAttributeKey[SearchAttributeValueType]:
        """The attribute being changed."""

    @property
    @abstractmethod
    def value(self) -> SearchAttributeValueType | None:
        """Its new value, or None when it is removed."""


@dataclass(frozen=True)
class _SearchAttributeUpdate(SearchAttributeUpdate[SearchAttributeValueType]):
    _key: SearchAttributeKey[SearchAttributeValueType]
    _value: SearchAttributeValueType | None

    @property
    def key(self) -> SearchAttributeKey[SearchAttributeValueType]:
        return self._key

    @property
    def value(self) -> SearchAttributeValueType | None:
        return self._value


@dataclass(frozen=True)
class TypedSearchAttributes(Collection[SearchAttributePair[Any]]):
    """An immutable collection of ``SearchAttributePair``s, sorted by name, no duplicates."""

    search_attributes: Sequence[SearchAttributePair[Any]]
    """The pairs, sorted by key name. Make a new collection instead of changing this."""

    empty: ClassVar[TypedSearchAttributes]
    """No search attributes."""

    def __post_init__(self) -> None:
        pairs = sorted(self.search_attributes, key=lambda pair: pair.key.name)
        object.__setattr__(self, "search_attributes", pairs)
        for i, pair in enumerate(pairs):
            if i > 0 and pairs[i - 1].key.name == pair.key.name:
                raise ValueError(
                    f"Duplicate search attribute entries found for key {pair.key.name}"
                )

    def __len__(self) -> int:
        return len(self.search_attributes)

    def __getitem__(
        self, key: SearchAttributeKey[SearchAttributeValueType]
    ) -> SearchAttributeValueType:
        """The value of ``key`` (same name and type); ``KeyError`` when absent."""
        for k, v in self:
            if k == key:
                return v  # type: ignore[no-any-return]
        raise KeyError(key.name)

    def __iter__(self) -> Iterator[SearchAttributePair[Any]]:
        return iter(self.search_attributes)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` (same name and type) has a value here."""
        return any(k == key for k, _v in self)

    @overload
    def get(
        self, key: SearchAttributeKey[SearchAttributeValueType]
    ) -> SearchAttributeValueType | None: ...

    @overload
    def get(
        self, key: SearchAttributeKey[SearchAttributeValueType], default: _T
    ) -> SearchAttributeValueType | _T: ...

    def get(self, key: SearchAttributeKey[Any], default: Any = None) -> Any:
        """The value of ``key``, or ``default`` (as ``dict.get``)."""
        try:
            return self[key]
        except KeyError:
            return default

    def updated(self, *search_attributes: SearchAttributePair[Any]) -> TypedSearchAttributes:
        """A copy with these pairs replacing those of the same name, or added."""
        attrs = list(self.search_attributes)
        for attr in search_attributes:
            index = next((i for i, a in enumerate(attrs) if a.key.name == attr.key.name), None)
            if index is None:
                attrs.append(attr)
            else:
                attrs[index] = attr
        return TypedSearchAttributes(attrs)


TypedSearchAttributes.empty = TypedSearchAttributes(search_attributes=[])
