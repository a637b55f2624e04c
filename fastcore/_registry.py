"""The workflows and activities one engine runs, looked up by name, class or run method.

An ``Engine`` registers what it is given; two engines in one process never see each other's
registrations. A workflow or activity defined with ``dynamic=True`` answers for every name
not registered otherwise.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ._definitions import ActivityDefinition, WorkflowDefinition
from .errors import InvalidArgumentError

__all__ = ["Registry"]


class Registry:
    """The definitions one engine runs."""

    def __init__(
        self, workflows: Sequence[type] = (), activities: Sequence[Callable[..., Any]] = ()
    ) -> None:
        self._workflows: dict[str, WorkflowDefinition] = {}
        self._dynamic_workflow: WorkflowDefinition | None = None
        self._activities: dict[str, ActivityDefinition] = {}
        self._dynamic_activity: ActivityDefinition | None = None
        for cls in workflows:
            self.register_workflow(cls)
        for fn in activities:
            self.register_activity(fn)

    def register_workflow(self, cls: type) -> None:
        """Add a ``@workflow.defn`` class; a second class under one name is refused."""
        defn = WorkflowDefinition.from_class(cls)
        if defn.dynamic:
            self._dynamic_workflow = defn
            return
        assert defn.name is not None
        existing = self._workflows.get(defn.name)
        if existing is not None and existing.cls is not cls:
            raise ValueError(f"two workflows registered with the name {defn.name!r}")
        self._workflows[defn.name] = defn

    def register_activity(self, fn: Callable[..., Any]) -> None:
        """Add an ``@activity.defn`` function (or bound method); a second function under one
        name is refused, and so is a method given without its instance."""
        defn = ActivityDefinition.from_fn(fn)
        if defn.is_method:
            if not inspect.ismethod(fn):
                label = defn.name or getattr(fn, "__name__", "?")
                raise InvalidArgumentError(
                    f"activity {label!r} ({getattr(fn, '__qualname__', fn)}) is a method: "
                    f"register it bound to an instance, e.g. Engine(activities=[obj.{fn.__name__}])"
                )
            defn = dataclasses.replace(defn, fn=fn)
        elif defn.is_class:
            if isinstance(fn, type):
                label = defn.name or fn.__name__
                raise InvalidArgumentError(
                    f"activity {label!r} is a class: register an instance of it, e.g. "
                    f"Engine(activities=[{fn.__name__}(...)])"
                )
            defn = dataclasses.replace(defn, fn=fn)
        if defn.dynamic:
            self._dynamic_activity = defn
            return
        assert defn.name is not None
        existing = self._activities.get(defn.name)
        if existing is not None and existing.fn != fn:
            raise ValueError(f"two activities registered with the name {defn.name!r}")
        self._activities[defn.name] = defn

    def activity_definition(self, name: str) -> ActivityDefinition | None:
        """The activity registered as ``name`` (or the dynamic one)."""
        return self._activities.get(name) or self._dynamic_activity

    def workflow_definition(self, ref: Any) -> WorkflowDefinition | None:
        """The workflow for a class, a run method, or a type name; None when unknown."""
        if isinstance(ref, str):
            return self._workflows.get(ref) or self._dynamic_workflow
        cls = ref if isinstance(ref, type) else None
        if cls is None:
            attached = getattr(ref, "__fastcore_workflow_definition__", None)
            if isinstance(attached, WorkflowDefinition) and attached.run_fn is ref:
                if attached.name is None:
                    return self._dynamic_workflow
                found = self._workflows.get(attached.name)
                if found is not None and found.run_fn is ref:
                    return found
            # a run method shared by several registered classes (subclasses)
            for d in self._workflows.values():
                if d.run_fn is ref:
                    return d
            return None
        try:
            defn = WorkflowDefinition.from_class(cls)
        except InvalidArgumentError:
            return None
        return self._workflows.get(defn.name or "") if defn.name else self._dynamic_workflow

    def workflow_for_start(self, ref: Any) -> tuple[WorkflowDefinition, str]:
        """The workflow a start names and its type name; ``InvalidArgumentError`` if unknown."""
        defn = self.workflow_definition(ref)
        if defn is None:
            label = ref if isinstance(ref, str) else getattr(ref, "__qualname__", repr(ref))
            raise InvalidArgumentError(
                f"workflow {label!r} is not registered with this engine; pass its class in "
                f"Engine(workflows=[...]) (registered: {sorted(self._workflows)})"
            )
        name = defn.name if defn.name is not None else str(ref)
        return defn, name
