"""What a workflow run needs from whoever hosts it: time and the registered definitions.

The engine hands all its runs one ``WorkflowEnvironment`` built from its clock and registry
(the engine's ``strict_registry`` and ``failure_exception_types`` are this object's); the
``Replayer`` builds one of its own. Its callables are bound once, so a run's code reaches the
clock or the registry in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._definitions import ActivityDefinition, WorkflowDefinition
from ._search_attributes import SearchAttributeRegistry

__all__ = ["WorkflowEnvironment"]


@dataclass(slots=True)
class WorkflowEnvironment:
    """The host of workflow runs, as the runs see it."""

    #: The host's time, epoch seconds (stamps the events a run's code issues).
    clock_now: Callable[[], float]
    #: The activity registered under a name (or the dynamic one); None when unknown.
    activity_definition: Callable[[str], ActivityDefinition | None]
    #: The workflow for a class, a run method or a type name; None when unknown.
    workflow_definition: Callable[[Any], WorkflowDefinition | None]
    #: Exception types that fail any workflow instead of its workflow task.
    failure_exception_types: tuple[type[BaseException], ...] = ()
    #: Whether an unregistered activity is refused when the code schedules it.
    strict_registry: bool = True
    #: The types of custom search attributes (an upsert of another type is refused).
    search_attributes: SearchAttributeRegistry | None = None
    #: ``workflow.info().is_continue_as_new_suggested()`` from this many events on
    #: (Temporal's default, ``limit.historyCount.suggestContinueAsNew``).
    continue_as_new_suggested_events: int = 4096
    #: ... or from this many bytes of history (``limit.historySize.suggestContinueAsNew``).
    continue_as_new_suggested_bytes: int = 4 * 1024 * 1024
    #: registered activities by the reference the code calls them with (a function or a
    #: name): found once, then one dict lookup per call
    activity_cache: dict[Any, tuple[str, ActivityDefinition]] = field(default_factory=dict)
    #: The OpenTelemetry meter ``workflow.metric_meter()`` records through (None: none).
    meter: Callable[[], Any] = lambda: None
