"""An instance's past state and its conformance over HTTP, as an auditor reads them."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.clock import ManualClock
from tests.api.conftest import Login
from tests.api.test_audit_api import _complete, _deploy, _start
from tests.engine import documents


@pytest.fixture
def auditor(login: Login) -> FlaskClient:
    return login("auditora", "auditor")


def _events(client: FlaskClient, instance_id: str) -> list[dict]:
    return client.get(f"/api/v1/instances/{instance_id}/events", query_string={"page_size": 1000}).get_json()["items"]


def test_state_at_an_event(client: FlaskClient, auditor: FlaskClient, clock: ManualClock) -> None:
    _deploy(client, documents.approval())
    instance = _start(client, "approval", {"solicitante": "ana"})
    task_id = instance["ready_tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    clock.advance(minutes=2)
    _complete(client, instance, "Task_review", {"aprobada": "Sí"})
    events = _events(client, instance["id"])
    claimed = next(e["seq"] for e in events if e["type"] == "task_claimed")

    before = auditor.get(f"/api/v1/instances/{instance['id']}/state", query_string={"at": claimed - 1})
    assert before.status_code == 200, before.get_json()
    body = before.get_json()
    assert body["status"] == "running" and body["data"] == {"solicitante": "ana"}
    assert body["first_seq"] == 1 and body["at"] == claimed - 1
    assert [(t["task_id"], t["assignee"]) for t in body["ready_tasks"]] == [(task_id, None)]
    assert body["active"] == [{"element_id": "Task_review", "name": "1. Revisar la solicitud", "type": "UserTask",
                               "process_key": "approval", "state": "READY"}]
    held = auditor.get(f"/api/v1/instances/{instance['id']}/state", query_string={"at": claimed}).get_json()
    assert [t["assignee"] for t in held["ready_tasks"]] == ["tester"] and held["event_type"] == "task_claimed"
    end = auditor.get(f"/api/v1/instances/{instance['id']}/state", query_string={"at": len(events)}).get_json()
    assert end["status"] == "completed" and end["data"]["aprobada"] == "Sí" and end["active"] == []
    assert end["event_at"].endswith("+00:00")


@pytest.mark.parametrize("query", [{}, {"at": 0}, {"at": "x"}, {"at": 999}])
def test_state_rejects_a_missing_or_out_of_range_event(client: FlaskClient, auditor: FlaskClient,
                                                       query: dict) -> None:
    _deploy(client, documents.approval())
    instance = _start(client, "approval", {"solicitante": "ana"})
    response = auditor.get(f"/api/v1/instances/{instance['id']}/state", query_string=query)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] in ("validation_error", "invalid_input") and error["message"]
    if query.get("at") == 999:
        assert "outside the history" in error["message"] and error["details"]["events"] == len(
            _events(client, instance["id"]))


def test_state_and_conformance_of_an_unknown_instance(auditor: FlaskClient) -> None:
    for path in ("/api/v1/instances/nope/state?at=1", "/api/v1/instances/nope/conformance"):
        response = auditor.get(path)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_conformance_over_http(client: FlaskClient, auditor: FlaskClient) -> None:
    _deploy(client, documents.approval())
    instance = _start(client, "approval", {"solicitante": "ana"})
    _complete(client, instance, "Task_review", {"aprobada": "No"})
    response = auditor.get(f"/api/v1/instances/{instance['id']}/conformance")
    assert response.status_code == 200
    body = response.get_json()
    assert body["conforms"] is True and body["fitness"] == 1.0 and body["protocol_compliance"] == 1.0
    assert body["tokens"] == {"produced": 4, "consumed": 4, "missing": 0, "remaining": 0}
    assert {f["flow_id"]: f["taken"] for f in body["flows"]} == {
        "f_start_Task_review": 1, "f_Task_review_gw": 1, "f_gw_end_ok": 0, "f_gw_end_no": 1}
    assert body["deviations"] == [] and body["not_performed"] == []
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/instances/{instance_id}/state", "/api/v1/instances/{instance_id}/conformance"):
        assert path in spec["paths"], path
