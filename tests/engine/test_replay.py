"""Replay re-executes instances from their recorded events, never calling handlers, and finds the
first step where the record and the procedure disagree."""

from __future__ import annotations

import json

from sqlalchemy import text

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.replay import ReplayResult, replay_instance
from tests.engine import documents
from tests.engine.handler_doubles import FlakyStamp


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def _replay(wiring: Wiring, instance_id: str) -> ReplayResult:
    with wiring.service.uow.read() as session:
        return replay_instance(session, instance_id, runtime=wiring.service.runtime, specs=wiring.service.specs)


def _set_payload(wiring: Wiring, instance_id: str, seq: int, payload: dict) -> None:
    cast = "CAST(:p AS jsonb)" if wiring.db.dialect.name == "postgresql" else ":p"
    with wiring.db.begin() as conn:
        conn.execute(text(f"UPDATE events SET payload = {cast} WHERE instance_id = :i AND seq = :s"),
                     {"p": json.dumps(payload), "i": instance_id, "s": seq})


def _event(wiring: Wiring, instance_id: str, type_: str) -> tuple[int, dict]:
    with wiring.db.connect() as conn:
        seq, payload = conn.execute(text("SELECT seq, payload FROM events WHERE instance_id = :i AND type = :t "
                                         "ORDER BY seq LIMIT 1"), {"i": instance_id, "t": type_}).one()
    return seq, json.loads(payload) if isinstance(payload, str) else payload


def test_user_tasks_gateways_and_parallel_branches_replay_verified(wiring: Wiring, clock: ManualClock) -> None:
    service = wiring.service
    service.deploy(documents.approval().encode())
    service.deploy(documents.parallel_pair().encode())
    approved = service.start("approval", {"solicitante": "ana"}, requester="ana")
    clock.advance(minutes=4)
    service.complete_task(_ready(wiring, approved.id)["Task_review"], {"aprobada": "No"}, actor="luis")
    pair = service.start("pair")
    tasks = _ready(wiring, pair.id)
    service.complete_task(tasks["Task_b"], {"b": 2}, actor="raul")
    service.complete_task(tasks["Task_a"], {"a": 40}, actor="eva")
    waiting = service.start("approval", {"solicitante": "leo"})
    for instance_id in (approved.id, pair.id, waiting.id):
        result = _replay(wiring, instance_id)
        assert result.status == "verified", result.divergence
        assert result.events > 0 and result.steps >= 1
    assert _replay(wiring, pair.id).steps == 3


def test_timer_firings_replay_at_their_recorded_times(wiring: Wiring, clock: ManualClock) -> None:
    wiring.service.deploy(documents.timer_escalation().encode())
    escalated = wiring.service.start("escalation")
    in_time = wiring.service.start("escalation")
    clock.advance(minutes=30)
    wiring.service.complete_task(_ready(wiring, in_time.id)["Task_first"], {}, actor="ana")
    clock.advance(hours=1)
    assert wiring.service.fire_due_timers() == 1
    wiring.service.complete_task(_ready(wiring, escalated.id)["Task_second"], {"nivel": 2}, actor="luis")
    assert _replay(wiring, escalated.id).status == "verified"
    assert _replay(wiring, in_time.id).status == "verified"


def test_handlers_are_not_called_again_and_recorded_failures_replay(wiring: Wiring, handlers: HandlerRegistry,
                                                                    clock: ManualClock) -> None:
    stamp = FlakyStamp()
    calls = stamp.calls
    handlers.register("stamp", stamp)
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert instance.status == "error"
    stamp.broken = False
    clock.advance(minutes=10)
    wiring.service.retry(instance.id, actor="ops")
    wiring.service.complete_task(_ready(wiring, instance.id)["Task_review"], {}, actor="luis")
    seq, payload = _event(wiring, instance.id, "element_completed")
    assert calls == ["INC", "INC"]
    result = _replay(wiring, instance.id)
    assert result.status == "verified", result.divergence
    assert calls == ["INC", "INC"], "replay must not call handlers"
    with wiring.db.connect() as conn:
        results = [json.loads(p) if isinstance(p, str) else p for (p,) in conn.execute(text(
            "SELECT payload FROM events WHERE instance_id = :i AND element_id = 'Call_handler' "
            "AND type = 'element_completed'"), {"i": instance.id})]
    assert [r["result"] for r in results] == ["INC-0002"]


def test_cancelled_instances_replay_verified(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval", {"solicitante": "mia"})
    wiring.service.cancel(instance.id, reason="duplicada")
    assert _replay(wiring, instance.id).status == "verified"


def test_changed_task_data_diverges_at_the_gateway_outcome(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval", {"solicitante": "ana"})
    wiring.service.complete_task(_ready(wiring, instance.id)["Task_review"], {"aprobada": "Sí"}, actor="luis")
    seq, payload = _event(wiring, instance.id, "task_completed")
    payload["data"]["aprobada"] = "No"
    _set_payload(wiring, instance.id, seq, payload)
    result = _replay(wiring, instance.id)
    assert result.status == "diverged"
    divergence = result.divergence
    assert divergence is not None and divergence.event_type == "element_completed"
    assert (divergence.expected, divergence.found) == ("end_ok", "end_no")
    assert divergence.seq is not None and divergence.seq > seq


def test_changed_initial_data_diverges_in_the_final_state(wiring: Wiring) -> None:
    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval", {"solicitante": "ana"})
    seq, payload = _event(wiring, instance.id, "instance_started")
    payload["data"]["solicitante"] = "mallory"
    _set_payload(wiring, instance.id, seq, payload)
    divergence = _replay(wiring, instance.id).divergence
    assert divergence is not None and divergence.seq is None and "mallory" in divergence.found


def test_a_missing_completion_diverges_at_the_task(wiring: Wiring) -> None:
    wiring.service.deploy(documents.parallel_pair().encode())
    instance = wiring.service.start("pair")
    tasks = _ready(wiring, instance.id)
    wiring.service.complete_task(tasks["Task_a"], {"a": 1}, actor="eva")
    wiring.service.complete_task(tasks["Task_b"], {"b": 2}, actor="eva")
    seq, _ = _event(wiring, instance.id, "task_completed")
    with wiring.db.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE instance_id = :i AND seq = :s"), {"i": instance.id, "s": seq})
    divergence = _replay(wiring, instance.id).divergence
    assert divergence is not None and divergence.seq is not None and divergence.seq > seq


def test_a_lost_trailing_step_diverges_in_the_final_state(wiring: Wiring, clock: ManualClock) -> None:
    """Replay does not rely on the chain check alone: a history cut after a step is caught too."""
    wiring.service.deploy(documents.timer_escalation().encode())
    instance = wiring.service.start("escalation")
    clock.advance(hours=2)
    assert wiring.service.fire_due_timers() == 1
    with wiring.db.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE instance_id = :i AND actor = 'scheduler'"), {"i": instance.id})
        conn.execute(text("DELETE FROM events WHERE instance_id = :i AND type = 'task_ready' "
                          "AND element_id = 'Task_second'"), {"i": instance.id})
        conn.execute(text("UPDATE instances SET last_event_seq = (SELECT COUNT(*) FROM events WHERE instance_id = :i) "
                          "WHERE id = :i"), {"i": instance.id})
    divergence = _replay(wiring, instance.id).divergence
    assert divergence is not None and divergence.seq is None
    assert (divergence.expected, divergence.found) == ("ready Task_second", "ready Task_first")


def test_business_errors_are_recorded_and_routed_again_on_replay(wiring: Wiring, handlers: HandlerRegistry) -> None:
    from handlers.errors import BusinessError

    calls: list[str] = []

    def check(value: str) -> dict:
        calls.append(value)
        if value == "vencido":
            raise BusinessError("El certificado venció", code="certificado_invalido", details={"days_left": -5})
        return {"valid_now": True}

    handlers.register("check", check)
    wiring.service.deploy(documents.business_error().encode())
    routed = wiring.service.start("checked", {"certificado": "vencido"})
    fine = wiring.service.start("checked", {"certificado": "vigente"})
    wiring.service.complete_task(_ready(wiring, routed.id)["Task_fix"], {"corregido": True}, actor="ana")
    seq, payload = _event(wiring, routed.id, "handler_business_error")
    assert payload == {"code": "certificado_invalido", "message": "El certificado venció",
                       "details": {"days_left": -5}}
    for instance_id in (routed.id, fine.id):
        result = _replay(wiring, instance_id)
        assert result.status == "verified", result.divergence
    assert calls == ["vencido", "vigente"], "replay must not call handlers"
