"""``MetricMeter`` and its instruments, as ``temporalio.common``'s, over OpenTelemetry.

``workflow.metric_meter()`` and ``activity.metric_meter()`` give user code a meter whose
instruments record through the engine's OpenTelemetry meter (``Engine(meter_provider=...)``,
or the global provider), each value tagged with the run's (or the activity's) details as
temporalio tags them. A workflow's meter records nothing while its code replays. With no meter
provider anywhere, every instrument is a no-op (``MetricMeter.noop``).

A ``MetricHistogramTimedelta`` records milliseconds, temporalio's default.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, ClassVar, Self, TypeAlias, TypeVar

__all__ = [
    "MetricAttributes",
    "MetricCommon",
    "MetricCounter",
    "MetricGauge",
    "MetricGaugeFloat",
    "MetricHistogram",
    "MetricHistogramFloat",
    "MetricHistogramTimedelta",
    "MetricMeter",
    "otel_meter",
]

MetricAttributes: TypeAlias = Mapping[str, str | int | float | bool]
"""Attributes (tags) of a metric value."""


class MetricCommon(ABC):
    """What every instrument has: a name, a description, a unit, base attributes."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The instrument's name."""

    @property
    @abstractmethod
    def description(self) -> str | None:
        """The instrument's description."""

    @property
    @abstractmethod
    def unit(self) -> str | None:
        """The instrument's unit."""

    @abstractmethod
    def with_additional_attributes(self, additional_attributes: MetricAttributes) -> Self:
        """The same instrument, recording these attributes too on every value."""


class MetricCounter(MetricCommon):
    """A counter: values only add up."""

    @abstractmethod
    def add(self, value: int, additional_attributes: MetricAttributes | None = None) -> None:
        """Add ``value`` (not negative)."""


class MetricHistogram(MetricCommon):
    """A histogram of integers."""

    @abstractmethod
    def record(self, value: int, additional_attributes: MetricAttributes | None = None) -> None:
        """Record ``value`` (not negative)."""


class MetricHistogramFloat(MetricCommon):
    """A histogram of floats."""

    @abstractmethod
    def record(self, value: float, additional_attributes: MetricAttributes | None = None) -> None:
        """Record ``value`` (not negative)."""


class MetricHistogramTimedelta(MetricCommon):
    """A histogram of durations (recorded in milliseconds)."""

    @abstractmethod
    def record(
        self, value: timedelta, additional_attributes: MetricAttributes | None = None
    ) -> None:
        """Record ``value`` (not negative)."""


class MetricGauge(MetricCommon):
    """A gauge of integers: the latest value counts."""

    @abstractmethod
    def set(self, value: int, additional_attributes: MetricAttributes | None = None) -> None:
        """Set the gauge to ``value``."""


class MetricGaugeFloat(MetricCommon):
    """A gauge of floats."""

    @abstractmethod
    def set(self, value: float, additional_attributes: MetricAttributes | None = None) -> None:
        """Set the gauge to ``value``."""


class MetricMeter(ABC):
    """Makes instruments; ``MetricMeter.noop`` records nothing."""

    noop: ClassVar[MetricMeter]

    @abstractmethod
    def create_counter(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricCounter:
        """A counter."""

    @abstractmethod
    def create_histogram(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricHistogram:
        """A histogram of integers."""

    @abstractmethod
    def create_histogram_float(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricHistogramFloat:
        """A histogram of floats."""

    @abstractmethod
    def create_histogram_timedelta(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricHistogramTimedelta:
        """A histogram of durations."""

    @abstractmethod
    def create_gauge(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricGauge:
        """A gauge of integers."""

    @abstractmethod
    def create_gauge_float(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricGaugeFloat:
        """A gauge of floats."""

    @abstractmethod
    def with_additional_attributes(self, additional_attributes: MetricAttributes) -> MetricMeter:
        """The same meter, its instruments recording these attributes too."""


# ---------------------------------------------------------------- the OpenTelemetry meter

_Record = Callable[[Any, dict[str, Any]], None]
_I = TypeVar("_I", bound="_Instrument")


class _Instrument(MetricCommon):
    """What every instrument here is: what it records with, its name, base attributes."""

    def __init__(
        self,
        record: _Record | None,
        name: str,
        description: str | None,
        unit: str | None,
        attributes: MetricAttributes,
        active: Callable[[], bool],
        convert: Callable[[Any], Any] = lambda v: v,
    ) -> None:
        self._record = record
        self._name = name
        self._description = description
        self._unit = unit
        self._attributes = dict(attributes)
        self._active = active
        self._convert = convert

    @property
    def name(self) -> str:
        return self._name

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def unit(self) -> str | None:
        return self._unit

    def with_additional_attributes(self, additional_attributes: MetricAttributes) -> Self:
        return type(self)(
            self._record,
            self._name,
            self._description,
            self._unit,
            {**self._attributes, **additional_attributes},
            self._active,
            self._convert,
        )

    def _put(self, value: Any, additional: MetricAttributes | None, negative_ok: bool) -> None:
        if not negative_ok and (
            value < timedelta(0) if isinstance(value, timedelta) else value < 0
        ):
            raise ValueError("Metric value cannot be negative")
        if self._record is None or not self._active():
            return
        attributes = {**self._attributes, **additional} if additional else self._attributes
        self._record(self._convert(value), attributes)


class _Counter(_Instrument, MetricCounter):
    def add(self, value: int, additional_attributes: MetricAttributes | None = None) -> None:
        self._put(value, additional_attributes, False)


class _Histogram(_Instrument, MetricHistogram):
    def record(self, value: int, additional_attributes: MetricAttributes | None = None) -> None:
        self._put(value, additional_attributes, False)


class _HistogramFloat(_Instrument, MetricHistogramFloat):
    def record(self, value: float, additional_attributes: MetricAttributes | None = None) -> None:
        self._put(value, additional_attributes, False)


class _HistogramTimedelta(_Instrument, MetricHistogramTimedelta):
    def record(
        self, value: timedelta, additional_attributes: MetricAttributes | None = None
    ) -> None:
        self._put(value, additional_attributes, False)


class _Gauge(_Instrument, MetricGauge):
    def set(self, value: int, additional_attributes: MetricAttributes | None = None) -> None:
        self._put(value, additional_attributes, True)


class _GaugeFloat(_Instrument, MetricGaugeFloat):
    def set(self, value: float, additional_attributes: MetricAttributes | None = None) -> None:
        self._put(value, additional_attributes, True)


def _millis(value: timedelta) -> int:
    return int(value / timedelta(milliseconds=1))


class _OtelMeter(MetricMeter):
    """A ``MetricMeter`` over an OpenTelemetry meter (None: every instrument is a no-op)."""

    def __init__(
        self,
        meter: Any,
        attributes: MetricAttributes,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        self._meter = meter
        self._attributes = dict(attributes)
        self._active = active

    def _make(
        self,
        cls: type[_I],
        kind: str,
        name: str,
        description: str | None,
        unit: str | None,
        convert: Callable[[Any], Any] = lambda v: v,
    ) -> _I:
        record: _Record | None = None
        if self._meter is not None:
            instrument = getattr(self._meter, kind)(
                name, unit=unit or "", description=description or ""
            )
            method = "add" if kind == "create_counter" else "set" if "gauge" in kind else "record"
            record = getattr(instrument, method)
        return cls(record, name, description, unit, self._attributes, self._active, convert)

    def create_counter(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricCounter:
        return self._make(_Counter, "create_counter", name, description, unit)

    def create_histogram(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricHistogram:
        return self._make(_Histogram, "create_histogram", name, description, unit)

    def create_histogram_float(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricHistogramFloat:
        return self._make(_HistogramFloat, "create_histogram", name, description, unit)

    def create_histogram_timedelta(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricHistogramTimedelta:
        return self._make(
            _HistogramTimedelta, "create_histogram", name, description, unit or "ms", _millis
        )

    def create_gauge(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricGauge:
        return self._make(_Gauge, "create_gauge", name, description, unit)

    def create_gauge_float(
        self, name: str, description: str | None = None, unit: str | None = None
    ) -> MetricGaugeFloat:
        return self._make(_GaugeFloat, "create_gauge", name, description, unit)

    def with_additional_attributes(self, additional_attributes: MetricAttributes) -> MetricMeter:
        return _OtelMeter(self._meter, {**self._attributes, **additional_attributes}, self._active)


MetricMeter.noop = _OtelMeter(None, {})


def otel_meter(
    meter: Any, attributes: MetricAttributes, active: Callable[[], bool] = lambda: True
) -> MetricMeter:
    """A ``MetricMeter`` over OpenTelemetry meter ``meter`` (None: the no-op meter), tagging
    every value with ``attributes``, recording only while ``active()``."""
    return _OtelMeter(meter, attributes, active)
