"""workflow.info()'s history questions, as temporalio's: length, size, continue-as-new."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from fastcore import Engine, activity, workflow


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn
class Grows:
    @workflow.run
    async def run(self, rounds_left: int) -> list[tuple[int, int, bool]]:
        seen: list[tuple[int, int, bool]] = []
        info = workflow.info()
        while not info.is_continue_as_new_suggested():
            await workflow.execute_activity(
                echo, "x" * 100, start_to_close_timeout=timedelta(seconds=5)
            )
            seen.append(
                (
                    info.get_current_history_length(),
                    info.get_current_history_size(),
                    info.is_continue_as_new_suggested(),
                )
            )
        if rounds_left:
            workflow.continue_as_new(rounds_left - 1)
        return seen


async def test_history_length_size_and_the_suggestion(store_url: str) -> None:
    async with Engine(
        store_url,
        workflows=[Grows],
        activities=[echo],
        continue_as_new_suggested_events=60,
    ) as engine:
        handle = await engine.start_workflow(Grows.run, 1, id=uuid.uuid4().hex)
        seen = await handle.result()  # the last run's (the first continued as new)
        lengths = [s[0] for s in seen]
        sizes = [s[1] for s in seen]
        assert lengths == sorted(lengths) and lengths[-1] >= 60 > lengths[-2]
        assert [s[2] for s in seen] == [False] * (len(seen) - 1) + [True]
        # each round adds two events carrying a 100-character payload
        assert all(b - a >= 200 for a, b in itertools.pairwise(sizes))
        assert len(await handle.fetch_history()) == lengths[-1] + 1  # + the completion
        first = await engine.get_workflow_handle(handle.id, run_id=handle.result_run_id).describe()
        assert first.status.name == "CONTINUED_AS_NEW"


async def test_the_size_threshold_suggests_too(store_url: str) -> None:
    async with Engine(
        store_url,
        workflows=[Grows],
        activities=[echo],
        continue_as_new_suggested_bytes=5_000,
    ) as engine:
        seen = await engine.execute_workflow(Grows.run, 0, id=uuid.uuid4().hex)
        assert seen[-1][1] >= 5_000 > seen[-2][1]
        assert seen[-1][0] < 4096  # the size, not the count, tripped it
