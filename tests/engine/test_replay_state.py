"""The state of an instance at an earlier event, rebuilt by replay (``state_at``)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.replay_state import StateAt, state_at
from tests.engine import documents


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def _state(wiring: Wiring, instance_id: str, seq: int) -> StateAt:
    with wiring.service.uow.read() as session:
        return state_at(session, instance_id, seq, runtime=wiring.service.runtime, specs=wiring.service.specs)


def _types(wiring: Wiring, instance_id: str) -> list[str]:
    with wiring.db.connect() as conn:
        return [t for (t,) in conn.execute(text("SELECT type FROM events WHERE instance_id = :i ORDER BY seq"),
                                           {"i": instance_id})]


def test_state_after_each_transaction_of_an_approval(wiring: Wiring, clock: ManualClock) -> None:
    service = wiring.service
    service.deploy(documents.approval().encode())
    instance = service.start("approval", {"solicitante": "ana"}, requester="ana")
    task_id = _ready(wiring, instance.id)["Task_review"]
    clock.advance(minutes=5)
    service.complete_task(task_id, {"aprobada": "Sí"}, actor="luis")
    types = _types(wiring, instance.id)
    ready_seq = types.index("task_ready") + 1
    completed_seq = types.index("task_completed") + 1

    first = _state(wiring, instance.id, 1)  # the start transaction committed up to the ready task
    assert (first.first_seq, first.last_seq) == (1, ready_seq) and first.event_type == "instance_started"
    assert first.status == "running" and first.data == {"solicitante": "ana"}
    assert [(t["task_id"], t["element_id"], t["assignee"]) for t in first.ready_tasks] == [
        (task_id, "Task_review", None)]
    assert [(a["element_id"], a["state"]) for a in first.active] == [("Task_review", "READY")]
    assert _state(wiring, instance.id, ready_seq).ready_tasks == first.ready_tasks

    done = _state(wiring, instance.id, completed_seq)
    assert done.first_seq == completed_seq and done.last_seq == len(types)
    assert done.status == "completed" and done.ready_tasks == [] and done.active == []
    assert done.data == {"solicitante": "ana", "aprobada": "Sí"}
    assert done.at == clock()


def test_waiting_timers_parallel_branches_and_cancellation(wiring: Wiring, clock: ManualClock) -> None:
    service = wiring.service
    service.deploy(documents.timer_escalation().encode())
    service.deploy(documents.parallel_pair().encode())
    escalated = service.start("escalation")
    clock.advance(hours=2)
    assert service.fire_due_timers() == 1
    before = _state(wiring, escalated.id, 1)
    assert ("Timer_1h", "WAITING") in {(a["element_id"], a["state"]) for a in before.active}
    assert [t["element_id"] for t in before.ready_tasks] == ["Task_first"]
    after = _state(wiring, escalated.id, len(_types(wiring, escalated.id)))
    assert [t["element_id"] for t in after.ready_tasks] == ["Task_second"]

    pair = service.start("pair")
    tasks = _ready(wiring, pair.id)
    service.complete_task(tasks["Task_a"], {"a": 1}, actor="eva")
    service.cancel(pair.id, actor="admin", reason="duplicada")
    types = _types(wiring, pair.id)
    halfway = _state(wiring, pair.id, types.index("task_completed") + 1)
    assert [t["element_id"] for t in halfway.ready_tasks] == ["Task_b"]
    assert halfway.status == "running"
    assert ("join", "WAITING") in {(a["element_id"], a["state"]) for a in halfway.active}
    cancelled = _state(wiring, pair.id, len(types))
    assert cancelled.status == "cancelled" and cancelled.ready_tasks == []


def test_unknown_instance_out_of_range_and_a_diverging_history(wiring: Wiring) -> None:
    service = wiring.service
    service.deploy(documents.approval().encode())
    instance = service.start("approval", {"solicitante": "ana"})
    service.complete_task(_ready(wiring, instance.id)["Task_review"], {"aprobada": "Sí"}, actor="luis")
    count = len(_types(wiring, instance.id))
    with pytest.raises(NotFound):
        _state(wiring, "nope", 1)
    for seq in (0, count + 1):
        with pytest.raises(InvalidInput) as raised:
            _state(wiring, instance.id, seq)
        assert raised.value.details == {"at": seq, "events": count}
    seq = _types(wiring, instance.id).index("task_completed") + 1
    cast = "CAST(:p AS jsonb)" if wiring.db.dialect.name == "postgresql" else ":p"
    with wiring.db.begin() as conn:
        conn.execute(text(f"UPDATE events SET payload = {cast} WHERE instance_id = :i AND seq = :s"),
                     {"p": json.dumps({"task_id": "forged", "data": {}}), "i": instance.id, "s": seq})
    assert _state(wiring, instance.id, seq - 1).status == "running"  # before the forged event: still sound
    with pytest.raises(Conflict) as raised:
        _state(wiring, instance.id, count)
    assert raised.value.details["divergence_seq"] == seq
