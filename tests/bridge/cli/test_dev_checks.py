"""``fastcore-bridge dev`` checks its addresses before it starts anything (no dev server)."""

from __future__ import annotations

import socket

import pytest

from bridge.cli import main


def _dev(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["dev", "--workflows", "samples.worker", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("address", ["0.0.0.0:7600", "10.0.0.1:7600", "[::]:7600"])
def test_dev_refuses_an_open_bridge_address_before_starting_a_server(
    capsys: pytest.CaptureFixture[str], address: str
) -> None:
    status, out, err = _dev(capsys, "--bridge-address", address)
    assert status == 2
    assert f"refusing to serve the bridge on {address}" in err
    assert "starting a Temporal dev server" not in out  # nothing was started


@pytest.mark.parametrize("flag", ["--bridge-address", "--temporal-address"])
def test_dev_refuses_a_malformed_address(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    status, out, err = _dev(capsys, flag, "localhost")
    assert status == 2
    assert "must be host:port" in err
    assert "starting a Temporal dev server" not in out


def test_dev_refuses_a_taken_bridge_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = _dev(capsys, "--bridge-address", f"127.0.0.1:{port}")
    assert status == 1
    assert f"cannot serve the bridge on 127.0.0.1:{port}" in err
    assert "starting a Temporal dev server" not in out
