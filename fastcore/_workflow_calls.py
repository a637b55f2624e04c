"""temporalio's smaller workflow calls: the run's seed, time in nanoseconds, UUIDv7, failure
classification, the cancellation's reason, current details, the payload converter.

Each asks the runtime of the running workflow (fastcore's ``Commands``, or bridge's adapter
when the same class runs on Temporal), so it works on both and only inside workflow code.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable
from random import Random
from typing import Any

from . import _runtime
from ._metric_meter import MetricMeter

__all__ = [
    "cancellation_reason",
    "get_current_details",
    "is_failure_exception",
    "metric_meter",
    "new_random",
    "payload_converter",
    "random_seed",
    "register_random_seed_callback",
    "set_current_details",
    "time_ns",
    "uuid7",
]


def random_seed() -> int:
    """The seed of this run's deterministic ``workflow.random()``."""
    return int(_runtime.current().random_seed())


def register_random_seed_callback(callback: Callable[[int], None]) -> None:
    """Call ``callback`` with the new seed whenever the run's seed changes, as temporalio's.

    On fastcore a run's seed is recorded when it starts and never changes (a continue-as-new
    is a new run with its own seed and its own callbacks), so the callback is kept and never
    called; on Temporal it is temporalio's registration.
    """
    if not callable(callback):
        raise TypeError(f"register_random_seed_callback needs a callable, got {callback!r}")
    _runtime.current().register_random_seed_callback(callback)


def new_random(name: str | None = None) -> Random:
    """A new deterministic generator: seeded as ``workflow.random()`` (``name`` mixed into the
    seed when given, so differently named generators draw different numbers)."""
    seed = random_seed()

    def seed_for(workflow_seed: int) -> int | str:
        return workflow_seed if name is None else f"{workflow_seed}:{name}"

    rng = Random(seed_for(seed))
    register_random_seed_callback(lambda new_seed: rng.seed(seed_for(new_seed)))
    return rng


def time_ns() -> int:
    """The workflow's current time as nanoseconds since the epoch (``time.time_ns``'s)."""
    return int(_runtime.current().time_ns())


def uuid7() -> _uuid.UUID:
    """A deterministic version 7 UUID: the workflow time's milliseconds, then random bits.

    As temporalio's: UUIDs made in later activations sort after earlier ones; those made in
    one activation share their time part. Not for security.
    """
    unix_ts_ms = (time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    rng = _runtime.current().random()
    rand_a = rng.getrandbits(12)
    rand_b = rng.getrandbits(62)
    return _uuid.UUID(int=(unix_ts_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def is_failure_exception(err: BaseException) -> bool:
    """Whether ``err`` raised from workflow code fails the workflow (rather than its task):
    a ``FailureError``, a timeout, or one of the workflow's ``failure_exception_types``."""
    return bool(_runtime.current().is_failure_exception(err))


def cancellation_reason() -> str | None:
    """Why the workflow was asked to cancel (possibly ""), or None if it was not asked."""
    reason = _runtime.current().cancellation_reason()
    return None if reason is None else str(reason)


def get_current_details() -> str:
    """The run's current details (set by ``set_current_details``; "" until then)."""
    return str(_runtime.current().get_current_details())


def set_current_details(description: str) -> None:
    """Set the run's current details: free text about what it is doing now.

    Kept in the workflow's state (rebuilt on replay as the code sets it again), as
    temporalio's, and answered by the built-in ``__temporal_workflow_metadata`` query.
    """
    if not isinstance(description, str):
        raise TypeError(f"set_current_details needs a str, got {type(description).__name__}")
    _runtime.current().set_current_details(description)


def metric_meter() -> MetricMeter:
    """A metric meter for workflow code: its values are tagged with the run's namespace,
    task queue and workflow type, and not recorded while the code replays (see
    ``fastcore.common.MetricMeter``)."""
    meter: MetricMeter = _runtime.current().metric_meter()
    return meter


def payload_converter() -> Any:
    """The payload converter of the engine running this workflow (for dynamic handlers that
    convert ``RawValue`` arguments themselves)."""
    return _runtime.current().payload_converter()
