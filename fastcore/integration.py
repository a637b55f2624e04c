"""The contract fastcore keeps for integrations (bridge): what they may rely on, and nothing else.

Integrations need more than a user does: the metadata the decorators attach, the converter
and payload types (``EncodedValue``: payloads handed to the engine as they arrived, and
asked back as they are recorded, so a bridge never decodes what it carries), fastcore's
failure format, the description type, Temporal's request ids (``request_id``: a start or
signal retried with the same id is applied once, durably), a hook so workflow code can run on
another runtime, the visibility query language (``visibility``: parse, evaluate and compile
Temporal's list filters), search attributes in the JSON form runs record them in
(``search_attributes``: ``encode`` typed ones, ``decode`` back, ``key_of``), a hook so
``workflow.unsafe`` defers to another runtime's sandbox (``register_sandbox``), and an online
backup of a store file (``backup_store_file``, for tools). They import it from here, never
from a private module, so fastcore's internals can move freely; a test pins these names and
fails when bridge imports any other private fastcore module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import _runtime
from . import _search_attributes as search_attributes
from . import _visibility as visibility
from . import activity as _activity
from ._backup import backup_file as backup_store_file
from ._converter import DataConverter, Payload, default_converter
from ._definitions import (
    _ACT_ATTR,
    _HANDLER_ATTR,
    _WF_ATTR,
    ActivityDefinition,
    HandlerDefinition,
    WorkflowDefinition,
    handler_name,
)
from ._description import WorkflowExecutionDescription
from ._failure import from_failure, to_failure
from ._payload import EncodedValue
from ._requests import request_id
from ._runtime import current as current_runtime
from ._runtime import in_workflow, register_resolver
from ._store import DEFAULT_TASK_QUEUE
from ._unsafe import register_sandbox

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "ActivityDefinition",
    "DataConverter",
    "EncodedValue",
    "HandlerDefinition",
    "Payload",
    "WorkflowDefinition",
    "WorkflowExecutionDescription",
    "activity_context",
    "activity_definition_of",
    "backup_store_file",
    "current_runtime",
    "default_converter",
    "from_failure",
    "handler_definition_of",
    "handler_name",
    "in_workflow",
    "register_resolver",
    "register_sandbox",
    "registered_resolvers",
    "request_id",
    "search_attributes",
    "to_failure",
    "update_outcome_known",
    "visibility",
    "workflow_definition_of",
]


def workflow_definition_of(obj: Any) -> WorkflowDefinition | None:
    """The definition ``@workflow.defn`` attached to a class (not inherited), or its run method.

    Reads only attributes, so it is safe inside Temporal's workflow sandbox.
    """
    defn = obj.__dict__.get(_WF_ATTR) if isinstance(obj, type) else getattr(obj, _WF_ATTR, None)
    return defn if isinstance(defn, WorkflowDefinition) else None


def activity_definition_of(fn: Any) -> ActivityDefinition | None:
    """The definition ``@activity.defn`` attached to a function or method, or None."""
    defn = getattr(fn, _ACT_ATTR, None)
    return defn if isinstance(defn, ActivityDefinition) else None


def handler_definition_of(fn: Any) -> HandlerDefinition | None:
    """The definition a ``@workflow.signal/query/update`` decorator attached, or None."""
    defn = getattr(fn, _HANDLER_ATTR, None)
    return defn if isinstance(defn, HandlerDefinition) else None


def update_outcome_known(handle: Any) -> bool:
    """Whether a ``WorkflowUpdateHandle``'s outcome is known already (``result()`` would not
    wait): a rejected update's is, as soon as ``start_update`` returns."""
    return getattr(handle, "_known_outcome", None) is not None


def registered_resolvers() -> tuple[Callable[[], Any | None], ...]:
    """The runtime resolvers registered so far, in order, so an integration registers once."""
    return tuple(_runtime._resolvers)


@contextmanager
def activity_context(attempt: Any) -> Iterator[None]:
    """Run activity code with ``fastcore.activity``'s functions answered by ``attempt``.

    ``attempt`` has what the engine's own attempts have: ``info()`` (a
    ``fastcore.activity.Info``), ``heartbeat(details)`` and a ``cancel_requested`` property,
    so ``activity.info()``, ``heartbeat()`` and ``is_cancelled()`` work when another runtime
    runs a fastcore activity.
    """
    token = _activity._current.set(_activity._Context(attempt))
    try:
        yield
    finally:
        _activity._current.reset(token)
