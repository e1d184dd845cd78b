"""Loops run forever, correctly, with a bounded task tree (issue: long-lived instances).

Each shape of ``loop_shapes`` is driven for 2,000 turns. Every 250 turns the workflow goes
through the stored form (dump, JSON with sorted keys as a database may return it, load), so the
pruned state is also what gets restored. The assertions are what a user would notice: the
counters, the end event, the join waiting for both branches, the reminders of the boundary
timer, and the size of the tree staying flat.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.clock import ManualClock
from engine.runtime import WorkflowRuntime
from tests.engine.loop_shapes import SHAPES, parsed_shape

TURNS = 2000
COUNTERS = {"two_branches": ("left", "right")}
REMIND_EVERY = 100  # boundary_timer: let the 1-hour reminder fire on every 100th turn
JOINS = {"parallel", "parallel_three", "inclusive", "multi_instance"}  # shapes whose turn ends in a join




def _task_count(workflow: Any) -> int:
    return len(workflow.tasks) + sum(len(s.tasks) for s in workflow.subprocesses.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_runs_2000_turns(name: str) -> None:
    clock = ManualClock()
    runtime = WorkflowRuntime()
    runtime.clock = clock
    spec, subs = parsed_shape(name)
    runtime.instrument([spec, *subs.values()])
    workflow = runtime.create(spec, subs, {"limit": TURNS, "reminders": 0})
    runtime.advance(workflow)
    counters = COUNTERS.get(name, ("turns",))
    sizes: list[int] = []
    completions = 0
    reminders = 0
    for turn in range(1, TURNS + 1):
        if name == "boundary_timer" and turn % REMIND_EVERY == 0:
            clock.advance(hours=2)
            fired = runtime.advance(workflow)  # the reminder fires; the task stays ready (non-interrupting)
            reminders += [e.element_id for e in fired.completed].count("remind")
        if turn % 250 == 0:
            state = json.loads(json.dumps(runtime.dump(workflow), sort_keys=True))
            workflow = runtime.load(state, spec, subs)
        before = {c: runtime.current_data(workflow).get(c, 0) for c in counters}
        ready = runtime.ready_human_tasks(workflow)
        assert ready, f"turn {turn}: nothing ready while {runtime.status(workflow)}"
        for i, item in enumerate(ready):
            task = runtime.find_task(workflow, item.task_id)
            assert task is not None
            result = runtime.advance(workflow, task.run)
            assert result.error is None, result.error
            completions += 1
            if name in JOINS and i < len(ready) - 1:  # a join must wait for the remaining branches
                now = {c: runtime.current_data(workflow).get(c, 0) for c in counters}
                assert now == before, f"turn {turn}: counted before every branch finished"
        sizes.append(_task_count(workflow))
        after = runtime.current_data(workflow) if runtime.status(workflow) == "running" else None
        if after is not None:
            assert all(after[c] == turn for c in counters), (turn, after)

    assert runtime.status(workflow) == "completed", "the end event was not reached after the last turn"
    data = runtime.current_data(workflow)
    assert all(data[c] == TURNS for c in counters), data
    expected_completions = {"parallel": 2 * TURNS, "parallel_three": 3 * TURNS, "two_branches": 2 * TURNS,
                            "multi_instance": 2 * TURNS,
                            "inclusive": TURNS + TURNS // 2}.get(name, TURNS)
    assert completions == expected_completions
    if name == "boundary_timer":
        # The reminder branch's data stays in its branch (BPMN token data); count the script runs.
        assert reminders == TURNS // REMIND_EVERY
    # Bounded: the last 1,500 turns never hold more tasks than the first 500 did.
    assert max(sizes[500:]) <= max(sizes[:500]), (max(sizes[:500]), max(sizes[500:]))
    assert max(sizes) < 60
