"""The stored state restores exactly, whatever order the database gives the keys back in."""

from __future__ import annotations

import json

import pytest

from engine.runtime import WorkflowRuntime
from tests.engine.loop_shapes import SHAPES, parsed_shape


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_state_survives_key_reordering(name: str) -> None:
    runtime = WorkflowRuntime()
    spec, subs = parsed_shape(name)
    runtime.instrument([spec, *subs.values()])
    workflow = runtime.create(spec, subs, {"limit": 3, "reminders": 0, "marker": "keep-me"})
    runtime.advance(workflow)
    for _ in range(20):
        if runtime.status(workflow) != "running":
            break
        # What JSONB does to key order, done on purpose: sorted keys at every level.
        state = json.loads(json.dumps(runtime.dump(workflow), sort_keys=True))
        workflow = runtime.load(state, spec, subs)
        ready = runtime.ready_human_tasks(workflow)
        assert ready, f"{name}: nothing ready while running"
        task = runtime.find_task(workflow, ready[0].task_id)
        assert task is not None and task.data.get("marker") == "keep-me"
        runtime.advance(workflow, task.run)
    assert runtime.status(workflow) == "completed"
    assert runtime.current_data(workflow)["marker"] == "keep-me"
