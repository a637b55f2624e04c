"""``fastcore-bridge store ...``: operate on a fastcore SQLite store file.

``store backup SRC DEST`` copies a store consistently with SQLite's backup API, also while an
engine is running on it (from a read connection of its own; the engine keeps writing), checks
the copy and renames it into place. Restore by pointing a store URL at the copy
(``sqlite:///DEST``), or by putting it where the old file was while no engine runs.
"""

from __future__ import annotations

import argparse
import asyncio

from fastcore.errors import FastcoreError
from fastcore.integration import backup_store_file

from ._common import EXIT_OK, CommandError

__all__ = ["add_store_commands"]


def add_store_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``store`` command and its subcommands to the top-level parser."""
    store = sub.add_parser("store", help="operate on a fastcore SQLite store file")
    store_sub = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    backup = store_sub.add_parser(
        "backup",
        help="a consistent copy of a store, also while an engine runs on it",
        description="Copy the SQLite store SRC to DEST with SQLite's online backup API (an "
        "engine may be running on SRC), check the copy, and rename it into place. Restore "
        "by pointing a store URL at the copy (sqlite:///DEST).",
    )
    backup.add_argument("source", metavar="SRC", help="the store file (e.g. fastcore.db)")
    backup.add_argument("dest", metavar="DEST", help="where to write the copy")
    backup.set_defaults(handler=_cmd_store_backup)


async def _cmd_store_backup(args: argparse.Namespace) -> int:
    try:
        await asyncio.to_thread(backup_store_file, args.source, args.dest)
    except (FastcoreError, ValueError, OSError) as err:
        raise CommandError(f"backup of {args.source} failed: {err}") from None
    print(f"backed up {args.source} to {args.dest}")
    return EXIT_OK
