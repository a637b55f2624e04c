"""A child process for the crash test: runs a mixed load on an SQLite store until killed.

``run DB LOGDIR N``   start N workflows and keep signalling them, forever
``recover DB LOGDIR`` reopen the store, finish every workflow, print results as JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from datetime import timedelta

from fastcore import Engine, WorkflowExecutionStatus, activity, workflow

T = timedelta(seconds=10)
LOGDIR = ""


def log(name: str, line: str) -> None:
    fd = os.open(os.path.join(LOGDIR, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@activity.defn
async def work(key: str, i: int) -> str:
    info = activity.info()
    log("executions", f"{info.workflow_id} {info.activity_id}")
    await asyncio.sleep(random.uniform(0.02, 0.1))  # real I/O: activities are in flight at the kill
    return f"{key}-{i}"


@workflow.defn
class Mixed:
    def __init__(self) -> None:
        self.tokens: list[str] = []

    @workflow.run
    async def run(self, key: str) -> dict[str, object]:
        steps = []
        for i in range(3):
            steps.append(await workflow.execute_activity(work, key, i, start_to_close_timeout=T))
        await workflow.sleep(timedelta(seconds=0.3))  # a durable timer, pending at the kill
        await workflow.wait_condition(lambda: len(self.tokens) >= 2)
        return {"steps": steps, "tokens": self.tokens}

    @workflow.signal
    def go(self, token: str) -> None:
        self.tokens.append(token)


async def signal_loop(engine: Engine, ids: list[str], prefix: str, rounds: int | None) -> None:
    n = 0
    while rounds is None or n < rounds:
        for wid in ids:
            h = engine.get_workflow_handle(wid)
            if (await h.describe()).status is not WorkflowExecutionStatus.RUNNING:
                continue
            token = f"{prefix}-{wid}-{n}"
            await h.signal(Mixed.go, token)
            log("accepted", token)  # after signal() returned: committed (sync mode)
        n += 1
        await asyncio.sleep(0.01)


async def run(db: str, n: int) -> None:
    async with Engine(f"sqlite:///{db}", workflows=[Mixed], activities=[work]) as engine:
        ids = [f"wf-{i}" for i in range(n)]
        for wid in ids:
            await engine.start_workflow(Mixed.run, wid, id=wid)
        log("progress", "started")
        # signals trickle in while activities run and timers are pending
        await asyncio.sleep(0.05)
        await signal_loop(engine, ids, "run", None)


async def recover(db: str) -> None:
    async with Engine(f"sqlite:///{db}", workflows=[Mixed], activities=[work]) as engine:
        page, _ = await engine.list_workflows(page_size=10_000)
        ids = [d.id for d in page]
        await signal_loop(engine, ids, "rec", 3)
        results = {}
        for wid in ids:
            results[wid] = await asyncio.wait_for(engine.get_workflow_handle(wid).result(), 30)
        histories = {}
        for wid in ids:
            hist = await engine.get_workflow_handle(wid).fetch_history()
            histories[wid] = [
                [e.event_type.value, e.timestamp, e.attributes.get("fire_at")] for e in hist
            ]
        print(json.dumps({"results": results, "histories": histories}))


def main() -> None:
    global LOGDIR
    mode, db, LOGDIR = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "run":
        asyncio.run(run(db, int(sys.argv[4])))
    else:
        asyncio.run(recover(db))


if __name__ == "__main__":
    main()
