"""compare-traces as a user runs it: arguments checked before anything starts, a deadline
that names the runtime and the last failure, a waiting workflow driven to its end with its
timers skipped, ``module:Class`` found from the current directory, progress as it goes, and
no dev server left behind on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bridge._devserver import DevServer, _alive, _children
from bridge.compare import (
    Action,
    CompareError,
    check_call,
    load_workflow,
    main,
    parse_action,
)
from bridge.compare._drive import run_fastcore
from fastcore import Engine, activity, workflow

from .test_compare import CHROMIUM, chromium_dom

REPO = Path(__file__).parents[3]
T = timedelta(seconds=10)


@activity.defn
async def reserve(item: str) -> str:
    return f"reserved {item}"


@workflow.defn
class Waits:
    """Waits for a signal (an hour at most), then sleeps two hours: it ends only when driven
    and with its timers skipped."""

    def __init__(self) -> None:
        self.paid = False
        self.items: list[str] = []

    @workflow.run
    async def run(self, item: str) -> str:
        reserved = await workflow.execute_activity(reserve, item, start_to_close_timeout=T)
        await workflow.wait_condition(lambda: self.paid, timeout=timedelta(hours=1))
        await workflow.sleep(timedelta(hours=2))
        return f"{reserved}, {len(self.items)} more, paid={self.paid}"

    @workflow.signal
    def pay(self) -> None:
        self.paid = True

    @workflow.update
    def add_item(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)


@workflow.defn
class Broken:
    """Its workflow task fails on every attempt (a bug, not an ApplicationError)."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("the bug in Broken.run")


@workflow.defn
class WaitsForever:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.go)

    @workflow.signal
    def release(self) -> None:
        self.go = True


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    for name in ("PYTHONPATH", "TEMPORAL_ADDRESS", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)
    return env


# ---------------------------------------------------------------------- before anything starts


def test_arguments_that_do_not_fit_fail_at_once_with_the_signature(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _children("temporal")
    # no --temporal-address: a dev server would start if the check came later
    code = _run_main(["--workflow", f"{__name__}:Waits", "--html", os.devnull])
    err = capsys.readouterr().err
    assert code == 1
    assert "Waits.run(item: str) -> str does not take no arguments" in err
    assert "starting a dev server" not in err
    assert _children("temporal") == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--signal", "nope"], "Waits has no signal 'nope' (its signals: pay)"),
        (["--update", "add_item"], "update add_item(item: str) -> int does not take no argu"),
        (["--update", "add_item=[1"], "--update 'add_item=[1': the value is not JSON"),
        (["--arg", "sku"], "--arg #1 'sku' is not JSON"),
    ],
)
def test_signals_and_updates_are_checked_too(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--workflow", f"{__name__}:Waits", "--html", os.devnull]
    if "--arg" not in options:
        argv += ["--arg", '"sku-1"']
    assert _run_main([*argv, *options]) == 1
    assert message in capsys.readouterr().err


def test_check_call_and_parse_action() -> None:
    check_call(
        Waits, ["sku"], [parse_action("signal", "pay"), parse_action("update", 'add_item="x"')]
    )
    assert parse_action("update", 'add_item={"a": [1]}') == Action(
        "update", "add_item", ({"a": [1]},)
    )
    with pytest.raises(ValueError, match="NAME or NAME=JSON"):
        parse_action("signal", "=1")
    with pytest.raises(ValueError, match=r"does not take 2 arguments"):
        check_call(Waits, ["a", "b"], [])


def _run_main(argv: list[str]) -> int:
    import asyncio

    return asyncio.run(main(argv))


# ---------------------------------------------------------------------- deadlines


def test_a_run_past_its_deadline_names_temporal_and_its_last_failure(
    temporal_server: DevServer, global_provider_reset: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_main(
        [
            *("--workflow", f"{__name__}:Broken", "--temporal-address", temporal_server.target),
            *("--unsandboxed", "--warmup", "0", "--timeout", "3", "--html", os.devnull),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    line = next(x for x in err.splitlines() if x.startswith("compare-traces: error:"))
    assert re.search(r"Temporal: Broken \(id \S+\) did not finish within 3s: status RUNNING", line)
    assert "last failure: workflow task failed" in line
    assert "RuntimeError: the bug in Broken.run" in line
    assert "Traceback" not in err


async def test_a_fastcore_run_past_its_deadline_names_fastcore_and_its_last_failure() -> None:
    async with Engine(workflows=[Broken, WaitsForever]) as engine:
        with pytest.raises(CompareError) as failed:
            await run_fastcore(engine, "Broken", [], [], id="broken", timeout=0.5)
        message = str(failed.value)
        assert message.startswith("fastcore: Broken (id broken) did not finish within 0.5s")
        assert "last failure: workflow task failed: RuntimeError: the bug in Broken.run" in message
        # a run that only waits says so, and what would move it
        with pytest.raises(CompareError, match=r"no failure recorded: it is waiting.*--signal"):
            await run_fastcore(engine, "WaitsForever", [], [], id="waits", timeout=0.5)
        # it was ended, not left running
        assert (await engine.get_workflow_handle("waits").describe()).status.name == "TERMINATED"


# ---------------------------------------------------------------------- a waiting workflow


_USER_MODULE = """
from datetime import timedelta
from fastcore import activity, workflow

@activity.defn
async def reserve(item: str) -> str:
    return f"reserved {item}"

@workflow.defn
class Checkout:
    def __init__(self) -> None:
        self.paid = False
        self.items: list[str] = []

    @workflow.run
    async def run(self, item: str) -> str:
        reserved = await workflow.execute_activity(
            reserve, item, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.wait_condition(lambda: self.paid, timeout=timedelta(hours=1))
        await workflow.sleep(timedelta(hours=2))
        return f"{reserved}, {len(self.items)} more, paid={self.paid}"

    @workflow.signal
    def pay(self) -> None:
        self.paid = True

    @workflow.update
    def add_item(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)
"""


def test_a_waiting_workflow_in_the_current_directory_is_driven_to_its_end(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    """As the README's worked example: a module of one's own, found from the current
    directory with no PYTHONPATH, a signal and an update, hours of timers skipped."""
    (tmp_path / "checkout.py").write_text(textwrap.dedent(_USER_MODULE))
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "bridge", "compare-traces", "--workflow", "checkout:Checkout"),
            *("--arg", '"sku-1"', "--update", 'add_item="sku-2"', "--signal", "pay"),
            *("--temporal-address", temporal_server.target, "--timeout", "60"),
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    want = '"reserved sku-1, 1 more, paid=True"'
    assert f"result on Temporal: {want}" in proc.stdout
    assert f"result on fastcore: {want}" in proc.stdout
    progress = [x for x in proc.stderr.splitlines() if x.startswith("compare-traces: ")]
    assert progress[0].startswith("compare-traces: checkout:Checkout on Temporal and on fastcore")
    for runtime in ("Temporal", "fastcore"):
        assert f"compare-traces: {runtime}: measured run ..." in progress
        assert f"compare-traces: {runtime}: measured run done: {want}" in progress
    for step in ("HandleSignal:pay", "HandleUpdate:add_item", "RunActivity:reserve"):
        assert re.search(rf"^{step}\s", proc.stdout, re.M), step
    page = tmp_path / "compare-traces.html"
    assert page.exists()
    if CHROMIUM.exists():
        dom = chromium_dom(page, tmp_path)
        assert 'data-scale="shared"' in dom
        axes = re.findall(r'<svg id="timeline-(\w+)"[^>]*data-axis-max="(\d+)"', dom)
        assert len(axes) == 2 and axes[0][1] == axes[1][1], axes  # one time axis for both


# ---------------------------------------------------------------------- signals


def test_sigterm_leaves_no_temporal_server(tmp_path: Path) -> None:
    """compare-traces starts its own dev server; SIGTERM mid-run ends that server too."""
    (tmp_path / "forever.py").write_text(
        "from fastcore import workflow\n\n"
        "@workflow.defn\nclass Forever:\n"
        "    @workflow.run\n    async def run(self) -> None:\n"
        "        await workflow.wait_condition(lambda: False)\n"
    )
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "bridge", "compare-traces", "--workflow", "forever:Forever"),
            *("--timeout", "600"),
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # until the first run is under way on the dev server
            seen.append(line)
            if "Temporal: warm-up run 1/1 ..." in line:
                break
        else:
            raise AssertionError("".join(seen))
        servers = _children("temporal", parent=proc.pid)
        assert len(servers) == 1, (servers, seen)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGTERM
        assert not [pid for pid in servers if _alive(pid)], "the dev server outlived SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_load_workflow_finds_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine_wf.py").write_text(textwrap.dedent(_USER_MODULE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    cls, module = load_workflow("mine_wf:Checkout")
    assert cls.__name__ == "Checkout" and module.__file__ == str(tmp_path / "mine_wf.py")
    with pytest.raises(ValueError, match="not a fastcore workflow"):
        load_workflow("mine_wf:timedelta")
