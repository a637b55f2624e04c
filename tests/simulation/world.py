"""The simulated world: virtual time, a disk that survives crashes, and the process that runs
the engine, dies and restarts.

Determinism is what makes a seed a reproduction: nothing here reads the real clock or uses a
thread. Time is a ``SimClock`` that moves only when the driver moves it; activities wait on
it (``World.sleep``); the SQLite store commits on the event loop (``writer_thread=False``,
``durability=sync``: an acknowledgment means durable); run ids and workflow seeds come from
the seed (``fastcore._run.seed_ids``). Each life of the process is its own asyncio loop.

A crash is decided by the seed and injected through the store's ``commit_hook`` at one of a
commit's points: before it (``begin``), inside it with the run rows written (``rows``) or
everything written but not committed (``events``), or after it, before anybody was told
(``committed``; ``torn``: the WAL is cut inside that last commit's frames, as power loss
leaves it). At that instant the files are copied as the dead process leaves them, the loop
stops, and nothing of that life runs again: the next life opens the copy, recovers, and the
client calls whose outcome the crash hid are sent again (with the same ids and tokens).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastcore._clock import Clock

__all__ = [
    "Crash",
    "CrashPoint",
    "ErrorCapture",
    "Execution",
    "SimClock",
    "World",
    "current_world",
    "enter_world",
    "loop_exception_handler",
]

_world: list[World] = []  # the one world of this process (activities find it here)


def current_world() -> World:
    """The world the running simulation lives in."""
    return _world[-1]


def enter_world(world: World) -> None:
    """Make ``world`` the one activities see (one simulation at a time per process)."""
    _world.clear()
    _world.append(world)


class Crash(BaseException):
    """The simulated process died (not an Exception: nothing in the engine may catch it)."""


class SimClock(Clock):
    """Virtual time that moves only when the simulation moves it (no real time at all)."""

    skips = False

    def __init__(self, start: float) -> None:
        self.t = start
        self._engines: list[object] = []  # the engine registers itself, as for VirtualClock

    def now(self) -> float:
        return self.t


@dataclass
class CrashPoint:
    """Crash during the ``commit``-th commit attempt, at ``point``; ``torn`` cuts the WAL."""

    commit: int
    point: str
    torn: bool = False
    used: bool = False


@dataclass
class Execution:
    """One activity attempt that began: which, and how many commits were durable then."""

    workflow_id: str
    run_id: str
    activity_id: str
    attempt: int
    commits_before: int
    life: int


@dataclass
class World:
    """Everything that outlives one life of the simulated process."""

    seed: int
    directory: str
    crashes: list[CrashPoint] = field(default_factory=list)
    clock: SimClock = field(default_factory=lambda: SimClock(1_700_000_000.0))  # runner.EPOCH
    life: int = 0
    dead: bool = False
    commit_attempts: int = 0
    commits: int = 0
    executions: list[Execution] = field(default_factory=list)
    #: (run id, event id) -> the number of the commit that made it durable
    durable_at: dict[tuple[str, int], int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    _sleeps: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _wal_before: int = 0
    db_path: str = ""
    loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        self.db_path = os.path.join(self.directory, "life-0", "store.db")
        os.makedirs(os.path.dirname(self.db_path), exist_ok=True)

    # ---------------------------------------------------------------- activities

    def activity_started(
        self, workflow_id: str, run_id: str, activity_id: str, attempt: int
    ) -> None:
        """An activity attempt began (nothing counts once this life has crashed)."""
        if self.dead:
            return
        self.executions.append(
            Execution(workflow_id, run_id, activity_id, attempt, self.commits, self.life)
        )

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time (an activity doing slow work)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleeps, (self.clock.now() + seconds, next(self._seq), fut))
        await fut

    def next_sleep(self) -> float | None:
        """When the next activity wakes up."""
        while self._sleeps and self._sleeps[0][2].done():
            heapq.heappop(self._sleeps)
        return self._sleeps[0][0] if self._sleeps else None

    def wake_sleepers(self) -> None:
        """Resolve every activity sleep that is due."""
        now = self.clock.now()
        while self._sleeps and (self._sleeps[0][0] <= now or self._sleeps[0][2].done()):
            _, _, fut = heapq.heappop(self._sleeps)
            if not fut.done():
                fut.set_result(None)

    def forget_sleepers(self) -> None:
        """A new life: the old one's sleeping activities are gone with it."""
        self._sleeps.clear()

    # ---------------------------------------------------------------- the disk

    def commit_hook(self, point: str, events: Sequence[tuple[str, str, int, str]]) -> None:
        """The store's fault seam: count commits, note what became durable, crash on cue."""
        if self.dead:
            raise Crash()
        if point == "begin":
            self.commit_attempts += 1
            self._wal_before = _size(self.db_path + "-wal")
        crash = next(
            (
                c
                for c in self.crashes
                if not c.used and c.commit == self.commit_attempts and c.point == point
            ),
            None,
        )
        if point == "committed" and not (crash is not None and crash.torn):
            self.commits += 1
            for _wid, rid, eid, _data in events:
                self.durable_at[(rid, eid)] = self.commits
        if crash is None:
            return
        crash.used = True
        self._die(crash)
        raise Crash()

    def _die(self, crash: CrashPoint) -> None:
        """Copy the files as the dead process leaves them; stop this life's loop."""
        self.dead = True
        source = self.db_path
        target_dir = os.path.join(self.directory, f"life-{self.life + 1}")
        os.makedirs(target_dir, exist_ok=True)
        target = os.path.join(target_dir, "store.db")
        shutil.copyfile(source, target)
        wal = source + "-wal"
        what = f"crash at commit {crash.commit} ({crash.point})"
        if os.path.exists(wal):
            shutil.copyfile(wal, target + "-wal")
            after = _size(wal)
            if crash.torn and after > self._wal_before:
                # cut inside the frames the last commit appended: its commit frame is lost
                cut = self._wal_before + (after - self._wal_before) * (crash.commit % 7 + 1) // 9
                os.truncate(target + "-wal", cut)
                what = f"crash at commit {crash.commit} with its WAL frames torn at byte {cut}"
        self.injected.append(what)
        self.db_path = target
        if self.loop is not None:
            self.loop.stop()

    # ---------------------------------------------------------------- errors


class ErrorCapture(logging.Handler):
    """Collects what the engine logs at ERROR while a life is alive, and the warnings that
    mean the store is in trouble (a run set aside as damaged, a WAL left unmerged). An
    activity attempt that fails is a WARNING by design (as temporalio logs it): not these."""

    _TROUBLE = ("fastcore.recovery", "fastcore.store")

    def __init__(self, world: World) -> None:
        super().__init__(logging.WARNING)
        self.world = world

    def emit(self, record: logging.LogRecord) -> None:
        if self.world.dead:
            return  # a dying life's last words are not the engine's
        if record.levelno < logging.ERROR and not record.name.startswith(self._TROUBLE):
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            if isinstance(record.exc_info[1], Crash):
                return
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.world.errors.append(f"{record.levelname} {record.name}: {text}")


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def loop_exception_handler(world: World, life: int) -> Any:
    """An event loop exception handler: a crash is expected, anything else is recorded."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, Crash) or world.dead or life != world.life:
            return  # the crash itself, or a dead life's tasks being collected
        task = context.get("task")
        world.errors.append(f"event loop: {context.get('message')} {exc!r} {task!r}"[:600])

    return handle
