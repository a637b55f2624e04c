"""The ``fastcore-bridge`` command line (``python -m bridge``): workers, dev stack, workflows.

``_main`` is the parser and ``main``; ``_worker`` runs ``worker`` and ``dev``, ``_workflow``
the ``workflow ...`` commands, ``_common`` holds what they share and ``_settings`` the
environment variables ``worker`` reads.
"""

from __future__ import annotations

from ._main import build_parser, main
from ._worker import READY_PREFIX

__all__ = ["READY_PREFIX", "build_parser", "main"]
