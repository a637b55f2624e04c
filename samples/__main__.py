"""``python -m samples``: the demo, every scenario end to end (see ``samples._demo``)."""

from __future__ import annotations

from ._demo import main
from ._run import exit_now

if __name__ == "__main__":
    exit_now(main())
