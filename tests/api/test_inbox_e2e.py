"""End to end through HTTP on a real procedure of the manual, with every user's inbox at each step.

MP-DGTIT-DOSI-GIS-RIS-3.2 (Registro de incidentes y solicitudes de servicio): a requester starts
it; a 1st-level user claims and works the registration, classification and prioritisation; the
ticket is escalated to 2nd level (Atención de incidentes, MP-DGTIT-DOSI-GIS-AIS-3.3, a called
process); a 1st-level user cannot complete the 2nd-level task, the 2nd-level user does, and the
procedure ends. Handlers are stubbed: this test is about who sees and may do what.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.handler_registry import HandlerRegistry
from engine.settings import Settings
from tests.api.conftest import Login

KEY = "MP_DGTIT_DOSI_GIS_RIS_3_2"


@pytest.fixture
def handlers() -> HandlerRegistry:
    registry = HandlerRegistry()
    registry.register("folio", lambda series: f"{series}-2026-000001")
    registry.register("set_status", lambda label: {"label": label})
    registry.register("priority", lambda impact, urgency: "low")
    registry.register("notify", lambda **params: {"delivered": True})
    return registry


def _inbox(caller: FlaskClient) -> list[tuple[str, str | None]]:
    """(element id, assignee) of the caller's ready tasks."""
    body = caller.get("/api/v1/tasks").get_json()
    return [(t["element_id"], t["assignee"]) for t in body["items"]]


def _task(caller: FlaskClient, element_id: str) -> dict[str, Any]:
    return next(t for t in caller.get("/api/v1/tasks").get_json()["items"] if t["element_id"] == element_id)


def _complete(caller: FlaskClient, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    response = caller.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_registration_first_level_escalation_to_second_level(app: Flask, settings: Settings, login: Login) -> None:
    app.extensions["cauce"].service.deploy_directory(settings.bpmn_dir, actor="test")
    rita = login("rita", "solicitante")  # the requester
    uno = login("uno", "1er-nivel")  # 1st level: works the registration (candidate role) and lane
    otra = login("otra", "1er-nivel")  # another 1st-level colleague
    dos = login("dos", "2do-nivel")  # 2nd level
    aud = login("aud", "auditor")

    started = rita.post("/api/v1/instances", json={"definition": KEY, "business_key": "INC-TEST-1"})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert instance["requester"] == "rita"
    [registration] = instance["ready_tasks"]
    assert registration["element_id"] == "Activity_1"
    # Lane "Operador(a) en Soporte en Campo", candidate "1er. Nivel": both 1st-level users see it.
    assert _inbox(rita) == [] and _inbox(dos) == []
    assert _inbox(uno) == [("Activity_1", None)] == _inbox(otra)
    shown = _task(uno, "Activity_1")
    assert shown["definition"]["manual_key"] == "MP-DGTIT-DOSI-GIS-RIS-3.2"
    assert shown["instance"]["business_key"] == "INC-TEST-1"
    assert shown["lane"]["name"] == "Operador(a) en Soporte en Campo"
    assert shown["form"]["properties"]["tipo_ticket"]["enum"] == ["Incidente", "Solicitud de servicio"]

    assert uno.post(f"/api/v1/tasks/{registration['id']}/claim").status_code == 200
    assert _inbox(uno) == [("Activity_1", "uno")] and _inbox(otra) == []
    assert otra.post(f"/api/v1/tasks/{registration['id']}/claim").status_code == 409
    assert otra.post(f"/api/v1/tasks/{registration['id']}/complete", json={"data": {}}).status_code == 403
    _complete(uno, registration["id"], {
        "solicitante": "Lic. Andrés Ruiz Castañeda", "ubicacion": "Edificio central SFIA, piso 3",
        "descripcion_ticket": "El sistema de reportes no responde", "tipo_ticket": "Incidente",
        "medio_recepcion": "Llamada telefónica", "quien_registra": "1er nivel"})

    classify = _task(uno, "Activity_2")
    assert _inbox(uno) == [("Activity_2", None)] == _inbox(otra) and _inbox(dos) == []
    _complete(uno, classify["id"], {"servicio_catalogo": "Reportes", "clasificacion": "Incidente de aplicación"})
    prioritise = _task(uno, "Activity_3")
    bad = uno.post(f"/api/v1/tasks/{prioritise['id']}/complete",
                   json={"data": {"impacto": "altísima", "urgencia": "baja"}})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]["fields"]) == {"impacto", "puede_responder"}
    _complete(uno, prioritise["id"], {"impacto": "baja", "urgencia": "baja", "puede_responder": "No"})

    # "¿Puede responder?" No -> 4. Asignar a 2do. Nivel, in the 1st-level lane.
    assign = _task(uno, "Activity_4")
    assert _inbox(otra) == [("Activity_4", None)] and _inbox(dos) == [] and _inbox(rita) == []
    _complete(uno, assign["id"], {"atencion_local": "No", "incidente_mayor": "No", "resolutor_conocido": "Sí",
                                  "asignado_a": "dos"})

    # Escalated: the called process's first task is in the 2do. Nivel lane.
    assert _inbox(uno) == [] and _inbox(otra) == [] and _inbox(rita) == []
    assert _inbox(dos) == [("Activity_1", None)]
    receive = _task(dos, "Activity_1")
    assert receive["process_key"] == "MP_DGTIT_DOSI_GIS_AIS_3_3" and receive["lane"]["id"] == "2do-nivel"
    assert uno.post(f"/api/v1/tasks/{receive['id']}/claim").status_code == 403
    assert uno.post(f"/api/v1/tasks/{receive['id']}/complete", json={"data": {}}).status_code == 403
    assert dos.post(f"/api/v1/tasks/{receive['id']}/claim").status_code == 200
    _complete(dos, receive["id"], {"folio_ticket": "INC-2026-000001", "resolutor_asignado": "dos",
                                   "recepcion_por_oficio": "No"})
    resolve = _task(dos, "Activity_2")
    _complete(dos, resolve["id"], {"acciones_realizadas": "Se reinició el servicio de reportes",
                                   "incidente_resuelto": "Sí"})
    record = _task(dos, "Activity_3")
    done = _complete(dos, record["id"], {"solucion": "Reinicio del servicio y verificación con el usuario"})
    assert done["status"] == "completed", done
    assert all(_inbox(c) == [] for c in (rita, uno, otra, dos))

    # Who did what, as the auditor reads it; the claim is part of the verifiable history.
    completed = aud.get(f"/api/v1/tasks?all=true&status=completed&instance={instance['id']}").get_json()
    assert sorted((t["completed_by"], t["element_id"]) for t in completed["items"]) == [
        ("dos", "Activity_1"), ("dos", "Activity_2"), ("dos", "Activity_3"),
        ("uno", "Activity_1"), ("uno", "Activity_2"), ("uno", "Activity_3"), ("uno", "Activity_4")]
    events = aud.get(f"/api/v1/instances/{instance['id']}/events?page_size=500").get_json()["items"]
    assert [e["actor"] for e in events if e["type"] == "task_claimed"] == ["uno", "dos"]
    assert aud.get("/api/v1/audit/verify").get_json()["ok"] is True
    replayed = aud.post(f"/api/v1/instances/{instance['id']}/replay").get_json()
    assert replayed["result"] == "verified", replayed
