"""Starting runs as a client asks: id reuse and conflict policies, request ids, start options.

``start_workflow`` (and update-with-start) come here: the arguments are checked and decoded
once (the run method gets those values), a start retried with its request id gets the run
it made, and the id policies decide between a new run, the running one, or an error. Search
attributes are checked (names, value types, the type each attribute has in this engine) and a
cron schedule parsed before anything is recorded; a cron workflow's first run waits for the
first schedule time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ._clock import Clock
from ._converter import DataConverter, encode_arguments
from ._cron import backoff, parse_cron
from ._definitions import WorkflowDefinition
from ._lifecycle import Lifecycle
from ._payload import EncodedValue
from ._requests import current_request_id
from ._run import Run
from ._run_table import RunTable, damage_of
from ._search_attributes import SearchAttributeRegistry
from ._search_attributes import encode as encode_search_attributes
from ._store import Store
from ._validate import MAX_ID_LENGTH, check_id, check_timeout
from ._with_start import StartUpdates
from .common import (
    RetryPolicy,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from .errors import InvalidArgumentError, WorkflowAlreadyStartedError

__all__ = ["Starts"]

_COMPLETED = WorkflowExecutionStatus.COMPLETED
_CONTINUED_AS_NEW = WorkflowExecutionStatus.CONTINUED_AS_NEW


class Starts:
    """Starts runs for callers (the policies a start names decide what happens)."""

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        workflow_for_start: Callable[[Any], tuple[WorkflowDefinition, str]],
        converter: DataConverter,
        runs: RunTable,
        store: Store,
        new_run: Callable[..., tuple[Run, Any]],
        terminate_run: Callable[[Run, str | None, list[Any]], Awaitable[None]],
        signal: Callable[..., Awaitable[None]],
        search_attributes: SearchAttributeRegistry,
        clock: Clock,
    ) -> None:
        self._life = lifecycle
        self._workflow_for_start = workflow_for_start
        self._converter = converter
        self._runs = runs
        self._store = store
        self._new_run = new_run
        self._terminate_run = terminate_run
        self._signal = signal
        self._search_attributes = search_attributes
        self._clock = clock
        #: what each workflow reference a start named resolved to (the registry is fixed)
        self._found: dict[Any, tuple[WorkflowDefinition, str]] = {}

    async def start(
        self,
        workflow: Any,
        call_args: list[Any],
        *,
        id: str,
        task_queue: str | None = None,
        execution_timeout: timedelta | None = None,
        run_timeout: timedelta | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.UNSPECIFIED,
        retry_policy: RetryPolicy | None = None,
        memo: Mapping[str, Any] | None = None,
        start_delay: timedelta | None = None,
        start_signal: str | None = None,
        start_signal_args: Sequence[Any] = (),
        start_updates: StartUpdates | None = None,
        search_attributes: Any = None,
        cron_schedule: str = "",
    ) -> tuple[Run, bool]:
        """Start a run, or find the running one the id policies send this start to.

        Returns the run and whether this call started it.
        """
        if not self._life.ready:
            await self._life.ensure_started()
        if type(id) is not str or not id.isascii() or not 0 < len(id) <= MAX_ID_LENGTH:
            check_id(id, "workflow_id")  # (a short ASCII id, the common one, needs no call)
        if task_queue is not None:  # not used for routing here, but held to Temporal's rules
            check_id(task_queue, "task_queue")
        exec_timeout = (
            None
            if execution_timeout is None
            else check_timeout(execution_timeout, "execution_timeout")
        )
        run_timeout_s = None if run_timeout is None else check_timeout(run_timeout, "run_timeout")
        if memo:
            for key in memo:
                check_id(key, "memo key")
        if start_signal is not None:
            check_id(start_signal, "start_signal")
        try:
            found = self._found.get(workflow)
        except TypeError:  # an unhashable reference: the registry says what is wrong
            found = None
        if found is None:
            found = self._workflow_for_start(workflow)
            self._found[workflow] = found
        defn, name = found
        # decoded here, once: input the run method could not read is refused at the call
        converter = self._converter
        payloads, decoded = encode_arguments(
            converter,
            call_args,
            defn.dynamic,
            defn.run_checker,
            defn.run_arg_hints,
            "workflow",
            name,
            "start",
        )
        memo_p = {}
        if memo:
            for k, v in memo.items():
                memo_p[k] = p = converter.encode_one(v)
                if type(v) is EncodedValue:
                    converter.decode_one(p)  # memo bytes from elsewhere must be readable
        delay = start_delay.total_seconds() if start_delay is not None else None
        if delay is not None and delay < 0:
            raise InvalidArgumentError("start_delay must not be negative")
        if task_queue is not None and (not isinstance(task_queue, str) or not task_queue):
            raise InvalidArgumentError("task_queue must be a non-empty string")
        encoded_sa = encode_search_attributes(search_attributes)
        now = self._clock.now()
        if cron_schedule:
            if delay is not None:
                raise InvalidArgumentError("start_delay and cron_schedule cannot both be set")
            delay = backoff(parse_cron(cron_schedule), now, now)
            if delay is None:
                raise InvalidArgumentError(
                    f"cron schedule {cron_schedule!r} has no time in the next five years"
                )
            delay = max(delay, 1e-6)  # the first run waits for its schedule time
        signal_payloads = None
        signal_args: list[Any] = []
        if start_signal is not None:
            h = defn.handler("signal", start_signal)
            if h is None:
                raise InvalidArgumentError(f"workflow {name!r} has no signal {start_signal!r}")
            signal_payloads, signal_args = encode_arguments(
                converter,
                list(start_signal_args),
                h.dynamic,
                h.checker,
                h.arg_hints,
                "signal",
                start_signal,
                "start_signal",
            )
        existing = self._runs.by_workflow_id.get(id)  # every open run is in memory
        prior = existing.record if existing is not None else None
        if prior is None and self._store.durable:
            prior = await self._store.latest_run_info(id)  # a closed run from earlier
        if existing is not None and existing.record.damage is not None:
            raise damage_of(existing)  # its rows cannot be read: nothing is decided for it
        request = current_request_id()
        if request and prior is not None:
            again = await self._runs.started_by(id, request)
            if again is not None:
                return again, False  # a retry of the start that made this run
        if existing is not None or prior is not None:
            if existing is not None and existing.open:
                policy = id_conflict_policy
                if start_signal is not None and not (
                    policy == WorkflowIDConflictPolicy.TERMINATE_EXISTING
                    or id_reuse_policy == WorkflowIDReusePolicy.TERMINATE_IF_RUNNING
                ):
                    # signal-with-start, as Temporal's: the running workflow is signalled
                    if policy == WorkflowIDConflictPolicy.FAIL:
                        raise InvalidArgumentError(
                            "id_conflict_policy FAIL is not supported with a start signal: "
                            "signal-with-start always signals a running workflow"
                        )
                    await self._signal(
                        id,
                        existing.record.run_id,
                        start_signal,
                        list(start_signal_args),
                        with_start=True,
                    )
                    return existing, False
                if policy == WorkflowIDConflictPolicy.USE_EXISTING:
                    return existing, False
                if policy == WorkflowIDConflictPolicy.TERMINATE_EXISTING or (
                    id_reuse_policy == WorkflowIDReusePolicy.TERMINATE_IF_RUNNING
                ):
                    await self._terminate_run(
                        existing, "terminated by a start with the same id", []
                    )
                else:
                    raise WorkflowAlreadyStartedError(id, name, run_id=existing.record.run_id)
            elif prior is not None:
                st = prior.status
                if id_reuse_policy == WorkflowIDReusePolicy.REJECT_DUPLICATE or (
                    id_reuse_policy == WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
                    and st in (_COMPLETED, _CONTINUED_AS_NEW)
                ):
                    raise WorkflowAlreadyStartedError(id, name, run_id=prior.run_id)
        if encoded_sa:
            self._search_attributes.check(encoded_sa)
        run, fut = self._new_run(
            defn,
            name,
            id,
            payloads,
            execution_timeout=exec_timeout,
            run_timeout=run_timeout_s,
            retry_policy=retry_policy.to_dict() if retry_policy else None,
            memo=memo_p,
            signal=(start_signal, signal_payloads, signal_args)
            if start_signal is not None
            else None,
            first_task_backoff=delay or None,
            start_updates=start_updates,
            start_args=decoded,
            request_id=request or None,
            task_queue=task_queue,
            search_attributes=encoded_sa or None,
            cron_schedule=cron_schedule or None,
            now=now,
        )
        if fut is not None:
            # the run holds what it needs: a burst of starts waiting for one group commit
            # keeps these lists and payloads alive for the collector to walk until then
            del payloads, decoded, signal_args, call_args
            await fut
        return run, True
