"""The ``fastcore-bridge`` command line (``python -m bridge``): workers, dev stack, histories.

``_main`` is the parser and ``main``; ``_worker`` runs ``worker`` and ``dev``, ``_workflow``
``workflow show`` and the pointers to the ``temporal`` CLI for the rest, ``_common`` holds
what they share and ``_settings`` the environment variables ``worker`` reads. ``demo`` is
the workflows module ``dev`` hosts when given none (a public module: one to read and copy).
"""

from __future__ import annotations

from ._main import build_parser, main
from ._worker import READY_PREFIX

__all__ = ["READY_PREFIX", "build_parser", "main"]
