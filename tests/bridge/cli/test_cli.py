"""The ``fastcore-bridge`` command line: help, settings, ``--workflows``, ``dev``, ``workflow``.

``workflow show`` runs ``main()`` in a thread against a real ``BridgeServer`` on this test's
loop; ``dev`` runs as a ``python -m bridge`` subprocess, as a user runs it, and the
``temporal`` commands it prints run as a fresh shell would run them. Every process a test
starts, it stops. (The demo is the samples' program: tests/samples.)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from temporalio.client import Client

from bridge import BridgeClient, BridgeServer
from bridge._devserver import DevServer
from bridge.cli import READY_PREFIX, build_parser, main
from fastcore import Engine, WorkflowExecutionStatus
from samples import trading_preflight
from tests.fastcore.wf_defs import ThreeSteps, Waiter, inc

REPO = Path(__file__).resolve().parents[3]
WAIT = 30.0  # seconds a condition may take before a test fails (never a sleep)


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"}
    for name in ("TEMPORAL_ADDRESS", "FASTCORE_BRIDGE_ADDRESS", "FASTCORE_TASK_QUEUE"):
        env.pop(name, None)
    return env


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    """Stop a process this test started, by its id; kill it if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# --------------------------------------------------------------------------- parser, help


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["dev"],
        ["worker"],
        ["workflow"],
        ["workflow", "show"],
        ["compare-traces"],
    ],
    ids=lambda a: "-".join(a) or "top",
)
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: fastcore-bridge")


def test_python_dash_m_bridge_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "--help"],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("dev", "worker", "workflow", "compare-traces"):
        assert command in proc.stdout


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "required" in capsys.readouterr().err


def test_worker_defaults_come_from_the_environment_and_flags_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("FASTCORE_BRIDGE_ADDRESS", "0.0.0.0:7600")
    monkeypatch.setenv("FASTCORE_STORE", "sqlite:////var/lib/fastcore/fastcore.db")
    monkeypatch.setenv("FASTCORE_TASK_QUEUE", "orders")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317")
    args = build_parser().parse_args(["worker"])
    assert args.temporal_address == "temporal:7233"
    assert args.bridge_address == "0.0.0.0:7600"
    assert args.store == "sqlite:////var/lib/fastcore/fastcore.db"
    assert args.task_queue == "orders"
    assert args.otlp_endpoint == "http://jaeger:4317"
    args = build_parser().parse_args(
        ["worker", "--temporal-address", "10.0.0.5:7233", "--task-queue", "q2", "--store", "memory"]
    )
    assert (args.temporal_address, args.task_queue, args.store) == ("10.0.0.5:7233", "q2", "memory")
    # The client commands dial the bridge the environment names (a wildcard bind is here).
    args = build_parser().parse_args(["workflow", "show", "x"])
    assert args.address == "127.0.0.1:7600"


def test_worker_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "FASTCORE_BRIDGE_ADDRESS", "FASTCORE_STORE"):
        monkeypatch.delenv(name, raising=False)
    args = build_parser().parse_args(["worker"])
    assert args.temporal_address == "127.0.0.1:7233"
    assert args.bridge_address == "127.0.0.1:7600"
    assert args.store == "memory"
    assert args.insecure is False


@pytest.mark.parametrize(
    "extra",
    [[], ["--token", "t0k3n"]],
    ids=["no-tls-no-token", "token-only"],
)
def test_worker_refuses_a_public_bridge_without_tls_and_token(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before anything connects or binds (the Temporal address is a dead port)."""
    code = main(
        [
            "worker",
            "--temporal-address",
            "127.0.0.1:1",
            "--bridge-address",
            "0.0.0.0:0",
            "--connect-timeout",
            "0",
            *extra,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "refusing to serve the bridge on 0.0.0.0:0" in err
    assert "--insecure" in err


def test_worker_reports_an_unreachable_temporal(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["worker", "--temporal-address", "127.0.0.1:1", "--bridge-address", "127.0.0.1:0"]
    argv += ["--workflows", "samples.worker"]
    assert main([*argv, "--connect-timeout", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastcore-bridge: error: cannot connect to Temporal at 127.0.0.1:1")
    assert "Traceback" not in err


def test_a_taken_bridge_port_is_one_clear_line_without_grpc_noise(
    temporal_server: DevServer,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["worker", "--workflows", "samples.worker", "--bridge-address", f"127.0.0.1:{port}"]
        proc = subprocess.run(
            [sys.executable, "-m", "bridge", *argv, "--temporal-address", temporal_server.target],
            cwd=REPO,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"fastcore-bridge: error: cannot bind the bridge to 127.0.0.1:{port}: port {port} is "
        "already in use (another process listens there; choose another port, or 0 for any "
        "free one)"
    ], proc.stderr


def test_worker_tls_flags_must_come_in_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["worker", "--tls-cert", "cert.pem", "--temporal-address", "127.0.0.1:1"])
    assert code == 2
    assert "--tls-cert and --tls-key" in capsys.readouterr().err


def test_worker_needs_a_workflows_module_and_dev_has_a_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FASTCORE_WORKFLOWS", raising=False)
    assert build_parser().parse_args(["dev"]).workflows == "bridge.cli.demo"
    argv = ["worker", "--temporal-address", "127.0.0.1:1", "--bridge-address", "127.0.0.1:0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no workflows to host: give --workflows MODULE (or set FASTCORE_WORKFLOWS)" in err
    assert "Traceback" not in err


def test_workflows_module_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTCORE_WORKFLOWS", "samples.worker")
    assert build_parser().parse_args(["worker"]).workflows == "samples.worker"
    assert build_parser().parse_args(["dev"]).workflows == "samples.worker"
    args = build_parser().parse_args(["worker", "--workflows", "mine.worker"])
    assert args.workflows == "mine.worker"


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("no_such_module_here", "cannot import the workflows module 'no_such_module_here'"),
        ("samples._common", "the workflows module 'samples._common' has no make_engine()"),
    ],
)
def test_a_bad_workflows_module_is_one_clear_error(
    module: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["worker", "--temporal-address", "127.0.0.1:1", "--bridge-address", "127.0.0.1:0"]
    assert main([*argv, "--workflows", module, "--connect-timeout", "0"]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_workflows_module_is_found_from_the_current_directory(tmp_path: Path) -> None:
    """As ``python -m`` finds a module: the console script has no cwd on sys.path."""
    (tmp_path / "my_workflows.py").write_text("MARK = 'imported from the cwd'\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.remove(''); sys.argv[0] = 'fastcore-bridge'; "
            "from bridge.cli import main; main()",
            "worker",
            "--workflows",
            "my_workflows",
            "--temporal-address",
            "127.0.0.1:1",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "the workflows module 'my_workflows' has no make_engine()" in proc.stderr, proc.stderr


def test_compare_traces_is_delegated(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``compare-traces`` hands its arguments to ``bridge.compare`` (its own parser)."""
    from bridge.compare import Span, write_trace_file

    def spans(activity_ns: int) -> list[Span]:
        run = Span("RunWorkflow:W", "a" * 32, "b" * 16, None, 0, 10 * activity_ns)
        act = Span("RunActivity:step", "a" * 32, "c" * 16, "b" * 16, 1, 1 + activity_ns)
        return [run, act]

    write_trace_file(tmp_path / "t.json", spans(20_000_000), runtime="temporal", workflow="W")
    write_trace_file(tmp_path / "f.json", spans(20_000), runtime="fastcore", workflow="W")
    page = tmp_path / "page.html"
    code = main(
        [
            "compare-traces",
            "--traces",
            str(tmp_path / "t.json"),
            str(tmp_path / "f.json"),
            "--html",
            str(page),
            "--no-otlp",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"^RunActivity:step\s+20\.00 ms\s+20\.0 µs\s+1,000x$", out, re.MULTILINE)
    assert page.exists()
    with pytest.raises(SystemExit) as exited:
        main(["compare-traces", "--help"])
    assert exited.value.code == 0
    assert "--traces" in capsys.readouterr().out


def test_unknown_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["dev", "--bogus"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


# --------------------------------------------------------------------------- dev


class _Lines:
    """A process's stdout, read by a thread, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, prefix: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no line {prefix!r} within {timeout}s: {self.lines}")
                self._cond.wait(remaining)


def _field(line: str, name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", line)
    assert match, (name, line)
    return match.group(1)


def _port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def dev_process() -> Iterator[tuple[subprocess.Popen[str], _Lines]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge",
            "dev",
            "--temporal-port",
            "0",
            "--bridge-address",
            "127.0.0.1:0",
            "--workflows",
            "samples.worker",
        ],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, _Lines(proc)
    finally:
        _stop(proc, signal.SIGINT)


async def test_dev_serves_temporal_worker_and_bridge_until_ctrl_c(
    dev_process: tuple[subprocess.Popen[str], _Lines], unique_id: str
) -> None:
    proc, lines = dev_process
    ready = await asyncio.to_thread(lines.wait_for, READY_PREFIX, 60)
    temporal = _field(ready, "temporal")
    bridge_address = _field(ready, "bridge")
    task_queue = _field(ready, "task_queue")
    assert temporal.startswith("127.0.0.1:") and bridge_address.startswith("127.0.0.1:")
    assert any(line.startswith("Temporal frontend:") for line in lines.lines)

    # The dev stack runs a sample, and the bridge shows the fastcore sub-workflow it ran.
    client = await Client.connect(temporal)
    report = await trading_preflight.run_sample(client, task_queue, prefix=unique_id)
    assert report["results"][0]["status"] == "filled"
    async with await BridgeClient.connect(bridge_address) as bridge:
        desc = await bridge.get_workflow_handle(f"{unique_id}-1/preflight").describe()
        assert desc.status is WorkflowExecutionStatus.COMPLETED
        assert desc.workflow_type == "TradePreflight"

    # Ctrl-C stops everything it started: the worker, the bridge, the dev server.
    assert await asyncio.to_thread(_stop, proc, signal.SIGINT) == 0
    assert not _port_open(bridge_address)
    assert not _port_open(temporal)


def test_dev_with_no_options_prints_temporal_commands_that_work_from_a_fresh_shell() -> None:
    """``fastcore-bridge dev`` alone hosts the demo Greeter; every command its banner prints
    runs, by its full path, in a shell with nothing of the venv on PATH. The same class runs
    on Temporal when the commands name the Temporal address."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge",
            "dev",
            "--temporal-port",
            "0",
            "--bridge-address",
            "127.0.0.1:0",
        ],
        cwd=REPO,
        env={k: v for k, v in _env().items() if k != "FASTCORE_WORKFLOWS"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _Lines(proc)
        ready = lines.wait_for(READY_PREFIX, 60)
        bridge_address, temporal = _field(ready, "bridge"), _field(ready, "temporal")
        commands = [x.strip() for x in lines.lines if x.startswith("  /")]
        assert len(commands) == 7, lines.lines
        fresh = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}

        def shell(command: str) -> str:
            done = subprocess.run(
                ["bash", "-c", command], env=fresh, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            return done.stdout

        outputs = [shell(c) for c in commands]
        assert all(f"--address {bridge_address}" in c for c in commands)
        assert "Result    2" in outputs[1]  # the update: two names now
        assert '["world","fastcore"]' in outputs[2]  # the query
        assert '"Hello, world and fastcore!"' in outputs[4]  # the result after the signal
        assert "greet-1" in outputs[5] and "Greeter" in outputs[5]  # the list
        assert "WORKFLOW_EXECUTION_COMPLETED" in outputs[6]  # fastcore's own events
        # the same commands against Temporal's address run Greeter as a Temporal workflow
        on_temporal = [
            c.replace(bridge_address, temporal).replace("greet-1", "greet-on-temporal")
            for c in commands[:5]
        ]
        assert '"Hello, world and fastcore!"' in [shell(c) for c in on_temporal][4]
        assert _stop(proc, signal.SIGINT) == 0
        assert not _port_open(temporal)
    finally:
        _stop(proc, signal.SIGKILL)


def test_dev_says_when_the_temporal_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["dev", "--temporal-port", str(port), "--bridge-address", "127.0.0.1:0"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}: the port is taken" in err
    assert f"--temporal-address 127.0.0.1:{port}" in err


def test_dev_and_worker_agree_on_the_temporal_port() -> None:
    dev = build_parser().parse_args(["dev"])
    worker = build_parser().parse_args(["worker"])
    assert worker.temporal_address.endswith(f":{dev.temporal_port}")


# --------------------------------------------------------------------------- workflow ...


@pytest_asyncio.fixture(loop_scope="function")
async def served() -> AsyncIterator[tuple[Engine, str]]:
    engine = Engine(workflows=[Waiter, ThreeSteps], activities=[inc])
    async with engine, BridgeServer(engine, address="127.0.0.1:0") as server:
        yield engine, server.address


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.mark.parametrize(
    ("argv", "suggested"),
    [
        (["workflow", "list"], "workflow list --address 127.0.0.1:7600"),
        (
            ["workflow", "describe", "order-1", "--address", "127.0.0.1:7777"],
            "workflow describe --address 127.0.0.1:7777 --workflow-id order-1",
        ),
        (
            ["workflow", "signal", "order-1", "approve", "--input", '"alice"'],
            "workflow signal --address 127.0.0.1:7600 --workflow-id order-1 ...",
        ),
    ],
)
def test_what_temporal_does_is_pointed_to_not_copied(
    argv: list[str],
    suggested: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FASTCORE_BRIDGE_ADDRESS", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is the temporal CLI's job" in err
    line = next(x.strip() for x in err.splitlines() if "--address" in x)
    assert line.endswith(suggested), line
    assert Path(line.split()[0]).name == "temporal"


def test_help_says_what_temporal_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["workflow", "--help"])
    out = capsys.readouterr().out
    assert "temporal workflow ... --address <bridge>" in " ".join(out.split())
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "temporal workflow ... --address <bridge>" in " ".join(capsys.readouterr().out.split())


async def test_workflow_show_as_fastcores_own_events(
    served: tuple[Engine, str],
    capsys: pytest.CaptureFixture[str],
    unique_id: str,
    tmp_path: Path,
) -> None:
    engine, address = served
    await engine.execute_workflow(ThreeSteps.run, 1, id=unique_id)
    events = await engine.get_workflow_handle(unique_id).fetch_history()
    capsys.readouterr()

    assert await _cli("workflow", "show", unique_id, "--address", address) == 0
    text = capsys.readouterr().out.splitlines()
    assert len(text) == len(events)
    assert "WORKFLOW_EXECUTION_STARTED" in text[0] and '"ThreeSteps"' in text[0]
    assert "WORKFLOW_EXECUTION_COMPLETED" in text[-1]

    assert await _cli("workflow", "show", unique_id, "--address", address, "--output", "json") == 0
    own = json.loads(capsys.readouterr().out)
    assert [e["event_type"] for e in own] == [e.event_type.value for e in events]

    target = tmp_path / "history.json"
    code = await _cli(
        "workflow",
        "show",
        unique_id,
        "--address",
        address,
        "--output",
        "json",
        "--file",
        str(target),
    )
    assert code == 0
    assert "wrote" in capsys.readouterr().err
    assert json.loads(target.read_text()) == own


async def test_workflow_errors_are_one_line(
    served: tuple[Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, address = served
    assert await _cli("workflow", "show", "no-such-workflow", "--address", address) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastcore-bridge: error: WorkflowNotFoundError")
    assert "Traceback" not in err

    # Nothing listens on port 1.
    assert await _cli("workflow", "show", "x", "--address", "127.0.0.1:1", "--timeout", "1") == 1
    assert "cannot reach the bridge" in capsys.readouterr().err


async def test_workflow_commands_with_a_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-t0ken\n")
    engine = Engine(workflows=[Waiter])
    async with engine, BridgeServer(engine, address="127.0.0.1:0", token="s3cret-t0ken") as server:
        await engine.start_workflow(Waiter.run, id="waiting")
        listing = ("workflow", "show", "waiting", "--address", server.address)
        assert await _cli(*listing) == 1
        assert "UNAUTHENTICATED" in capsys.readouterr().err
        assert await _cli(*listing, "--token", "s3cret-t0ken") == 0
        assert await _cli(*listing, "--token-file", str(token_file)) == 0
        assert await _cli(*listing, "--token", "x", "--token-file", str(token_file)) == 2


# --------------------------------------------------------------------------- worker tracing


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    """An OTLP/gRPC trace collector that keeps what it is sent."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    async def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_worker_exports_one_trace_across_both_runtimes(
    temporal_server: DevServer, temporal_client: Client, unique_id: str
) -> None:
    collector = _Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    task_queue = f"traced-{unique_id}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge",
            "worker",
            "--workflows",
            "samples.worker",
            "--temporal-address",
            temporal_server.target,
            "--task-queue",
            task_queue,
            "--bridge-address",
            "off",
            "--otlp-endpoint",
            f"http://127.0.0.1:{port}",
        ],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _Lines(proc)
        ready = await asyncio.to_thread(lines.wait_for, READY_PREFIX, 60)
        assert _field(ready, "bridge") == "off"
        report = await trading_preflight.run_sample(temporal_client, task_queue, prefix=unique_id)
        assert report["results"][0]["status"] == "filled"
        # SIGTERM: a clean shutdown, which flushes the spans still batched.
        assert await asyncio.to_thread(_stop, proc) == 0
    finally:
        _stop(proc, signal.SIGKILL)
        await server.stop(0)

    by_name: dict[str, list[Any]] = {}
    for span in collector.spans:
        by_name.setdefault(span.name, []).append(span)
    (route,) = by_name["RunActivity:route_order"]  # only the filled order routes
    trace_id = route.trace_id
    in_trace = {s.name: s for s in collector.spans if s.trace_id == trace_id}
    # Temporal's workflow, its activity, the fastcore run inside it and its steps: one trace.
    for name in (
        "RunWorkflow:TradingOrderWorkflow",
        "RunActivity:fastcore.run_workflow",
        "RunWorkflow:TradePreflight",
        "RunActivity:check_limits",
        "RunActivity:book_fill",
    ):
        assert name in in_trace, (name, sorted(in_trace))
    started = in_trace["StartWorkflow:TradePreflight"]
    assert started.parent_span_id == in_trace["RunActivity:fastcore.run_workflow"].span_id
    assert in_trace["RunWorkflow:TradePreflight"].parent_span_id == started.span_id


def test_a_bad_advertise_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["worker", "--workflows", "samples.worker", "--temporal-address", "127.0.0.1:1"]
    argv += ["--bridge-address", "127.0.0.1:0", "--advertise-address", "no-port"]
    assert main(argv) == 2
    assert "--advertise-address: bridge address 'no-port' must be host:port" in (
        capsys.readouterr().err
    )


def test_worker_advertises_the_address_it_is_told(temporal_server: DevServer) -> None:
    """What the worker hands its fastcore activities as their location (what other workers
    dial to forward a signal) is the advertised address, not the bind address."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "bridge", "worker", "--workflows", "samples.worker"),
            *("--temporal-address", temporal_server.target, "--bridge-address", "127.0.0.1:0"),
            *("--advertise-address", "localhost:7601", "--task-queue", "advertise-test"),
        ],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = _Lines(proc).wait_for(READY_PREFIX)
        assert _field(ready, "advertise") == "localhost:7601"
        assert _field(ready, "bridge").startswith("127.0.0.1:")
    finally:
        assert _stop(proc) == 0


async def test_list_rows_carry_the_memo(served: tuple[Engine, str], unique_id: str) -> None:
    """``temporal workflow list --output json`` against the bridge, and the bridge's own
    client, show the memo a run was started with, as describe does."""
    from bridge._devserver import find_temporal_cli

    engine, address = served
    await engine.start_workflow(Waiter.run, id=unique_id, memo={"owner": "alice"})
    async with await BridgeClient.connect(address) as client:
        page, _ = await client.list_workflows()
        assert {d.id: d.memo for d in page}[unique_id] == {"owner": "alice"}
    listed = await asyncio.to_thread(
        subprocess.run,
        [find_temporal_cli(), "workflow", "list", "--address", address, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    rows = {r["execution"]["workflowId"]: r for r in json.loads(listed.stdout)}
    assert rows[unique_id]["memo"]["fields"] == {"owner": "alice"}
