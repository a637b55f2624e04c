"""Import a user's module from the current directory, as ``python -m`` finds one.

The CLI's ``--workflows MODULE`` and compare-traces' ``--workflow MODULE:CLASS`` name the
user's own code, which sits beside them rather than on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

__all__ = ["import_user_module"]


def import_user_module(name: str, *, what: str = "") -> ModuleType:
    """The module ``name``, the current directory searched first when nothing else puts it
    on ``sys.path``.

    Args:
        name: The dotted module name.
        what: Says what the module is in the error (e.g. ``"the workflows module "``).

    Raises:
        ImportError: It cannot be imported; the message names it and the directory.
    """
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f"cannot import {what}{name!r} from {cwd}: {err}") from None
