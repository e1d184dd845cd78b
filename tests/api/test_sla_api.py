"""GET /api/v1/sla through HTTP, on the gob.mx incident protocol with the real handlers: a critical
incident's acknowledgement clock is listed as at risk after 75 % of its 15 minutes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.bootstrap import step_handler_dependencies
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.settings import Settings
from handlers.registry import register_builtin

KEY = "FED_GOBMX_INC"


@pytest.fixture
def handlers() -> HandlerRegistry:
    registry = HandlerRegistry()
    register_builtin(registry, **step_handler_dependencies())
    return registry


def _complete(client: FlaskClient, instance_id: str, element_id: str, data: dict[str, Any]) -> None:
    detail = client.get(f"/api/v1/instances/{instance_id}").get_json()
    task = next(t for t in detail["ready_tasks"] if t["element_id"] == element_id)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert response.status_code == 200, response.get_json()


def test_at_risk_clocks_are_listed_and_filtered(app: Flask, client: FlaskClient, settings: Settings,
                                                clock: ManualClock) -> None:
    service = app.extensions["cauce"].service
    service.deploy((settings.bpmn_dir / "federal" / "FED-GOBMX-INC.bpmn").read_bytes())
    started = client.post("/api/v1/instances", json={"definition": KEY, "business_key": "INC-1"}).get_json()
    instance_id = started["id"]
    _complete(client, instance_id, "Activity_1", {
        "tramite": "Acta de nacimiento", "tipo_falla": "No disponible", "descripcion_falla": "503",
        "medio_comunicacion": "Correo electrónico", "correo_responsable": "resp@registrocivil.gob.mx"})
    _complete(client, instance_id, "Activity_2", {"severidad": "Crítica"})
    assert client.get("/api/v1/sla?state=at_risk").get_json()["total"] == 0

    clock.advance(minutes=11, seconds=15)
    assert service.slas.fire_due() == 1  # what the scheduler's wake-up runs

    body = client.get("/api/v1/sla?state=at_risk").get_json()
    assert (body["total"], body["page"], body["page_size"]) == (1, 1, 50)
    item = body["items"][0]
    assert (item["sla_name"], item["metric"], item["scope"], item["element_id"]) == (
        "confirmacion", "response", "task", "Activity_2_1")
    assert (item["level"], item["target"], item["calendar"], item["last_threshold"]) == ("Crítica", "PT15M", "24x7", 75)
    assert item["instance_id"] == instance_id
    assert client.get(f"/api/v1/sla?instance={instance_id}&metric=response").get_json()["total"] == 2  # + informe
    assert client.get("/api/v1/sla?state=met").get_json()["items"][0]["sla_name"] == "informe"
    assert client.get("/api/v1/sla?definition=FED_RENAPO_CERT").get_json()["total"] == 0
    assert client.get("/api/v1/sla?metric=resolution&scope=task").get_json()["total"] == 0

    detail = client.get(f"/api/v1/instances/{instance_id}").get_json()
    assert {c["sla_name"]: c["state"] for c in detail["sla_clocks"]} == {"informe": "met", "confirmacion": "at_risk"}


@pytest.mark.parametrize("query", ["state=late", "metric=speed", "page=0", "page_size=501"])
def test_bad_filters_are_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/v1/sla?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"]
