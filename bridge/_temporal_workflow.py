"""A fastcore workflow class as a real Temporal workflow: one definition, both runtimes.

``as_temporal_workflow(Checkout)`` builds (once) a class decorated with
``temporalio.workflow.defn(name=<the fastcore name>)`` whose run method, signals, queries,
updates and validators have the fastcore class's names and type hints and delegate to an
instance of the fastcore class. While that code runs in a Temporal workflow, every
``fastcore.workflow`` call (``execute_activity``, ``sleep``, ``wait_condition``,
``execute_child_workflow``, ``patched``, ``now``, ``random``, ``info``, ...) is answered by
:class:`TemporalRuntime` on top of ``temporalio.workflow``, found through
``fastcore._runtime.register_resolver``. Failures cross in both directions: a fastcore
``ApplicationError`` raised by workflow code fails the Temporal workflow (or update) as
temporalio's, and a temporalio ``ActivityError`` awaited by fastcore code arrives as
``fastcore.errors.ActivityError``, so ``except ActivityError`` works on both runtimes.

Temporal's sandbox imports a workflow class by module and name in a fresh module table. The
generated class is named after the fastcore class's module and qualified name, and this
module's ``__getattr__`` rebuilds it there from the sandbox's own import of the user's
module, so workflow code runs under the sandbox's restrictions with the default
``SandboxedWorkflowRunner`` as well as with :func:`sandbox_restrictions` (which passes
fastcore and bridge through instead of re-importing them for every run).

What does not carry over, and why:

- Options ``fastcore.workflow`` drops before calling its runtime cannot reach Temporal:
  ``task_queue`` and ``summary`` of activities, ``task_queue`` of child workflows,
  ``task_queue``/``run_timeout``/``memo``/``retry_policy`` of ``continue_as_new``, and the
  decorators' ``sandboxed`` and ``unfinished_policy`` (the twin is sandboxed, handlers use
  temporalio's default policy).
- ``execute_local_activity`` reaches the runtime as ``start_activity``, so on Temporal it
  is a regular activity.
- Each runtime keeps its own registry rules: fastcore refuses an unknown signal at the
  call, Temporal buffers it; query failures carry each runtime's wording.
- Temporal-only features (search attributes, cron, versioning, Nexus,
  ``ApplicationError.category``) have no fastcore spelling.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import inspect
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from random import Random
from typing import Any

import temporalio.common
import temporalio.exceptions
import temporalio.workflow
from temporalio.common import RawValue
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from fastcore import _runtime
from fastcore import workflow as fc_workflow
from fastcore._definitions import (
    _ACT_ATTR,
    _WF_ATTR,
    ActivityDefinition,
    HandlerDefinition,
    WorkflowDefinition,
    handler_name,
)
from fastcore.common import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    WorkflowIDReusePolicy,
)
from fastcore.errors import (
    ActivityError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    InvalidArgumentError,
    NondeterminismError,
    RetryState,
    WorkflowAlreadyStartedError,
)

from ._temporal_activity import (
    from_temporal_error,
    from_temporal_retry_policy,
    temporal_failure,
    to_temporal_retry_policy,
)

__all__ = ["TemporalRuntime", "as_temporal_workflow", "sandbox_restrictions"]

_TWIN_ATTR = "__fastcore_temporal_workflow__"  # on a fastcore class: its Temporal twin
_SOURCE_ATTR = "__fastcore_workflow_class__"  # on a twin: the fastcore class it runs
_OBJ_ATTR = "_fastcore_obj"  # on a twin instance: the fastcore workflow object
_MARK = "_Temporal_"  # separates a twin's name from its encoded origin
_ESCAPE = re.compile(r"_([0-9a-f]+)_")
_FC_FAILURES = (FailureError, WorkflowAlreadyStartedError)
_SANDBOX_MAIN = "__temporal_main__"  # what Temporal's sandbox calls a script's ``__main__``


# ---------------------------------------------------------------- the twin class


def as_temporal_workflow(cls: type) -> type:
    """The Temporal workflow class that runs fastcore workflow ``cls`` (built once, cached).

    Register the result with a ``temporalio.worker.Worker`` (and the activities with
    :func:`bridge.as_temporal_activities`). The Temporal workflow type is the fastcore
    name; signals, queries and updates keep their names, parameters and type hints, and
    update validators stay attached. Clients can use the returned class's methods, or,
    once this has been called, the fastcore class's own (``client.start_workflow(
    Checkout.run, ...)``, ``handle.signal(Checkout.approve, ...)``), as temporalio reads
    the definitions it finds on them.

    It passes Temporal's default sandbox: the sandbox re-imports ``cls``'s module (and
    fastcore) for every run and the fastcore code runs under its restrictions. Pass
    ``SandboxedWorkflowRunner(restrictions=bridge.sandbox_restrictions())`` to the worker
    to import fastcore and bridge once instead.

    Args:
        cls: A class decorated with ``@fastcore.workflow.defn``, defined at module level
            (the sandbox imports it by name).

    Returns:
        A class decorated with ``@temporalio.workflow.defn``.

    Raises:
        fastcore.errors.InvalidArgumentError: ``cls`` is not a fastcore workflow.
        ValueError: ``cls`` is a local class.
    """
    twin = cls.__dict__.get(_TWIN_ATTR) if isinstance(cls, type) else None
    if twin is not None:
        return twin  # type: ignore[no-any-return]
    if isinstance(cls, type) and _SOURCE_ATTR in cls.__dict__:
        return cls  # already a twin
    defn = WorkflowDefinition.from_class(cls)
    if "<locals>" in cls.__qualname__:
        raise ValueError(
            f"workflow class {cls.__qualname__} must be defined at module level: Temporal's "
            "sandbox imports it by name"
        )
    twin = _build_twin(defn)
    setattr(cls, _TWIN_ATTR, twin)
    _attach_temporal_definitions(defn, twin)
    return twin


def _encode(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in text)


def _decode(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _twin_name(cls: type) -> str:
    # The sandbox loads a script's ``__main__`` as ``__temporal_main__``: same class, same name.
    module = "__main__" if cls.__module__ == _SANDBOX_MAIN else cls.__module__
    return f"{cls.__name__}{_MARK}{_encode(f'{module}:{cls.__qualname__}')}"


def __getattr__(name: str) -> Any:
    """Rebuild a twin class by name: how Temporal's sandbox imports one.

    Inside the sandbox the fastcore class comes from the sandbox's own import of its
    module, so the workflow's code and everything it imports run under the sandbox's
    restrictions; outside, the twin built by ``as_temporal_workflow`` is returned.
    """
    if _MARK not in name:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, _, qualname = _decode(name.rsplit(_MARK, 1)[1]).partition(":")
    if module_name == "__main__" and temporalio.workflow.unsafe.in_sandbox():
        module_name = _SANDBOX_MAIN  # the sandbox re-runs the script under this name
    # builtins.__import__ is what the sandbox replaces: this goes through its importer.
    obj: Any = builtins.__import__(module_name, fromlist=["__name__"])
    for part in qualname.split("."):
        obj = getattr(obj, part)
    twin = as_temporal_workflow(obj)
    if twin.__name__ != name:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return twin


def _mimic(wrapper: Callable[..., Any], fn: Callable[..., Any], twin_name: str, attr: str) -> None:
    """Give ``wrapper`` ``fn``'s signature and hints, as a method ``attr`` of the twin."""
    functools.update_wrapper(wrapper, fn, updated=())
    wrapper.__module__ = __name__
    wrapper.__name__ = attr
    wrapper.__qualname__ = f"{twin_name}.{attr}"


def _name_as(wrapper: Callable[..., Any], twin_name: str, attr: str) -> None:
    wrapper.__module__ = __name__
    wrapper.__name__ = attr
    wrapper.__qualname__ = f"{twin_name}.{attr}"


def _decode_raw(args: Sequence[RawValue]) -> list[Any]:
    conv = temporalio.workflow.payload_converter()
    return [conv.from_payload(a.payload) for a in args]


def _failure_types(types: Sequence[type[BaseException]]) -> list[type[BaseException]]:
    out: list[type[BaseException]] = []
    for t in types:
        out.append(temporalio.workflow.NondeterminismError if t is NondeterminismError else t)
    return out


def _build_twin(defn: WorkflowDefinition) -> type:
    fc_cls = defn.cls
    name = _twin_name(fc_cls)
    ns: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"Temporal workflow running fastcore workflow {fc_cls.__qualname__}.\n\n"
        + (fc_cls.__doc__ or ""),
        _SOURCE_ATTR: fc_cls,
    }
    ns["__init__"] = _init(defn, name)
    run_attr = getattr(defn.run_fn, "__name__", "run")
    ns[run_attr] = _run(defn, name, run_attr)
    taken = set(ns)
    handlers: list[HandlerDefinition] = [
        *defn.signals.values(),
        *defn.queries.values(),
        *defn.updates.values(),
        *(h for h in (defn.dynamic_signal, defn.dynamic_query, defn.dynamic_update) if h),
    ]
    for h in handlers:
        attr = getattr(h.fn, "__name__", h.kind)
        while attr in taken:
            attr = f"{attr}_"
        taken.add(attr)
        ns[attr] = _handler(h, name, attr)
    twin = type(name, (), ns)
    options: dict[str, Any] = {"dynamic": True} if defn.dynamic else {"name": defn.name}
    options["failure_exception_types"] = _failure_types(defn.failure_exception_types)
    decorate: Any = temporalio.workflow.defn
    decorate(**options)(twin)
    return twin


def _init(defn: WorkflowDefinition, twin_name: str) -> Callable[..., None]:
    fc_cls = defn.cls
    if not defn.init_takes_args:

        def __init__(self: Any) -> None:
            setattr(self, _OBJ_ATTR, fc_cls())

        _name_as(__init__, twin_name, "__init__")
        return __init__
    if defn.dynamic:

        def __init__dynamic(self, args: Sequence[RawValue]) -> None:  # type: ignore[no-untyped-def]  # temporalio skips only a bare self
            setattr(self, _OBJ_ATTR, fc_cls(_decode_raw(args)))

        fn: Callable[..., None] = __init__dynamic
    else:

        def __init__args(self: Any, *args: Any) -> None:
            setattr(self, _OBJ_ATTR, fc_cls(*args))

        # temporalio wants @workflow.init and @workflow.run to take identical parameters
        __init__args.__signature__ = inspect.signature(defn.run_fn)  # type: ignore[attr-defined]
        fn = __init__args
    _name_as(fn, twin_name, "__init__")
    return temporalio.workflow.init(fn)


def _run(defn: WorkflowDefinition, twin_name: str, attr: str) -> Callable[..., Any]:
    run_fn = defn.run_fn

    async def call(self: Any, args: Sequence[Any]) -> Any:
        try:
            return await run_fn(getattr(self, _OBJ_ATTR), *args)
        except fc_workflow.ContinueAsNewError as can:
            if can.workflow is None:
                temporalio.workflow.continue_as_new(args=can.input_args)
            temporalio.workflow.continue_as_new(args=can.input_args, workflow=can.workflow)
        except _FC_FAILURES as err:
            failure = temporal_failure(err)
        raise failure

    if defn.dynamic:

        async def run_dynamic(self, args: Sequence[RawValue]) -> Any:  # type: ignore[no-untyped-def]  # temporalio skips only a bare self
            return await call(self, [_decode_raw(args)])

        _name_as(run_dynamic, twin_name, attr)
        return temporalio.workflow.run(run_dynamic)

    async def run(self: Any, *args: Any) -> Any:
        return await call(self, args)

    _mimic(run, run_fn, twin_name, attr)
    return temporalio.workflow.run(run)


def _handler(h: HandlerDefinition, twin_name: str, attr: str) -> Any:
    fn = h.fn
    wrapper: Callable[..., Any]
    if h.is_async:

        async def call_async(self: Any, args: Sequence[Any]) -> Any:
            try:
                return await fn(getattr(self, _OBJ_ATTR), *args)
            except _FC_FAILURES as err:
                failure = temporal_failure(err)
            raise failure

        if h.dynamic:

            async def async_dynamic(self, name: str, args: Sequence[RawValue]) -> Any:  # type: ignore[no-untyped-def]  # temporalio skips only a bare self
                return await call_async(self, [name, _decode_raw(args)])

            wrapper = async_dynamic
        else:

            async def async_handler(self: Any, *args: Any) -> Any:
                return await call_async(self, args)

            wrapper = async_handler
    else:

        def call_sync(self: Any, args: Sequence[Any]) -> Any:
            try:
                return fn(getattr(self, _OBJ_ATTR), *args)
            except _FC_FAILURES as err:
                failure = temporal_failure(err)
            raise failure

        if h.dynamic:

            def sync_dynamic(self, name: str, args: Sequence[RawValue]) -> Any:  # type: ignore[no-untyped-def]  # temporalio skips only a bare self
                return call_sync(self, [name, _decode_raw(args)])

            wrapper = sync_dynamic
        else:

            def sync_handler(self: Any, *args: Any) -> Any:
                return call_sync(self, args)

            wrapper = sync_handler
    if h.dynamic:
        _name_as(wrapper, twin_name, attr)
    else:
        _mimic(wrapper, fn, twin_name, attr)
    options: dict[str, Any] = {"dynamic": True} if h.dynamic else {"name": h.name}
    if h.description is not None:
        options["description"] = h.description
    decorators: dict[str, Any] = {
        "signal": temporalio.workflow.signal,
        "query": temporalio.workflow.query,
        "update": temporalio.workflow.update,
    }
    handler = decorators[h.kind](**options)(wrapper)
    if h.kind != "update":
        return handler
    if h.validator is not None:
        handler.validator(_validator(h, wrapper, twin_name, f"{attr}_validator"))
    return handler


def _validator(
    h: HandlerDefinition, update: Callable[..., Any], twin_name: str, attr: str
) -> Callable[..., None]:
    vfn = h.validator
    assert vfn is not None

    def call(self: Any, args: Sequence[Any]) -> None:
        try:
            vfn(getattr(self, _OBJ_ATTR), *args)
            return
        except _FC_FAILURES as err:
            failure = temporal_failure(err)
        raise failure

    validator: Callable[..., None]
    if h.dynamic:

        def validate_dynamic(self, name: str, args: Sequence[RawValue]) -> None:  # type: ignore[no-untyped-def]  # temporalio skips only a bare self
            call(self, [name, _decode_raw(args)])

        validator = validate_dynamic
    else:

        def validate(self: Any, *args: Any) -> None:
            call(self, args)

        # temporalio wants a validator to take exactly the update's parameters
        validate.__signature__ = inspect.signature(update)  # type: ignore[attr-defined]
        validator = validate
    _name_as(validator, twin_name, attr)
    return validator


def _attach_temporal_definitions(defn: WorkflowDefinition, twin: type) -> None:
    """Let temporalio's client accept the fastcore class's own methods as references."""
    tdefn = temporalio.workflow._Definition.must_from_class(twin)
    setattr(defn.run_fn, "__temporal_workflow_definition", tdefn)
    for name, sig in tdefn.signals.items():
        if name is not None and name in defn.signals:
            setattr(defn.signals[name].fn, "__temporal_signal_definition", sig)
    for name, query in tdefn.queries.items():
        if name is not None and name in defn.queries:
            setattr(defn.queries[name].fn, "__temporal_query_definition", query)
    for name, upd in tdefn.updates.items():
        if name is not None and name in defn.updates:
            defn.updates[name].fn._defn = upd  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the runtime adapter


class _ActivityHandle(asyncio.Future[Any]):
    """``workflow.start_activity``'s handle on Temporal: awaitable, cancellable, fastcore errors.

    Like fastcore's own handle, ``cancel()`` asks for the activity's cancellation and the
    handle stays pending until that resolves: the awaiting code then sees
    ``fastcore.errors.ActivityError`` caused by ``fastcore.errors.CancelledError``.
    """

    def __init__(
        self, handle: asyncio.Task[Any], activity_type: str, activity_id: str | None
    ) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self._handle = handle
        self.activity_type = activity_type
        self.activity_id = activity_id or ""
        handle.add_done_callback(self._resolve)

    def _resolve(self, handle: asyncio.Task[Any]) -> None:
        if self.done():
            return
        if handle.cancelled():
            # cancelled before it was scheduled: what fastcore reports for a cancellation
            err = ActivityError(
                "Activity cancelled",
                activity_type=self.activity_type,
                activity_id=self.activity_id,
                retry_state=RetryState.CANCEL_REQUESTED,
            )
            err.__cause__ = CancelledError("Activity cancelled")
            self.set_exception(err)
            return
        exc = handle.exception()
        if exc is None:
            self.set_result(handle.result())
        else:
            self.set_exception(from_temporal_error(exc))

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        self._handle.cancel(msg)
        return True


class _ChildWorkflowHandle(asyncio.Future[Any]):
    """A started child on Temporal: await it for the result; ``.id``, ``.run_id``, ``cancel()``."""

    def __init__(self, handle: Any, workflow_type: str) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self._handle = handle
        self.id: str = handle.id
        self.first_execution_run_id: str | None = handle.first_execution_run_id
        self.run_id: str | None = handle.first_execution_run_id
        self.workflow_type = workflow_type
        handle.add_done_callback(self._resolve)

    def _resolve(self, handle: asyncio.Task[Any]) -> None:
        if self.done():
            return
        if handle.cancelled():
            err = ChildWorkflowError(
                "Child Workflow execution failed",
                workflow_id=self.id,
                run_id=self.run_id or "",
                workflow_type=self.workflow_type,
                retry_state=RetryState.CANCEL_REQUESTED,
            )
            err.__cause__ = CancelledError("Child workflow cancelled")
            self.set_exception(err)
            return
        exc = handle.exception()
        if exc is None:
            self.set_result(handle.result())
        else:
            self.set_exception(from_temporal_error(exc))

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        self._handle.cancel(msg)
        return True

    async def signal(self, signal: Any, *args: Any) -> None:
        """Send a signal to the child (by name or by handler method)."""
        await self._handle.signal(_signal_name(signal), args=list(args))


def _signal_name(ref: Any) -> Any:
    if isinstance(ref, str):
        return ref
    try:
        return handler_name("signal", ref)
    except InvalidArgumentError:
        return ref


def _activity_ref(activity: Any) -> tuple[Any, str, ActivityDefinition | None]:
    """What temporalio is given for an activity, its name, and its fastcore definition."""
    if isinstance(activity, str):
        return activity, activity, None
    fc = getattr(activity, _ACT_ATTR, None)
    if isinstance(fc, ActivityDefinition):
        if fc.name is None:
            raise InvalidArgumentError("a dynamic activity must be called by name")
        return fc.name, fc.name, fc
    tdefn = getattr(activity, "__temporal_activity_definition", None)
    if tdefn is not None:
        return activity, str(tdefn.name), None
    raise InvalidArgumentError(
        f"{getattr(activity, '__qualname__', activity)!r} is not an activity: decorate it "
        "with @activity.defn"
    )


def _workflow_ref(workflow: Any) -> tuple[Any, str, Any]:
    """What temporalio is given for a child workflow, its type name, and its result hint."""
    if isinstance(workflow, str):
        return workflow, workflow, None
    cls = workflow if isinstance(workflow, type) else _class_of(workflow)
    if cls is not None and _WF_ATTR in cls.__dict__:
        defn = WorkflowDefinition.from_class(cls)
        if defn.name is None:
            raise InvalidArgumentError("a dynamic workflow must be started by name")
        return defn.name, defn.name, defn.run_ret_hint
    tdefn = getattr(workflow, "__temporal_workflow_definition", None)
    if tdefn is not None and tdefn.name:
        return tdefn.name, tdefn.name, tdefn.ret_type
    raise InvalidArgumentError(
        f"{getattr(workflow, '__qualname__', workflow)!r} is not a workflow: pass a "
        "@workflow.defn class, its run method, or a workflow type name"
    )


def _class_of(fn: Any) -> type | None:
    """The class a (run) method was defined in, found through its module."""
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    qual = getattr(fn, "__qualname__", "")
    if module is None or "." not in qual:
        return None
    obj: Any = module
    for part in qual.split(".")[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


def _enum(target: Any, value: Any) -> Any:
    return target[value.name]


class TemporalRuntime:
    """fastcore's workflow runtime API answered by ``temporalio.workflow``.

    ``fastcore.workflow`` finds it through the resolver this module registers, whenever
    the running code is a Temporal workflow. Activities are started by name with the
    same options (the retry policy and cancellation type converted one to one), child
    workflows by their fastcore type name, timers are Temporal timers, and
    ``now``/``random``/``uuid4``/``patched`` are Temporal's deterministic ones.
    """

    __slots__ = ()

    # ---------------------------------------------------------------- state

    def is_replaying(self) -> bool:
        return temporalio.workflow.unsafe.is_replaying()

    def time(self) -> float:
        return temporalio.workflow.time()

    def now(self) -> datetime:
        return temporalio.workflow.now()

    def random(self) -> Random:
        return temporalio.workflow.random()

    def uuid4(self) -> Any:
        return fc_workflow.uuid4()

    def info(self) -> fc_workflow.Info:
        i = temporalio.workflow.info()
        p = i.parent
        return fc_workflow.Info(
            workflow_id=i.workflow_id,
            run_id=i.run_id,
            workflow_type=i.workflow_type,
            attempt=i.attempt,
            namespace=i.namespace,
            task_queue=i.task_queue,
            start_time=i.workflow_start_time,
            run_timeout=i.run_timeout,
            execution_timeout=i.execution_timeout,
            parent=fc_workflow.ParentInfo(p.namespace, p.workflow_id, p.run_id) if p else None,
            continued_run_id=i.continued_run_id,
            first_execution_run_id=i.first_execution_run_id,
            retry_policy=from_temporal_retry_policy(i.retry_policy),
            _history_length=i.get_current_history_length,
        )

    def memo(self) -> Mapping[str, Any]:
        return temporalio.workflow.memo()

    def instance(self) -> Any:
        obj = temporalio.workflow.instance()
        return getattr(obj, _OBJ_ATTR, obj)

    def all_handlers_finished(self) -> bool:
        return temporalio.workflow.all_handlers_finished()

    def patched(self, patch_id: str, *, deprecated: bool) -> bool:
        if deprecated:
            temporalio.workflow.deprecate_patch(patch_id)
            return True
        return temporalio.workflow.patched(patch_id)

    # ---------------------------------------------------------------- commands

    def start_activity(
        self,
        activity: Any,
        args: Sequence[Any],
        *,
        activity_id: str | None,
        result_type: type | None,
        schedule_to_close_timeout: timedelta | None,
        schedule_to_start_timeout: timedelta | None,
        start_to_close_timeout: timedelta | None,
        heartbeat_timeout: timedelta | None,
        retry_policy: RetryPolicy | None,
        cancellation_type: ActivityCancellationType,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> _ActivityHandle:
        if start_to_close_timeout is None and schedule_to_close_timeout is None:
            raise ValueError(
                "Activity must have start_to_close_timeout or schedule_to_close_timeout"
            )
        ref, name, fc = _activity_ref(activity)
        if fc is not None and not fc.dynamic:
            fc.checker.check(f"activity {name!r}", args)
        handle = temporalio.workflow.start_activity(
            ref,
            args=list(args),
            activity_id=activity_id,
            result_type=result_type if result_type is not None else (fc.ret_hint if fc else None),
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=to_temporal_retry_policy(retry_policy),
            cancellation_type=_enum(
                temporalio.workflow.ActivityCancellationType, cancellation_type
            ),
            task_queue=task_queue,
            summary=summary,
        )
        return _ActivityHandle(handle, name, activity_id)

    async def execute_activity(self, activity: Any, args: Sequence[Any], **kw: Any) -> Any:
        return await self.start_activity(activity, args, **kw)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        await temporalio.workflow.sleep(seconds)

    async def wait_condition(self, fn: Callable[[], bool], timeout: float | None) -> None:
        if fn():
            return
        await temporalio.workflow.wait_condition(fn, timeout=timeout)

    async def start_child_workflow(
        self,
        workflow: Any,
        args: Sequence[Any],
        *,
        id: str | None,
        result_type: type | None,
        cancellation_type: ChildWorkflowCancellationType,
        parent_close_policy: ParentClosePolicy,
        execution_timeout: timedelta | None,
        run_timeout: timedelta | None,
        id_reuse_policy: WorkflowIDReusePolicy,
        retry_policy: RetryPolicy | None,
        memo: Mapping[str, Any] | None,
    ) -> _ChildWorkflowHandle:
        ref, name, hint = _workflow_ref(workflow)
        try:
            handle = await temporalio.workflow.start_child_workflow(
                ref,
                args=list(args),
                id=id,
                result_type=result_type if result_type is not None else hint,
                cancellation_type=_enum(
                    temporalio.workflow.ChildWorkflowCancellationType, cancellation_type
                ),
                parent_close_policy=_enum(
                    temporalio.workflow.ParentClosePolicy, parent_close_policy
                ),
                execution_timeout=execution_timeout,
                run_timeout=run_timeout,
                id_reuse_policy=_enum(temporalio.common.WorkflowIDReusePolicy, id_reuse_policy),
                retry_policy=to_temporal_retry_policy(retry_policy),
                memo=memo,
            )
        except temporalio.exceptions.FailureError as err:
            failure = from_temporal_error(err)
        else:
            return _ChildWorkflowHandle(handle, name)
        raise failure


_RUNTIME = TemporalRuntime()


def _resolve_runtime() -> TemporalRuntime | None:
    return _RUNTIME if temporalio.workflow.in_workflow() else None


_resolve_runtime.__fastcore_temporal__ = True  # type: ignore[attr-defined]


def _install_resolver() -> None:
    # One resolver per fastcore: when fastcore is passed through the sandbox but bridge is
    # not, every sandbox re-imports this module, and must not add one more each time.
    if not any(getattr(r, "__fastcore_temporal__", False) for r in _runtime._resolvers):
        _runtime.register_resolver(_resolve_runtime)


_install_resolver()


# ---------------------------------------------------------------- the sandbox


def sandbox_restrictions(base: SandboxRestrictions | None = None) -> SandboxRestrictions:
    """Sandbox restrictions that pass ``fastcore`` and ``bridge`` through.

    Not required: as-is the default ``SandboxedWorkflowRunner`` re-imports fastcore (and
    bridge) for every workflow run, which works but costs time. Both are deterministic
    library code, so passing them through is safe; the workflow's own module is still
    re-imported and checked on every run. Use as
    ``Worker(..., workflow_runner=SandboxedWorkflowRunner(restrictions=sandbox_restrictions()))``.

    Args:
        base: Restrictions to extend; ``SandboxRestrictions.default`` when None.

    Returns:
        ``base`` with ``fastcore`` and ``bridge`` added to the passthrough modules.
    """
    return (base or SandboxRestrictions.default).with_passthrough_modules("fastcore", "bridge")
