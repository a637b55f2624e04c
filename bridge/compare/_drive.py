"""compare-traces' runs, one per runtime: start, drive with signals and updates, skip timers,
wait for the result within a deadline, and say why when the deadline passes.

The same steps on each runtime, so both do the same work:

1. start the workflow (on Temporal with time skipping still off, so the signals and updates
   below land before any timer is skipped);
2. send each ``--signal`` and ``--update`` in the order given (an update waits for its
   result);
3. skip timers: on Temporal per-workflow time skipping (``temporalio.testing.TimeSkipper``,
   what ``WorkflowEnvironment.start_time_skipping_v2`` wraps the dev server's client with),
   on fastcore a ``VirtualClock``, which skips while a caller waits for the result;
4. wait for the result.

The whole run has a deadline. When it passes, the error names the runtime, the workflow's
state and the last failure it recorded (a failing workflow task, an activity's last
attempt), and the run is terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from fastcore.integration import WorkflowDefinition

__all__ = ["Action", "CompareError", "Outcome", "check_call", "parse_action"]

Progress = Callable[[str], None]

_SKIP_NOT_ENABLED = "time-skipping feature is not enabled"
_SERVER_GRACE = timedelta(seconds=30)  # the server-side execution timeout past our deadline


class CompareError(RuntimeError):
    """A run that cannot start, or did not finish: the message says which runtime and why."""


@dataclasses.dataclass(frozen=True)
class Action:
    """A signal or an update to send to the run after it starts.

    Attributes:
        kind: ``"signal"`` or ``"update"``.
        name: The handler's name.
        args: Its arguments (none, or the one JSON value given).
    """

    kind: str
    name: str
    args: tuple[Any, ...] = ()

    def describe(self) -> str:
        """``signal pay`` or ``update add_item("sku-2")``, for progress lines."""
        shown = ", ".join(json.dumps(a) for a in self.args)
        return f"{self.kind} {self.name}" + (f"({shown})" if self.args else "")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a run ended: its result, or the failure that closed it."""

    result: Any = None
    failure: str | None = None

    def text(self) -> str:
        """The result as JSON, or ``failed: <failure>``."""
        if self.failure is not None:
            return f"failed: {self.failure}"
        return json.dumps(self.result, default=str)


def parse_action(kind: str, spec: str) -> Action:
    """``NAME`` or ``NAME=JSON`` (one argument) as an :class:`Action`.

    Raises:
        ValueError: No name, or the value is not JSON.
    """
    name, sep, raw = spec.partition("=")
    name = name.strip()
    if not name:
        raise ValueError(f"--{kind} wants NAME or NAME=JSON, got {spec!r}")
    if not sep:
        return Action(kind, name)
    try:
        return Action(kind, name, (json.loads(raw),))
    except json.JSONDecodeError as err:
        raise ValueError(f"--{kind} {spec!r}: the value is not JSON ({err})") from None


def check_call(workflow_cls: type, args: Sequence[Any], actions: Sequence[Action]) -> None:
    """Check the run's arguments and each action against the workflow's signatures.

    Runs before anything starts, so a mistake is one message naming the signature, not a
    workflow task that fails and is retried on a server.

    Raises:
        ValueError: An argument count does not fit, or a handler does not exist.
    """
    defn = WorkflowDefinition.from_class(workflow_cls)
    name = defn.name or workflow_cls.__name__
    try:
        defn.run_checker.check(f"{name}.run", list(args))
    except ValueError:
        raise ValueError(
            f"{name}.run{_signature(defn.run_fn)} does not take {_count(args)} "
            "(give each argument as --arg JSON)"
        ) from None
    for action in actions:
        handler = defn.handler(action.kind, action.name)
        if handler is None:
            known = sorted(defn.signals if action.kind == "signal" else defn.updates)
            raise ValueError(
                f"{name} has no {action.kind} {action.name!r}"
                + (f" (its {action.kind}s: {', '.join(known)})" if known else "")
            )
        if handler.dynamic:
            continue
        try:
            handler.checker.check(f"{action.kind} {action.name}", list(action.args))
        except ValueError:
            raise ValueError(
                f"{action.kind} {action.name}{_signature(handler.fn)} does not take "
                f"{_count(action.args)} (--{action.kind} NAME=JSON gives one argument, "
                "NAME alone none)"
            ) from None


def _count(args: Sequence[Any]) -> str:
    return "no arguments" if not args else f"{len(args)} argument{'s' * (len(args) > 1)}"


class _Text:
    """An annotation shown as written (``str``, not the ``'str'`` of a string annotation)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _signature(fn: Callable[..., Any]) -> str:
    """``(item: str) -> str``: a method's signature without ``self``."""
    sig = inspect.signature(fn)

    def shown(annotation: Any) -> Any:
        return _Text(annotation) if isinstance(annotation, str) else annotation

    params = [p.replace(annotation=shown(p.annotation)) for p in list(sig.parameters.values())[1:]]
    return str(sig.replace(parameters=params, return_annotation=shown(sig.return_annotation)))


# --------------------------------------------------------------------------- Temporal


async def run_temporal(
    client: Any,
    workflow: str,
    args: Sequence[Any],
    actions: Sequence[Action],
    *,
    id: str,
    task_queue: str,
    timeout: float,
    skip_time: bool,
    progress: Progress,
) -> Outcome:
    """One run on Temporal, within ``timeout`` seconds (see the module docstring)."""
    from temporalio.client import WorkflowFailureError

    handle = await client.start_workflow(
        workflow,
        args=list(args),
        id=id,
        task_queue=task_queue,
        # The server ends the run too, should this process die before its deadline; not
        # when skipping time, whose skips would reach a server-side timeout in moments.
        execution_timeout=None if skip_time else timedelta(seconds=timeout) + _SERVER_GRACE,
    )
    label = f"Temporal: {workflow} (id {id})"
    skip = partial(_skip_temporal_timers, client, handle, progress) if skip_time else None
    return await _drive(
        handle, actions, label, timeout, WorkflowFailureError, _temporal_state, skip
    )


_warned_no_skipping: set[str] = set()


async def _skip_temporal_timers(client: Any, handle: Any, progress: Progress) -> None:
    """Turn on time skipping for the run and return once it has closed.

    A server without time skipping (a Temporal other than the dev server this tool
    starts) is said once; its timers then run in real time.
    """
    from temporalio.service import RPCError, RPCStatusCode
    from temporalio.testing import TimeSkipper

    try:
        await TimeSkipper(client).fast_forward(handle)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # closed already: nothing to skip
            return
        if _SKIP_NOT_ENABLED not in str(err).lower():
            raise
        target = client.service_client.config.target_host
        if target not in _warned_no_skipping:
            _warned_no_skipping.add(target)
            progress(
                f"Temporal: the server at {target} does not allow time skipping (dynamic "
                "config frontend.WorkflowTimeSkippingEnabled); timers run in real time"
            )


async def _temporal_state(handle: Any) -> str:
    """The run's status and the last failure its history or pending activities show."""
    try:
        desc = await handle.describe()
    except Exception as err:  # the state is a hint in an error message; say it is missing
        return f"its state could not be read ({err})"
    status = desc.status.name if desc.status is not None else "UNKNOWN"
    raw = desc.raw_description
    failures: list[str] = []
    for pending in raw.pending_activities:
        if pending.HasField("last_failure"):
            failures.append(
                f"activity {pending.activity_type.name} attempt {pending.attempt}: "
                f"{_proto_failure(pending.last_failure)}"
            )
    task_attempt = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    with contextlib.suppress(Exception):
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_task_failed_event_attributes"):
                failure = event.workflow_task_failed_event_attributes.failure
                attempt = f" (attempt {task_attempt})" if task_attempt > 1 else ""
                failures.append(f"workflow task failed{attempt}: {_proto_failure(failure)}")
    return _state_text(status, failures)


def _proto_failure(failure: Any) -> str:
    kind = ""
    if failure.HasField("application_failure_info") and failure.application_failure_info.type:
        kind = failure.application_failure_info.type + ": "
    text = f"{kind}{failure.message}"
    if failure.HasField("cause"):
        text += f" (cause: {_proto_failure(failure.cause)})"
    return text


# --------------------------------------------------------------------------- fastcore


async def run_fastcore(
    engine: Any,
    workflow: str,
    args: Sequence[Any],
    actions: Sequence[Action],
    *,
    id: str,
    timeout: float,
) -> Outcome:
    """One run on a fastcore engine, within ``timeout`` seconds (see the module docstring).

    Timers are skipped when the engine has a ``VirtualClock``: it skips while the result
    is awaited, after the signals and updates were sent.
    """
    from fastcore.errors import WorkflowFailureError

    handle = await engine.start_workflow(workflow, args=list(args), id=id)
    label = f"fastcore: {workflow} (id {id})"
    return await _drive(handle, actions, label, timeout, WorkflowFailureError, _fastcore_state)


async def _fastcore_state(handle: Any) -> str:
    from fastcore.history import EventType

    try:
        desc = await handle.describe()
        events = await handle.fetch_history()
    except Exception as err:  # the state is a hint in an error message; say it is missing
        return f"its state could not be read ({err})"
    failures: list[str] = []
    for event in events:
        failure = event.attributes.get("failure")
        if event.event_type is EventType.ACTIVITY_TASK_FAILED and failure:
            attempt = event.attributes.get("attempt")
            failures.append(f"activity attempt {attempt}: {_failure_msg(failure)}")
    if desc.pending_task_failure is not None:
        failures.append(f"workflow task failed: {_failure_text(desc.pending_task_failure)}")
    return _state_text(desc.status.name, failures)


def _failure_msg(failure: Any) -> str:
    """A fastcore failure dict (a history attribute, Temporal's shape) as ``Type: message``."""
    if not isinstance(failure, dict):
        return str(failure)
    info = failure.get("application_failure_info") or {}
    kind = info.get("type") or ""
    text = f"{kind}: {failure.get('message', '')}" if kind else str(failure.get("message", ""))
    if failure.get("cause"):
        text += f" (cause: {_failure_msg(failure['cause'])})"
    return text


# --------------------------------------------------------------------------- both


async def _drive(
    handle: Any,
    actions: Sequence[Action],
    label: str,
    timeout: float,
    failure_type: type[Exception],
    state: Callable[[Any], Awaitable[str]],
    skip_timers: Callable[[], Awaitable[None]] | None = None,
) -> Outcome:
    """Steps 2 to 4 on a started run (see the module docstring), within ``timeout`` seconds.

    Args:
        handle: The run's handle (temporalio's or fastcore's: the same methods).
        actions: The signals and updates to send.
        label: The runtime and the run, for the error (``fastcore: Checkout (id c-1)``).
        timeout: Seconds the whole run may take.
        failure_type: The runtime's ``WorkflowFailureError``: a failed run's outcome.
        state: What the run is doing, for the error (its status and last failure).
        skip_timers: Skips the run's timers until it closes, if the runtime needs a call.

    Raises:
        CompareError: No result within ``timeout``; the run is terminated.
    """
    try:
        async with asyncio.timeout(timeout):
            for action in actions:
                if action.kind == "signal":
                    await handle.signal(action.name, args=list(action.args))
                else:
                    await handle.execute_update(action.name, args=list(action.args))
            if skip_timers is not None:
                await skip_timers()
            try:
                return Outcome(await handle.result())
            except failure_type as err:
                return Outcome(failure=_failure_text(getattr(err, "cause", None) or err))
    except TimeoutError:
        why = await state(handle)
        with contextlib.suppress(Exception):
            await handle.terminate(reason=f"compare-traces: no result within {timeout:g}s")
        raise CompareError(f"{label} did not finish within {timeout:g}s: {why}") from None


def _failure_text(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    cause = getattr(err, "cause", None) or err.__cause__
    if isinstance(cause, BaseException) and cause is not err:
        text += f" (cause: {type(cause).__name__}: {cause})"
    return text


def _state_text(status: str, failures: Sequence[str]) -> str:
    if failures:
        return f"status {status}; last failure: {failures[-1]}"
    return (
        f"status {status}, no failure recorded: it is waiting. If it waits for a signal or an "
        "update, send it with --signal NAME[=JSON] or --update NAME[=JSON]; a longer wait "
        "needs a larger --timeout"
    )
