"""Retried calls through Temporal's API are applied once, also after the bridge and its engine
restart: start and signal request ids are recorded in the engine's events, updates are keyed
by update id in the engine."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client

from bridge import BridgeServer
from fastcore import Engine
from tests.bridge.frontend import defs


async def _served(url: str) -> tuple[Engine, BridgeServer, Client]:
    engine = Engine(url, workflows=defs.WORKFLOWS, activities=defs.ACTIVITIES)
    await engine.start()
    server = BridgeServer(engine)
    await server.start()
    return engine, server, await Client.connect(server.address)


async def test_retries_are_applied_once_across_a_restart(tmp_path: Path, unique_id: str) -> None:
    url = f"sqlite:///{tmp_path}/frontend.db"
    start_id, signal_id = str(uuid.uuid4()), str(uuid.uuid4())
    engine, server, client = await _served(url)
    try:
        payloads = Payloads(payloads=await client.data_converter.encode(["ann"]))
        start = StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id=unique_id,
            workflow_type=WorkflowType(name="Cart"),
            task_queue=TaskQueue(name="q"),
            input=payloads,
            request_id=start_id,
        )
        first = await client.workflow_service.start_workflow_execution(start)
        signal = SignalWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id=unique_id),
            signal_name="add",
            input=Payloads(payloads=await client.data_converter.encode(["apple"])),
            request_id=signal_id,
        )
        await client.workflow_service.signal_workflow_execution(signal)
        handle = client.get_workflow_handle(unique_id)
        assert await handle.execute_update("add_many", ["pear"], id="u-1") == 2
    finally:
        await server.stop()
        await engine.shutdown()

    engine, server, client = await _served(url)
    try:
        # the same start again: the run it made, not ALREADY_EXISTS
        again = await client.workflow_service.start_workflow_execution(start)
        assert again.run_id == first.run_id
        # the same signal again: not applied a second time
        await client.workflow_service.signal_workflow_execution(signal)
        handle = client.get_workflow_handle(unique_id)
        assert await handle.query("count") == 2
        # the same update id again: its first outcome; the handler does not run again
        assert await handle.execute_update("add_many", ["fig"], id="u-1") == 2
        assert await handle.get_update_handle("u-1").result() == 2
        assert await handle.query("count") == 2
        await handle.signal("checkout")
        assert (await handle.result())["items"] == ["apple", "pear"]
    finally:
        await server.stop()
        await engine.shutdown()
