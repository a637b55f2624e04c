"""Choosing a store by URL: ``memory`` or ``sqlite:///path`` (imported only when used)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from ._store import MemoryStore, Store
from .errors import InvalidArgumentError

__all__ = ["open_store"]


def open_store(url: str | Store, **options: Any) -> Store:
    """Make a store from a URL: ``memory``, or ``sqlite:///relative.db`` / ``sqlite:////abs.db``.

    SQLite options come as keyword arguments or URL query parameters:
    ``durability=sync|batch``, ``batch_interval=<seconds>``, ``batch_size=<events>``.
    """
    if isinstance(url, Store):
        return url
    if url in ("memory", "memory://", ":memory:"):
        return MemoryStore()
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        from ._sqlite_store import SqliteStore  # imported lazily: memory users never pay

        path = url[len("sqlite:///") :].split("?", 1)[0] if url.startswith("sqlite:///") else ""
        if not path:
            raise InvalidArgumentError(f"sqlite store URL needs a path: {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        merged: dict[str, Any] = {**query, **options}
        return SqliteStore(path, **merged)
    raise InvalidArgumentError(
        f"unknown store {url!r}: use 'memory' or 'sqlite:///path/to/file.db'"
    )
