"""temporalio's option bundles and typing helpers for workflow code: ``ActivityConfig``,
``LocalActivityConfig``, ``ChildWorkflowConfig`` (``**config`` into the matching call),
``DynamicWorkflowConfig`` with ``@workflow.dynamic_config``, and ``UpdateMethodMultiParam``.

The config dicts hold the options fastcore's calls take (the keys of temporalio's that an
embedded engine cannot mean, such as ``versioning_intent``, are left out: docs/DEVIATIONS.md
lists them).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ParamSpec, Protocol, TypedDict, TypeVar, runtime_checkable

from .common import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    Priority,
    RetryPolicy,
    WorkflowIDReusePolicy,
)

__all__ = [
    "DYNAMIC_CONFIG_ATTR",
    "ActivityConfig",
    "ChildWorkflowConfig",
    "DynamicWorkflowConfig",
    "LocalActivityConfig",
    "UpdateMethodMultiParam",
    "dynamic_config",
]

DYNAMIC_CONFIG_ATTR = "__fastcore_workflow_dynamic_config__"

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
F = TypeVar("F", bound=Callable[..., Any])


class ActivityConfig(TypedDict, total=False):
    """Options of ``start_activity`` / ``execute_activity``, as a dict to pass with ``**``."""

    task_queue: str | None
    schedule_to_close_timeout: timedelta | None
    schedule_to_start_timeout: timedelta | None
    start_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    retry_policy: RetryPolicy | None
    cancellation_type: ActivityCancellationType
    activity_id: str | None
    summary: str | None
    priority: Priority


class LocalActivityConfig(TypedDict, total=False):
    """Options of ``start_local_activity`` / ``execute_local_activity``."""

    schedule_to_close_timeout: timedelta | None
    schedule_to_start_timeout: timedelta | None
    start_to_close_timeout: timedelta | None
    retry_policy: RetryPolicy | None
    local_retry_threshold: timedelta | None
    cancellation_type: ActivityCancellationType
    activity_id: str | None
    summary: str | None


class ChildWorkflowConfig(TypedDict, total=False):
    """Options of ``start_child_workflow`` / ``execute_child_workflow``."""

    id: str | None
    task_queue: str | None
    cancellation_type: ChildWorkflowCancellationType
    parent_close_policy: ParentClosePolicy
    execution_timeout: timedelta | None
    run_timeout: timedelta | None
    task_timeout: timedelta | None
    id_reuse_policy: WorkflowIDReusePolicy
    retry_policy: RetryPolicy | None
    memo: Mapping[str, Any] | None
    cron_schedule: str
    search_attributes: Any
    static_summary: str | None
    static_details: str | None
    priority: Priority


@dataclass
class DynamicWorkflowConfig:
    """What a dynamic workflow's ``@workflow.dynamic_config`` method returns.

    ``failure_exception_types`` (when not None) replaces the ones given to
    ``@workflow.defn`` for this run; the engine's own still apply.
    """

    failure_exception_types: Sequence[type[BaseException]] | None = None


def dynamic_config(fn: F) -> F:
    """Mark the method a dynamic workflow calls (after ``__init__``, before its run method)
    to configure one run: it takes only ``self`` and returns a ``DynamicWorkflowConfig``."""
    if inspect.iscoroutinefunction(fn):
        raise ValueError("Workflow dynamic_config method must be synchronous")
    if len(inspect.signature(fn).parameters) != 1:
        raise ValueError("Workflow dynamic_config method must only take self parameter")
    setattr(fn, DYNAMIC_CONFIG_ATTR, True)
    return fn


@runtime_checkable
class UpdateMethodMultiParam(Protocol[P, R_co]):
    """What ``@workflow.update`` makes of a method: the method, with a ``validator``
    decorator for the function that may reject the update's arguments."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co | Awaitable[R_co]:
        """Call the update handler."""
        ...

    def validator(self, vfunc: Callable[P, None]) -> Callable[P, None]:
        """Decorate the update's validator (a plain ``def`` taking the update's arguments)."""
        ...
