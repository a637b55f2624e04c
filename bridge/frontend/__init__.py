"""Temporal's WorkflowService (frontend API) served for a fastcore engine.

``BridgeServer`` registers ``FrontendServicer`` on its own port, behind its token check
and TLS, so Temporal's own clients drive the engine unchanged::

    async with bridge.BridgeServer(engine, address="127.0.0.1:7233") as server:
        client = await temporalio.client.Client.connect(server.address)
        # or: temporal workflow list --address 127.0.0.1:7233

Served: ``GetSystemInfo``, ``DescribeNamespace``, ``StartWorkflowExecution``,
``SignalWithStartWorkflowExecution``, ``ExecuteMultiOperation`` (update-with-start),
``SignalWorkflowExecution``, ``QueryWorkflow``, ``UpdateWorkflowExecution``,
``PollWorkflowExecutionUpdate``, ``RequestCancelWorkflowExecution``,
``TerminateWorkflowExecution``, ``GetWorkflowExecutionHistory`` (paged, long polls),
``DescribeWorkflowExecution``, ``ListWorkflowExecutions`` and ``CountWorkflowExecutions``
(Temporal's visibility query language). Every other method answers ``UNIMPLEMENTED``
("unknown method ...").

Modules: ``_servicer`` (the RPCs), ``_start`` (starts, signal-with-start, request ids),
``_updates`` (updates, polls, update-with-start), ``_queries`` (queries, ``__stack_trace``),
``_history`` (history pages and long polls), ``_waiting`` (long-poll budgets and wake-ups),
``_describe`` (describe and list rows), ``_listing`` (list and count, answered by the
engine), ``_search_attributes`` (Temporal's search attribute payloads to the engine's typed
ones and back), ``_payloads`` (payload encodings),
``_errors`` (status codes with Temporal's typed details).
"""

from __future__ import annotations

from ._servicer import SERVED_METHODS, SERVICE_NAME, FrontendServicer

__all__ = ["SERVED_METHODS", "SERVICE_NAME", "FrontendServicer"]
