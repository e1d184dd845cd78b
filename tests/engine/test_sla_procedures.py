"""The SLAs of bpmn/slas.yaml on the real diagrams: a called procedure's clock (Seguimiento a Tickets
inside Atención de Incidentes Mayores), the major incident's documentation escalated to the
director's inbox, and RENAPO's first contact paused while the requesting area sends data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.models.sla import SlaClock

BPMN = "dosi/MP-DGTIT-DOSI-GIS-{}.bpmn"


class Mail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, template: str, to: str) -> dict[str, str]:
        self.sent.append((template, to))
        return {"template": template}


@pytest.fixture
def mail() -> Mail:
    return Mail()


@pytest.fixture
def handlers(mail: Mail) -> HandlerRegistry:
    registry = HandlerRegistry()
    registry.register("notify", mail)
    registry.register("set_status", lambda label: {"label": label})
    registry.register("folio", lambda series: f"{series}-2026-000001")
    return registry


def _deploy(wiring: Wiring, *paths: str) -> None:
    for path in paths:
        wiring.service.deploy((wiring.settings.bpmn_dir / path).read_bytes())


def _complete(wiring: Wiring, instance_id: str, element_id: str, data: dict[str, Any]) -> str:
    task = next(t for t in wiring.service.ready_tasks(instance_id) if t.element_id == element_id)
    wiring.service.complete_task(task.id, data, actor="lider")
    return task.id


def _clocks(wiring: Wiring, instance_id: str) -> dict[str, SlaClock]:
    with wiring.service.uow.read() as session:
        return {c.sla_name: c for c in session.scalars(select(SlaClock).where(SlaClock.instance_id == instance_id))}


def test_follow_up_of_a_major_incident_runs_inside_its_caller(wiring: Wiring, clock: ManualClock,
                                                             mail: Mail) -> None:
    _deploy(wiring, BPMN.format("STS-3.7"), BPMN.format("AIM-3.5"))
    instance = wiring.service.start("MP_DGTIT_DOSI_GIS_AIM_3_5")
    _complete(wiring, instance.id, "Activity_1", {
        "folio_ticket": "INC-2026-000087", "descripcion_incidente": "Caída del portal",
        "servicios_afectados": "Portal", "recepcion_por_oficio": "No", "llamada_realizada": True})
    _complete(wiring, instance.id, "Activity_2", {"equipo_asignado": "Infraestructura", "lider_equipo": "Laura"})
    assert _clocks(wiring, instance.id) == {}  # the follow-up has not read the ticket's SLA yet
    _complete(wiring, instance.id, "Activity_1_consulta", {
        "folio_ticket": "INC-2026-000087", "tipo_ticket": "Incidente mayor", "prioridad_ticket": "Crítica",
        "tiempo_sla_horas": 4})
    follow_up = _clocks(wiring, instance.id)["seguimiento_incidente_mayor"]
    assert (follow_up.definition_key, follow_up.scope, follow_up.level, follow_up.target) == (
        "MP_DGTIT_DOSI_GIS_STS_3_7", "instance", "Crítica", "PT4H")
    before = len(mail.sent)  # the diagram's own notifications
    clock.advance(hours=3)
    assert wiring.service.slas.fire_due() == 1  # 50 % and 75 % at once
    assert mail.sent[before:] == [("sla_en_riesgo_incidente_mayor", "assignee"),
                         ("sla_en_riesgo_incidente_mayor", "role:Director(a) de Operaciones")]

    # Activity 6: the documentation is due 24 h after it is ready; at 24 h the task goes to the
    # Director(a) de Operaciones' inbox (the diagram's own timer mails the director).
    _complete(wiring, instance.id, "Activity_3", {"acciones_realizadas": "Reinicio", "atendida_segundo_nivel": "Sí"})
    documentation = _clocks(wiring, instance.id)["documentacion"]
    assert documentation.due_at == clock.now + timedelta(hours=24)
    clock.advance(hours=24)
    wiring.service.slas.fire_due()
    row = wiring.service.get_task(documentation.task_id)
    assert ("Director(a) de Operaciones" in row.candidate_roles, row.sla_state) == (True, "breached")


def test_renapo_first_contact_pauses_while_the_requesting_area_sends_data(wiring: Wiring, clock: ManualClock) -> None:
    monday_10 = datetime(2026, 1, 12, 16, 0, tzinfo=UTC)  # 10:00 in Mexico City
    clock.set(monday_10)
    _deploy(wiring, "federal/FED-RENAPO-CERT.bpmn")
    instance = wiring.service.start("FED_RENAPO_CERT")
    first = _clocks(wiring, instance.id)["primer_contacto"]
    assert (first.target, first.calendar, first.due_at) == ("P5D", "habil", monday_10 + timedelta(days=7))
    _complete(wiring, instance.id, "Activity_1_2", {
        "unidad_administrativa": "Delegación Jalisco", "solicitante": "Pedro", "correo_solicitante": "p@x.mx",
        "director_que_turna": "Lic. Ana", "descripcion": "Actualización de certificado"})
    _complete(wiring, instance.id, "Activity_2_1", {"existen_observaciones": "Sí", "observaciones": "Falta el sistema"})
    assert _clocks(wiring, instance.id)["primer_contacto"].state == "paused"
    clock.set(monday_10 + timedelta(days=1))  # the area answers the next day: one working day later
    _complete(wiring, instance.id, "Activity_2_2_datos", {"datos_adicionales": "PADRON-WEB"})
    first = _clocks(wiring, instance.id)["primer_contacto"]
    assert (first.state, first.paused_seconds) == ("on_track", 8 * 3600)
    assert first.due_at == monday_10 + timedelta(days=8)  # Tuesday of the next week
    _complete(wiring, instance.id, "Activity_2_1", {"existen_observaciones": "No"})
    assert _clocks(wiring, instance.id)["primer_contacto"].state == "met"
