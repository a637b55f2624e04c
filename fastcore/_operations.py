"""What handles do: result, signal, query, update, cancel, terminate, describe, watch, list."""

# mypy: disable-error-code="misc"
# (the methods are typed with self: Engine; mypy calls that self type "not a supertype")
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._definitions import WorkflowDefinition, handler_name
from ._failure import from_failure
from ._handles import WorkflowExecutionDescription
from ._instance import WorkflowInstance
from ._run_state import (
    E,
    _Run,
    new_id,
)
from ._store import RunRecord
from .common import (
    WorkflowExecutionStatus,
)
from .errors import (
    ApplicationError,
    CancelledError,
    InvalidArgumentError,
    TerminatedError,
    TimeoutType,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from .errors import TimeoutError as FcTimeoutError
from .history import Event

if TYPE_CHECKING:
    from ._engine import Engine


class _Operations:
    """Engine methods behind the handles: result, signal, query, update, cancel, terminate..."""

    # ------------------------------------------------------------------ lookups

    async def _latest_run(self: Engine, workflow_id: str) -> _Run | None:
        run = self._runs.get(workflow_id)
        if run is not None:
            return run
        if not self.store.durable:
            return None
        record = await self.store.load_run(workflow_id)
        if record is None:
            return None
        return self._closed_run_from_record(record)

    def _closed_run_from_record(self: Engine, record: RunRecord) -> _Run:
        defn = self.workflow_definition(record.workflow_type)
        if defn is None:
            # its workflow is not registered here any more: the history still answers
            # describe/result/fetch_history; handler lookups find nothing
            return _Run(record, WorkflowDefinition.__new__(WorkflowDefinition))
        return _Run(record, defn)

    async def _get_run(self: Engine, workflow_id: str, run_id: str | None) -> _Run:
        if run_id is None:
            run = await self._latest_run(workflow_id)
        else:
            run = self._by_run_id.get(run_id)
            if run is None or run.record.workflow_id != workflow_id:
                run = None
                record = await self.store.load_run(workflow_id, run_id)
                if record is not None:
                    cur = self._runs.get(workflow_id)
                    run = (
                        cur
                        if cur is not None and cur.record.run_id == run_id
                        else self._closed_run_from_record(record)
                    )
        if run is None:
            raise WorkflowNotFoundError(
                f"workflow not found: id={workflow_id!r}"
                + (f", run_id={run_id!r}" if run_id else ""),
                workflow_id=workflow_id,
            )
        return run

    def _require_open(self: Engine, run: _Run, what: str) -> None:
        if not run.open:
            err = WorkflowNotFoundError(
                f"cannot {what} workflow {run.record.workflow_id!r}: it is closed "
                f"({run.record.status.name})",
                workflow_id=run.record.workflow_id,
            )
            err.closed_status = run.record.status
            raise err

    # ------------------------------------------------------------------ handle operations

    async def _result(
        self: Engine, workflow_id: str, run_id: str | None, *, follow_runs: bool, result_type: Any
    ) -> Any:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        while True:
            if run.open:
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                run.close_waiters.append(fut)
                self._result_waiters += 1
                self._schedule_skip_check()
                try:
                    await fut
                finally:
                    self._result_waiters -= 1
                    if fut in run.close_waiters:
                        run.close_waiters.remove(fut)
            close = run.record.history[-1]
            et = close.event_type
            a = close.attributes
            if et is E.WORKFLOW_EXECUTION_COMPLETED:
                hint = (
                    result_type
                    if result_type is not None
                    else getattr(run.defn, "run_ret_hint", None)
                )
                r = a.get("result")
                return self.converter.decode_one(r, hint) if r is not None else None
            nxt_id = a.get("new_execution_run_id")
            if (
                follow_runs
                and nxt_id
                and et in (E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW, E.WORKFLOW_EXECUTION_FAILED)
            ):
                run = await self._wait_for_run(workflow_id, nxt_id)
                continue
            raise WorkflowFailureError(cause=self._close_cause(close))

    async def _wait_for_run(self: Engine, workflow_id: str, run_id: str) -> _Run:
        """The next run of a chain (continue-as-new, retry): it exists as soon as its
        predecessor closed, in memory or in the store."""
        run = self._by_run_id.get(run_id)
        if run is not None:
            return run
        cur = self._runs.get(workflow_id)
        if cur is not None and cur.record.run_id == run_id:
            return cur
        record = await self.store.load_run(workflow_id, run_id)
        if record is None:
            raise WorkflowNotFoundError(
                f"the next run {run_id!r} of workflow {workflow_id!r} is gone (purged?)",
                workflow_id=workflow_id,
            )
        return self._closed_run_from_record(record)

    def _close_cause(self: Engine, close: Event) -> BaseException:
        et = close.event_type
        a = close.attributes
        if et is E.WORKFLOW_EXECUTION_FAILED:
            return from_failure(a["failure"], self.converter)
        if et is E.WORKFLOW_EXECUTION_CANCELED:
            return CancelledError("Workflow cancelled")
        if et is E.WORKFLOW_EXECUTION_TERMINATED:
            details = self.converter.decode(a.get("details") or [])
            return TerminatedError(a.get("reason") or "Workflow terminated", *details)
        if et is E.WORKFLOW_EXECUTION_TIMED_OUT:
            return FcTimeoutError("Workflow execution timed out", type=TimeoutType.START_TO_CLOSE)
        return ApplicationError(f"workflow closed: {et.value}")

    async def _signal(
        self: Engine, workflow_id: str, run_id: str | None, signal: Any, args: list[Any]
    ) -> None:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        name = handler_name("signal", signal)
        self._require_open(run, f"signal {name!r} to")
        h = run.defn.handler("signal", name)
        if h is None:
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no signal {name!r} "
                f"(signals: {sorted(run.defn.signals)})"
            )
        if not h.dynamic:
            h.checker.check(f"signal {name!r}", args)
        payloads = self.converter.encode(args)
        self.telemetry.signal_received(run, name)
        fut = self._submit(
            run,
            E.WORKFLOW_EXECUTION_SIGNALED,
            {"signal_name": name, "input": payloads},
            wait=self.store.durable,
        )
        if fut is not None:
            await fut

    async def _query(
        self: Engine,
        workflow_id: str,
        run_id: str | None,
        query: Any,
        args: list[Any],
        result_type: Any,
    ) -> Any:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        name = handler_name("query", query)
        h = (
            run.defn.handler("query", name)
            if isinstance(run.defn, WorkflowDefinition) and hasattr(run.defn, "queries")
            else None
        )
        if h is None:
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no query {name!r}"
                + (
                    f" (queries: {sorted(run.defn.queries)})"
                    if hasattr(run.defn, "queries")
                    else ""
                )
            )
        if not h.dynamic:
            h.checker.check(f"query {name!r}", args)
        payloads = self.converter.encode(args)
        inst = run.instance
        if inst is None:
            inst = self._replayed_instance(run)
        decoded = self.converter.decode(payloads, None if h.dynamic else h.arg_hints)
        with self.telemetry.query_span(run, name):
            try:
                value = inst.query(name, decoded)
            except InvalidArgumentError:
                raise
            except Exception as err:
                raise WorkflowQueryFailedError(f"query {name!r} failed: {err}") from err
        try:
            payload = self.converter.encode_one(value)
        except InvalidArgumentError as err:
            raise WorkflowQueryFailedError(
                f"query {name!r} returned an unconvertible value: {err}"
            ) from err
        return self.converter.decode_one(
            payload, result_type if result_type is not None else h.ret_hint
        )

    def _replayed_instance(self: Engine, run: _Run) -> WorkflowInstance:
        """An instance for a run that is not in memory (closed, loaded from the store)."""
        record = RunRecord(
            run.record.workflow_id,
            run.record.run_id,
            run.record.workflow_type,
            run.record.start_time,
            run.record.status,
            run.record.close_time,
            list(run.record.history),
        )
        inst = WorkflowInstance(engine=self, run=record, defn=run.defn, converter=self.converter)
        self.telemetry.suppress_replay(run)
        inst.replay()
        return inst

    async def _update(
        self: Engine,
        workflow_id: str,
        run_id: str | None,
        update: Any,
        args: list[Any],
        update_id: str | None,
        result_type: Any,
    ) -> Any:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        name = handler_name("update", update)
        self._require_open(run, f"update {name!r} on")
        h = run.defn.handler("update", name)
        if h is None:
            raise InvalidArgumentError(
                f"workflow {run.record.workflow_type!r} has no update {name!r} "
                f"(updates: {sorted(run.defn.updates)})"
            )
        if not h.dynamic:
            h.checker.check(f"update {name!r}", args)
        payloads = self.converter.encode(args)
        decoded = self.converter.decode(payloads, None if h.dynamic else h.arg_hints)
        inst = run.instance
        assert inst is not None
        with self.telemetry.update_span(run, name):
            try:
                inst.validate_update(name, decoded)
            except Exception as err:
                raise WorkflowUpdateFailedError(err, rejected=True) from err
            uid = update_id or new_id()
            waiter: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
            if not run.update_waiters:
                run.update_waiters = {}
            run.update_waiters[uid] = waiter
            self._submit(
                run,
                E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                {"update_id": uid, "name": name, "input": payloads},
            )
            self._result_waiters += 1
            self._schedule_skip_check()
            try:
                ev = await waiter
            finally:
                self._result_waiters -= 1
        a = ev.attributes
        if a.get("failure") is not None:
            cause = from_failure(a["failure"], self.converter)
            raise WorkflowUpdateFailedError(cause) from cause
        r = a.get("result")
        hint = result_type if result_type is not None else h.ret_hint
        return self.converter.decode_one(r, hint) if r is not None else None

    def _request_cancel(self: Engine, run: _Run) -> asyncio.Future[None] | None:
        inst = run.instance
        if inst is not None and inst.cancel_requested:
            return None
        for ev in run.record.history:
            if ev.event_type is E.WORKFLOW_EXECUTION_CANCEL_REQUESTED:
                return None
        return self._submit(
            run, E.WORKFLOW_EXECUTION_CANCEL_REQUESTED, {"reason": ""}, wait=self.store.durable
        )

    async def _cancel(self: Engine, workflow_id: str, run_id: str | None) -> None:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        if not run.open:
            return  # a cancel to a closed workflow is a no-op
        fut = self._request_cancel(run)
        if fut is not None:
            await fut

    async def _terminate(
        self: Engine, workflow_id: str, run_id: str | None, reason: str | None, details: list[Any]
    ) -> None:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        self._require_open(run, "terminate")
        await self._terminate_run(run, reason, details)

    async def _terminate_run(
        self: Engine, run: _Run, reason: str | None, details: list[Any]
    ) -> None:
        fut = self._close_from_outside(
            run,
            E.WORKFLOW_EXECUTION_TERMINATED,
            {"reason": reason or "", "details": self.converter.encode(details)},
        )
        if fut is not None:
            await fut

    async def _describe(
        self: Engine, workflow_id: str, run_id: str | None
    ) -> WorkflowExecutionDescription:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        r = run.record
        started = r.history[0].attributes if r.history else {}
        parent = started.get("parent") or {}
        inst = run.instance
        failure = None
        if inst is not None and run.open:
            failure = inst.nondeterminism or inst.task_failure
        return WorkflowExecutionDescription(
            id=r.workflow_id,
            run_id=r.run_id,
            workflow_type=r.workflow_type,
            status=r.status,
            start_time=datetime.fromtimestamp(r.start_time, UTC),
            close_time=datetime.fromtimestamp(r.close_time, UTC)
            if r.close_time is not None
            else None,
            history_length=len(r.history),
            memo={k: self.converter.decode_one(v) for k, v in (started.get("memo") or {}).items()},
            parent_id=parent.get("workflow_id"),
            parent_run_id=parent.get("run_id"),
            pending_activities=len(run.activities),
            pending_task_failure=failure,
        )

    async def _fetch_history(self: Engine, workflow_id: str, run_id: str | None) -> list[Event]:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        return list(run.record.history)

    async def _watch(
        self: Engine, workflow_id: str, run_id: str | None, from_event_id: int
    ) -> AsyncIterator[Event]:
        if not self._ready:
            await self._ensure_started()
        run = await self._get_run(workflow_id, run_id)
        if from_event_id < 1:
            raise InvalidArgumentError("from_event_id starts at 1")
        next_id = from_event_id
        while True:
            history = run.record.history
            while next_id <= len(history):
                yield history[next_id - 1]
                next_id += 1
            if not run.open:
                return
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if not run.watchers:
                run.watchers = []
            run.watchers.append(fut)
            try:
                await fut
            finally:
                if fut in run.watchers:
                    run.watchers.remove(fut)

    def _notify_watchers(self: Engine, run: _Run) -> None:
        if run.watchers:
            ws = run.watchers
            run.watchers = []
            for w in ws:
                if not w.done():
                    w.set_result(None)

    async def list_workflows(
        self: Engine,
        *,
        status: WorkflowExecutionStatus | None = None,
        page_size: int = 100,
        next_page_token: bytes | None = None,
    ) -> tuple[list[WorkflowExecutionDescription], bytes | None]:
        """One page of runs (oldest first), optionally only those with ``status``."""
        if not self._ready:
            await self._ensure_started()
        if page_size < 1:
            raise InvalidArgumentError("page_size must be at least 1")
        after = None
        if next_page_token:
            try:
                import json

                t = json.loads(next_page_token.decode())
                after = (float(t[0]), str(t[1]), str(t[2]))
            except Exception as err:
                raise InvalidArgumentError(f"bad next_page_token: {err}") from None
        records = await self.store.list_runs(status=status, limit=page_size + 1, after=after)
        more = len(records) > page_size
        records = records[:page_size]
        out = []
        for rec in records:
            run = self._by_run_id.get(rec.run_id)
            r = run.record if run is not None else rec
            # the memo as describe() has it, where the history is at hand (a store that
            # lists runs without their history leaves it empty, as before)
            memo = (r.history[0].attributes.get("memo") if r.history else None) or {}
            out.append(
                WorkflowExecutionDescription(
                    id=r.workflow_id,
                    run_id=r.run_id,
                    workflow_type=r.workflow_type,
                    status=r.status,
                    start_time=datetime.fromtimestamp(r.start_time, UTC),
                    close_time=datetime.fromtimestamp(r.close_time, UTC)
                    if r.close_time is not None
                    else None,
                    history_length=r.length,
                    memo={k: self.converter.decode_one(v) for k, v in memo.items()},
                )
            )
        token = None
        if more and records:
            import json

            last = records[-1]
            token = json.dumps([last.start_time, last.workflow_id, last.run_id]).encode()
        return out, token
