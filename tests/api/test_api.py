"""The HTTP API as a client sees it: paths, status codes, bodies, and the error format."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from engine.handler_registry import HandlerRegistry
from tests.engine import documents


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


def _deploy(client: FlaskClient, xml: str, name: str = "d.bpmn") -> dict:
    response = client.post("/api/v1/definitions", data={"file": (io.BytesIO(xml.encode()), name)},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_health_and_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/definitions", "/api/v1/definitions/{key}",
                 "/api/v1/definitions/{key}/versions/{version}/bpmn",
                 "/api/v1/instances", "/api/v1/instances/{instance_id}", "/api/v1/instances/{instance_id}/cancel",
                 "/api/v1/instances/{instance_id}/retry", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
                 "/api/v1/tasks/{task_id}/complete"):
        assert path in spec["paths"], path
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()


def test_deploy_by_multipart_and_raw_xml_is_idempotent(client: FlaskClient) -> None:
    first = client.post("/api/v1/definitions", data={"file": (io.BytesIO(documents.approval().encode()), "a.bpmn")},
                        content_type="multipart/form-data")
    assert first.status_code == 201 and first.get_json()["definition"]["version"] == 1
    same = client.post("/api/v1/definitions", data=documents.approval().encode(), content_type="application/xml")
    assert same.status_code == 200 and same.get_json()["created"] is False
    detail = client.get("/api/v1/definitions/approval").get_json()
    assert [v["version"] for v in detail["versions"]] == [1] and detail["latest"]["checksum"]
    xml = client.get("/api/v1/definitions/approval/versions/1/bpmn")
    assert xml.mimetype == "application/xml" and xml.data == documents.approval().encode()
    listed = client.get("/api/v1/definitions").get_json()
    assert listed["total"] == 1 and listed["items"][0]["key"] == "approval"


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"<not-closed", "application/xml", 422, "invalid_definition"),
    (b"", "application/xml", 422, "invalid_definition"),
    (b'{"x": 1}', "application/json", 422, "invalid_input"),
])
def test_bad_uploads_are_4xx_with_a_reason(client: FlaskClient, body: bytes, content_type: str, status: int,
                                           code: str) -> None:
    response = client.post("/api/v1/definitions", data=body, content_type=content_type)
    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code and error["message"]


def test_unknown_things_are_404(client: FlaskClient) -> None:
    assert _error(client.get("/api/v1/definitions/nope"))["code"] == "not_found"
    assert client.get("/api/v1/definitions/nope/versions/1/bpmn").status_code == 404
    assert client.get("/api/v1/instances/nope").status_code == 404
    assert client.get("/api/v1/tasks/nope").status_code == 404
    assert client.post("/api/v1/tasks/nope/complete", json={"data": {}}).status_code == 404
    assert _error(client.post("/api/v1/instances", json={"definition": "nope"}))["code"] == "not_found"
    assert _error(client.get("/api/v1/nothing-here"))["code"] == "not_found"


def test_invalid_request_bodies_are_422_with_fields(client: FlaskClient) -> None:
    _deploy(client, documents.approval())
    response = client.post("/api/v1/instances", json={"data": "not an object"})
    assert response.status_code == 422
    fields = _error(response)["details"]["fields"]["json"]
    assert "definition" in fields and "data" in fields
    not_json = client.post("/api/v1/instances", data="{broken", content_type="application/json")
    assert not_json.status_code in (400, 422) and _error(not_json)
    bad_query = client.get("/api/v1/instances?status=sleeping&page=0")
    assert bad_query.status_code == 422 and {"status", "page"} <= set(_error(bad_query)["details"]["fields"]["query"])


def test_inbox_cycle_start_list_complete(client: FlaskClient) -> None:
    _deploy(client, documents.approval())
    started = client.post("/api/v1/instances", json={"definition": "approval", "data": {"folio": "SOL-7"},
                                                     "business_key": "SOL-7"})
    assert started.status_code == 201
    instance = started.get_json()
    assert instance["status"] == "running" and instance["definition_version"] == 1
    [task] = instance["ready_tasks"]
    assert task["name"] == "1. Revisar la solicitud" and task["lane"] == "Mesa de Servicio"

    inbox = client.get("/api/v1/tasks?lane=Mesa de Servicio").get_json()
    assert [t["id"] for t in inbox["items"]] == [task["id"]]
    assert client.get(f"/api/v1/tasks/{task['id']}").get_json()["status"] == "ready"

    invalid = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"aprobada": "Quizá"}})
    assert invalid.status_code == 422 and "aprobada" in _error(invalid)["details"]["fields"]

    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"aprobada": "Sí"}})
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "completed" and body["data"] == {"folio": "SOL-7", "aprobada": "Sí"}
    assert body["ready_tasks"] == []
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"aprobada": "No"}})
    assert again.status_code == 409 and _error(again)["code"] == "conflict"

    found = client.get("/api/v1/instances?business_key=SOL-7&status=completed").get_json()
    assert found["total"] == 1 and found["items"][0]["id"] == instance["id"]
    assert client.get("/api/v1/tasks?status=completed").get_json()["items"][0]["completed_at"]


def test_pagination_and_filters(client: FlaskClient) -> None:
    _deploy(client, documents.approval())
    ids = [client.post("/api/v1/instances", json={"definition": "approval"}).get_json()["id"] for _ in range(5)]
    page1 = client.get("/api/v1/instances?page=1&page_size=2").get_json()
    page3 = client.get("/api/v1/instances?page=3&page_size=2").get_json()
    assert page1["total"] == 5 and len(page1["items"]) == 2 and len(page3["items"]) == 1
    pages = [client.get(f"/api/v1/instances?page={p}&page_size=2").get_json() for p in (1, 2, 3)]
    seen = {i["id"] for page in pages for i in page["items"]}
    assert seen == set(ids)
    assert client.get("/api/v1/instances?definition=other").get_json()["total"] == 0
    assert client.get("/api/v1/instances?page_size=100000").status_code == 422


def test_cancel_and_retry(client: FlaskClient, handlers: HandlerRegistry) -> None:
    state = {"fail": True}

    def stamp(value: str) -> str:
        if state["fail"]:
            raise ConnectionError("SMTP no disponible")
        return value

    handlers.register("stamp", stamp)
    _deploy(client, documents.service_call())
    failed = client.post("/api/v1/instances", json={"definition": "service_call", "data": {"folio_base": "F"}})
    body = failed.get_json()
    assert body["status"] == "error" and body["error"]["element_id"] == "Call_handler"
    assert "SMTP no disponible" in body["error"]["message"] and body["error"]["at"]
    state["fail"] = False
    retried = client.post(f"/api/v1/instances/{body['id']}/retry")
    assert retried.status_code == 200 and retried.get_json()["status"] == "running"
    assert client.post(f"/api/v1/instances/{body['id']}/retry").status_code == 409

    cancelled = client.post(f"/api/v1/instances/{body['id']}/cancel", json={"reason": "duplicada"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["ready_tasks"] == []
    assert client.post(f"/api/v1/instances/{body['id']}/cancel").status_code == 409
