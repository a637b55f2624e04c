"""Temporal's own Python samples run on fastcore and print what they print on Temporal.

The modules beside this one are samples from temporalio/samples-python (each names its source
path and commit), **re-written, not copied**: a workplace rule forbids committing code read
from public repositories, so each sample's workflow and activity code was written anew, as a
Temporal user would write that same sample, with the same structure, the same temporalio API
calls and options, the same names and the same printed output. What differs, and only that:

- ``from fastcore import workflow, activity`` (and ``fastcore.common``, ``fastcore.errors``,
  ``fastcore.converter``, ...) where the sample imports the temporalio module of that name;
- an ``Engine(store, workflows=[...], activities=[...], activity_executor=...)`` where the
  sample connects a ``Client`` and runs a ``Worker``: the engine is both, so a sample's
  worker.py and starter.py become one ``main``;
- waits: where a sample sleeps to let something happen (a cancel after two seconds, a query
  after three) it waits for that condition instead; pauses that only pace a demo are shorter;
  long timers and retry backoffs run under a ``VirtualClock``, the role Temporal's
  time-skipping test server plays in the samples' own tests.

Every sample runs on both stores (``memory`` and a fresh SQLite file) unless ``--store``
picks one; samples that restart between steps always use a file. Each test checks the
sample's printed lines (stdout) or its log records, in order.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fastcore.errors import ActivityError, ApplicationError, WorkflowFailureError

HERE = Path(__file__).parent
PKG = "tests.samples_temporal"


@dataclass(frozen=True)
class Sample:
    """One sample: its module (``main``), what it prints, how it is run."""

    module: str
    #: patterns each matching one stdout line, in this order (``re.search``)
    stdout: Sequence[str] = ()
    #: patterns each matching one log record's message, in this order
    logs: Sequence[str] = ()
    #: ``sys.argv[1:]`` per run of ``main``; one run without arguments by default
    runs: Sequence[Sequence[str]] = ((),)
    #: runs share one SQLite file (the sample restarts between steps)
    file_store: bool = False
    #: extra checks on (stdout lines, log records)
    check: Callable[[list[str], list[logging.LogRecord]], None] | None = None
    #: modules whose state a run changes (a counter of service calls): reloaded first
    fresh: Sequence[str] = ()
    #: what keeps it from running today (the test is skipped with this reason)
    waits_on: str = ""
    marks: Sequence[pytest.MarkDecorator] = field(default_factory=tuple)


_DETAILS = re.compile(r" \(\{.*\}\)$", re.DOTALL)


def message(record: logging.LogRecord) -> str:
    """A record's message without the details the workflow and activity loggers append."""
    return _DETAILS.sub("", record.getMessage())


def _exception_chain(lines: list[str], records: list[logging.LogRecord]) -> None:
    (record,) = [r for r in records if r.getMessage() == "Got workflow failure"]
    assert record.exc_info is not None
    err = record.exc_info[1]
    assert isinstance(err, WorkflowFailureError)
    assert isinstance(err.cause, ActivityError)
    app = err.cause.cause
    assert isinstance(app, ApplicationError)
    assert app.type == "RuntimeError"
    # temporalio prefixes the type on the string form too
    assert str(app).startswith("RuntimeError: Greeting exception: Hello, World!\nStack:\n")
    assert "compose_greeting" in str(app)  # the activity's own frame, from the stack trace


def _iterations(lines: list[str], records: list[logging.LogRecord]) -> None:
    got = [message(r) for r in records if message(r).startswith("Running workflow it")]
    # one record per run of the chain: workflow.logger skips replays
    assert got == [f"Running workflow iteration {i}" for i in range(10)]


def _heartbeats(count: int, pattern: str) -> Callable[[list[str], list[logging.LogRecord]], None]:
    def check(lines: list[str], records: list[logging.LogRecord]) -> None:
        assert len([x for x in lines if re.search(pattern, x)]) == count

    return check


def _threads(lines: list[str], records: list[logging.LogRecord]) -> None:
    activity_threads = {x.rsplit(" ", 1)[1] for x in lines if x.startswith("Heartbeating")}
    (main_thread,) = [x.split()[3].rstrip(":") for x in lines if x.startswith("Result on")]
    assert len(activity_threads) == 1
    assert main_thread not in activity_threads  # the activity ran on the pool's thread


def _jobs(lines: list[str], records: list[logging.LogRecord]) -> None:
    # each of the six jobs got two nodes of its own, and gave them back
    assigned = [x for x in lines if x.startswith("Assigning nodes")]
    freed = [x for x in lines if x.startswith("Deallocating nodes")]
    assert sorted(x.rsplit(" ", 1)[1] for x in assigned) == [f"task-{i}" for i in range(6)]
    assert sorted(x.rsplit(" ", 1)[1] for x in freed) == [f"task-{i}" for i in range(6)]
    nodes = [n for x in assigned for n in re.findall(r"'(\d+)'", x)]
    assert len(nodes) == len(set(nodes)) == 12


def _benign(lines: list[str], records: list[logging.LogRecord]) -> None:
    # the BENIGN failure logs at DEBUG, the other at WARNING, as temporalio logs them
    failed = [r for r in records if r.getMessage().startswith("Completing activity as failed")]
    assert [(r.name, r.levelno) for r in failed] == [
        ("fastcore.activity", logging.DEBUG),
        ("fastcore.activity", logging.WARNING),
    ]
    assert "With benign flag" in str(failed[0].exc_info[1])  # type: ignore[index]


SAMPLES = [
    Sample("hello.hello_activity", stdout=["^Result: Hello, World!$"]),
    Sample(
        "hello.hello_activity_choice",
        stdout=[
            "^Order result: Ordered 8 Apples...Ordered 5 Bananas...Ordered 1 Cherries..."
            "Ordered 4 Oranges...$"
        ],
    ),
    Sample(
        "hello.hello_activity_heartbeat",
        stdout=["^Heartbeating activity$"] * 3 + ["^Result: Hello, World!$"],
    ),
    Sample("hello.hello_activity_method", stdout=["^Database update executed$"]),
    Sample(
        "hello.hello_activity_retry",
        stdout=[f"^Invoking activity, attempt number {i}$" for i in (1, 2, 3, 4)]
        + ["^Result: Hello, World!$"],
    ),
    Sample(
        "hello.hello_activity_threaded",
        stdout=[r"^Heartbeating activity on thread \d+$"] * 3
        + [r"^Result on thread \d+: Hello, World!$"],
        check=_threads,
    ),
    Sample(
        "hello.hello_async_activity_completion",
        stdout=["^Completing activity asynchronously$"]
        + ["^Waiting one second...$"] * 3
        + ["^Result: Hello, World!$"],
    ),
    Sample(
        "hello.hello_cancellation",
        stdout=[
            "^Heartbeating activity$",
            "^Executing cleanup activity$",
            "^Got expected exception: ",
            "^fastcore.errors.WorkflowFailureError: Workflow execution failed$",
        ],
        check=_heartbeats(1, "^Activity cancelled$"),
    ),
    Sample("hello.hello_child_workflow", stdout=["^Result: Hello, World!$"]),
    Sample("hello.hello_continue_as_new", check=_iterations),
    Sample("hello.hello_exception", logs=["^Got workflow failure$"], check=_exception_chain),
    Sample("hello.hello_local_activity", stdout=["^Result: Hello, World!$"]),
    Sample(
        "hello.hello_parallel_activity",
        stdout=[
            r"^Result: \['Hello, user1!', 'Hello, user2!', 'Hello, user3!', 'Hello, user4!', "
            r"'Hello, user5!'\]$"
        ],
    ),
    Sample(
        "hello.hello_patch",
        runs=[["v1"], ["v2"], ["v3"]],
        file_store=True,
        stdout=[
            "^Result: Hello, World!$",
            "^Result: Goodbye, World!$",
            "^Result: Goodbye, World!$",
        ],
    ),
    Sample(
        "hello.hello_query",
        stdout=[
            "^First greeting result: Hello, World!$",
            "^Second greeting result: Goodbye, World!$",
        ],
    ),
    Sample(
        "hello.hello_signal",
        stdout=[r"^Result: \['Hello, user1', 'Hello, user2', 'Hello, user3'\]$"],
    ),
    Sample(
        "hello.hello_update",
        stdout=["^Update Result: Workflow status updated$", "^Workflow Result: Hello, World!$"],
    ),
    Sample(
        "hello.hello_change_log_level",
        stdout=[
            "  ERROR     fastcore.worker  Failed activation on workflow GreetingWorkflow with ID "
            "hello-change-log-level-workflow-id",
            "^RuntimeError: This error is an experiment to check the log level$",
        ],
    ),
    Sample(
        "hello.hello_search_attributes",
        stdout=[
            r"^First search attribute values:  \['old-value'\]$",
            r"^Second search attribute values:  \['new-value'\]$",
        ],
    ),
    Sample(
        "hello.hello_cron",
        stdout=["^Running workflow once a minute$"],
        logs=["^Result: Hello, World!$"] * 3,
    ),
    Sample(
        "polling.frequent.run_frequent",
        fresh=["polling.test_service"],
        stdout=[f"^Attempt {i} of 5 to invoke service$" for i in range(1, 6)]
        + ["^Result: Hello, World!$"],
    ),
    Sample(
        "polling.infrequent.run_infrequent",
        fresh=["polling.test_service"],
        stdout=[f"^Attempt {i} of 5 to invoke service$" for i in range(1, 6)]
        + ["^Result: Hello, World!$"],
    ),
    Sample(
        "polling.periodic_sequence.run_periodic",
        fresh=["polling.test_service"],
        stdout=[f"^Attempt {i} of 5 to invoke service$" for i in range(1, 6)]
        + ["^Result: Hello, World!$"],
        logs=["^Activity failed, retrying in 1 seconds$"] * 4,
    ),
    Sample(
        "dsl.starter",
        runs=[[str(HERE / "dsl" / "workflow1.yaml")], [str(HERE / "dsl" / "workflow2.yaml")]],
        logs=[
            "^Running DSL workflow$",
            "^Executing activity1 with arg: value1$",
            "^DSL workflow completed$",
            r"^Final variables:\n    arg1: value1\n    arg2: value2\n"
            r"    result1: \[result from activity1: value1\]\n"
            r"    result2: \[result from activity2: \[result from activity1: value1\]\]\n"
            r"    result3: \[result from activity3: value2 \[result from activity2: "
            r"\[result from activity1: value1\]\]\]$",
            "^Running DSL workflow$",
            r"^Final variables:\n(?s:.*)    result6: \[result from activity3: "
            r"\[result from activity3: value2 .*\] \[result from activity5: value3 .*\]\]$",
        ],
    ),
    Sample(
        "updatable_timer.starter",
        logs=[
            "^sleep_until: ",
            r"^Going to sleep for 23:59:59",
            "^Workflow started: run_id=",
            "^update_wake_up_time:  ",
            r"^Going to sleep for 0:00:09",
            "^Updated wake up time to 10 seconds from now$",
            "^sleep_until completed$",
            "^Workflow completed: wake up time ",
        ],
    ),
    Sample(
        "sleep_for_days.starter",
        stdout=["^Email message: 30 days until the next email, sent$"] * 4 + ["^done!$"],
        check=_heartbeats(4, "^Email message"),
    ),
    Sample(
        "batch_sliding_window.starter",
        stdout=[
            "^Starting workflow with ID: batch_sliding_window_example_",
            r"^Input: ProcessBatchWorkflowInput\(page_size=5, sliding_window_size=10, "
            r"partitions=3\)$",
            "^Workflow started with ID: batch_sliding_window_example_",
            "^Waiting for workflow to complete...$",
            "^Workflow completed successfully!$",
            "^Total records processed: 90$",
        ],
    ),
    Sample(
        "patching.starter",
        file_store=True,
        runs=[
            ["--workflow", "initial", "--start-workflow", "initial-workflow-id"],
            ["--workflow", "initial", "--query-workflow", "initial-workflow-id"],
            ["--workflow", "patched", "--start-workflow", "patched-workflow-id"],
            ["--workflow", "patched", "--query-workflow", "initial-workflow-id"],
            ["--workflow", "patched", "--query-workflow", "patched-workflow-id"],
            ["--workflow", "patch-deprecated", "--start-workflow", "patch-deprecated-workflow-id"],
            ["--workflow", "patch-deprecated", "--query-workflow", "patched-workflow-id"],
            ["--workflow", "patch-deprecated", "--query-workflow", "patch-deprecated-workflow-id"],
            ["--workflow", "patch-complete", "--start-workflow", "patch-complete-workflow-id"],
            ["--workflow", "patch-complete", "--query-workflow", "patch-deprecated-workflow-id"],
            ["--workflow", "patch-complete", "--query-workflow", "patch-complete-workflow-id"],
        ],
        stdout=[
            "^Started workflow with ID initial-workflow-id and run ID ",
            "^Query result for ID initial-workflow-id: pre-patch$",
            "^Started workflow with ID patched-workflow-id and run ID ",
            "^Query result for ID initial-workflow-id: pre-patch$",
            "^Query result for ID patched-workflow-id: post-patch$",
            "^Started workflow with ID patch-deprecated-workflow-id and run ID ",
            "^Query result for ID patched-workflow-id: post-patch$",
            "^Query result for ID patch-deprecated-workflow-id: post-patch$",
            "^Started workflow with ID patch-complete-workflow-id and run ID ",
            "^Query result for ID patch-deprecated-workflow-id: post-patch$",
            "^Query result for ID patch-complete-workflow-id: post-patch$",
        ],
    ),
    Sample(
        "message_passing.introduction.starter",
        stdout=[
            r"^supported languages: \[<Language.CHINESE: 2>, <Language.ENGLISH: 3>\]$",
            "^language changed: ENGLISH -> CHINESE$",
            "^language changed: CHINESE -> ARABIC$",
            "^مرحبا بالعالم$",
        ],
    ),
    Sample(
        "message_passing.safe_message_handlers.starter",
        stdout=[
            "^Starting cluster$",
            "^Assigning jobs to nodes...$",
            r"^Assigning nodes \['\d+', '\d+'\] to job task-\d$",
            r"^Sleeping for 1 second\(s\)$",
            "^Deleting jobs...$",
            r"^Deallocating nodes \['\d+', '\d+'\] from job task-\d$",
            "^Cluster shut down successfully. It had 0 nodes assigned at the end.$",
        ],
        logs=["^Cluster started$", "^Cluster shut down$"],
        check=_jobs,
    ),
    Sample(
        "message_passing.waiting_for_handlers.starter",
        stdout=[
            "^workflow exit type: SUCCESS$",
            "^    🟢 caller received update result$",
            "^    🟢 caller received workflow result$",
            "^workflow exit type: FAILURE$",
            "^    🟢 caller received update result$",
            "^    🔴 caught exception while waiting for workflow result: Workflow execution "
            "failed: deliberately failing workflow$",
            "^workflow exit type: CANCELLATION$",
            "^    🟢 caller received update result$",
            "^    🔴 caught exception while waiting for workflow result: Workflow execution "
            "failed: Workflow cancelled$",
        ],
    ),
    Sample(
        "message_passing.waiting_for_handlers_and_compensation.starter",
        stdout=[
            "^workflow exit type: SUCCESS$",
            "^    🟢 caller received update result$",
            "^    🟢 caller received workflow result$",
            "^workflow exit type: FAILURE$",
            "^    🔴 caught exception while waiting for update result: Workflow update failed: "
            "The update failed because the workflow run exited$",
            "^    🔴 caught exception while waiting for workflow result: Workflow execution "
            "failed: deliberately failing workflow$",
            "^workflow exit type: CANCELLATION$",
            "^    🔴 caught exception while waiting for update result: Workflow update failed: "
            "The update failed because the workflow run exited$",
            "^    🔴 caught exception while waiting for workflow result: Workflow execution "
            "failed: Workflow cancelled$",
        ],
    ),
    Sample(
        "message_passing.update_with_start.lazy_initialization.starter",
        stdout=[
            "^🛒$",
            r"^subtotals were, \[599, None\]$",
            r"^final order: FinalizedOrder\(id='cart-session-[0-9a-f-]+', items=\["
            r"\(ShoppingCartItem\(sku='sku-123', quantity=1\), 599\)\], total=599\)$",
        ],
    ),
    Sample("custom_converter.starter", stdout=["^Workflow result: Hello, Temporal$"]),
    Sample(
        "encryption.starter",
        stdout=[
            "^Workflow result: Hello, Temporal$",
            "^Stored input encoding: binary/encrypted$",
            "^Stored input readable: False$",
        ],
    ),
    Sample(
        "pydantic_converter.starter",
        logs=[
            r"^Got models in workflow: \[MyPydanticModel\(some_ip=IPv4Address\('127.0.0.1'\), "
            r"some_date=datetime.datetime\(2000, 1, 2, 3, 4, 5\)\), MyPydanticModel\(",
            r"^Got models in activity: \[MyPydanticModel\(some_ip=IPv4Address\('127.0.0.1'\)",
            r"^Got models from client: \[MyPydanticModel\(some_ip=IPv4Address\('127.0.0.1'\), "
            r"some_date=datetime.datetime\(2000, 1, 2, 3, 4, 5\)\), MyPydanticModel\(some_ip="
            r"IPv4Address\('127.0.0.2'\), some_date=datetime.datetime\(2001, 2, 3, 4, 5, 6\)\)\]$",
        ],
    ),
    Sample(
        "benign_application_error.starter",
        logs=[
            "^Completing activity as failed",
            "^BENIGN=True run finished with exception: Workflow execution failed$",
            "^Completing activity as failed",
            "^BENIGN=False run finished with exception: Workflow execution failed$",
        ],
        check=_benign,
    ),
    Sample(
        "custom_decorator.starter",
        stdout=[
            "^Started workflow, waiting 5 seconds before cancelling$",
            "^Heartbeating at ",
            "^Heartbeating at ",
            "^Result: activity cancelled!$",
        ],
    ),
]


def _in_order(patterns: Sequence[str], items: list[str], what: str) -> None:
    """Each pattern matches an item, in order (items between them are allowed)."""
    i = 0
    for pattern in patterns:
        while i < len(items) and not re.search(pattern, items[i]):
            i += 1
        assert i < len(items), f"no {what} matches {pattern!r} (in order) among:\n" + "\n".join(
            items
        )
        i += 1


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.module for s in SAMPLES])
async def test_sample(
    sample: Sample,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if sample.waits_on:
        pytest.skip(f"waits on: {sample.waits_on}")
    caplog.set_level(logging.DEBUG)
    store = f"sqlite:///{tmp_path}/sample.db" if sample.file_store else store_url
    for name in sample.fresh:
        importlib.reload(importlib.import_module(f"{PKG}.{name}"))
    module = importlib.import_module(f"{PKG}.{sample.module}")
    for argv in sample.runs:
        monkeypatch.setattr(sys, "argv", [sample.module, *argv])
        await asyncio.wait_for(module.main(store), timeout=60)
    lines = capsys.readouterr().out.splitlines()
    records = [r for r in caplog.records if r.name != "asyncio"]
    _in_order(sample.stdout, lines, "printed line")
    _in_order(sample.logs, [message(r) for r in records], "log record")
    if sample.check is not None:
        sample.check(lines, records)


def test_every_sample_module_is_listed() -> None:
    """A sample added beside this file runs here too (its ``main`` is what the test calls)."""
    mains = {
        ".".join(p.relative_to(HERE).with_suffix("").parts)
        for p in HERE.rglob("*.py")
        if "async def main(" in p.read_text() and p.name != Path(__file__).name
    }
    assert mains == {s.module for s in SAMPLES}


def test_thirty_samples_or_more() -> None:
    """The issue's bar: at least 30 of Temporal's samples, beyond ``hello/`` too."""
    assert len(SAMPLES) >= 30
    assert len([s for s in SAMPLES if not s.module.startswith("hello.")]) >= 10
