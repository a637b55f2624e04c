"""The samples run on both stores, as the engine tests do (``--store`` picks one)."""

from __future__ import annotations

from tests.fastcore.conftest import pytest_generate_tests, store_url

__all__ = ["pytest_generate_tests", "store_url"]
