"""Engine test fixtures: every engine test runs on both stores unless ``--store`` picks one."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_url" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--store", default=None)
        explicit = any(a.startswith("--store") for a in metafunc.config.invocation_params.args)
        kinds = [chosen] if explicit and chosen else ["memory", "sqlite"]
        metafunc.parametrize("store_kind", kinds, indirect=False)


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path) -> str:
    """``memory``, or a fresh SQLite file for this test."""
    if store_kind == "sqlite":
        return f"sqlite:///{tmp_path}/fastcore.db"
    return "memory"
