"""The runs an engine knows: every open run and recently closed ones, by workflow and run id.

Every open run is in memory. A closed run stays until it is purged, replaced by a newer run
of its workflow id, or pushed out by newer closed runs: the table keeps ``max_closed`` of
them (the memory store forgets the ones it drops; a durable store keeps those on disk, and
the table keeps only the latest few thousand). Older ones are loaded from the store when
asked for.

Over the memory store, shortly after it closes (once ``_PACK_AFTER`` more runs closed, so
the callers waiting for its result have usually read it) a closed run's history is packed
into bytes (``RunRecord.pack``): the cyclic garbage collector then has nothing of it to
traverse, which otherwise costs every full collection time in proportion to all retained
events. Soon matters: a history still unpacked when a young-generation collection runs is
promoted, and promotions are what trigger full collections (packing after 64 closes instead
of 16 cost 17 us of GC per 3-activity workflow, run one at a time; a caller that reads a
packed history pays its unpacking, a few microseconds). A durable store holds the histories
itself: the table keeps a window of closed runs as they are and drops the older ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ._definitions import WorkflowDefinition
from ._run import Run
from ._store import RunRecord, Store
from ._validate import check_id
from .errors import StoreError, WorkflowNotFoundError

__all__ = ["DURABLE_KEEP", "RunTable", "damage_of"]

#: Closed runs are packed in groups of this many, once as many more have closed after them.
_PACK_AFTER = 16
#: Closed runs a table over a durable store keeps in memory (the rest are on disk). Few: their
#: histories are kept as they are, and 4,096 of them cost the collector a quarter of the time
#: of 10,000 workflows started at once on SQLite ``batch`` (256: a tenth).
DURABLE_KEEP = 256


def damage_of(run: Run) -> StoreError:
    """A fresh ``StoreError`` for a run whose rows cannot be read (see ``RunRecord.damage``)."""
    d = run.record.damage
    assert d is not None
    return StoreError(str(d), workflow_id=d.workflow_id, run_id=d.run_id, event_id=d.event_id)


class RunTable:
    """Runs by workflow id (the latest run of each) and by run id.

    Args:
        store: Where runs the table does not hold are looked up.
        workflow_definition: The registry's lookup (for runs loaded from the store).
        max_closed: Closed runs to keep (None: no limit); over a durable store, at most
            ``DURABLE_KEEP``.
    """

    def __init__(
        self,
        store: Store,
        workflow_definition: Callable[[Any], WorkflowDefinition | None],
        *,
        max_closed: int | None = None,
    ) -> None:
        self._store = store
        self._workflow_definition = workflow_definition
        #: the latest run per workflow id (open or recently closed)
        self.by_workflow_id: dict[str, Run] = {}
        self.by_run_id: dict[str, Run] = {}
        self._durable = store.durable
        if store.durable:
            max_closed = DURABLE_KEEP if max_closed is None else min(max_closed, DURABLE_KEEP)
        self._max_closed = max_closed
        self._fresh: deque[Run] = deque()  # closed, history not yet packed (newest last)
        self._kept: deque[Run] = deque()  # closed and packed (oldest first)

    def closed(self, run: Run) -> None:
        """``run`` closed: pack the history of earlier closed runs; drop the oldest ones.

        Over a durable store nothing is packed: the store has the history, and a run that
        leaves the table's window is read back from it when asked for.
        """
        if self._durable:
            kept = self._kept
            kept.append(run)
            if len(kept) > self._max_closed:  # type: ignore[operator]
                self._drop(kept.popleft())
            return
        fresh = self._fresh
        fresh.append(run)
        if len(fresh) < 2 * _PACK_AFTER:
            return
        kept = self._kept
        for _ in range(_PACK_AFTER):
            r = fresh.popleft()
            r.record.pack()
            kept.append(r)
        limit = self._max_closed
        if limit is not None:
            while len(kept) > limit:
                self._drop(kept.popleft())

    def _drop(self, run: Run) -> None:
        """Forget a closed run (the memory store forgets it too)."""
        r = run.record
        if self.by_workflow_id.get(r.workflow_id) is run:
            del self.by_workflow_id[r.workflow_id]
        if self.by_run_id.get(r.run_id) is run:
            del self.by_run_id[r.run_id]
        self._store.evict(r)

    def add(self, run: Run) -> None:
        """A new run of its workflow id: it becomes the latest; a closed predecessor goes."""
        r = run.record
        prev = self.by_workflow_id.get(r.workflow_id)
        self.by_workflow_id[r.workflow_id] = run
        self.by_run_id[r.run_id] = run
        if prev is not None and not prev.open:
            self.by_run_id.pop(prev.record.run_id, None)

    def put(self, run: Run) -> None:
        """A run rebuilt from a history (recovered or imported): the latest of its id."""
        self.by_workflow_id[run.record.workflow_id] = run
        self.by_run_id[run.record.run_id] = run

    def from_record(self, record: RunRecord) -> Run:
        """A closed run loaded from the store (its code is not in memory)."""
        defn = self._workflow_definition(record.workflow_type)
        if defn is None:
            # its workflow is not registered here any more: the history still answers
            # describe/result/fetch_history; handler lookups find nothing
            return Run(record, WorkflowDefinition.__new__(WorkflowDefinition))
        return Run(record, defn)

    async def latest(self, workflow_id: str) -> Run | None:
        """The latest run of ``workflow_id``, from memory or the store; None if none."""
        run = self.by_workflow_id.get(workflow_id)
        if run is not None:
            return run
        if not self._store.durable:
            return None
        record = await self._store.load_run(workflow_id)
        if record is None:
            return None
        return self.from_record(record)

    async def started_by(self, workflow_id: str, request_id: str) -> Run | None:
        """The latest run of ``workflow_id`` if the start with ``request_id`` made it."""
        run = await self.latest(workflow_id)
        if run is None or not run.record.history:
            return None
        started = run.record.history[0].attributes
        return run if started.get("request_id") == request_id else None

    async def find(self, workflow_id: str, run_id: str | None) -> Run:
        """The run a handle targets (the latest when ``run_id`` is None).

        Raises:
            WorkflowNotFoundError: no such run, here or in the store.
        """
        if run_id is None:
            run = self.by_workflow_id.get(workflow_id)
            if run is None:
                check_id(workflow_id, "workflow_id")  # before the store sees it
                run = await self.latest(workflow_id)
        else:
            run = self.by_run_id.get(run_id)
            if run is None or run.record.workflow_id != workflow_id:
                run = None
                check_id(workflow_id, "workflow_id")
                check_id(run_id, "run_id")
                record = await self._store.load_run(workflow_id, run_id)
                if record is not None:
                    cur = self.by_workflow_id.get(workflow_id)
                    run = (
                        cur
                        if cur is not None and cur.record.run_id == run_id
                        else self.from_record(record)
                    )
        if run is None:
            raise WorkflowNotFoundError(
                f"workflow not found: id={workflow_id!r}"
                + (f", run_id={run_id!r}" if run_id else ""),
                workflow_id=workflow_id,
            )
        if run.record.damage is not None:
            raise damage_of(run)
        return run

    async def next_run(self, workflow_id: str, run_id: str) -> Run:
        """The next run of a chain (continue-as-new, retry): it exists as soon as its
        predecessor closed, in memory or in the store."""
        run = self.by_run_id.get(run_id)
        if run is not None:
            return run
        cur = self.by_workflow_id.get(workflow_id)
        if cur is not None and cur.record.run_id == run_id:
            return cur
        record = await self._store.load_run(workflow_id, run_id)
        if record is None:
            raise WorkflowNotFoundError(
                f"the next run {run_id!r} of workflow {workflow_id!r} is gone (purged?)",
                workflow_id=workflow_id,
            )
        return self.from_record(record)

    def forget_closed_before(self, cutoff: float) -> None:
        """Drop closed runs that closed before ``cutoff`` (the store purged them)."""
        for held in (self._kept, self._fresh):
            while held and (held[0].record.close_time or 0.0) < cutoff:
                held.popleft()
        for wid, run in list(self.by_workflow_id.items()):
            if (
                not run.open
                and run.record.close_time is not None
                and run.record.close_time < cutoff
            ):
                del self.by_workflow_id[wid]
                self.by_run_id.pop(run.record.run_id, None)
