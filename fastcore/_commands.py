"""What workflow code asks of its run: activities, timers, patches, child workflows."""

# mypy: disable-error-code="misc"
# (methods are typed with self: WorkflowInstance; mypy calls that self type "not a supertype")
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._definitions import ActivityDefinition
from .common import (
    ActivityCancellationType,
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    WorkflowIDReusePolicy,
)
from .errors import (
    ActivityError,
    CancelledError,
    ChildWorkflowError,
    InvalidArgumentError,
    RetryState,
)
from .history import EventType

if TYPE_CHECKING:
    from ._instance import WorkflowInstance
from ._futures import _ActivityFuture, _ChildHandle, _fail, _resolve, _seconds

E = EventType
_PATCH_MARKER = "core_patch"
_DEFAULT_ACTIVITY_RETRY = RetryPolicy().to_dict()


class _Commands:
    """WorkflowInstance methods: the commands workflow code issues."""

    __slots__ = ()

    # ------------------------------------------------------------------ activities

    def _resolve_activity(
        self: WorkflowInstance, activity: Any
    ) -> tuple[str, ActivityDefinition | None]:
        if isinstance(activity, str):
            name = activity
            defn = self.engine.activity_definition(name)
        else:
            defn = ActivityDefinition.from_fn(activity)
            if defn.name is None:
                raise InvalidArgumentError("a dynamic activity must be called by name")
            name = defn.name
            registered = self.engine.activity_definition(name)
            if registered is not None or self.engine.strict_registry:
                defn = registered
        if defn is None and self.engine.strict_registry:
            raise InvalidArgumentError(
                f"activity {name!r} is not registered with this engine; pass it in "
                "Engine(activities=[...])"
            )
        return name, defn

    def start_activity(
        self: WorkflowInstance,
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
    ) -> _ActivityFuture:
        del task_queue, summary  # one engine, one queue; no UI to show a summary
        if start_to_close_timeout is None and schedule_to_close_timeout is None:
            raise ValueError(
                "Activity must have start_to_close_timeout or schedule_to_close_timeout"
            )
        name, defn = self._resolve_activity(activity)
        if defn is not None and not defn.dynamic:
            defn.checker.check(f"activity {name!r}", args)
        payloads = self.converter.encode(args) if args else []
        self._activity_seq += 1  # Temporal numbers activities 1, 2, 3... per run
        ev = self._command(
            E.ACTIVITY_TASK_SCHEDULED,
            {
                "activity_id": activity_id or str(self._activity_seq),
                "activity_type": name,
                "input": payloads,
                "start_to_close_timeout": _seconds(start_to_close_timeout),
                "schedule_to_close_timeout": _seconds(schedule_to_close_timeout),
                "schedule_to_start_timeout": _seconds(schedule_to_start_timeout),
                "heartbeat_timeout": _seconds(heartbeat_timeout),
                "retry_policy": (
                    retry_policy.to_dict() if retry_policy is not None else _DEFAULT_ACTIVITY_RETRY
                ),
                "cancellation_type": int(cancellation_type),
            },
            "activity_type",
        )
        hint = result_type if result_type is not None else (defn.ret_hint if defn else None)
        fut = _ActivityFuture(
            self, ev.event_id, name, ev.attributes["activity_id"], cancellation_type, hint
        )
        self._activities[ev.event_id] = fut
        return fut

    async def execute_activity(
        self: WorkflowInstance, activity: Any, args: Sequence[Any], **kw: Any
    ) -> Any:
        return await self.start_activity(activity, args, **kw)

    def request_cancel_activity(self: WorkflowInstance, fut: _ActivityFuture) -> None:
        if fut._cancellation_type != ActivityCancellationType.ABANDON:
            self._command(E.ACTIVITY_TASK_CANCEL_REQUESTED, {"scheduled_event_id": fut._seq})
        if fut._cancellation_type != ActivityCancellationType.WAIT_CANCELLATION_COMPLETED:
            self._activities.pop(fut._seq, None)
            fut.set_exception(self._activity_cancelled(fut))

    def _activity_cancelled(self: WorkflowInstance, fut: _ActivityFuture) -> ActivityError:
        err = ActivityError(
            "Activity cancelled",
            scheduled_event_id=fut._seq,
            activity_type=fut.activity_type,
            activity_id=fut.activity_id,
            retry_state=RetryState.CANCEL_REQUESTED,
        )
        err.__cause__ = CancelledError("Activity cancelled")
        return err

    # ------------------------------------------------------------------ timers

    def start_timer(self: WorkflowInstance, seconds: float, callback: Callable[[], None]) -> int:
        self._timer_counter += 1
        ev = self._command(
            E.TIMER_STARTED,
            {
                "timer_id": str(self._timer_counter),
                "start_to_fire_timeout": seconds,
                "fire_at": self._now + seconds,
            },
        )
        self._timers[ev.event_id] = callback
        return ev.event_id

    def cancel_timer(self: WorkflowInstance, seq: int) -> None:
        if self._timers.pop(seq, None) is not None and not self.closed:
            timer_id = self.history[seq - 1].attributes.get("timer_id")
            self._command(E.TIMER_CANCELED, {"timer_id": timer_id, "started_event_id": seq})

    async def sleep(self: WorkflowInstance, seconds: float) -> None:
        if seconds <= 0:
            return
        fut = self.loop.create_future()
        seq = self.start_timer(seconds, lambda: _resolve(fut, None))
        try:
            await fut
        except asyncio.CancelledError:
            self.cancel_timer(seq)
            raise

    async def wait_condition(
        self: WorkflowInstance, fn: Callable[[], bool], timeout: float | None
    ) -> None:
        if fn():
            return
        fut = self.loop.create_future()
        self._conditions.append((fut, fn))
        if timeout is None:
            await fut
            return
        seq = self.start_timer(
            timeout,
            lambda: _fail(fut, TimeoutError("wait_condition timed out")),
        )
        try:
            await fut
        finally:
            if seq in self._timers:
                self.cancel_timer(seq)

    def _check_conditions(self: WorkflowInstance) -> bool:
        progressed = False
        for item in list(self._conditions):
            fut, fn = item
            if fut.done():
                self._conditions.remove(item)
                continue
            try:
                ok = fn()
            except BaseException as err:
                self._conditions.remove(item)
                fut.set_exception(err)
                progressed = True
                continue
            if ok:
                self._conditions.remove(item)
                fut.set_result(None)
                progressed = True
        return progressed

    # ------------------------------------------------------------------ patches

    def _patch_memo(self: WorkflowInstance) -> dict[str, bool]:
        if not self._patches:
            self._patches = dict[str, bool]()  # the first patch (the empty one is shared)
        return self._patches

    def patched(self: WorkflowInstance, patch_id: str, *, deprecated: bool) -> bool:
        memo = self._patches.get(patch_id)
        if memo is not None:
            return memo
        if self.cursor < len(self.history):
            # Replaying: the new branch only if the recorded history has this marker here.
            recorded = self.history[self.cursor]
            if (
                recorded.event_type is E.MARKER_RECORDED
                and recorded.attributes.get("marker_name") == _PATCH_MARKER
                and recorded.attributes.get("details", {}).get("patch_id") == patch_id
            ):
                self.cursor += 1
                self._patch_memo()[patch_id] = True
                return True
            if not deprecated:
                self._patch_memo()[patch_id] = False
                return False
            self._patch_memo()[patch_id] = True
            return True
        self._command(
            E.MARKER_RECORDED,
            {
                "marker_name": _PATCH_MARKER,
                "details": {"patch_id": patch_id, "deprecated": deprecated},
            },
        )
        self._patch_memo()[patch_id] = True
        return True

    # ------------------------------------------------------------------ children

    async def start_child_workflow(
        self: WorkflowInstance,
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
    ) -> _ChildHandle:
        del id_reuse_policy
        defn = self.engine.workflow_definition(workflow)
        if defn is not None and not defn.dynamic:
            defn.run_checker.check(f"workflow {defn.name!r}", args)
        wf_type = defn.name if defn is not None and defn.name else str(workflow)
        child_id = id if id is not None else str(self.uuid4())
        ev = self._command(
            E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": child_id,
                "workflow_type": wf_type,
                "input": self.converter.encode(args) if args else [],
                "parent_close_policy": int(parent_close_policy),
                "execution_timeout": _seconds(execution_timeout),
                "run_timeout": _seconds(run_timeout),
                "retry_policy": retry_policy.to_dict() if retry_policy else None,
                "cancellation_type": int(cancellation_type),
                "memo": {k: self.converter.encode_one(v) for k, v in (memo or {}).items()},
            },
            "workflow_type",
        )
        hint = result_type if result_type is not None else (defn.run_ret_hint if defn else None)
        handle = _ChildHandle(self, ev.event_id, child_id, wf_type, cancellation_type, hint)
        started: asyncio.Future[Any] = self.loop.create_future()
        if not self._children:
            self._children = {}  # the first child (the empty dict is shared)
        self._children[ev.event_id] = (started, handle)
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            handle.cancel()
            raise
        return handle

    def uuid4(self: WorkflowInstance) -> Any:
        import uuid

        return uuid.UUID(int=self.random().getrandbits(128), version=4)

    def request_cancel_child(self: WorkflowInstance, handle: _ChildHandle) -> None:
        if handle._cancellation_type == ChildWorkflowCancellationType.ABANDON:
            self._resolve_child_cancelled(handle)
            return
        self._command(
            E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            {
                "workflow_id": handle.id,
                "child_workflow_only": True,
                "initiated_event_id": handle._seq,
            },
        )
        if handle._cancellation_type in (
            ChildWorkflowCancellationType.TRY_CANCEL,
            ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED,
        ):
            self._resolve_child_cancelled(handle)

    def _resolve_child_cancelled(self: WorkflowInstance, handle: _ChildHandle) -> None:
        if handle.done():
            return
        started, _ = self._children.get(handle._seq, (None, None))
        err = self._child_error(handle, RetryState.CANCEL_REQUESTED)
        err.__cause__ = CancelledError("Child workflow cancelled")
        handle.set_exception(err)
        if started is not None and not started.done():
            started.set_exception(err)

    def _child_error(
        self: WorkflowInstance, handle: _ChildHandle, retry_state: RetryState | None
    ) -> ChildWorkflowError:
        return ChildWorkflowError(
            "Child Workflow execution failed",
            workflow_id=handle.id,
            run_id=handle.run_id or "",
            workflow_type=handle.workflow_type,
            initiated_event_id=handle._seq,
            retry_state=retry_state,
        )
