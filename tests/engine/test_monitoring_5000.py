"""The real data-center monitoring procedure runs 5,000 turns and still routes problems.

MP-DGTIT-DOSI-SAD-MCD-2.1 never ends by design: probe, review, wait an hour, start again. This
drives the diagram from ``bpmn/`` (not a test double) for 5,000 monitoring turns with the injected
clock, and at turns 2,500 and 5,000 reports a problem that does not solve itself: the instance
must alert, ask for the analysis and run the real maintenance procedure (MCD-2.2) to its end,
then return to monitoring, with the task tree as small as at the start.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.clock import ManualClock
from engine.parsing import parse_definition
from engine.runtime import WorkflowRuntime

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "dosi"
SCENARIOS = Path(__file__).resolve().parents[1] / "diagrams" / "scenarios"
MONITORING, MAINTENANCE = "MP_DGTIT_DOSI_SAD_MCD_2_1", "MP_DGTIT_DOSI_SAD_MCD_2_2"
TURNS = 5000
PROBLEM_AT = {2500, 5000}


def _task_count(workflow: Any) -> int:
    return len(workflow.tasks) + sum(len(s.tasks) for s in workflow.subprocesses.values())


@pytest.mark.slow
def test_monitoring_runs_5000_turns_and_routes_problems_to_maintenance() -> None:
    calls: list[tuple[str, dict]] = []

    def call_service(task: Any, name: str, params: dict) -> Any:
        calls.append((name, params))
        return {"down": [], "all_up": True} if name == "probe" else {"status": "sent"}

    clock = ManualClock()
    runtime = WorkflowRuntime(call_service=call_service)
    runtime.clock = clock
    top = parse_definition((BPMN / "MP-DGTIT-DOSI-SAD-MCD-2.1.bpmn").read_bytes())
    callee = parse_definition((BPMN / "MP-DGTIT-DOSI-SAD-MCD-2.2.bpmn").read_bytes())
    subs = {MAINTENANCE: callee.spec, **top.local_specs, **callee.local_specs}
    runtime.instrument([top.spec, *subs.values()])
    maintenance_steps = yaml.safe_load(
        (SCENARIOS / "MP-DGTIT-DOSI-SAD-MCD-2.2.yaml").read_text())["scenarios"][0]["steps"]

    workflow = runtime.create(top.spec, subs, {"destinos_monitoreo": ["10.10.20.15:443"]})
    runtime.advance(workflow)
    completed: list[str] = []

    def complete(element_id: str, data: dict) -> None:
        ready = {t.element_id: t for t in runtime.ready_human_tasks(workflow)}
        assert element_id in ready, f"{element_id} not ready; ready: {sorted(ready)}"
        task = runtime.find_task(workflow, ready[element_id].task_id)
        assert task is not None
        task.data.update(data)
        result = runtime.advance(workflow, task.run)
        assert result.error is None, result.error
        completed.extend(e.element_id for e in result.completed)

    sizes: list[int] = []
    maintenances = 0
    for turn in range(1, TURNS + 1):
        if turn % 500 == 0:  # through the stored form, as a database returns it
            state = json.loads(json.dumps(runtime.dump(workflow), sort_keys=True))
            workflow = runtime.load(state, top.spec, subs)
        if turn in PROBLEM_AT:
            completed.clear()
            complete("Activity_1_revision", {"funcionamiento_correcto": "No",
                                             "observaciones_monitoreo": "Datastore DS-SFIA-02 al 97 %"})
            complete("Activity_3", {"descripcion_problema": "El datastore no libera espacio",
                                    "problema_se_soluciona": "No"})
            ready = runtime.ready_human_tasks(workflow)
            assert [(t.process_key, t.element_id) for t in ready] == [(MAINTENANCE, "Activity_1")]
            for step in maintenance_steps:
                complete(step["task"], step["data"])
            assert completed[:4] == ["Activity_1_revision", "Gateway_funcionamiento", "Activity_2", "Activity_3"]
            assert "Activity_4" in completed and "End_correctivo" in completed
            assert calls[-1][0] == "probe"  # back to monitoring after the maintenance
            maintenances += 1
        else:
            complete("Activity_1_revision", {"funcionamiento_correcto": "Sí",
                                             "observaciones_monitoreo": f"Turno {turn}: todo en verde"})
            assert runtime.next_timer_at(workflow) == clock() + timedelta(hours=1)
            clock.advance(hours=1, seconds=1)
            result = runtime.advance(workflow)
            assert result.error is None and "Timer_periodo" in [e.element_id for e in result.completed]
        assert runtime.status(workflow) == "running"
        assert [t.element_id for t in runtime.ready_human_tasks(workflow)] == ["Activity_1_revision"]
        sizes.append(_task_count(workflow))

    assert maintenances == 2
    assert [name for name, _ in calls].count("probe") == TURNS + 1  # one probe per turn, plus the first
    assert [name for name, _ in calls].count("notify") >= 2  # the alert of each problem
    assert max(sizes[1000:]) <= max(sizes[:1000]) < 60, (max(sizes[:1000]), max(sizes[1000:]))
