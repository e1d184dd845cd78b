"""Field support (MP-DGTIT-DOSI-GIS-GIC-3.4) assigns the operator by location and open tasks, with
real users and the tasks the procedure itself opens, and the next tasks go to that operator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api import default_handlers
from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.settings import Settings

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
OPERATOR = "Operador(a) de Soporte en campo"
LEON = "Oficina Recaudadora de León"


@pytest.fixture
def field(settings: Settings, clock: ManualClock) -> Iterator[Wiring]:
    wiring = build(settings, handlers=default_handlers(settings), clock=clock, check_handlers=True)
    wiring.service.deploy_directory(BPMN)
    identity = wiring.identity
    identity.create_user("beto", [OPERATOR], location="  oficina recaudadora de LEON ")  # as typed: still León
    identity.create_user("ana", [OPERATOR], location=LEON)
    identity.create_user("carla", [OPERATOR], location="Dirección de Catastro")
    identity.create_user("jefa", ["Jefe(a) de Soporte en Campo"], location=LEON)  # not an operator
    yield wiring
    wiring.db.dispose()


def _request(wiring: Wiring, location: str = LEON) -> tuple[str, str]:
    """Start a request and register it (activity 1); returns the instance id and who got activity 4."""
    service = wiring.service
    instance = service.start("MP_DGTIT_DOSI_GIS_GIC_3_4", requester="jefa")
    first = next(t for t in service.ready_tasks(instance.id) if t.element_id == "Activity_1")
    instance = service.complete_task(first.id, {
        "solicitante": "Lic. Teresa Campos Durán", "ubicacion": location, "descripcion_servicio": "Lector sin lectura",
        "recibida_por_mesa": "Sí", "es_prioridad_alta": "No"}, actor="jefa")
    assert instance.status == "running", instance.error
    support = next(t for t in service.ready_tasks(instance.id) if t.element_id == "Activity_4")
    assert instance.data["operador_asignado"] == support.assignee
    return instance.id, support.assignee or ""


def test_fewest_open_tasks_at_the_location_ties_by_name(field: Wiring) -> None:
    assert _request(field)[1] == "ana"  # 0 - 0: the first name
    assert _request(field)[1] == "beto"  # ana has 1 open task
    first, chosen = _request(field)
    assert chosen == "ana"  # 1 - 1 again
    assert _request(field, "Dirección de Catastro")[1] == "carla"

    # Activity 4 done: activity 5 opens for the same operator, so ana still has 2 open tasks.
    service = field.service
    task = next(t for t in service.ready_tasks(first) if t.element_id == "Activity_4" and t.assignee == "ana")
    service.complete_task(task.id, {"modalidad_soporte": "En campo", "actividades_realizadas": "Cable reemplazado"},
                          actor="ana")
    (registered,) = [t for t in service.ready_tasks(first) if t.element_id == "Activity_5"]
    assert registered.assignee == "ana"
    assert _request(field)[1] == "beto"  # ana 2, beto 1


def test_nobody_at_the_location_puts_the_instance_in_error_saying_why(field: Wiring) -> None:
    service = field.service
    instance = service.start("MP_DGTIT_DOSI_GIS_GIC_3_4", requester="jefa")
    first = next(t for t in service.ready_tasks(instance.id) if t.element_id == "Activity_1")
    instance = service.complete_task(first.id, {
        "solicitante": "C. Ramón Ibarra", "ubicacion": "Irapuato", "descripcion_servicio": "Impresora",
        "recibida_por_mesa": "Sí", "es_prioridad_alta": "No"}, actor="jefa")
    assert instance.status == "error"
    assert "Irapuato" in instance.error["message"] and "--location" in instance.error["message"]
