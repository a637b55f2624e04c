"""One seed, run: the client calls of its plan against an engine that crashes and restarts as
the seed says, in virtual time, then everything the store holds, read back for the checks."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastcore import Engine, RetryPolicy
from fastcore._run import seed_ids
from fastcore._sqlite_store import SqliteStore
from fastcore.common import WorkflowExecutionStatus as Status
from fastcore.errors import WorkflowAlreadyStartedError, WorkflowFailureError, WorkflowNotFoundError
from fastcore.history import Event, EventType, event_to_json
from fastcore.integration import request_id

from .workload import ACTIVITIES, WORKFLOWS, Op, Plan, SimFlow, make_plan
from .world import (
    Crash,
    CrashPoint,
    ErrorCapture,
    World,
    enter_world,
    loop_exception_handler,
)

__all__ = ["Faults", "OpRecord", "Outcome", "faults_for", "run_seed", "updates_deduplicated"]

EPOCH = 1_700_000_000.0  # virtual time starts here; plan times are seconds after it
TIME_LIMIT = EPOCH + 100_000.0  # past this, whatever is still open is a hang
_SETTLE_LIMIT = 200_000  # loop iterations one settle may take before it is a livelock
_POINTS = ["begin", "rows", "events", "committed", "torn"]


_DEDUPE: list[bool] = []


def updates_deduplicated() -> bool:
    """Whether this engine deduplicates updates by id (a repeated id returns the first outcome
    and does not run the handler again): probed once, so the update check tightens to exactly
    once by itself when the engine learns it (issue 14's update item)."""
    if not _DEDUPE:
        from fastcore import Engine, workflow

        @workflow.defn(name="DedupeProbe")
        class DedupeProbe:
            def __init__(self) -> None:
                self.n = 0

            @workflow.run
            async def run(self) -> None:
                await workflow.wait_condition(lambda: False)

            @workflow.update
            def bump(self) -> int:
                self.n += 1
                return self.n

        async def probe() -> bool:
            async with Engine(workflows=[DedupeProbe]) as engine:
                h = await engine.start_workflow(DedupeProbe.run, id="probe")
                first = await h.execute_update(DedupeProbe.bump, id="same")
                second = await h.execute_update(DedupeProbe.bump, id="same")
                return bool(first == second == 1)

        _DEDUPE.append(asyncio.run(probe()))
    return _DEDUPE[0]


class Stuck(Exception):
    """The simulated engine never went quiet (a livelock)."""


@dataclass
class Faults:
    """What goes wrong in a seed: crashes at commit points, clean restarts at times."""

    crashes: list[CrashPoint] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)

    def describe(self) -> list[str]:
        out = [
            f"crash at commit {c.commit} ({'committed, WAL torn' if c.torn else c.point})"
            for c in self.crashes
        ]
        out += [f"clean restart at t={t:.3f}" for t in self.restarts]
        return out


def faults_for(seed: int, commits: int, last_op: float) -> Faults:
    """The seed's faults, placed among the ``commits`` a run of it without faults makes."""
    rng = random.Random(f"faults-{seed}")
    crashes = []
    if commits:
        for n in sorted(rng.sample(range(1, commits + 1), min(commits, rng.randint(1, 3)))):
            point = rng.choice(_POINTS)
            crashes.append(
                CrashPoint(n, "committed" if point == "torn" else point, point == "torn")
            )
    restarts = sorted(rng.uniform(0, last_op) for _ in range(rng.choice([0, 0, 1, 2])))
    return Faults(crashes, restarts)


@dataclass
class OpRecord:
    """A planned client call: how often it was sent and what each send answered."""

    op: Op
    sends: int = 0
    pending: bool = False
    answers: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What a run of a seed left: every run's history and status, and each workflow's end."""

    seed: int
    store: str
    faults: Faults
    plan: Plan
    records: list[OpRecord]
    world: World
    histories: dict[tuple[str, str], list[Event]] = field(default_factory=dict)
    statuses: dict[tuple[str, str], Status] = field(default_factory=dict)
    endings: dict[str, tuple[str, Any]] = field(default_factory=dict)
    lives: int = 0

    def digest(self) -> str:
        """A fingerprint of everything observable: equal for two runs of the same seed."""
        doc = {
            "histories": {
                f"{w}|{r}": [event_to_json(e) for e in events]
                for (w, r), events in sorted(self.histories.items())
            },
            "answers": [r.answers for r in self.records],
            "endings": self.endings,
            "injected": self.world.injected,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


class _Life:
    """One life of the simulated process: its own event loop, store and engine."""

    def __init__(
        self, world: World, store: str, store_class: type[SqliteStore] = SqliteStore
    ) -> None:
        self.world = world
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(loop_exception_handler(world, world.life))
        world.loop = self.loop
        world.dead = False
        world.forget_sleepers()
        if store == "memory":
            self.store: Any = "memory"
        else:
            self.store = store_class(world.db_path, durability="sync", writer_thread=False)
            self.store.commit_hook = world.commit_hook
        self.engine = Engine(
            self.store,
            clock=world.clock,
            workflows=WORKFLOWS,
            activities=ACTIVITIES,
            retention=None,
            identity="sim",
        )

    def run(self, coro: Any) -> Any:
        try:
            return self.loop.run_until_complete(coro)
        except RuntimeError:
            if self.world.dead:
                raise Crash() from None
            raise

    def bury(self) -> None:
        """After a crash: let go of the files without another word to them."""
        if isinstance(self.store, SqliteStore):
            self.store.abandon()
        engines = self.world.clock._engines
        if self.engine in engines:
            engines.remove(self.engine)
        self.loop.close()

    def close(self) -> None:
        self.loop.close()


class _Simulation:
    def __init__(
        self,
        seed: int,
        store: str,
        faults: Faults,
        directory: str,
        store_class: type[SqliteStore] = SqliteStore,
    ) -> None:
        self.seed = seed
        self.store = store
        self.store_class = store_class
        self.plan, self.plans = make_plan(seed)
        self.records = [OpRecord(op) for op in self.plan.ops]
        self.cursor = 0
        self.faults = faults
        self.restarts = list(faults.restarts)
        self.world = World(
            seed, directory, crashes=[CrashPoint(c.commit, c.point, c.torn) for c in faults.crashes]
        )
        self.lives = 0
        self.shutting_down = False
        self.calls: set[asyncio.Task[None]] = set()  # client calls of the current life

    # ---------------------------------------------------------------- time and quiet

    def _due(self, engine: Engine) -> bool:
        now = self.world.clock.now()
        nxt = engine.timers.next_deadline()
        sleep = self.world.next_sleep()
        return (nxt is not None and nxt <= now) or (sleep is not None and sleep <= now)

    async def settle(self, engine: Engine) -> None:
        """Run the loop until nothing is left to do at this instant."""
        loop = asyncio.get_running_loop()
        quiet = 0
        for _ in range(_SETTLE_LIMIT):
            await asyncio.sleep(0)
            if self._due(engine):
                await engine._on_clock_advanced()  # what VirtualClock.advance does
                self.world.wake_sleepers()
                quiet = 0
            elif loop._ready:  # type: ignore[attr-defined]
                quiet = 0
            else:
                quiet += 1
                if quiet >= 3:
                    return
        raise Stuck(f"seed {self.seed}: the engine never went quiet at t={self.world.clock.now()}")

    def next_wake(self, engine: Engine) -> float | None:
        times = [
            t for t in (engine.timers.next_deadline(), self.world.next_sleep()) if t is not None
        ]
        return min(times) if times else None

    # ---------------------------------------------------------------- client calls

    async def _call(self, engine: Engine, rec: OpRecord) -> None:
        op = rec.op
        handle = engine.get_workflow_handle(op.workflow_id)
        try:
            if op.kind == "start":
                plan, options = op.arg
                kw: dict[str, Any] = {}
                if "execution_timeout" in options:
                    kw["execution_timeout"] = timedelta(seconds=options["execution_timeout"])
                if "attempts" in options:
                    kw["retry_policy"] = RetryPolicy(
                        initial_interval=timedelta(seconds=2),
                        maximum_attempts=options["attempts"],
                    )
                if "start_signal" in options:
                    kw["start_signal"] = "add"
                    kw["start_signal_args"] = [options["start_signal"]]
                try:
                    # A resend after a crash carries the first send's request id, as a
                    # Temporal client's retry does: a signal-with-start that reached its run
                    # before the crash must not signal it again.
                    with request_id(f"sim-start-{op.workflow_id}"):
                        await engine.start_workflow(SimFlow.run, plan, id=op.workflow_id, **kw)
                    answer = "ok:started"
                except WorkflowAlreadyStartedError:
                    if rec.sends < 2:
                        raise
                    answer = "ok:started before the crash"
            elif op.kind == "signal":
                await handle.signal(SimFlow.add, op.arg)
                answer = "ok:signaled"
            elif op.kind == "update":
                if rec.sends > 1 and not updates_deduplicated() and await _landed(handle, op.arg):
                    # Without update-id dedupe a resend would apply it again: a careful
                    # client looks first (with dedupe, the resend itself is the test).
                    answer = "ok:landed before the crash"
                else:
                    answer = f"ok:{await handle.execute_update(SimFlow.apply, op.arg, id=op.arg)}"
            elif op.kind == "query":
                state = await handle.query(SimFlow.state)
                answer = f"ok:{len(state['signals'])}/{len(state['updates'])}"
            elif op.kind in ("cancel", "terminate"):
                try:
                    if op.kind == "cancel":
                        await handle.cancel()
                    else:
                        await handle.terminate(reason="sim")
                    answer = f"ok:{op.kind}"
                except WorkflowNotFoundError:
                    if rec.sends < 2:
                        raise
                    answer = f"ok:{op.kind} done before the crash"
            else:  # pragma: no cover - the plan makes no other kind
                raise AssertionError(op.kind)
        except Exception as err:
            answer = f"error:{type(err).__name__}: {err}"
        if self.world.dead:
            return  # this life is over: its answers were never heard
        if self.shutting_down:
            return  # the engine went away before answering: the client asks again later
        rec.answers.append(answer)
        rec.pending = False

    async def perform(self, engine: Engine, rec: OpRecord) -> None:
        rec.sends += 1
        rec.pending = True
        task = asyncio.get_running_loop().create_task(self._call(engine, rec))
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)
        await self.settle(engine)

    # ---------------------------------------------------------------- one life

    async def drive(self, engine: Engine) -> str:
        world = self.world
        clock = world.clock
        self.shutting_down = False
        self.calls = set()  # a crashed life's calls died with its loop
        await engine.start()
        await self.settle(engine)
        for rec in self.records:  # the calls a crash left unanswered go again
            if rec.pending and rec.op.kind != "query":
                await self.perform(engine, rec)
            elif rec.pending:
                rec.pending = False
                rec.answers.append("lost:the query's answer died with the process")
        ops = self.records
        while True:
            nxt_op = EPOCH + ops[self.cursor].op.at if self.cursor < len(ops) else None
            wake = self.next_wake(engine)
            restart = EPOCH + self.restarts[0] if self.restarts else None
            soonest = min(t for t in (nxt_op, wake, restart, TIME_LIMIT) if t is not None)
            if soonest >= TIME_LIMIT and nxt_op is None and restart is None:
                break
            clock.t = max(clock.t, soonest)
            if restart is not None and soonest == restart:
                self.restarts.pop(0)
                world.injected.append(f"clean restart at t={restart - EPOCH:.3f}")
                self.shutting_down = True
                await engine.shutdown()
                # calls still waiting hear the engine went away (they are sent again)
                await asyncio.gather(*self.calls, return_exceptions=True)
                return "restart"
            if wake is not None and soonest == wake:
                await engine._on_clock_advanced()
                world.wake_sleepers()
                await self.settle(engine)
                continue
            rec = ops[self.cursor]
            self.cursor += 1
            await self.perform(engine, rec)
        if self.store == "memory":
            return "done"  # nothing outlives this engine: read it back before it goes
        await engine.shutdown()
        return "done"

    async def collect(self, engine: Engine, out: Outcome) -> None:
        if self.store != "memory":
            await engine.start()
        await self.settle(engine)
        token = None
        while True:
            page, token = await engine.list_workflows(page_size=1000, next_page_token=token)
            for d in page:
                h = engine.get_workflow_handle(d.id, run_id=d.run_id)
                out.histories[(d.id, d.run_id)] = await h.fetch_history()
                out.statuses[(d.id, d.run_id)] = d.status
            if not token:
                break
        for wid in self.plans:
            h = engine.get_workflow_handle(wid)
            try:
                status = (await h.describe()).status
            except WorkflowNotFoundError:
                out.endings[wid] = ("NOT STARTED", None)
                continue
            if status is Status.RUNNING:
                out.endings[wid] = ("RUNNING", None)
                continue
            try:
                out.endings[wid] = (status.name, await h.result())
            except WorkflowFailureError as err:
                out.endings[wid] = (status.name, type(err.cause).__name__)
        await engine.shutdown()

    # ---------------------------------------------------------------- all lives

    def run(self) -> Outcome:
        updates_deduplicated()  # probed now, outside the simulation's loops
        world = self.world
        enter_world(world)
        seed_ids(self.seed)
        capture = ErrorCapture(world)
        logging.getLogger("fastcore").addHandler(capture)
        logging.getLogger("asyncio").addHandler(capture)
        # Failed activity attempts are WARNINGs with a traceback, by design and by the
        # thousand here: formatting them would be most of a seed's time.
        quiet = [logging.getLogger(n) for n in ("fastcore.activity", "fastcore.worker")]
        levels = [q.level for q in quiet]
        for q in quiet:
            q.setLevel(logging.ERROR)
        out = Outcome(self.seed, self.store, self.faults, self.plan, self.records, world)
        try:
            while True:
                life = _Life(world, self.store, self.store_class)
                self.lives += 1
                try:
                    status = life.run(self.drive(life.engine))
                except Crash:
                    life.bury()
                    world.life += 1
                    if self.lives > 50:
                        raise Stuck(f"seed {self.seed}: more than 50 lives") from None
                    continue
                if status == "done":
                    break
                life.close()
                world.life += 1  # a clean restart: another life of the process
            world.crashes = []  # reading back is not part of the faults
            if self.store != "memory":
                life.close()
                life = _Life(world, self.store, self.store_class)
            life.run(self.collect(life.engine, out))
            life.close()
        finally:
            logging.getLogger("fastcore").removeHandler(capture)
            logging.getLogger("asyncio").removeHandler(capture)
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)
        out.lives = self.lives
        return out


async def _landed(handle: Any, update_id: str) -> bool:
    """Whether the run the handle names accepted update ``update_id``."""
    return any(
        e.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and e.attributes.get("update_id") == update_id
        for e in await handle.fetch_history()
    )


def run_seed(
    seed: int,
    *,
    store: str = "sqlite",
    faults: Faults | None = None,
    store_class: type[SqliteStore] = SqliteStore,
) -> Outcome:
    """Run ``seed`` on ``store`` with ``faults`` (none when None) and read back what it left.

    ``store_class`` replaces the SQLite store (the simulator's own tests give it a broken
    one, to show the checks catch it)."""
    base = "/dev/shm" if _usable("/dev/shm") else None  # fsync is free on tmpfs
    directory = tempfile.mkdtemp(prefix=f"fastcore-sim-{seed}-", dir=base)
    try:
        return _Simulation(seed, store, faults or Faults(), directory, store_class).run()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _usable(path: str) -> bool:
    import os

    return os.path.isdir(path) and os.access(path, os.W_OK)
