"""GET /api/v1/instances?status_label= filters by the business status set_status stored."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.handler_registry import HandlerRegistry
from handlers import status
from tests.engine.step_documents import service_steps


def test_list_instances_filters_by_status_label_over_http(client: FlaskClient, handlers: HandlerRegistry) -> None:
    handlers.register("set_status", status.set_status, input_schema=status.Input(), output_schema=status.Output())
    xml = service_steps("por_estado", [("set_status", "estado", {"label": "etiqueta"})])
    assert client.post("/api/v1/definitions", data=xml.encode(), content_type="application/xml").status_code == 201
    ids = {}
    for label in ("Aprobada", "Declinada", "Aprobada"):
        response = client.post("/api/v1/instances", json={"definition": "por_estado", "data": {"etiqueta": label}})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["status_label"] == label
        ids.setdefault(label, []).append(response.get_json()["id"])
    body = client.get("/api/v1/instances?status_label=Aprobada").get_json()
    assert body["total"] == 2 and {i["id"] for i in body["items"]} == set(ids["Aprobada"])
    assert all(i["status_label"] == "Aprobada" for i in body["items"])
    assert client.get("/api/v1/instances?status_label=Cerrado").get_json()["total"] == 0
