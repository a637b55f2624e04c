"""``python -m bridge.compare``: the ``compare-traces`` command on its own."""

from __future__ import annotations

import asyncio
import sys

from ._command import main

if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
