"""A fastcore workflow class as a real Temporal workflow: one definition, both runtimes.

``as_temporal_workflow(Checkout)`` builds (once) a class decorated with
``temporalio.workflow.defn(name=<the fastcore name>)`` whose run method, signals, queries,
updates and validators have the fastcore class's names and type hints and delegate to an
instance of the fastcore class. While that code runs in a Temporal workflow, every
``fastcore.workflow`` call (``execute_activity``, ``sleep``, ``wait_condition``,
``execute_child_workflow``, ``patched``, ``now``, ``random``, ``info``, ...) is answered by
``TemporalRuntime`` on top of ``temporalio.workflow`` (``bridge.on_temporal._runtime``).
Failures cross in both directions (``bridge._failures``): a fastcore ``ApplicationError``
raised by workflow code fails the Temporal workflow (or update) as temporalio's, and a
temporalio ``ActivityError`` awaited by fastcore code arrives as
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
  ``search_attributes`` of ``continue_as_new`` (its other options carry over), and the
  decorators' ``sandboxed`` and ``unfinished_policy`` (the twin is sandboxed, handlers use
  temporalio's default policy).
- Each runtime keeps its own registry rules: fastcore refuses an unknown signal at the
  call, Temporal buffers it; query failures carry each runtime's wording.
- Temporal-only features (search attributes, cron, versioning, Nexus,
  ``ApplicationError.category``) have no fastcore spelling.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

import temporalio.common
import temporalio.workflow
from temporalio.common import RawValue
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from fastcore import workflow as fc_workflow
from fastcore.errors import NondeterminismError
from fastcore.integration import HandlerDefinition, WorkflowDefinition

from .._failures import FASTCORE_FAILURES, temporal_failure
from ._runtime import OBJ_ATTR, _retry_policy

__all__ = ["as_temporal_workflow", "sandbox_restrictions"]

_TWIN_ATTR = "__fastcore_temporal_workflow__"  # on a fastcore class: its Temporal twin
_SOURCE_ATTR = "__fastcore_workflow_class__"  # on a twin: the fastcore class it runs
_MARK = "_Temporal_"  # separates a twin's name from its encoded origin
_ESCAPE = re.compile(r"_([0-9a-f]+)_")
_SANDBOX_MAIN = "__temporal_main__"  # what Temporal's sandbox calls a script's ``__main__``


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
            setattr(self, OBJ_ATTR, fc_cls())

        _name_as(__init__, twin_name, "__init__")
        return __init__
    if defn.dynamic:

        def __init__dynamic(self, args: Sequence[RawValue]) -> None:  # type: ignore[no-untyped-def]  # temporalio skips only a bare self
            setattr(self, OBJ_ATTR, fc_cls(_decode_raw(args)))

        fn: Callable[..., None] = __init__dynamic
    else:

        def __init__args(self: Any, *args: Any) -> None:
            setattr(self, OBJ_ATTR, fc_cls(*args))

        # temporalio wants @workflow.init and @workflow.run to take identical parameters
        __init__args.__signature__ = inspect.signature(defn.run_fn)  # type: ignore[attr-defined]
        fn = __init__args
    _name_as(fn, twin_name, "__init__")
    return temporalio.workflow.init(fn)


def _run(defn: WorkflowDefinition, twin_name: str, attr: str) -> Callable[..., Any]:
    run_fn = defn.run_fn

    async def call(self: Any, args: Sequence[Any]) -> Any:
        try:
            return await run_fn(getattr(self, OBJ_ATTR), *args)
        except fc_workflow.ContinueAsNewError as can:
            options: dict[str, Any] = {
                "task_queue": can.task_queue,
                "run_timeout": can.run_timeout,
                "memo": can.memo,
                "retry_policy": _retry_policy(can.retry_policy, temporalio.common.RetryPolicy),
            }
            if can.workflow is not None:
                options["workflow"] = can.workflow
            temporalio.workflow.continue_as_new(args=can.input_args, **options)
        except FASTCORE_FAILURES as err:
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
                return await fn(getattr(self, OBJ_ATTR), *args)
            except FASTCORE_FAILURES as err:
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
                return fn(getattr(self, OBJ_ATTR), *args)
            except FASTCORE_FAILURES as err:
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
            vfn(getattr(self, OBJ_ATTR), *args)
            return
        except FASTCORE_FAILURES as err:
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
