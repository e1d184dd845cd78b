"""The core use cases through WorkflowService on a real database (SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.errors import Conflict, InvalidDefinition, NotFound
from engine.handler_registry import HandlerRegistry
from tests.engine import documents
from tests.engine.handler_doubles import FlakyStamp


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def test_deploy_is_idempotent_and_changes_make_versions(wiring: Wiring) -> None:
    first = wiring.service.deploy(documents.approval().encode(), source_name="approval.bpmn")
    again = wiring.service.deploy(documents.approval().encode(), source_name="approval.bpmn")
    changed = wiring.service.deploy(documents.approval().replace("Revisar la solicitud", "Revisar").encode())
    assert (first.created, again.created, changed.created) == (True, False, True)
    assert [d.version for d in wiring.service.definition_versions("approval")] == [1, 2]
    assert again.definition.id == first.definition.id


@pytest.mark.parametrize("xml, reason", [
    (b"not xml at all", "XML"),
    (b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'/>", "process"),
    (documents.approval().replace('targetRef="gw"', 'targetRef="nowhere"').encode(), "nowhere"),
])
def test_malformed_definition_is_rejected_with_a_reason(wiring: Wiring, xml: bytes, reason: str) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        wiring.service.deploy(xml)
    assert reason.lower() in (raised.value.message + str(raised.value.details)).lower()
    assert wiring.service.list_definitions() == []


def test_user_task_row_gateway_and_end(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval", {"solicitante": "ana"}, business_key="SOL-1")
    tasks, total = wiring.service.list_tasks(definition="approval")
    assert total == 1 and tasks[0].element_id == "Task_review" and tasks[0].lane == "Mesa de Servicio"
    assert tasks[0].name == "1. Revisar la solicitud"
    done = wiring.service.complete_task(tasks[0].id, {"aprobada": "No"}, actor="luis")
    assert done.status == "completed" and done.ended_at is not None
    assert done.data["aprobada"] == "No" and done.data["solicitante"] == "ana"
    assert wiring.service.get_task(tasks[0].id).status == "completed"
    assert wiring.service.list_tasks(definition="approval")[1] == 0
    found, _ = wiring.service.list_instances(business_key="SOL-1", status="completed")
    assert [i.id for i in found] == [instance.id]


def test_completing_twice_is_a_conflict_and_unknown_is_not_found(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval")
    task_id = _ready(wiring, instance.id)["Task_review"]
    wiring.service.complete_task(task_id, {"aprobada": "Sí"})
    with pytest.raises(Conflict):
        wiring.service.complete_task(task_id, {"aprobada": "No"})
    with pytest.raises(NotFound):
        wiring.service.complete_task("00000000-0000-0000-0000-000000000000", {})
    with pytest.raises(NotFound):
        wiring.service.start("no_such_process")


def test_failing_handler_sets_error_then_retry_succeeds(wiring: Wiring, handlers: HandlerRegistry,
                                                        clock: ManualClock) -> None:
    stamp = FlakyStamp()
    calls = stamp.calls
    handlers.register("stamp", stamp)
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert instance.status == "error"
    assert instance.error["element_id"] == "Call_handler"
    assert "folio service unreachable" in instance.error["message"]
    assert instance.error["at"] == clock().isoformat()
    stamp.broken = False
    retried = wiring.service.retry(instance.id, actor="ops")
    assert retried.status == "running" and retried.error is None
    assert retried.data["stamped"] == "INC-0002"  # the second call succeeded
    assert list(_ready(wiring, instance.id)) == ["Task_review"]
    assert calls == ["INC", "INC"]
    with pytest.raises(Conflict):
        wiring.service.retry(instance.id)


def test_unknown_handler_is_an_error_naming_the_element(wiring: Wiring) -> None:
    wiring.service.deploy(documents.service_call("no_such_handler").encode())
    instance = wiring.service.start("service_call", {"folio_base": "X"})
    assert instance.status == "error"
    assert instance.error["element_id"] == "Call_handler"
    assert "no_such_handler" in instance.error["message"]


def test_cancel_removes_ready_tasks(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval")
    cancelled = wiring.service.cancel(instance.id, reason="duplicada")
    assert cancelled.status == "cancelled"
    assert wiring.service.list_tasks(instance_id=instance.id)[1] == 0
    with pytest.raises(Conflict):
        wiring.service.cancel(instance.id)


def test_boundary_timer_fires_with_the_injected_clock(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(documents.timer_escalation().encode())
    instance = wiring.service.start("escalation")
    assert instance.next_timer_at == clock() + timedelta(hours=1)
    clock.advance(minutes=59)
    assert wiring.service.fire_due_timers() == 0
    clock.advance(minutes=2)
    assert wiring.service.fire_due_timers() == 1
    assert list(_ready(wiring, instance.id)) == ["Task_second"]
    assert wiring.service.get_instance(instance.id)[0].next_timer_at is None


def test_parallel_join_waits_for_both_branches(wiring: Wiring) -> None:
    wiring.service.deploy(documents.parallel_pair().encode())
    instance = wiring.service.start("pair")
    ready = _ready(wiring, instance.id)
    assert set(ready) == {"Task_a", "Task_b"}
    after_one = wiring.service.complete_task(ready["Task_a"], {"a": 2})
    assert after_one.status == "running" and list(_ready(wiring, instance.id)) == ["Task_b"]
    done = wiring.service.complete_task(ready["Task_b"], {"b": 3})
    assert done.status == "completed" and done.data["total"] == 5


def test_called_procedure_versions_are_pinned_at_start(wiring: Wiring) -> None:
    from tests.engine.loop_shapes import CALLED, PLAIN

    wiring.service.deploy(PLAIN.encode())
    wiring.service.deploy(CALLED.encode())
    instance = wiring.service.start("caller", {"limit": 1})
    assert instance.called_definitions == {"plain": 1}
    wiring.service.deploy(PLAIN.replace('id="Task_work"', 'id="Task_work" name="v2"').encode())
    task_id = _ready(wiring, instance.id)["Task_work"]
    assert wiring.service.complete_task(task_id, {}).status == "completed"


def test_history_records_every_step_in_order(wiring: Wiring) -> None:
    from sqlalchemy import select

    from engine.models import Event

    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval")
    wiring.service.complete_task(_ready(wiring, instance.id)["Task_review"], {"aprobada": "Sí"}, actor="ana")
    with wiring.service.uow.read() as session:
        events = list(session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.seq)))
    kinds = [(e.type, e.element_id) for e in events]
    assert kinds[0] == ("instance_started", None)
    assert ("task_ready", "Task_review") in kinds
    assert kinds.index(("task_completed", "Task_review")) < kinds.index(("element_completed", "end_ok"))
    assert kinds[-1] == ("instance_completed", None)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.prev_hash == p.hash for p, e in zip(events, events[1:], strict=False))


def test_completion_is_checked_against_the_form(wiring: Wiring) -> None:
    from engine.errors import InvalidInput

    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval")
    task_id = _ready(wiring, instance.id)["Task_review"]
    with pytest.raises(InvalidInput) as missing:
        wiring.service.complete_task(task_id, {"comentario": "sin decisión"})
    assert list(missing.value.details["fields"]) == ["aprobada"]
    with pytest.raises(InvalidInput) as wrong:
        wiring.service.complete_task(task_id, {"aprobada": "Tal vez"})
    assert "aprobada" in wrong.value.details["fields"]
    assert wiring.service.get_task(task_id).status == "ready"  # nothing was applied
    assert wiring.service.complete_task(task_id, {"aprobada": "Sí"}).status == "completed"


def test_a_broken_form_is_rejected_at_deploy(wiring: Wiring) -> None:
    broken = documents.approval().replace('type="enum"', 'type="colour"')
    with pytest.raises(InvalidDefinition) as raised:
        wiring.service.deploy(broken.encode())
    assert "colour" in raised.value.message
