"""Definitions that the decorators attach and the engine registers.

Decorators only attach metadata (as temporalio's do); an ``Engine`` collects what it is
given, so two engines in one process never see each other's registrations.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._unfinished import HandlerUnfinishedPolicy
from .errors import InvalidArgumentError

__all__ = [
    "ActivityDefinition",
    "ArgChecker",
    "HandlerDefinition",
    "WorkflowDefinition",
]

_WF_ATTR = "__fastcore_workflow_definition__"
_ACT_ATTR = "__fastcore_activity_definition__"
_HANDLER_ATTR = "__fastcore_handler__"


def _hints(fn: Callable[..., Any], skip_self: bool) -> tuple[list[Any], Any]:
    """Argument and return type hints of ``fn`` (None where missing)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = getattr(fn, "__annotations__", {}) or {}
    params = list(inspect.signature(fn).parameters.values())
    if skip_self and params:
        params = params[1:]
    arg_hints = [
        hints.get(p.name) for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    ret = hints.get("return")
    return arg_hints, ret


def _is_method(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a function defined in a class body taking ``self`` (a method).

    ``@activity.defn`` on a method: the engine is given the bound method later.
    """
    if inspect.ismethod(fn):
        return False  # already bound: called as it is
    parts = getattr(fn, "__qualname__", "").split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] == "self"


class ArgChecker:
    """Checks a call's positional arguments against a signature, cheaply."""

    __slots__ = ("_sig", "max_args", "min_args", "varargs")

    def __init__(self, fn: Callable[..., Any], skip_self: bool) -> None:
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        if skip_self and params:
            params = params[1:]
        self._sig = sig.replace(parameters=params)
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
        self.min_args = sum(1 for p in positional if p.default is p.empty)
        self.max_args = len(positional)

    def check(self, what: str, args: Sequence[Any]) -> None:
        n = len(args)
        if n < self.min_args or (n > self.max_args and not self.varargs):
            if self.min_args == self.max_args:
                want = f"{self.min_args}"
            else:
                want = f"{self.min_args} to {self.max_args}"
            raise InvalidArgumentError(f"{what} takes {want} argument(s) {self._sig}, got {n}")


@dataclass
class ActivityDefinition:
    """A registered activity: its name and function."""

    name: str | None
    fn: Callable[..., Any]
    is_async: bool
    arg_hints: list[Any]
    ret_hint: Any
    checker: ArgChecker
    dynamic: bool = False
    #: decorated as a method of a class: registered as a bound method (``obj.method``)
    is_method: bool = False
    #: a plain ``def`` activity is not interrupted by ``CancelledError`` in its thread
    no_thread_cancel_exception: bool = False
    #: decorated on a class whose instances are called (``__call__``): registered as an
    #: instance, called by class with ``workflow.execute_activity_class``
    is_class: bool = False

    @staticmethod
    def from_fn(fn: Any) -> ActivityDefinition:
        """The definition attached to ``fn`` by ``@activity.defn``."""
        defn = getattr(fn, _ACT_ATTR, None)
        if defn is None:
            raise InvalidArgumentError(
                f"{getattr(fn, '__qualname__', fn)!r} is not an activity: decorate it with "
                "@activity.defn"
            )
        return typing.cast(ActivityDefinition, defn)


@dataclass
class HandlerDefinition:
    """A signal, query or update handler."""

    kind: str  # "signal" | "query" | "update"
    name: str | None  # None for dynamic handlers
    fn: Callable[..., Any]
    is_async: bool
    arg_hints: list[Any]
    ret_hint: Any
    checker: ArgChecker
    dynamic: bool = False
    validator: Callable[..., Any] | None = None
    description: str | None = None
    #: a method of the workflow class (called with the workflow object first); False for a
    #: plain callable set at run time with ``workflow.set_signal_handler`` and the like
    method: bool = True
    #: what to do if the run closes while this handler runs (``HandlerUnfinishedPolicy``)
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON

    @staticmethod
    def of_callable(
        kind: str,
        name: str | None,
        fn: Callable[..., Any],
        validator: Callable[..., Any] | None,
        unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
    ) -> HandlerDefinition:
        """A handler set at run time (``workflow.set_*_handler``): ``fn`` is not a method."""
        arg_hints, ret_hint = _hints(fn, skip_self=False)
        return HandlerDefinition(
            kind=kind,
            name=name,
            fn=fn,
            is_async=inspect.iscoroutinefunction(fn),
            arg_hints=arg_hints,
            ret_hint=ret_hint,
            checker=ArgChecker(fn, skip_self=False),
            dynamic=name is None,
            validator=validator,
            method=False,
            unfinished_policy=unfinished_policy,
        )

    def call(self, obj: Any, *args: Any) -> Any:
        """Call the handler for workflow object ``obj``."""
        return self.fn(obj, *args) if self.method else self.fn(*args)

    def validate(self, obj: Any, *args: Any) -> None:
        """Call the validator (there is one) for workflow object ``obj``."""
        assert self.validator is not None
        if self.method:
            self.validator(obj, *args)
        else:
            self.validator(*args)


@dataclass
class WorkflowDefinition:
    """A registered workflow class: its name, run method and handlers."""

    name: str | None
    cls: type
    run_fn: Callable[..., Any]
    run_arg_hints: list[Any]
    run_ret_hint: Any
    run_checker: ArgChecker
    init_takes_args: bool
    signals: dict[str, HandlerDefinition] = field(default_factory=dict)
    queries: dict[str, HandlerDefinition] = field(default_factory=dict)
    updates: dict[str, HandlerDefinition] = field(default_factory=dict)
    dynamic_signal: HandlerDefinition | None = None
    dynamic_query: HandlerDefinition | None = None
    dynamic_update: HandlerDefinition | None = None
    failure_exception_types: tuple[type[BaseException], ...] = ()
    dynamic: bool = False
    #: a dynamic workflow's ``@workflow.dynamic_config`` method, called once per run
    dynamic_config_fn: Callable[..., Any] | None = None

    @staticmethod
    def from_class(cls: Any) -> WorkflowDefinition:
        """The definition attached to ``cls`` by ``@workflow.defn``."""
        defn = cls.__dict__.get(_WF_ATTR) if isinstance(cls, type) else None
        if defn is None:
            raise InvalidArgumentError(
                f"{getattr(cls, '__qualname__', cls)!r} is not a workflow: decorate the class "
                "with @workflow.defn"
            )
        return typing.cast(WorkflowDefinition, defn)

    def handler(self, kind: str, name: str) -> HandlerDefinition | None:
        """The handler of ``kind`` for ``name``, or the dynamic one, or None."""
        h = (  # (named_handlers inline: this is on every signal's and query's path)
            self.signals if kind == "signal" else self.queries if kind == "query" else self.updates
        ).get(name)
        return h if h is not None else self.dynamic_handler(kind)

    def named_handlers(self, kind: str) -> dict[str, HandlerDefinition]:
        """The class's handlers of ``kind`` (``"signal"``, ``"query"``, ``"update"``) by name."""
        return (
            self.signals if kind == "signal" else self.queries if kind == "query" else self.updates
        )

    def dynamic_handler(self, kind: str) -> HandlerDefinition | None:
        """The class's dynamic handler of ``kind``, if it has one."""
        if kind == "signal":
            return self.dynamic_signal
        if kind == "query":
            return self.dynamic_query
        return self.dynamic_update


def handler_name(kind: str, ref: Any) -> str:
    """The registered name of a handler given as a string or a decorated method."""
    if isinstance(ref, str):
        return ref
    h = getattr(ref, _HANDLER_ATTR, None)
    if isinstance(h, HandlerDefinition) and h.kind == kind and h.name is not None:
        return h.name
    raise InvalidArgumentError(
        f"{getattr(ref, '__qualname__', ref)!r} is not a @workflow.{kind} method; pass the "
        f"method or its {kind} name"
    )
