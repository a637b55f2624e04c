"""The demo, ``python -m samples``: every scenario end to end, and the table it prints.

It runs as a subprocess, as a user runs it, on the session's dev server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bridge._devserver import DevServer, _alive, _children
from samples._demo import SCENARIOS, main

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"}
    for name in ("TEMPORAL_ADDRESS", "FASTCORE_BRIDGE_ADDRESS", "FASTCORE_TASK_QUEUE"):
        env.pop(name, None)
    return env


def test_demo_rejects_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--temporal-address", "127.0.0.1:1", "--scenario", "nope"])
    assert code == 2
    assert "unknown scenario" in capsys.readouterr().err


def test_demo_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m samples")
    assert "--scenario" in out


def test_demo_runs_every_scenario_and_prints_the_table(temporal_server: DevServer) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "samples", "--temporal-address", temporal_server.target],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    header = next(line for line in out.splitlines() if line.startswith("scenario"))
    assert header.split() == ["scenario", "step", "ran", "on", "latency", "note"]
    for scenario in SCENARIOS:
        assert re.search(rf"^{scenario}\s", out, re.MULTILINE), scenario
    assert out.count("=> ") == len(SCENARIOS)  # an outcome row per scenario
    assert re.search(r"\sfastcore\s+[\d.,]+ (us|ms)", out)
    assert re.search(r"\stemporal\s+[\d.,]+ ms", out)
    assert "rejected (Rejected, non-retryable=True)" in out
    assert "rolled back in reverse order" in out
    assert f"{len(SCENARIOS)}/{len(SCENARIOS)} scenarios ran" in out
    assert "median fastcore step" in out
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signalled_demo_leaves_no_temporal_server(sig: signal.Signals) -> None:
    """The demo starts its own dev server; ending the demo with a signal ends the server."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "samples"],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:  # up to the line saying the server is up
            lines.append(line)
            if line.startswith("Temporal at "):
                break
        else:
            raise AssertionError("".join(lines) + demo.stderr.read())  # type: ignore[union-attr]
        servers = _children("temporal", parent=demo.pid)
        assert len(servers) == 1, servers
        demo.send_signal(sig)
        demo.wait(timeout=30)
        assert demo.returncode == -sig
        left = [pid for pid in servers if _alive(pid)]
        assert not left, f"temporal dev server {left} outlived the demo's {sig.name}"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
