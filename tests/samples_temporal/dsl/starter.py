"""dsl/starter.py (with worker.py): read a YAML file into the DSL's dataclasses and run it.

Source: temporalio/samples-python dsl/starter.py at 145aaf4f05099163c15d84ac58160d7a70ea7508
and dsl/worker.py at 136e3fc736074cb6d005f1eab87e5941e938c48e (re-written, not copied). The
original reads the YAML into dataclasses with ``dacite``; ``from_dict`` below does that job
without the extra dependency.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import typing
import uuid
from pathlib import Path
from typing import Any

import yaml

from fastcore import Engine
from tests.samples_temporal.dsl import workflow as dsl
from tests.samples_temporal.dsl.activities import DSLActivities
from tests.samples_temporal.dsl.workflow import DSLInput, DSLWorkflow


def from_dict(cls: Any, data: Any) -> Any:
    """Build ``cls`` (a dataclass, a union of them, a list or a plain type) from YAML data."""
    origin = typing.get_origin(cls)
    if origin is typing.Union:
        for member in typing.get_args(cls):
            try:
                return from_dict(member, data)
            except (TypeError, KeyError):
                continue
        raise TypeError(f"{data!r} fits no member of {cls}")
    if origin is list:
        (item,) = typing.get_args(cls)
        return [from_dict(item, x) for x in data]
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} needs a mapping")
        hints = typing.get_type_hints(cls, vars(dsl))
        names = {f.name for f in dataclasses.fields(cls)}
        if not set(data) <= names:
            raise TypeError(f"unexpected keys for {cls.__name__}: {set(data) - names}")
        return cls(**{k: from_dict(hints[k], v) for k, v in data.items()})
    return data


async def main(store: str = "memory") -> None:
    logging.basicConfig(level=logging.INFO)
    dsl_yaml = Path(sys.argv[1]).read_text()
    dsl_input = from_dict(DSLInput, yaml.safe_load(dsl_yaml))

    activities = DSLActivities()
    async with Engine(
        store,
        workflows=[DSLWorkflow],
        activities=[
            activities.activity1,
            activities.activity2,
            activities.activity3,
            activities.activity4,
            activities.activity5,
        ],
    ) as client:
        result = await client.execute_workflow(
            DSLWorkflow.run,
            dsl_input,
            id=f"dsl-workflow-id-{uuid.uuid4()}",
            task_queue="dsl-task-queue",
        )
        logging.info(
            "Final variables:\n    " + "\n    ".join(f"{k}: {v}" for k, v in result.items())
        )
