"""fastcore's workflow API answered by ``temporalio.workflow``: the runtime of a Temporal twin.

While a fastcore workflow class runs as a Temporal workflow (``as_temporal_workflow``), every
``fastcore.workflow`` call (``execute_activity``, ``sleep``, ``wait_condition``,
``execute_child_workflow``, ``patched``, ``now``, ``random``, ``info``, ...) is answered by
:class:`TemporalRuntime`, which fastcore finds through the resolver this module registers
(``fastcore.integration.register_resolver``) whenever the running code is a Temporal
workflow. Activities and child workflows started from it resolve to fastcore's errors
(``bridge._failures.fastcore_error``), so ``except ActivityError`` works on both runtimes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from random import Random
from typing import Any, TypeVar

import temporalio.common
import temporalio.exceptions
import temporalio.workflow

from fastcore import workflow as fc_workflow
from fastcore.common import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from fastcore.errors import (
    ActivityError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    InvalidArgumentError,
    RetryState,
)
from fastcore.integration import (
    ActivityDefinition,
    activity_definition_of,
    handler_name,
    register_resolver,
    register_sandbox,
    registered_resolvers,
    workflow_definition_of,
)

from .._failures import FASTCORE_FAILURES, fastcore_error, temporal_failure

__all__ = ["OBJ_ATTR", "TemporalRuntime"]

OBJ_ATTR = "_fastcore_obj"
"""Where a twin instance keeps the fastcore workflow object it runs."""


_P = TypeVar("_P", RetryPolicy, temporalio.common.RetryPolicy)
_T = TypeVar("_T")


def _retry_policy(
    policy: RetryPolicy | temporalio.common.RetryPolicy | None, kind: type[_P]
) -> _P | None:
    """The same retry policy as the other SDK's ``kind`` (fields one to one; None stays None)."""
    if policy is None:
        return None
    return kind(
        initial_interval=policy.initial_interval,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=(
            list(policy.non_retryable_error_types)
            if policy.non_retryable_error_types is not None
            else None
        ),
    )


def _to_temporal_key(key: Any) -> Any:
    """temporalio's key of the same name and type as a fastcore key."""
    return temporalio.common.SearchAttributeKey._from_metadata_type(key.name, key._metadata_type)


def _from_temporal_attributes(attrs: Any) -> TypedSearchAttributes:
    """fastcore's typed search attributes of temporalio's."""
    pairs = []
    for pair in attrs:
        key = SearchAttributeKey._from_metadata_type(pair.key.name, pair.key._metadata_type)
        if key is not None:
            pairs.append(SearchAttributePair(key, pair.value))
    return TypedSearchAttributes(pairs)


def _to_temporal_attributes(attributes: Any) -> Any:
    """temporalio's typed search attributes of fastcore's (None stays None; the deprecated
    name -> list mapping passes as it is)."""
    if attributes is None or isinstance(attributes, Mapping):
        return attributes
    return temporalio.common.TypedSearchAttributes(
        [
            temporalio.common.SearchAttributePair(_to_temporal_key(p.key), p.value)
            for p in attributes
        ]
    )


def _to_temporal_updates(attributes: Any) -> list[Any]:
    """temporalio's search attribute updates of fastcore's (typed collection or updates)."""
    if isinstance(attributes, Mapping):
        raise InvalidArgumentError(
            "the untyped search attribute form is deprecated; pass key.value_set(...) updates"
        )
    out = []
    for item in attributes:
        if isinstance(item, SearchAttributePair | SearchAttributeUpdate):
            tkey = _to_temporal_key(item.key)
            out.append(tkey.value_set(item.value) if item.value is not None else tkey.value_unset())
        else:
            raise InvalidArgumentError(f"not a search attribute update: {item!r}")
    return out


class _Handle(asyncio.Future[Any]):
    """A temporalio task seen as fastcore sees its own: awaitable, cancellable, fastcore errors.

    Like fastcore's own handles, ``cancel()`` asks for the cancellation and the handle stays
    pending until that resolves; a failure arrives as a ``fastcore.errors`` exception.
    """

    def __init__(self, handle: asyncio.Future[Any]) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self._handle = handle

    def _follow(self) -> None:
        self._handle.add_done_callback(self._resolve)

    def _cancelled(self) -> BaseException:
        """What fastcore reports when the task was cancelled before it started."""
        raise NotImplementedError

    def _resolve(self, handle: asyncio.Future[Any]) -> None:
        if self.done():
            return
        if handle.cancelled():
            self.set_exception(self._cancelled())
            return
        exc = handle.exception()
        if exc is None:
            self.set_result(handle.result())
        else:
            self.set_exception(fastcore_error(exc))

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        self._handle.cancel(msg)
        return True


class _ActivityHandle(_Handle):
    """``workflow.start_activity``'s handle on Temporal.

    An activity cancelled this way surfaces as ``fastcore.errors.ActivityError`` caused by
    ``fastcore.errors.CancelledError``, as on fastcore.
    """

    def __init__(
        self, handle: asyncio.Task[Any], activity_type: str, activity_id: str | None
    ) -> None:
        super().__init__(handle)
        self.activity_type = activity_type
        self.activity_id = activity_id or ""
        self._follow()

    def _cancelled(self) -> BaseException:
        # cancelled before it was scheduled: what fastcore reports for a cancellation
        err = ActivityError(
            "Activity cancelled",
            activity_type=self.activity_type,
            activity_id=self.activity_id,
            retry_state=RetryState.CANCEL_REQUESTED,
        )
        err.__cause__ = CancelledError("Activity cancelled")
        return err


_NO_ARG: Any = object()


class _ChildWorkflowHandle(_Handle):
    """A started child on Temporal: await it for the result; ``.id``, ``.run_id``, ``cancel()``."""

    def __init__(self, handle: Any, workflow_type: str) -> None:
        super().__init__(handle)
        self._child: Any = handle  # temporalio's ChildWorkflowHandle
        self.id: str = handle.id
        self.first_execution_run_id: str | None = handle.first_execution_run_id
        self.run_id: str | None = handle.first_execution_run_id
        self.workflow_type = workflow_type
        self._follow()

    def _cancelled(self) -> BaseException:
        err = ChildWorkflowError(
            "Child Workflow execution failed",
            workflow_id=self.id,
            run_id=self.run_id or "",
            workflow_type=self.workflow_type,
            retry_state=RetryState.CANCEL_REQUESTED,
        )
        err.__cause__ = CancelledError("Child workflow cancelled")
        return err

    async def signal(
        self, signal: Any, arg: Any = _NO_ARG, *more: Any, args: Sequence[Any] = ()
    ) -> None:
        """Send a signal to the child (by name or by handler method), as temporalio's
        ``ChildWorkflowHandle.signal(signal, arg, *, args=...)``."""
        values = ([] if arg is _NO_ARG else [arg]) + list(more) + list(args)
        await self._child.signal(_signal_name(signal), args=values)


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
    fc = activity_definition_of(activity)
    if fc is not None:
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


def _activity_call(
    activity: Any,
    args: Sequence[Any],
    result_type: type | None,
    start_to_close_timeout: timedelta | None,
    schedule_to_close_timeout: timedelta | None,
) -> tuple[Any, str, Any]:
    """What an activity call gives temporalio: the activity, its name and result type, once
    the timeouts and (for a fastcore activity) the arguments are checked as fastcore does.

    Raises:
        ValueError: Neither of the two timeouts is given.
        InvalidArgumentError: No activity, or arguments that do not fit it.
    """
    if start_to_close_timeout is None and schedule_to_close_timeout is None:
        raise ValueError("Activity must have start_to_close_timeout or schedule_to_close_timeout")
    ref, name, fc = _activity_ref(activity)
    if fc is not None and not fc.dynamic:
        fc.checker.check(f"activity {name!r}", args)
    if result_type is None and fc is not None:
        return ref, name, fc.ret_hint
    return ref, name, result_type


def _workflow_ref(workflow: Any) -> tuple[Any, str, Any]:
    """What temporalio is given for a child workflow, its type name, and its result hint."""
    if isinstance(workflow, str):
        return workflow, workflow, None
    defn = workflow_definition_of(workflow)
    if defn is not None:
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


async def _as_fastcore(call: Awaitable[_T]) -> _T:
    """Await a temporalio call from workflow code; its failure is raised as fastcore's
    (``fastcore_error``), outside the ``except`` so it carries no temporalio context."""
    try:
        result = await call
    except temporalio.exceptions.FailureError as err:
        failure = fastcore_error(err)
    else:
        return result
    raise failure


def _enum(target: Any, value: Any) -> Any:
    return target[value.name]


_ORIGINAL = "_fastcore_handler"  # on a wrapper: the callable fastcore code set


def _failures_cross(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A handler set at run time, raising temporalio's failure for a fastcore one."""
    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        async def call_async(*args: Any) -> Any:
            try:
                return await fn(*args)
            except FASTCORE_FAILURES as err:
                failure = temporal_failure(err)
            raise failure

        wrapper = call_async
    else:

        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except FASTCORE_FAILURES as err:
                failure = temporal_failure(err)
            raise failure

        wrapper = call
    functools.update_wrapper(wrapper, fn)
    setattr(wrapper, _ORIGINAL, fn)
    return wrapper


def _dynamic(fn: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """A dynamic handler for temporalio (``(name, raw args)``) calling fastcore's shape
    (``(name, decoded args)``)."""
    if fn is None:
        return None

    def decode(args: Sequence[Any]) -> list[Any]:
        conv = temporalio.workflow.payload_converter()
        return [conv.from_payload(a.payload) for a in args]

    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        async def call_async(name: str, args: Sequence[Any]) -> Any:
            return await fn(name, decode(args))

        wrapper = call_async
    else:

        def call(name: str, args: Sequence[Any]) -> Any:
            return fn(name, decode(args))

        wrapper = call
    setattr(wrapper, _ORIGINAL, getattr(fn, _ORIGINAL, fn))
    return wrapper


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

    def is_replaying_history_events(self) -> bool:
        return temporalio.workflow.unsafe.is_replaying_history_events()

    def is_read_only(self) -> bool:
        return temporalio.workflow.unsafe.is_read_only()

    def current_update_info(self) -> Any:
        return temporalio.workflow.current_update_info()

    def time(self) -> float:
        return temporalio.workflow.time()

    def now(self) -> datetime:
        return temporalio.workflow.now()

    def random(self) -> Random:
        return temporalio.workflow.random()

    def uuid4(self) -> Any:
        return fc_workflow.uuid4()

    def random_seed(self) -> int:
        return temporalio.workflow.random_seed()

    def register_random_seed_callback(self, callback: Callable[[int], None]) -> None:
        temporalio.workflow.register_random_seed_callback(callback)

    def time_ns(self) -> int:
        return temporalio.workflow.time_ns()

    def is_failure_exception(self, err: BaseException) -> bool:
        # fastcore's failures are converted to temporalio's at the workflow's edge
        return isinstance(err, FailureError) or temporalio.workflow.is_failure_exception(err)

    def cancellation_reason(self) -> str | None:
        return temporalio.workflow.cancellation_reason()

    def get_current_details(self) -> str:
        return temporalio.workflow.get_current_details()

    def set_current_details(self, description: str) -> None:
        temporalio.workflow.set_current_details(description)

    def payload_converter(self) -> Any:
        return temporalio.workflow.payload_converter()

    def metric_meter(self) -> Any:
        return temporalio.workflow.metric_meter()

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
            retry_policy=_retry_policy(i.retry_policy, RetryPolicy),
            _history_length=i.get_current_history_length,
            cron_schedule=i.cron_schedule,
            typed_search_attributes=_from_temporal_attributes(i.typed_search_attributes),
            search_attributes=dict(i.search_attributes),
            _history_size=i.get_current_history_size,
            _continue_as_new_suggested=i.is_continue_as_new_suggested,
            root=fc_workflow.RootInfo(i.root.run_id, i.root.workflow_id) if i.root else None,
            original_execution_run_id=i.original_execution_run_id,
            workflow_start_time=i.workflow_start_time,
            headers=dict(i.headers),
            raw_memo=dict(i.raw_memo),
        )

    def upsert_search_attributes(self, attributes: Any) -> None:
        temporalio.workflow.upsert_search_attributes(_to_temporal_updates(attributes))

    def has_last_completion_result(self) -> bool:
        return temporalio.workflow.has_last_completion_result()

    def last_completion_result(self, type_hint: Any = None) -> Any:
        if type_hint is None:
            return temporalio.workflow.get_last_completion_result()
        return temporalio.workflow.get_last_completion_result(type_hint)

    def last_failure(self) -> BaseException | None:
        failure = temporalio.workflow.get_last_failure()
        return fastcore_error(failure) if failure is not None else None

    def memo(self) -> Mapping[str, Any]:
        return temporalio.workflow.memo()

    def instance(self) -> Any:
        obj = temporalio.workflow.instance()
        return getattr(obj, OBJ_ATTR, obj)

    def all_handlers_finished(self) -> bool:
        return temporalio.workflow.all_handlers_finished()

    def upsert_memo(self, updates: Mapping[str, Any]) -> None:
        temporalio.workflow.upsert_memo(updates)

    # ---------------------------------------------------------------- handlers set at run time

    def set_handler(
        self,
        kind: str,
        name: str | None,
        fn: Callable[..., Any] | None,
        validator: Callable[..., Any] | None = None,
    ) -> None:
        handler = None if fn is None else _failures_cross(fn)
        if kind == "signal":
            if name is None:
                temporalio.workflow.set_dynamic_signal_handler(_dynamic(handler))
            else:
                temporalio.workflow.set_signal_handler(name, handler)
        elif kind == "query":
            if name is None:
                temporalio.workflow.set_dynamic_query_handler(_dynamic(handler))
            else:
                temporalio.workflow.set_query_handler(name, handler)
        else:
            check = None if validator is None else _failures_cross(validator)
            if name is None:
                temporalio.workflow.set_dynamic_update_handler(
                    _dynamic(handler), validator=_dynamic(check)
                )
            else:
                temporalio.workflow.set_update_handler(name, handler, validator=check)

    def get_handler(self, kind: str, name: str | None) -> Any:
        get: dict[tuple[str, bool], Callable[..., Any]] = {
            ("signal", True): temporalio.workflow.get_dynamic_signal_handler,
            ("query", True): temporalio.workflow.get_dynamic_query_handler,
            ("update", True): temporalio.workflow.get_dynamic_update_handler,
        }
        if name is None:
            found = get[(kind, True)]()
        else:
            getter = {
                "signal": temporalio.workflow.get_signal_handler,
                "query": temporalio.workflow.get_query_handler,
                "update": temporalio.workflow.get_update_handler,
            }[kind]
            found = getter(name)
        return getattr(found, _ORIGINAL, found)

    # ---------------------------------------------------------------- other workflows

    async def signal_external(
        self, workflow_id: str, run_id: str | None, signal: str, args: Sequence[Any]
    ) -> None:
        handle = temporalio.workflow.get_external_workflow_handle(workflow_id, run_id=run_id)
        await _as_fastcore(handle.signal(signal, args=list(args)))

    async def cancel_external(
        self, workflow_id: str, run_id: str | None, reason: str | None = None
    ) -> None:
        handle = temporalio.workflow.get_external_workflow_handle(workflow_id, run_id=run_id)
        await _as_fastcore(handle.cancel(reason=reason or ""))

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
        ref, name, result_type = _activity_call(
            activity, args, result_type, start_to_close_timeout, schedule_to_close_timeout
        )
        handle = temporalio.workflow.start_activity(
            ref,
            args=list(args),
            activity_id=activity_id,
            result_type=result_type,
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=_retry_policy(retry_policy, temporalio.common.RetryPolicy),
            cancellation_type=_enum(
                temporalio.workflow.ActivityCancellationType, cancellation_type
            ),
            task_queue=task_queue,
            summary=summary,
        )
        return _ActivityHandle(handle, name, activity_id)

    async def execute_activity(self, activity: Any, args: Sequence[Any], **kw: Any) -> Any:
        return await self.start_activity(activity, args, **kw)

    def start_local_activity(
        self,
        activity: Any,
        args: Sequence[Any],
        *,
        activity_id: str | None,
        result_type: type | None,
        schedule_to_close_timeout: timedelta | None,
        schedule_to_start_timeout: timedelta | None,
        start_to_close_timeout: timedelta | None,
        retry_policy: RetryPolicy | None,
        local_retry_threshold: timedelta | None,
        cancellation_type: ActivityCancellationType,
        summary: str | None = None,
    ) -> _ActivityHandle:
        ref, name, result_type = _activity_call(
            activity, args, result_type, start_to_close_timeout, schedule_to_close_timeout
        )
        handle = temporalio.workflow.start_local_activity(
            ref,
            args=list(args),
            activity_id=activity_id,
            result_type=result_type,
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            start_to_close_timeout=start_to_close_timeout,
            retry_policy=_retry_policy(retry_policy, temporalio.common.RetryPolicy),
            local_retry_threshold=local_retry_threshold,
            cancellation_type=_enum(
                temporalio.workflow.ActivityCancellationType, cancellation_type
            ),
            summary=summary,
        )
        return _ActivityHandle(handle, name, activity_id)

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
        task_queue: str | None = None,
        cron_schedule: str = "",
        search_attributes: Any = None,
    ) -> _ChildWorkflowHandle:
        ref, name, hint = _workflow_ref(workflow)
        handle = await _as_fastcore(
            temporalio.workflow.start_child_workflow(
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
                retry_policy=_retry_policy(retry_policy, temporalio.common.RetryPolicy),
                memo=memo,
                task_queue=task_queue,
                cron_schedule=cron_schedule,
                search_attributes=_to_temporal_attributes(search_attributes),
            )
        )
        return _ChildWorkflowHandle(handle, name)


_RUNTIME = TemporalRuntime()


def _resolve_runtime() -> TemporalRuntime | None:
    return _RUNTIME if temporalio.workflow.in_workflow() else None


_resolve_runtime.__fastcore_temporal__ = True  # type: ignore[attr-defined]


class _TemporalSandbox:
    """``fastcore.workflow.unsafe`` inside Temporal's sandbox: temporalio's own calls."""

    __slots__ = ()

    def in_sandbox(self) -> bool:
        return temporalio.workflow.unsafe.in_sandbox()

    def is_sandbox_unrestricted(self) -> bool:
        return temporalio.workflow.unsafe.is_sandbox_unrestricted()

    def sandbox_unrestricted(self) -> AbstractContextManager[None]:
        return temporalio.workflow.unsafe.sandbox_unrestricted()

    def is_imports_passed_through(self) -> bool:
        return temporalio.workflow.unsafe.is_imports_passed_through()

    def imports_passed_through(self) -> AbstractContextManager[None]:
        return temporalio.workflow.unsafe.imports_passed_through()

    def sandbox_import_notification_policy(self, policy: Any) -> AbstractContextManager[None]:
        theirs = temporalio.workflow.SandboxImportNotificationPolicy(0)
        for member in type(policy):
            if member in policy and member.name is not None:
                theirs |= temporalio.workflow.SandboxImportNotificationPolicy[member.name]
        return temporalio.workflow.unsafe.sandbox_import_notification_policy(theirs)


def _install_resolver() -> None:
    # One resolver per fastcore: when fastcore is passed through the sandbox but bridge is
    # not, every sandbox re-imports this module, and must not add one more each time.
    if not any(getattr(r, "__fastcore_temporal__", False) for r in registered_resolvers()):
        register_resolver(_resolve_runtime)
    register_sandbox(_TemporalSandbox())


_install_resolver()
