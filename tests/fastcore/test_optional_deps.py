"""fastcore is a pure library: it runs with temporalio, grpc and protobuf impossible to import
(and without orjson, which it only uses when present)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys, importlib.abc

BLOCKED = ("temporalio", "grpc", "google.protobuf", "orjson", "bridge")

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())

import asyncio
from datetime import timedelta
from fastcore import Engine, activity, workflow

@activity.defn
async def inc(x: int) -> int:
    return x + 1

@workflow.defn
class W:
    @workflow.run
    async def run(self, x: int) -> int:
        for _ in range(3):
            x = await workflow.execute_activity(inc, x, start_to_close_timeout=timedelta(seconds=1))
        return x

async def main():
    async with Engine(sys.argv[1], workflows=[W], activities=[inc]) as engine:
        print(await engine.execute_workflow(W.run, 1, id="w"))
    loaded = [m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in BLOCKED)]
    print("loaded:", loaded)

asyncio.run(main())
"""


def test_fastcore_runs_without_temporal_grpc_protobuf_orjson(tmp_path: Path) -> None:
    for store in ("memory", f"sqlite:///{tmp_path}/x.db"):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, store],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["4", "loaded: []"]
