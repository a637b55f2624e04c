"""Across runtimes: a Temporal workflow mirrors its fastcore sub-workflow and forwards to it.

The loan-approval scenario (``samples.loan_approval_forwarding``): the Temporal
``ForwardedLoanWorkflow`` runs the fastcore ``ReviewedCreditScoring`` through the bridge
with ``mirror=True``. The underwriter's ``approve`` signal and ``add_condition`` update go to
the Temporal workflow, which forwards them (a local activity with a ``BridgeClient``) to the
sub-workflow where it runs; the ``scoring`` query answers from the mirror, which the
sub-workflow's events keep fresh; the mirrored events are the sub-workflow's history.

The main test runs the two workers as two processes (``_forwarding_worker.py`` beside this
file) on two task queues, so the Temporal workflow's tasks run in one and the fastcore
sub-workflow in the other. Workers use Temporal's default sandboxed runner. Every process a
test starts, it stops; waits poll conditions with deadlines.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType as TEventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from bridge import BridgeClient
from fastcore.history import event_to_json
from samples import loan_approval_forwarding as sample

REPO = Path(__file__).resolve().parents[3]
SERVICE = "fastcore.bridge.v1.BridgeService"
WAIT = 30.0  # seconds a condition may take before a test fails (never a sleep)

pytestmark = pytest.mark.timeout(120)


async def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def application(wf_id: str, fastcore_queue: str, applicant: str = "erin") -> dict[str, Any]:
    return {
        "application_id": wf_id,
        "applicant": applicant,
        "amount": 20_000,
        "income": 90_000,
        "approval_timeout_days": 7,
        "fastcore_task_queue": fastcore_queue,
    }


async def test_in_process_forwarding(temporal_client: Client, unique_id: str) -> None:
    """Both workers in this process: signal, update, query and mirror, end to end."""
    queue, fc_queue = unique_id, f"{unique_id}-fastcore"
    async with (
        sample.workflow_worker(temporal_client, task_queue=queue),
        sample.fastcore_worker(temporal_client, task_queue=fc_queue) as (server, _),
    ):
        handle = await temporal_client.start_workflow(
            sample.ForwardedLoanWorkflow.run,
            application(unique_id, fc_queue),
            id=unique_id,
            task_queue=queue,
        )

        async def waiting() -> Any:
            state = await handle.query(sample.ForwardedLoanWorkflow.scoring)
            return state if state and state["stage"] == "awaiting_approval" else None

        state = await eventually(waiting, "the scoring to await approval")
        assert state["decision"] is None and state["recommendation"] == "review"
        location = await handle.query(sample.ForwardedLoanWorkflow.scoring_location)
        assert location["bridge_address"] == server.address
        assert location["workflow_id"] == f"{unique_id}/scoring"
        assert await handle.execute_update(
            sample.ForwardedLoanWorkflow.add_condition, "proof of income"
        ) == ["proof of income"]
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(sample.ForwardedLoanWorkflow.add_condition, " ")
        await handle.signal(sample.ForwardedLoanWorkflow.approve, "underwriter-7")
        result = await asyncio.wait_for(handle.result(), WAIT)
        assert result["scoring"]["decision"] == "approved"
        assert result["scoring"]["decided_by"] == "underwriter-7"
        assert result["scoring"]["conditions"] == ["proof of income"]
        final = await handle.query(sample.ForwardedLoanWorkflow.scoring)
        assert final["stage"] == "decided" and final["decision"] == "approved"
        mirrored = await handle.query(sample.ForwardedLoanWorkflow.scoring_events)
        async with await BridgeClient.connect(server.address) as bc:
            history = await bc.get_workflow_handle(f"{unique_id}/scoring").fetch_history()
        assert [e["event_id"] for e in mirrored] == [e.event_id for e in history]
        assert mirrored == [event_to_json(e) for e in history]
        assert result["mirrored_events"] == len(history)
        # The mirror and the forwarding are deterministic workflow code: the run replays.
        replay = await Replayer(workflows=sample.TEMPORAL_WORKFLOWS).replay_workflow(
            await handle.fetch_history()
        )
        assert replay.replay_failure is None


# ---------------------------------------------------------------- two processes


class WorkerProcess:
    """``python -m tests.bridge.subworkflow._forwarding_worker``, its output read by a thread."""

    def __init__(self, role: str, target: str, task_queue: str, identity: str) -> None:
        self.identity = identity
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bridge.subworkflow._forwarding_worker",
                role,
                target,
                task_queue,
                identity,
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.pid = 0
        self.bridge = ""
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            match = re.match(r"READY pid=(\d+) bridge=(\S+)", line)
            if match:
                self.pid, self.bridge = int(match.group(1)), match.group(2)
                self._ready.set()

    def wait_ready(self) -> None:
        if not self._ready.wait(WAIT):
            raise AssertionError(f"worker {self.identity} not ready in {WAIT}s: {self.lines}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)


@pytest.fixture
def two_workers(
    temporal_server: Any, unique_id: str
) -> Iterator[tuple[str, str, WorkerProcess, WorkerProcess]]:
    """The workflow worker and the fastcore worker, each a process with its own queue."""
    queue, fc_queue = f"{unique_id}-wf", f"{unique_id}-fc"
    wf = WorkerProcess("workflow", temporal_server.target, queue, f"wf-worker-{unique_id}")
    fc = WorkerProcess("fastcore", temporal_server.target, fc_queue, f"fc-worker-{unique_id}")
    try:
        wf.wait_ready()
        fc.wait_ready()
        yield queue, fc_queue, wf, fc
    finally:
        wf.stop()
        fc.stop()


async def test_approval_reaches_the_sub_workflow_in_another_process(
    temporal_client: Client,
    unique_id: str,
    two_workers: tuple[str, str, WorkerProcess, WorkerProcess],
) -> None:
    """The sample, run as the user runs it, on two worker processes."""
    queue, fc_queue, wf_worker, fc_worker = two_workers
    assert wf_worker.pid != fc_worker.pid
    report = await asyncio.wait_for(
        sample.run_sample(
            temporal_client, queue, fastcore_task_queue=fc_queue, prefix=unique_id, timeout=WAIT
        ),
        2 * WAIT,
    )
    result = report["result"]
    sub_id = f"{unique_id}/scoring"

    # The scoring awaited a human; the query on the Temporal workflow said so, from the mirror.
    assert report["waiting_state"]["stage"] == "awaiting_approval"
    assert report["waiting_state"]["decision"] is None
    # The update and the signal went to the Temporal workflow and reached the sub-workflow,
    # which ran in the fastcore worker's process.
    assert report["conditions"] == ["proof of income"]
    scoring = result["scoring"]
    assert scoring["decision"] == "approved" and scoring["decided_by"] == "underwriter-7"
    assert scoring["conditions"] == ["proof of income"]
    assert scoring["worker"] == f"{socket.gethostname()}:{fc_worker.pid}"
    assert result["forwarded"] == [{"signal": "approve", "by": "underwriter-7", "ok": True}]
    location = result["scoring_location"]
    assert location["pid"] == fc_worker.pid
    assert location["bridge_address"] == fc_worker.bridge
    assert location["workflow_id"] == sub_id
    # The latest state after the decision, from the mirror.
    assert report["final_state"]["stage"] == "decided"
    assert report["final_state"]["decision"] == "approved"

    # The Temporal workflow's tasks ran in one process, the bridge activity in the other.
    handle = temporal_client.get_workflow_handle(unique_id)
    history = await handle.fetch_history()
    wf_identities = {
        e.workflow_task_completed_event_attributes.identity
        for e in history.events
        if e.event_type == TEventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    }
    activity_identities = {
        e.activity_task_started_event_attributes.identity
        for e in history.events
        if e.event_type == TEventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    }
    assert wf_identities == {wf_worker.identity}
    assert activity_identities == {fc_worker.identity}
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.event_type == TEventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert markers.count("core_local_activity") == 2  # the forwarded update and signal

    # The mirrored events are the sub-workflow's history, event for event.
    mirrored = await handle.query(sample.ForwardedLoanWorkflow.scoring_events)
    async with await BridgeClient.connect(fc_worker.bridge) as bc:
        sub_history = await bc.get_workflow_handle(sub_id).fetch_history()
    assert mirrored == [event_to_json(e) for e in sub_history]
    assert result["mirrored_events"] == len(sub_history)
    kinds = [e["event_type"] for e in mirrored]
    assert "WORKFLOW_EXECUTION_SIGNALED" in kinds
    assert "WORKFLOW_EXECUTION_UPDATE_COMPLETED" in kinds
    assert kinds[-1] == "WORKFLOW_EXECUTION_COMPLETED"


# ---------------------------------------------------------------- the helpers' edge cases


async def test_forwarding_edge_cases(temporal_client: Client, unique_id: str) -> None:
    """Live query, updates (and their rejection), unknown names, an unreachable endpoint, a
    closed run, and a state query that fails: each as the module docs say."""
    from temporalio.worker import Worker

    from bridge import BridgeForwarder
    from tests.bridge.subworkflow._forwarding_worker import ForwardingProbe

    queue, fc_queue = unique_id, f"{unique_id}-fastcore"
    async with (
        BridgeForwarder() as forwarder,
        Worker(
            temporal_client,
            task_queue=queue,
            workflows=[ForwardingProbe],
            activities=forwarder.activities,
        ),
        sample.fastcore_worker(temporal_client, task_queue=fc_queue),
    ):
        out = await asyncio.wait_for(
            temporal_client.execute_workflow(
                ForwardingProbe.run,
                {"fastcore_task_queue": fc_queue},
                id=unique_id,
                task_queue=queue,
            ),
            WAIT,
        )
    assert out["live"]["stage"] == "awaiting_approval"
    assert out["update"] == ["collateral"]
    assert out["rejected"]["type"] == "WorkflowUpdateFailedError"
    assert out["rejected"]["non_retryable"] is True
    assert out["rejected"]["chain"][1:] == ["ApplicationError:ValueError"]
    assert out["unknown_signal"]["type"] == "InvalidArgumentError"
    assert out["closed"]["type"] == "WorkflowNotFoundError"
    assert out["result"]["decided_by"] == "probe"
    assert out["result"]["conditions"] == ["collateral"]
    # a query the sub-workflow has no handler for fails as temporalio's does
    assert "WorkflowQueryFailedError" in out["state_error"]
    assert "Query handler for 'no_such_query' expected but not found" in out["state_error"]
    assert out["statuses"] == {
        f"{unique_id}/scoring": "COMPLETED",
        f"{unique_id}/no-state": "COMPLETED",
    }
    assert out["unreachable"]["type"] == "RPCError:UNAVAILABLE"
    assert out["unreachable"]["non_retryable"] is False  # retried, then given up


# ---------------------------------------------------------------- the mirror's rules


def _batch(events: range, *, run_id: str = "r1", attempt: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "fastcore_mirror": 1,
        "workflow_id": "sub",
        "run_id": run_id,
        "workflow_type": "T",
        "bridge_address": f"127.0.0.1:{7000 + attempt}",
        "attempt": attempt,
        "events": [
            {"event_id": i, "event_type": "ACTIVITY_TASK_SCHEDULED", "timestamp": float(i)}
            for i in events
        ],
        **extra,
    }


def test_mirror_keeps_each_event_once_in_order() -> None:
    from bridge import FastcoreMirror

    m = FastcoreMirror(register=False, trace=False)
    assert m.location("sub") is None and m.events("sub") == [] and m.status("sub") is None
    m.apply(_batch(range(1, 4), state={"n": 3}))
    m.apply(_batch(range(2, 6)))  # overlaps: 2 and 3 are not added again
    assert [e["event_id"] for e in m.events("sub")] == [1, 2, 3, 4, 5]
    assert m.state("sub") == {"n": 3}  # a batch without a state keeps the last one
    m.apply(_batch(range(8, 9)))  # a gap: nothing past it is taken
    assert len(m.events("sub")) == 5
    m.apply(_batch(range(6, 7), state_error="InvalidArgumentError: no such query"))
    assert m.to_json()["sub"]["state_error"] == "InvalidArgumentError: no such query"
    assert m.status("sub") == "RUNNING"
    closing = _batch(range(7, 8))
    closing["events"][0]["event_type"] = "WORKFLOW_EXECUTION_COMPLETED"
    m.apply(closing)
    assert m.status("sub") == "COMPLETED" and m.workflow_ids() == ["sub"]
    m.apply({"not": "a batch"})  # ignored, with a warning
    assert len(m.events("sub")) == 7


def test_mirror_follows_retries_and_new_runs() -> None:
    from bridge import FastcoreLocation, FastcoreMirror

    m = FastcoreMirror(register=False, trace=False)
    m.apply(_batch(range(1, 6), attempt=1))
    # A retry resumes the run elsewhere: it resends the history and its location wins.
    m.apply(_batch(range(1, 4), attempt=2))
    assert [e["event_id"] for e in m.events("sub")] == [1, 2, 3]
    assert m.location("sub") == FastcoreLocation.from_json(_batch(range(0), attempt=2))
    m.apply(_batch(range(4, 9), attempt=1))  # late news from the replaced attempt
    assert len(m.events("sub")) == 3 and m.location("sub").bridge_address == "127.0.0.1:7002"
    # Another run of the same workflow id starts over.
    m.apply(_batch(range(1, 2), run_id="r2", attempt=1))
    assert len(m.events("sub")) == 1 and m.location("sub").run_id == "r2"


async def test_forwarding_follows_the_run_to_another_worker(
    temporal_client: Client, temporal_server: Any, unique_id: str
) -> None:
    """The fastcore worker process running the scoring stops (SIGTERM); the retry resumes it
    in the other one, whose location the mirror learns, and the approval goes there."""
    queue, fc_queue = unique_id, f"{unique_id}-fastcore"
    procs = [
        WorkerProcess("fastcore", temporal_server.target, fc_queue, f"fc-{n}-{unique_id}")
        for n in (1, 2)
    ]
    try:
        for p in procs:
            p.wait_ready()
        async with sample.workflow_worker(temporal_client, task_queue=queue):
            handle = await temporal_client.start_workflow(
                sample.ForwardedLoanWorkflow.run,
                application(unique_id, fc_queue),
                id=unique_id,
                task_queue=queue,
            )

            async def located(attempt: int) -> Any:
                loc = await handle.query(sample.ForwardedLoanWorkflow.scoring_location)
                state = await handle.query(sample.ForwardedLoanWorkflow.scoring)
                waiting = state is not None and state["stage"] == "awaiting_approval"
                # two queries, read one after the other: the location may arrive between
                found = waiting and loc is not None and loc["attempt"] == attempt
                return loc if found else None

            first = await eventually(lambda: located(1), "the scoring on its first worker")
            (gone,) = [p for p in procs if p.pid == first["pid"]]
            (other,) = [p for p in procs if p is not gone]
            assert first["bridge_address"] == gone.bridge
            await asyncio.to_thread(gone.stop)  # its worker, engine and bridge stop
            moved = await eventually(lambda: located(2), "the scoring resumed elsewhere")
            assert moved["pid"] == other.pid and moved["bridge_address"] == other.bridge
            assert moved["run_id"] == first["run_id"]  # the same run, resumed

            await handle.signal(sample.ForwardedLoanWorkflow.approve, "underwriter-9")
            result = await asyncio.wait_for(handle.result(), WAIT)
            assert result["scoring"]["decided_by"] == "underwriter-9"
            assert result["forwarded"] == [{"signal": "approve", "by": "underwriter-9", "ok": True}]
            mirrored = await handle.query(sample.ForwardedLoanWorkflow.scoring_events)
        async with await BridgeClient.connect(other.bridge) as bc:
            history = await bc.get_workflow_handle(f"{unique_id}/scoring").fetch_history()
        assert mirrored == [event_to_json(e) for e in history]
    finally:
        for p in procs:
            p.stop()


# ---------------------------------------------------------------- one trace


@pytest.fixture
def global_tracing() -> Iterator[Any]:
    """Temporal's replay-safe tracer provider as the global one for this test only."""
    import opentelemetry.trace as ot
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once
    from temporalio.contrib.opentelemetry import create_tracer_provider

    saved = (ot._TRACER_PROVIDER, ot._TRACER_PROVIDER_SET_ONCE)
    ot._TRACER_PROVIDER_SET_ONCE = Once()
    ot._TRACER_PROVIDER = None
    exporter = InMemorySpanExporter()
    provider = create_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ot.set_tracer_provider(provider)
    try:
        yield provider, exporter
    finally:
        provider.shutdown()
        ot._TRACER_PROVIDER, ot._TRACER_PROVIDER_SET_ONCE = saved


async def test_the_trace_sees_each_step_and_each_forward(
    temporal_server: Any, global_tracing: Any, unique_id: str
) -> None:
    """With Temporal's OpenTelemetry plugin: every mirrored event is an event on the span of
    the mirror signal that brought it, and a forwarded signal is one trace from the Temporal
    workflow's handler through the forwarding activity and gRPC into the fastcore handler."""
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    provider, exporter = global_tracing
    client = await temporal_server.connect(plugins=[OpenTelemetryPlugin(add_temporal_spans=True)])
    queue, fc_queue = unique_id, f"{unique_id}-fastcore"
    async with (
        sample.workflow_worker(client, task_queue=queue),
        sample.fastcore_worker(
            client, task_queue=fc_queue, engine_options={"tracer_provider": provider}
        ),
    ):
        with provider.get_tracer("test").start_as_current_span("client"):
            report = await sample.run_sample(
                client, queue, fastcore_task_queue=fc_queue, prefix=unique_id, timeout=WAIT
            )
    assert report["result"]["scoring"]["decided_by"] == "underwriter-7"
    spans = list(exporter.get_finished_spans())
    by_id = {s.context.span_id: s for s in spans}

    def ancestors(span: Any) -> list[str]:
        out = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            out.append(span.name)
        return out

    mirror_spans = [s for s in spans if s.name == "HandleSignal:__fastcore_mirror"]
    assert mirror_spans, sorted({s.name for s in spans})
    mirrored = [e for s in mirror_spans for e in s.events]
    assert [e.attributes["fastcore.event_id"] for e in mirrored] == list(
        range(1, report["result"]["mirrored_events"] + 1)
    )
    assert mirrored[0].name == "fastcore:WORKFLOW_EXECUTION_STARTED"
    assert mirrored[-1].name == "fastcore:WORKFLOW_EXECUTION_COMPLETED"
    assert "fastcore:WORKFLOW_EXECUTION_SIGNALED" in [e.name for e in mirrored]
    # The forwarded approval: Temporal handler -> local activity -> gRPC -> fastcore handler.
    sub_id = f"{unique_id}/scoring"
    (fc_signal,) = [
        s
        for s in spans
        if s.name == "HandleSignal:approve" and s.attributes["temporalWorkflowID"] == sub_id
    ]
    assert ancestors(fc_signal) == [
        f"{SERVICE}/SignalWorkflow",  # the bridge's server span
        f"{SERVICE}/SignalWorkflow",  # the forwarding activity's client span
        "RunActivity:fastcore.forward",
        "StartActivity:fastcore.forward",
        "HandleSignal:approve",  # the Temporal workflow's handler
        "SignalWorkflow:approve",  # the underwriter's client
        "client",
    ]
    assert len({s.context.trace_id for s in spans}) == 1
