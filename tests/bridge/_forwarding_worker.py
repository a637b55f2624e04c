"""One worker process of the loan-approval forwarding test.

``python -m tests.bridge._forwarding_worker ROLE TARGET TASK_QUEUE IDENTITY`` runs the
``workflow`` worker (the Temporal ``ForwardedLoanWorkflow`` and the forwarding local
activity) or the ``fastcore`` worker (an engine, its bridge endpoint on a free loopback
port and the bridge activity) of ``samples.loan_approval_forwarding`` on TASK_QUEUE, prints
``READY pid=<pid> bridge=<address or ->`` once it polls, and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import timedelta
from typing import Any

READY = "READY"


async def _serve(role: str, target: str, task_queue: str, identity: str) -> None:
    from temporalio.client import Client

    from samples import loan_approval_forwarding as sample

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    client = await Client.connect(target)
    options: dict[str, Any] = {
        "identity": identity,
        "graceful_shutdown_timeout": timedelta(seconds=1),
    }
    async with contextlib.AsyncExitStack() as stack:
        address = "-"
        if role == "workflow":
            await stack.enter_async_context(
                sample.workflow_worker(client, task_queue=task_queue, **options)
            )
        elif role == "fastcore":
            server, _ = await stack.enter_async_context(
                sample.fastcore_worker(client, task_queue=task_queue, **options)
            )
            address = server.address
        else:
            raise SystemExit(f"unknown role {role!r}: workflow or fastcore")
        print(f"{READY} pid={os.getpid()} bridge={address}", flush=True)
        await stop.wait()


def main(argv: list[str]) -> None:
    """``ROLE TARGET TASK_QUEUE IDENTITY``: run one worker until SIGTERM."""
    role, target, task_queue, identity = argv
    asyncio.run(_serve(role, target, task_queue, identity))
    # Skip interpreter finalization, where the Temporal SDK's native threads can crash 3.11.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
