"""Session-wide fixtures: one Temporal dev server, clients, unique ids, store choice."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client

from bridge._devserver import DevServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("memory", "sqlite"),
        default="memory",
        help="fastcore store the engine tests run on (default: memory)",
    )


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[DevServer]:
    """One tuned, time-skipping-enabled Temporal dev server for the whole session.

    A sync fixture on purpose: it belongs to no event loop, so tests on any loop
    scope can use it.
    """
    with DevServer(profile="tuned", time_skipping=True) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="function")
async def temporal_client(temporal_server: DevServer) -> AsyncIterator[Client]:
    """A client connected to the session's dev server, made on the test's own loop."""
    yield await temporal_server.connect()


@pytest.fixture
def unique_id(request: pytest.FixtureRequest) -> str:
    """An id unique to this test run, for workflow ids and task queue names."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return f"{name}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The fastcore store URL chosen by ``--store``: ``memory`` or a fresh SQLite file."""
    if request.config.getoption("--store") == "sqlite":
        return f"sqlite:///{tmp_path}/fastcore.db"
    return "memory"


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalization once temporalio's runtime threads exist.

    temporalio's Rust runtime keeps native threads that can abort CPython's finalization
    ("PyGILState_Release ... finalizing", temporalio/sdk-python#300), turning a green run
    into exit code -6. Everything is reported and flushed by now, so exit with pytest's own
    status directly.
    """
    if "temporalio.bridge.runtime" in sys.modules and _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
