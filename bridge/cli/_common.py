"""What every ``fastcore-bridge`` command shares: exit statuses, ``CommandError``, the token.

``bridge.cli`` turns a ``CommandError`` into a one-line message and its exit status.
"""

from __future__ import annotations

import logging
from pathlib import Path

PROG = "fastcore-bridge"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

logger = logging.getLogger("bridge.cli")
"""The CLI's one logger (named for the entry module, whichever module logs)."""


class CommandError(Exception):
    """A failure to report in one line (no traceback) with exit status 1, or ``status``."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def _read_token(token: str | None, token_file: Path | None) -> str | None:
    if token and token_file:
        raise CommandError("give --token or --token-file, not both", EXIT_USAGE)
    if token_file is not None:
        try:
            return token_file.read_text().strip() or None
        except OSError as err:
            raise CommandError(f"cannot read the token file: {err}") from None
    return token or None


def _dialable(address: str) -> str:
    """A bind address as one to dial: a wildcard host means this machine."""
    host, sep, port = address.rpartition(":")
    if sep and host in ("0.0.0.0", "[::]", "::", ""):
        return f"127.0.0.1:{port}"
    return address
