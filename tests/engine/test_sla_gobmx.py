"""End to end on the gob.mx incident protocol (FED-GOBMX-INC): a critical incident escalates when
its acknowledgement passes 15 minutes, on the injected clock, with the real notify handler.

The SLA clock of activity 2.1 ("Responder correo confirmando de enterado") starts when the task is
ready, is at risk at 75 % (11 min 15 s: a warning to the responsible), and breached at 15 minutes:
the SLA mails the copy to the responsible and records ``sla_breached``, while the diagram's own
timer mails the hierarchical superior. Both land in the outbox; the superior's mail reaches the
user holding that notification role.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Wiring, step_handler_dependencies
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.models import Event, HumanTask, OutboxMessage, Role, User
from engine.models.sla import SlaClock
from engine.scheduler import WAKE_JOB_ID, TimerScheduler
from engine.sla_scheduler import WAKE_JOB_ID as SLA_WAKE_JOB_ID
from engine.sla_scheduler import SlaScheduler
from handlers.registry import register_builtin
from tests.engine.processes import race_in_processes

KEY = "FED_GOBMX_INC"
RESPONSABLE = "responsable.actas@registrocivil.gob.mx"


@pytest.fixture
def handlers() -> HandlerRegistry:
    registry = HandlerRegistry()
    register_builtin(registry, **step_handler_dependencies())
    return registry


def _complete(wiring: Wiring, element_id: str, data: dict[str, object]) -> None:
    instance_id = wiring.service.list_instances()[0][0].id
    task = next(t for t in wiring.service.ready_tasks(instance_id) if t.element_id == element_id)
    wiring.service.complete_task(task.id, data, actor="tester")


def tick(timers: TimerScheduler, slas: SlaScheduler, clock: ManualClock) -> int:
    """Do what APScheduler does when the clock reaches an armed wake-up: drop the job, run it."""
    ran = 0
    for waker, job_id in ((timers, WAKE_JOB_ID), (slas, SLA_WAKE_JOB_ID)):
        armed = waker.armed_at()
        if armed is not None and armed <= clock.now:
            waker.scheduler.remove_job(job_id)
            ran += waker.run_due()
    return ran


def _outbox(wiring: Wiring) -> list[OutboxMessage]:
    with wiring.service.uow.read() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def _events(wiring: Wiring, instance_id: str, prefix: str = "sla_") -> list[Event]:
    with wiring.service.uow.read() as session:
        return [e for e in session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq))
                if e.type.startswith(prefix)]


def test_critical_incident_escalates_when_acknowledgement_passes_15_minutes(
        wiring: Wiring, clock: ManualClock) -> None:
    service = wiring.service
    service.deploy((wiring.settings.bpmn_dir / "federal" / "FED-GOBMX-INC.bpmn").read_bytes())
    wiring.identity.create_user("jefa", ["admin"], email="jefa.inmediata@gob.mx")
    with service.uow.write() as session:  # the notification role of the escalation (not a lane)
        session.add(Role(id="nivel-jerarquico-inmediato-superior", name="Nivel jerárquico inmediato superior",
                         kind="staff"))
        session.flush()
        user = session.scalars(select(User).where(User.name == "jefa")).one()
        user.roles = [*user.roles, session.get(Role, "nivel-jerarquico-inmediato-superior")]
        session.commit()
    timers = TimerScheduler(service).start(paused=True)  # APScheduler paused: jobs run by tick()
    slas = SlaScheduler(service.slas, timers.scheduler).start()
    tick(timers, slas, clock)  # the start-up catch-up rounds

    try:
        _run(wiring, clock, timers, slas)
    finally:
        timers.shutdown(wait=False)


def _run(wiring: Wiring, clock: ManualClock, timers: TimerScheduler, slas: SlaScheduler) -> None:
    service = wiring.service
    instance = service.start(KEY, requester="dependencia")
    _complete(wiring, "Activity_1", {
        "tramite": "Acta de nacimiento en línea", "tipo_falla": "No disponible",
        "descripcion_falla": "Error 503", "medio_comunicacion": "Correo electrónico",
        "correo_responsable": RESPONSABLE})
    _complete(wiring, "Activity_2", {"severidad": "Crítica"})
    ready_at = clock.now

    with service.uow.read() as session:
        clock_row = session.scalars(select(SlaClock).where(SlaClock.sla_name == "confirmacion")).one()
        task = session.get(HumanTask, clock_row.task_id)
    assert (clock_row.level, clock_row.target, clock_row.calendar) == ("Crítica", "PT15M", "24x7")
    assert clock_row.due_at == ready_at + timedelta(minutes=15)
    assert task.due_at == clock_row.due_at and task.sla_state == "on_track"
    assert slas.armed_at() == ready_at + timedelta(minutes=7, seconds=30)  # 50 %

    clock.advance(minutes=11, seconds=15)  # 75 %: at risk, warning to the responsible
    assert tick(timers, slas, clock) >= 1
    assert service.get_task(task.id).sla_state == "at_risk"
    assert [m.template for m in _outbox(wiring)][-1] == "sla_en_riesgo_ticket"

    clock.advance(minutes=3, seconds=44)  # 14:59: nothing more
    tick(timers, slas, clock)
    assert service.get_task(task.id).sla_state == "at_risk"

    clock.advance(seconds=1)  # 15 minutes
    tick(timers, slas, clock)
    assert service.get_task(task.id).sla_state == "breached"
    types = [(e.type, e.payload.get("percent")) for e in _events(wiring, instance.id)
             if e.payload.get("sla") == "confirmacion"]
    assert types == [("sla_started", None), ("sla_at_risk", 50), ("sla_at_risk", 75), ("sla_breached", 100)]
    breach = _events(wiring, instance.id)[-1]
    assert breach.at == ready_at + timedelta(minutes=15)
    assert breach.payload["actions"][0]["notify"]["to"] == [RESPONSABLE]
    clock.advance(seconds=1)  # the diagram's timer fires once its due time has passed (SpiffWorkflow: ">")
    tick(timers, slas, clock)
    escalations = [m for m in _outbox(wiring) if m.template == "escalamiento_slo_confirmacion"]
    assert {tuple(m.recipients) for m in escalations} == {(RESPONSABLE,), ("jefa.inmediata@gob.mx",)}
    assert all(m.status == "pending" for m in escalations)

    # Firing again (another process, a retried round) changes nothing: each threshold fired once.
    before = len(_events(wiring, instance.id))
    assert service.slas.fire_due() == 0
    assert len(_events(wiring, instance.id)) == before
    _complete(wiring, "Activity_2_1", {"confirmacion_enterado": "Enterados"})
    with service.uow.read() as session:
        final = session.get(SlaClock, clock_row.id)
    due = ready_at + timedelta(minutes=15)
    assert (final.state, final.stopped_at, final.breached_at) == ("breached", clock.now, due)


def _fire_in_process(url: str, now: str, barrier: Any, results: Any) -> None:
    """A worker process of its own: its own interpreter, engine, connections and SLA scheduler round."""
    from engine.bootstrap import build
    from engine.clock import ManualClock
    from engine.settings import Settings

    wiring = build(Settings(database_url=url, scheduler_enabled=False, lock_timeout_s=20.0),
                   clock=ManualClock(datetime.fromisoformat(now)))
    try:
        barrier.wait(timeout=60)
        results.put(wiring.service.slas.fire_due())
    finally:
        wiring.db.dispose()


def test_two_processes_fire_each_threshold_once(wiring: Wiring, db_url: str, clock: ManualClock) -> None:
    service = wiring.service
    service.deploy((wiring.settings.bpmn_dir / "federal" / "FED-GOBMX-INC.bpmn").read_bytes())
    instances = []
    for _ in range(3):
        instance = service.start(KEY)
        instances.append(instance.id)
        for element_id, data in (("Activity_1", {"tramite": "t", "tipo_falla": "No disponible",
                                                 "descripcion_falla": "d", "medio_comunicacion": "Vía telefónica",
                                                 "correo_responsable": RESPONSABLE}),
                                 ("Activity_2", {"severidad": "Crítica"})):
            task = next(t for t in service.ready_tasks(instance.id) if t.element_id == element_id)
            service.complete_task(task.id, data)
    clock.advance(minutes=7, seconds=30)  # 50 % of every acknowledgement clock
    counts = race_in_processes(_fire_in_process, db_url, clock().isoformat())
    assert sum(counts) == 3, counts  # each clock moved by exactly one of the two processes
    for instance_id in instances:
        at_risk = [e for e in _events(wiring, instance_id) if e.type == "sla_at_risk"]
        assert [(e.payload["sla"], e.payload["percent"]) for e in at_risk] == [("confirmacion", 50)]
