"""The engine's metrics: instruments of one meter, shared by every engine that uses it.

Counters are observable instruments over in-process tallies (counting costs a dict update;
the reader collects the totals); the histograms are recorded as things happen. The names and
attributes are listed in ``fastcore._telemetry``'s docstring. Imported only when a meter
provider is configured (it imports ``opentelemetry.metrics``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["Metrics", "Tally", "metrics_for"]

_SECONDS_BUCKETS = (
    0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip


class Tally:
    """Cumulative values per attribute set, handed to the reader when it collects.

    Counting in a dict costs nanoseconds where a synchronous instrument's ``add`` costs
    microseconds; the observable instrument reports the totals.
    """

    __slots__ = ("before", "keys", "observation", "values")

    def __init__(
        self, keys: tuple[str, ...], observation: Any, before: Callable[[], None] | None = None
    ) -> None:
        self.keys = keys
        self.observation = observation
        self.values: dict[tuple[str, ...], int] = {}
        self.before = before  # run first when the reader collects

    def add(self, amount: int, *key: str) -> None:
        values = self.values
        values[key] = values.get(key, 0) + amount

    def observe(self, options: Any = None) -> list[Any]:
        if self.before is not None:
            self.before()
        keys, make = self.keys, self.observation
        return [make(v, dict(zip(keys, k, strict=True))) for k, v in tuple(self.values.items())]


class Metrics:
    """The instruments of one meter, shared by every engine that uses it."""

    def __init__(self, meter: Any) -> None:
        from opentelemetry.metrics import Observation

        #: activity durations not yet recorded in the histogram (the hook only appends:
        #: a histogram record costs microseconds); recorded soon after, and always before
        #: the reader collects (the first tally's callback records them)
        self.durations: list[tuple[float, str, str]] = []
        self.scheduled = False

        def tally(
            name: str, unit: str, description: str, *keys: str, up_down: bool = False
        ) -> Tally:
            first = not hasattr(self, "started")
            t = Tally(keys, Observation, self.record_durations if first else None)
            create = (
                meter.create_observable_up_down_counter
                if up_down
                else meter.create_observable_counter
            )
            create(name, callbacks=[t.observe], unit=unit, description=description)
            return t

        wt = "workflow_type"
        self.started = tally("fastcore.workflow.started", "{workflow}", "Workflow runs started", wt)
        self.completed = tally(
            "fastcore.workflow.completed", "{workflow}", "Workflow runs completed", wt
        )
        self.failed = tally("fastcore.workflow.failed", "{workflow}", "Workflow runs failed", wt)
        self.closed = tally(
            "fastcore.workflow.closed",
            "{workflow}",
            "Workflow runs closed, by status",
            wt,
            "status",
        )
        self.task_failed = tally(
            "fastcore.workflow.task_failed", "{task}", "Workflow task executions that failed", wt
        )
        self.open = tally(
            "fastcore.workflow.open", "{workflow}", "Workflow runs open", wt, up_down=True
        )
        self.attempts = tally(
            "fastcore.activity.attempts",
            "{attempt}",
            "Activity attempts, by outcome",
            "activity_type",
            "outcome",
        )
        self.duration = meter.create_histogram(
            "fastcore.activity.duration",
            "s",
            "Activity attempt duration",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.signals = tally(
            "fastcore.signal.received", "{signal}", "Signals delivered", wt, "signal_name"
        )
        self.commit = meter.create_histogram(
            "fastcore.journal.commit.duration",
            "s",
            "Time from appending events to the store until they are committed",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )

    def record_durations(self) -> None:
        """Record the activity durations noted so far in their histogram."""
        pending, self.durations = self.durations, []
        self.scheduled = False
        record = self.duration.record
        for elapsed, atype, outcome in pending:
            record(elapsed, {"activity_type": atype, "outcome": outcome})


_METRICS: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()


def metrics_for(meter: Any) -> Metrics:
    """The instruments of ``meter``, made on first use (a meter can create each only once)."""
    try:
        m = _METRICS.get(meter)
    except TypeError:  # a meter that cannot be weakly referenced: instruments of its own
        return Metrics(meter)
    if m is None:
        m = _METRICS[meter] = Metrics(meter)
    return m
