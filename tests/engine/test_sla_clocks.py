"""SLA clocks kept by the service: started, paused, resumed and stopped by steps; thresholds fired
by the scheduler on the injected clock; met vs breached; escalation by notify and reassignment.

The process ``soporte``: Registrar -> Atender (measured: a task SLA by ``prioridad``) -> Datos (the
requester completes data: ``slaPause``) -> Cerrar -> end; an instance SLA runs from Registrar to
Cerrar. Local times are Mexico City (UTC-6): 10:00 local is 16:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.inbox import TaskQuery
from engine.models import Event, HumanTask
from engine.models.sla import SlaClock
from engine.scheduler import TimerScheduler
from engine.sla import SlaClocks
from engine.sla_config import SlaCatalog, SlaConfigError
from engine.sla_scheduler import WAKE_JOB_ID, SlaScheduler
from tests.engine.loop_shapes import _doc, _flow, _process
from tests.engine.test_concurrency import _race

MONDAY_10 = datetime(2026, 1, 12, 16, 0, tzinfo=UTC)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour + 6, minute, tzinfo=UTC)


def soporte(pause_property: bool = True) -> str:
    pause = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="slaPause" '
             'value="requester"/></spiffworkflow:properties></bpmn:extensionElements>') if pause_property else ""
    return _doc(_process(
        "soporte",
        '<bpmn:laneSet id="ls"><bpmn:lane id="lane_1" name="1er. Nivel">'
        + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>"
                  for n in ("start", "Task_registrar", "Task_atender", "Task_datos", "Task_cerrar", "end"))
        + "</bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="start"/><bpmn:userTask id="Task_registrar"/><bpmn:userTask id="Task_atender"/>'
        f'<bpmn:userTask id="Task_datos">{pause}</bpmn:userTask><bpmn:userTask id="Task_cerrar"/>'
        '<bpmn:endEvent id="end"/>'
        + _flow("start", "Task_registrar") + _flow("Task_registrar", "Task_atender")
        + _flow("Task_atender", "Task_datos") + _flow("Task_datos", "Task_cerrar") + _flow("Task_cerrar", "end"),
    ))


def catalog(*, pause_while: list[str] | None = None, breach: list[dict[str, Any]] | None = None) -> SlaCatalog:
    return SlaCatalog.from_mapping({"version": 1, "slas": {"soporte": [
        {"name": "atencion", "metric": "response", "element": "Task_atender", "level": "prioridad",
         "target": {"Alta": "PT4H", "*": "PT8H"}, "calendar": "24x7",
         "thresholds": {50: [{"notify": {"template": "sla_en_riesgo_ticket", "to": "assignee"}}],
                        75: [{"notify": {"template": "sla_en_riesgo_ticket", "to": "role:Coordinador(a) de Mesa de "
                                                                                      "Servicio"}}],
                        100: breach if breach is not None else []}},
        {"name": "resolucion", "metric": "resolution", "start_after": "Task_registrar", "stop_at": "Task_cerrar",
         "target": "P1D", "calendar": "habil", "pause_while": pause_while or [], "thresholds": {50: [], 100: []}},
    ]}})


class Mail:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def __call__(self, template: str, to: str) -> dict[str, str]:
        self.sent.append({"template": template, "to": to})
        return {"template": template, "to": to}


@pytest.fixture
def mail() -> Mail:
    return Mail()


@pytest.fixture
def handlers(mail: Mail) -> HandlerRegistry:
    registry = HandlerRegistry()
    registry.register("notify", mail)
    return registry


@pytest.fixture
def slas(wiring: Wiring, clock: ManualClock) -> Iterator[SlaScheduler]:
    clock.set(MONDAY_10)
    wiring.service.deploy(soporte().encode())
    wiring.service.slas.catalog = catalog()
    timers = TimerScheduler(wiring.service).start(paused=True)
    waker = SlaScheduler(wiring.service.slas, timers.scheduler).start()
    yield waker
    waker.stop()
    timers.shutdown(wait=False)


def tick(waker: SlaScheduler, clock: ManualClock) -> int:
    """What APScheduler does when the clock reaches the armed wake-up: drop the job and run it."""
    armed = waker.armed_at()
    if armed is None or armed > clock.now:
        return 0
    waker.scheduler.remove_job(WAKE_JOB_ID)
    return waker.run_due()


def _complete(wiring: Wiring, instance_id: str, element_id: str, data: dict[str, Any] | None = None,
              actor: str = "uno") -> None:
    task = next(t for t in wiring.service.ready_tasks(instance_id) if t.element_id == element_id)
    wiring.service.complete_task(task.id, data or {}, actor=actor)


def _clock(wiring: Wiring, name: str) -> SlaClock:
    with wiring.service.uow.read() as session:
        return session.scalars(select(SlaClock).where(SlaClock.sla_name == name)
                               .order_by(SlaClock.started_at.desc())).first()


def _sla_events(wiring: Wiring, instance_id: str) -> list[tuple[str, str, int | None]]:
    with wiring.service.uow.read() as session:
        return [(e.type, e.payload["sla"], e.payload.get("percent")) for e in session.scalars(
            select(Event).where(Event.instance_id == instance_id, Event.type.like("sla_%")).order_by(Event.seq))]


def _started(wiring: Wiring, prioridad: str = "Alta") -> str:
    instance = wiring.service.start("soporte", requester="rita")
    _complete(wiring, instance.id, "Task_registrar", {"prioridad": prioridad})
    return instance.id


def test_task_clock_is_met_when_its_task_completes_in_time(wiring: Wiring, clock: ManualClock,
                                                           slas: SlaScheduler) -> None:
    instance_id = _started(wiring)
    atencion = _clock(wiring, "atencion")
    assert (atencion.level, atencion.target, atencion.state) == ("Alta", "PT4H", "on_track")
    assert atencion.due_at == MONDAY_10 + timedelta(hours=4)
    row = wiring.service.get_task(atencion.task_id)
    assert (row.due_at, row.sla_state) == (atencion.due_at, "on_track")  # what the inbox shows
    clock.advance(hours=1)
    _complete(wiring, instance_id, "Task_atender")
    atencion = _clock(wiring, "atencion")
    assert (atencion.state, atencion.stopped_at, atencion.breached_at) == ("met", clock.now, None)
    assert wiring.service.get_task(atencion.task_id).sla_state == "met"
    assert ("sla_met", "atencion", 0) in _sla_events(wiring, instance_id)


def test_a_late_completion_is_breached_even_if_no_scheduler_saw_the_due_time(
        wiring: Wiring, clock: ManualClock) -> None:
    clock.set(MONDAY_10)
    wiring.service.deploy(soporte().encode())
    wiring.service.slas.catalog = catalog()
    instance_id = _started(wiring, prioridad="Baja")
    assert _clock(wiring, "atencion").target == "PT8H"  # the "*" target of any other level
    clock.advance(hours=8, seconds=1)
    _complete(wiring, instance_id, "Task_atender")
    atencion = _clock(wiring, "atencion")
    assert (atencion.state, atencion.breached_at) == ("breached", MONDAY_10 + timedelta(hours=8))
    assert [e[0] for e in _sla_events(wiring, instance_id) if e[1] == "atencion"] == ["sla_started", "sla_breached"]


def test_thresholds_fire_at_their_time_with_their_actions(wiring: Wiring, clock: ManualClock, mail: Mail,
                                                          slas: SlaScheduler) -> None:
    tick(slas, clock)  # start-up catch-up: nothing due
    instance_id = _started(wiring)
    atencion = _clock(wiring, "atencion")
    assert slas.armed_at() == MONDAY_10 + timedelta(hours=2)  # 50 % of 4 h
    clock.advance(hours=1, minutes=59)
    assert tick(slas, clock) == 0 and mail.sent == []
    clock.advance(minutes=1)
    assert tick(slas, clock) == 1
    assert mail.sent == [{"template": "sla_en_riesgo_ticket", "to": "assignee"}]
    assert wiring.service.get_task(atencion.task_id).sla_state == "at_risk"
    assert slas.armed_at() == MONDAY_10 + timedelta(hours=3)  # 75 %
    clock.advance(hours=2)  # past 75 % and 100 % at once (the server was down): both fire, in order
    assert tick(slas, clock) == 2  # and the instance clock's 50 % (4 of 8 office hours)
    assert [m["to"] for m in mail.sent] == ["assignee", "role:Coordinador(a) de Mesa de Servicio"]
    events = [e for e in _sla_events(wiring, instance_id) if e[1] == "atencion"]
    assert events == [("sla_started", "atencion", None), ("sla_at_risk", "atencion", 50),
                      ("sla_at_risk", "atencion", 75), ("sla_breached", "atencion", 100)]
    atencion = _clock(wiring, "atencion")
    assert (atencion.state, atencion.last_threshold, atencion.next_check_at) == ("breached", 100, None)
    assert wiring.service.slas.fire_due() == 0  # nothing left: each threshold fired once


def test_breach_reassigns_the_task_to_the_next_level(wiring: Wiring, clock: ManualClock, mail: Mail,
                                                     slas: SlaScheduler) -> None:
    wiring.service.slas.catalog = catalog(breach=[{"reassign": {"role": "2do-nivel"}}])
    wiring.identity.create_user("uno", ["1er-nivel"])
    dos = wiring.identity.create_user("dos", ["2do-nivel"])[0]
    instance_id = _started(wiring)
    atencion = _clock(wiring, "atencion")
    uno = wiring.identity.find_actor("uno")
    wiring.inbox.claim(uno, atencion.task_id)
    dos_actor = wiring.identity.find_actor(dos.name)
    assert wiring.inbox.list_tasks(dos_actor, TaskQuery())[1] == 0
    clock.advance(hours=4)
    tick(slas, clock)
    row = wiring.service.get_task(atencion.task_id)
    assert (row.assignee, row.candidate_roles, row.sla_state) == (None, ["2do. Nivel"], "breached")
    items, total = wiring.inbox.list_tasks(dos_actor, TaskQuery())
    assert total == 1 and items[0]["id"] == atencion.task_id  # visible to the next level
    with wiring.service.uow.read() as session:
        breach = session.scalars(select(Event).where(Event.instance_id == instance_id,
                                                     Event.type == "sla_breached")).one()
    assert breach.payload["actions"] == [{"reassign": {"role": "2do. Nivel", "task_id": atencion.task_id,
                                                       "previous_assignee": "uno"}}]


def test_waiting_on_the_requester_pauses_the_instance_clock(wiring: Wiring, clock: ManualClock,
                                                            slas: SlaScheduler) -> None:
    instance_id = _started(wiring)
    resolucion = _clock(wiring, "resolucion")
    assert resolucion.due_at == _local(13, 10)  # P1D on habil: Tuesday 10:00
    clock.set(_local(12, 12))
    _complete(wiring, instance_id, "Task_atender")  # Task_datos (slaPause) is ready: paused
    resolucion = _clock(wiring, "resolucion")
    assert (resolucion.state, resolucion.paused_since, resolucion.next_check_at) == ("paused", clock.now, None)
    clock.set(_local(13, 12))  # the requester answers a day later: 8 office hours paused
    _complete(wiring, instance_id, "Task_datos", actor="rita")
    resolucion = _clock(wiring, "resolucion")
    assert (resolucion.state, resolucion.paused_seconds, resolucion.due_at) == ("on_track", 8 * 3600,
                                                                                _local(14, 10))
    # 2 of the 8 office hours were used before the pause: 50 % falls 2 office hours after resuming.
    assert resolucion.next_check_at == _local(13, 14)
    clock.set(_local(14, 9))
    _complete(wiring, instance_id, "Task_cerrar")
    resolucion = _clock(wiring, "resolucion")
    assert (resolucion.state, resolucion.stopped_at) == ("met", clock.now)
    kinds = [e[0] for e in _sla_events(wiring, instance_id) if e[1] == "resolucion"]
    assert kinds == ["sla_started", "sla_paused", "sla_resumed", "sla_met"]


def test_a_configured_pause_works_without_the_diagram_property(wiring: Wiring, clock: ManualClock) -> None:
    clock.set(MONDAY_10)
    wiring.service.deploy(soporte(pause_property=False).encode())
    wiring.service.slas.catalog = catalog()
    instance_id = _started(wiring)
    _complete(wiring, instance_id, "Task_atender")
    assert _clock(wiring, "resolucion").state == "on_track"  # nothing marks Task_datos
    wiring.service.slas.catalog = catalog(pause_while=["Task_datos"])
    clock.advance(minutes=1)
    _complete(wiring, _started(wiring), "Task_atender")
    assert _clock(wiring, "resolucion").state == "paused"


def test_a_cancelled_instance_ends_its_clocks_at_the_next_wake_up(wiring: Wiring, clock: ManualClock,
                                                                  slas: SlaScheduler) -> None:
    instance_id = _started(wiring)
    wiring.service.cancel(instance_id)
    clock.advance(hours=3)
    tick(slas, clock)
    atencion = _clock(wiring, "atencion")
    assert (atencion.state, atencion.stopped_at, atencion.next_check_at) == ("on_track", clock.now, None)


def test_two_processes_firing_the_same_threshold_fire_it_once(wiring: Wiring, clock: ManualClock, mail: Mail,
                                                             slas: SlaScheduler) -> None:
    instance_id = _started(wiring)
    clock.advance(hours=2)
    results = _race(2, lambda _: wiring.service.slas.fire_due())
    assert sorted(results) == [0, 1], results
    assert [e for e in _sla_events(wiring, instance_id) if e[0] == "sla_at_risk"] == [("sla_at_risk", "atencion", 50)]
    assert len(mail.sent) == 1


def test_instances_without_slas_get_no_clocks(wiring: Wiring) -> None:
    from tests.engine import documents

    wiring.service.deploy(documents.approval().encode())
    instance = wiring.service.start("approval")
    with wiring.service.uow.read() as session:
        assert session.scalars(select(SlaClock)).first() is None
        assert session.scalars(select(HumanTask.sla_state).where(HumanTask.instance_id == instance.id)).all() == [None]


def test_a_broken_sla_file_measures_nothing_and_breaks_no_step(wiring: Wiring, clock: ManualClock) -> None:
    def broken() -> SlaCatalog:
        raise SlaConfigError("slas.yaml: invalid YAML")

    wiring.service.slas = SlaClocks(wiring.service, broken)
    wiring.service.deploy(soporte().encode())
    instance_id = _started(wiring)
    assert wiring.service.get_instance(instance_id)[0].status == "running"
    assert _clock(wiring, "atencion") is None
