"""Decorators for workflow classes and the calls workflow code makes; temporalio's names.

Every call below is only valid inside workflow code, and deterministic: on replay it gives
the same answer it gave the first time.
"""

from __future__ import annotations

import inspect
import uuid as _uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any, NoReturn, TypeVar, overload

from . import _runtime
from ._activity_calls import (
    MISSING,
    args_of,
    execute_activity,
    execute_activity_class,
    execute_activity_method,
    execute_local_activity,
    execute_local_activity_class,
    execute_local_activity_method,
    start_activity,
    start_activity_class,
    start_activity_method,
    start_local_activity,
    start_local_activity_class,
    start_local_activity_method,
)
from ._child_calls import execute_child_workflow, start_child_workflow
from ._definitions import (
    _HANDLER_ATTR,
    _WF_ATTR,
    ArgChecker,
    HandlerDefinition,
    WorkflowDefinition,
    _hints,
)
from ._external_handle import (
    ExternalWorkflowHandle,
    get_external_workflow_handle,
    get_external_workflow_handle_for,
)
from ._futures import ActivityHandle, ChildWorkflowHandle
from ._handler_calls import (
    get_dynamic_query_handler,
    get_dynamic_signal_handler,
    get_dynamic_update_handler,
    get_query_handler,
    get_signal_handler,
    get_update_handler,
    set_dynamic_query_handler,
    set_dynamic_signal_handler,
    set_dynamic_update_handler,
    set_query_handler,
    set_signal_handler,
    set_update_handler,
)
from ._json import value_to_type
from ._search_attributes import encode as encode_search_attributes
from ._unfinished import (
    HandlerUnfinishedPolicy,
    UnfinishedSignalHandlersWarning,
    UnfinishedUpdateHandlersWarning,
)
from ._unsafe import SandboxImportNotificationPolicy, unsafe
from ._wait import as_completed, wait
from ._workflow_calls import (
    cancellation_reason,
    get_current_details,
    is_failure_exception,
    metric_meter,
    new_random,
    payload_converter,
    random_seed,
    register_random_seed_callback,
    set_current_details,
    time_ns,
    uuid7,
)
from ._workflow_configs import (
    DYNAMIC_CONFIG_ATTR,
    ActivityConfig,
    ChildWorkflowConfig,
    DynamicWorkflowConfig,
    LocalActivityConfig,
    UpdateMethodMultiParam,
    dynamic_config,
)
from ._workflow_logger import LoggerAdapter, UpdateInfo, current_update_info, logger
from .common import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    Priority,
    RetryPolicy,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from .errors import InvalidArgumentError, NondeterminismError, ReadOnlyContextError

__all__ = [
    "ActivityCancellationType",
    "ActivityConfig",
    "ActivityHandle",
    "ChildWorkflowCancellationType",
    "ChildWorkflowConfig",
    "ChildWorkflowHandle",
    "ContinueAsNewError",
    "DynamicWorkflowConfig",
    "ExternalWorkflowHandle",
    "HandlerUnfinishedPolicy",
    "Info",
    "LocalActivityConfig",
    "LoggerAdapter",
    "NondeterminismError",
    "ParentClosePolicy",
    "ParentInfo",
    "ReadOnlyContextError",
    "RootInfo",
    "SandboxImportNotificationPolicy",
    "UnfinishedSignalHandlersWarning",
    "UnfinishedUpdateHandlersWarning",
    "UpdateInfo",
    "UpdateMethodMultiParam",
    "all_handlers_finished",
    "as_completed",
    "cancellation_reason",
    "continue_as_new",
    "current_update_info",
    "defn",
    "deprecate_patch",
    "dynamic_config",
    "execute_activity",
    "execute_activity_class",
    "execute_activity_method",
    "execute_child_workflow",
    "execute_local_activity",
    "execute_local_activity_class",
    "execute_local_activity_method",
    "get_current_details",
    "get_dynamic_query_handler",
    "get_dynamic_signal_handler",
    "get_dynamic_update_handler",
    "get_external_workflow_handle",
    "get_external_workflow_handle_for",
    "get_last_completion_result",
    "get_last_failure",
    "get_query_handler",
    "get_signal_handler",
    "get_update_handler",
    "has_last_completion_result",
    "in_workflow",
    "info",
    "init",
    "instance",
    "is_failure_exception",
    "logger",
    "memo",
    "memo_value",
    "metric_meter",
    "new_random",
    "now",
    "patched",
    "payload_converter",
    "query",
    "random",
    "random_seed",
    "register_random_seed_callback",
    "run",
    "set_current_details",
    "set_dynamic_query_handler",
    "set_dynamic_signal_handler",
    "set_dynamic_update_handler",
    "set_query_handler",
    "set_signal_handler",
    "set_update_handler",
    "signal",
    "sleep",
    "start_activity",
    "start_activity_class",
    "start_activity_method",
    "start_child_workflow",
    "start_local_activity",
    "start_local_activity_class",
    "start_local_activity_method",
    "time",
    "time_ns",
    "unsafe",
    "update",
    "upsert_memo",
    "upsert_search_attributes",
    "uuid4",
    "uuid7",
    "wait",
    "wait_condition",
]

ClassT = TypeVar("ClassT", bound=type)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_RUN_ATTR = "__fastcore_workflow_run__"
_INIT_ATTR = "__fastcore_workflow_init__"


# ---------------------------------------------------------------- decorators


@overload
def defn(cls: ClassT) -> ClassT: ...


@overload
def defn(
    *,
    name: str | None = None,
    dynamic: bool = False,
    failure_exception_types: Sequence[type[BaseException]] = (),
    sandboxed: bool = True,
) -> Callable[[ClassT], ClassT]: ...


def defn(
    cls: ClassT | None = None,
    *,
    name: str | None = None,
    dynamic: bool = False,
    failure_exception_types: Sequence[type[BaseException]] = (),
    sandboxed: bool = True,
) -> ClassT | Callable[[ClassT], ClassT]:
    """Mark a class as a workflow; ``name`` defaults to the class name.

    ``failure_exception_types`` lists exceptions that fail the workflow instead of failing
    (and retrying) the workflow task, as in temporalio. ``sandboxed`` is accepted so code
    ports from temporalio; fastcore has no sandbox.
    """
    del sandboxed

    def decorate(c: ClassT) -> ClassT:
        c.__dict__.get(_WF_ATTR)  # a subclass gets its own definition
        run_fn = None
        init_fn = None
        signals: dict[str, HandlerDefinition] = {}
        queries: dict[str, HandlerDefinition] = {}
        updates: dict[str, HandlerDefinition] = {}
        dyn: dict[str, HandlerDefinition | None] = {"signal": None, "query": None, "update": None}
        config_fn = None
        for klass in reversed(c.__mro__):
            for attr, member in klass.__dict__.items():
                if getattr(member, DYNAMIC_CONFIG_ATTR, False):
                    config_fn = member
                if getattr(member, _RUN_ATTR, False):
                    run_fn = member
                if attr == "__init__" and getattr(member, _INIT_ATTR, False):
                    init_fn = member
                h = getattr(member, _HANDLER_ATTR, None)
                if isinstance(h, HandlerDefinition):
                    if h.dynamic:
                        dyn[h.kind] = h
                    else:
                        assert h.name is not None
                        table = {"signal": signals, "query": queries, "update": updates}[h.kind]
                        table[h.name] = h
        if run_fn is None:
            raise ValueError(f"workflow class {c.__qualname__} has no @workflow.run method")
        if config_fn is not None and not dynamic:
            raise ValueError(
                f"@workflow.dynamic_config on {c.__qualname__}: only dynamic workflows "
                "(@workflow.defn(dynamic=True)) take one"
            )
        if not inspect.iscoroutinefunction(run_fn):
            raise ValueError(f"@workflow.run method {run_fn.__qualname__} must be async def")
        arg_hints, ret_hint = _hints(run_fn, skip_self=True)
        checker = ArgChecker(run_fn, skip_self=True)
        if init_fn is not None:
            init_params = list(inspect.signature(init_fn).parameters)[1:]
            run_params = list(inspect.signature(run_fn).parameters)[1:]
            if len(init_params) != len(run_params):
                raise ValueError(
                    f"@workflow.init {init_fn.__qualname__} must take the same parameters "
                    "as the @workflow.run method"
                )
        definition = WorkflowDefinition(
            name=None if dynamic else (name or c.__name__),
            cls=c,
            run_fn=run_fn,
            run_arg_hints=arg_hints,
            run_ret_hint=ret_hint,
            run_checker=checker,
            init_takes_args=init_fn is not None,
            signals=signals,
            queries=queries,
            updates=updates,
            dynamic_signal=dyn["signal"],
            dynamic_query=dyn["query"],
            dynamic_update=dyn["update"],
            failure_exception_types=tuple(failure_exception_types),
            dynamic=dynamic,
            dynamic_config_fn=config_fn,
        )
        setattr(c, _WF_ATTR, definition)
        # the run method points back to its definition too (as temporalio's does), so
        # ``Cls.run`` alone names the workflow
        setattr(run_fn, _WF_ATTR, definition)
        return c

    if cls is not None:
        return decorate(cls)
    return decorate


def run(fn: F) -> F:
    """Mark the workflow's entry point (an ``async def`` method)."""
    if not inspect.iscoroutinefunction(fn):
        raise ValueError(f"@workflow.run method {fn.__qualname__} must be async def")
    setattr(fn, _RUN_ATTR, True)
    return fn


def init(init_fn: F) -> F:
    """Mark ``__init__`` as taking the workflow's arguments, as temporalio's ``@workflow.init``."""
    if init_fn.__name__ != "__init__":
        raise ValueError("@workflow.init may only decorate __init__")
    setattr(init_fn, _INIT_ATTR, True)
    return init_fn


def _handler_decorator(
    kind: str,
    fn: Callable[..., Any] | None,
    name: str | None,
    dynamic: bool,
    description: str | None,
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
) -> Any:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        is_async = inspect.iscoroutinefunction(f)
        if kind == "query" and is_async:
            raise ValueError(f"@workflow.query {f.__qualname__} must not be async")
        if dynamic:
            params = list(inspect.signature(f).parameters.values())[1:]
            if len(params) != 2 or params[1].kind is not params[1].VAR_POSITIONAL:
                # temporalio's dynamic handlers take (self, name, args: Sequence[RawValue]);
                # fastcore accepts that shape and the (self, name, *args) shape.
                pass
        arg_hints, ret_hint = _hints(f, skip_self=True)
        h = HandlerDefinition(
            kind=kind,
            name=None if dynamic else (name or f.__name__),
            fn=f,
            is_async=is_async,
            arg_hints=arg_hints,
            ret_hint=ret_hint,
            checker=ArgChecker(f, skip_self=True),
            dynamic=dynamic,
            description=description,
            unfinished_policy=unfinished_policy,
        )
        setattr(f, _HANDLER_ATTR, h)
        if kind == "update":

            def validator(vf: Callable[..., Any]) -> Callable[..., Any]:
                h.validator = vf
                return vf

            f.validator = validator  # type: ignore[attr-defined]
        return f

    if fn is not None:
        return decorate(fn)
    return decorate


def signal(
    fn: F | None = None,
    *,
    name: str | None = None,
    dynamic: bool = False,
    description: str | None = None,
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
) -> Any:
    """Mark a signal handler (plain or ``async def``); ``name`` defaults to the method name.

    ``unfinished_policy``: whether to warn if the run closes while this handler runs.
    """
    return _handler_decorator("signal", fn, name, dynamic, description, unfinished_policy)


def query(
    fn: F | None = None,
    *,
    name: str | None = None,
    dynamic: bool = False,
    description: str | None = None,
) -> Any:
    """Mark a query handler (a plain method that must not change state)."""
    return _handler_decorator("query", fn, name, dynamic, description)


def update(
    fn: F | None = None,
    *,
    name: str | None = None,
    dynamic: bool = False,
    description: str | None = None,
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
) -> Any:
    """Mark an update handler; ``@handler.validator`` adds a validator that may reject.

    ``unfinished_policy``: whether to warn if the run closes while this handler runs.
    """
    return _handler_decorator("update", fn, name, dynamic, description, unfinished_policy)


# ---------------------------------------------------------------- info


@dataclass(frozen=True)
class ParentInfo:
    """The parent of a child workflow."""

    namespace: str
    workflow_id: str
    run_id: str


@dataclass(frozen=True)
class RootInfo:
    """The root of a child workflow's chain of parents (temporalio's ``RootInfo``)."""

    run_id: str
    workflow_id: str


@dataclass(frozen=True)
class Info:
    """What a workflow knows about itself, as ``temporalio.workflow.Info``.

    ``root`` is None for a workflow without a parent (as on Temporal), else the top of its
    chain of parents; ``original_execution_run_id`` is the run's own id (fastcore has no
    resets); ``start_time`` and ``workflow_start_time`` are both the started event's time
    (fastcore has no separate first workflow task); ``headers`` is always empty (fastcore has
    no interceptors to set any); ``raw_memo`` is the memo's payloads as started.
    """

    workflow_id: str
    run_id: str
    workflow_type: str
    attempt: int
    namespace: str
    task_queue: str
    start_time: datetime
    run_timeout: timedelta | None
    execution_timeout: timedelta | None
    parent: ParentInfo | None
    continued_run_id: str | None
    first_execution_run_id: str
    retry_policy: RetryPolicy | None
    _history_length: Callable[[], int]
    _history_size: Callable[[], int] = lambda: 0
    _continue_as_new_suggested: Callable[[], bool] = lambda: False
    root: RootInfo | None = None
    original_execution_run_id: str = ""
    workflow_start_time: datetime | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    raw_memo: Mapping[str, Any] = field(default_factory=dict)
    priority: Priority = Priority.default
    #: The cron schedule the workflow was started with (None: not a cron workflow).
    cron_schedule: str | None = None
    #: The run's search attributes; ``upsert_search_attributes`` replaces them.
    typed_search_attributes: TypedSearchAttributes = TypedSearchAttributes.empty
    #: The same in the deprecated untyped form (name -> list of values).
    search_attributes: Mapping[str, Any] = field(default_factory=dict)

    def get_current_history_length(self) -> int:
        """Events in this run's history so far."""
        return self._history_length()

    def get_current_history_size(self) -> int:
        """The size of this run's history so far, in bytes (an estimate: every payload's
        bytes plus a fixed overhead per event, as Temporal counts its serialized events)."""
        return self._history_size()

    def is_continue_as_new_suggested(self) -> bool:
        """Whether the history has grown enough to continue as new: at 4,096 events or
        4 MiB (Temporal's defaults; ``Engine(continue_as_new_suggested_events=,
        continue_as_new_suggested_bytes=)`` change them)."""
        return self._continue_as_new_suggested()

    def _logger_details(self) -> Mapping[str, Any]:
        return {
            "attempt": self.attempt,
            "namespace": self.namespace,
            "run_id": self.run_id,
            "task_queue": self.task_queue,
            "workflow_id": self.workflow_id,
            "workflow_type": self.workflow_type,
        }


class ContinueAsNewError(BaseException):
    """Raised by ``continue_as_new``; ends this run and starts the next with a fresh history.

    A ``BaseException`` (as in temporalio) so ``except Exception`` does not swallow it.
    """

    def __init__(
        self,
        args: Sequence[Any],
        workflow: str | None = None,
        *,
        task_queue: str | None = None,
        run_timeout: timedelta | None = None,
        memo: Mapping[str, Any] | None = None,
        retry_policy: RetryPolicy | None = None,
        search_attributes: Mapping[str, Any] | None = None,
        backoff_start_interval: timedelta | None = None,
    ) -> None:
        super().__init__("Continue as new")
        self.input_args = list(args)
        self.workflow = workflow
        # None: the next run keeps this run's value, as Temporal's continue-as-new does
        # (search attributes: this run's current ones, upserts included)
        self.task_queue = task_queue
        self.run_timeout = run_timeout
        self.memo = memo
        self.retry_policy = retry_policy
        self.search_attributes = search_attributes
        self.backoff_start_interval = backoff_start_interval


# ---------------------------------------------------------------- calls


def sleep(duration: float | timedelta, *, summary: str | None = None) -> Coroutine[Any, Any, None]:
    """A durable timer: survives restarts, fires at its original deadline.

    Returns the runtime's coroutine itself (no wrapper frame): ``await`` it as usual.
    """
    del summary
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    return _runtime.current().sleep(seconds)  # type: ignore[no-any-return]


def wait_condition(
    fn: Callable[[], bool],
    *,
    timeout: timedelta | float | None = None,
    timeout_summary: str | None = None,
) -> Coroutine[Any, Any, None]:
    """Wait until ``fn()`` is true; raises the built-in ``TimeoutError`` after ``timeout``.

    Returns the runtime's coroutine itself (no wrapper frame, so a parked workflow stays
    small): ``await`` it as usual.
    """
    del timeout_summary
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    return _runtime.current().wait_condition(fn, seconds)  # type: ignore[no-any-return]


def patched(id: str) -> bool:
    """Whether this run takes the new branch of patch ``id`` (new runs do; old histories not)."""
    return bool(_runtime.current().patched(id, deprecated=False))


def deprecate_patch(id: str) -> None:
    """Mark patch ``id`` as the only branch left, once no old-branch run remains."""
    _runtime.current().patched(id, deprecated=True)


def continue_as_new(
    arg: Any = MISSING,
    *more: Any,
    args: Sequence[Any] = (),
    workflow: Any = None,
    task_queue: str | None = None,
    run_timeout: timedelta | None = None,
    task_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    memo: Mapping[str, Any] | None = None,
    search_attributes: Any = None,
    backoff_start_interval: timedelta | None = None,
) -> NoReturn:
    """End this run and start a new one with the same id, a fresh history and these args.

    The options are Temporal's: each one given replaces this run's value for the next run
    (``task_queue`` is recorded and shown by ``info().task_queue``), each one left out is
    kept. ``search_attributes`` (a ``TypedSearchAttributes``, or temporalio's deprecated
    name -> list of values mapping) are the next run's; without them it keeps this run's
    current ones, upserts included. ``task_timeout`` is accepted so code ports: fastcore
    has no workflow task timeout. ``backoff_start_interval`` delays the next run's first
    workflow task (its code runs after it; signals and queries reach it meanwhile).

    Raises:
        InvalidArgumentError: A search attribute with a reserved name or a value of the
            wrong type (this fails the workflow task).
    """
    del task_timeout
    _runtime.current()  # only valid in workflow code
    wf_name: str | None = None
    if workflow is not None:
        if isinstance(workflow, str):
            wf_name = workflow
        elif isinstance(workflow, type):
            wf_name = WorkflowDefinition.from_class(workflow).name
        else:
            attached = getattr(workflow, _WF_ATTR, None)  # a run method
            if not isinstance(attached, WorkflowDefinition):
                raise InvalidArgumentError(
                    f"continue_as_new(workflow={workflow!r}): pass a workflow class, its run "
                    "method or a workflow type name"
                )
            wf_name = attached.name
    raise ContinueAsNewError(
        args_of(arg, args, more),
        wf_name,
        task_queue=task_queue,
        run_timeout=run_timeout,
        memo=memo,
        retry_policy=retry_policy,
        search_attributes=(
            encode_search_attributes(search_attributes) if search_attributes is not None else None
        ),
        backoff_start_interval=backoff_start_interval,
    )


def upsert_search_attributes(
    attributes: TypedSearchAttributes | Sequence[SearchAttributeUpdate[Any]] | Mapping[str, Any],
) -> None:
    """Change this run's search attributes: each ``key.value_set(v)`` sets one, each
    ``key.value_unset()`` (a value of None) removes one, as temporalio's.

    The change is recorded in the history (``UPSERT_WORKFLOW_SEARCH_ATTRIBUTES``), shows in
    ``info().typed_search_attributes`` at once, and in ``describe()`` and list filters
    once the activation commits. The deprecated name -> list mapping is accepted too.

    Raises:
        InvalidArgumentError: A reserved name, a value of the wrong type, or an attribute
            of another type than earlier use (this fails the workflow task, as Temporal
            fails it for bad search attributes).
    """
    if not attributes:
        return
    _runtime.current().upsert_search_attributes(attributes)


def has_last_completion_result() -> bool:
    """Whether an earlier run of this cron workflow completed (its result is available)."""
    return bool(_runtime.current().has_last_completion_result())


def get_last_completion_result(type_hint: Any = None) -> Any:
    """The result of the latest completed earlier run of this cron workflow (None if none,
    or if it returned None; ``has_last_completion_result`` tells them apart)."""
    return _runtime.current().last_completion_result(type_hint)


def get_last_failure() -> BaseException | None:
    """The failure of the previous run, when it failed (a cron workflow's next run, a
    retry); None otherwise."""
    return _runtime.current().last_failure()  # type: ignore[no-any-return]


def now() -> datetime:
    """The workflow's current time: the time of the event being processed (UTC)."""
    return _runtime.current().now()  # type: ignore[no-any-return]


def time() -> float:
    """``now()`` as epoch seconds."""
    return float(_runtime.current().time())


def random() -> Random:
    """A random generator seeded per run, so replay draws the same numbers."""
    return _runtime.current().random()  # type: ignore[no-any-return]


def uuid4() -> _uuid.UUID:
    """A deterministic UUID4 drawn from ``random()``."""
    return _uuid.UUID(int=random().getrandbits(128), version=4)


def info() -> Info:
    """What the workflow knows about itself."""
    return _runtime.current().info()  # type: ignore[no-any-return]


def memo() -> Mapping[str, Any]:
    """The workflow's memo: as started, with ``upsert_memo``'s changes."""
    return _runtime.current().memo()  # type: ignore[no-any-return]


def memo_value(key: str, default: Any = MISSING, *, type_hint: Any = None) -> Any:
    """One memo value (converted to ``type_hint`` when given); ``KeyError`` if it is missing
    and no ``default`` is given."""
    values = memo()
    if key not in values:
        if default is MISSING:
            raise KeyError(f"Memo does not have a value for key {key}")
        return default
    value = values[key]
    if type_hint is not None:
        value = value_to_type(type_hint, value)
    return value


def upsert_memo(updates: Mapping[str, Any]) -> None:
    """Set memo keys (a None value removes the key); recorded, shown by ``describe()``."""
    _runtime.current().upsert_memo(updates)


def instance() -> Any:
    """The workflow object whose code is running."""
    return _runtime.current().instance()


def in_workflow() -> bool:
    """Whether the caller is workflow code."""
    return _runtime.in_workflow()


def all_handlers_finished() -> bool:
    """Whether no signal or update handler is still running."""
    return bool(_runtime.current().all_handlers_finished())
