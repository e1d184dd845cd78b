"""Incidents through the HTTP API: listed, shown, retried and resolved; the instance shows them."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from tests.engine import documents
from tests.engine.handler_doubles import FlakyStamp


def _drain(app: Flask) -> int:
    return app.extensions["cauce_incidents"].worker.run_due()


def _failing_instance(app: Flask, client: FlaskClient, handlers: HandlerRegistry, flaky: FlakyStamp) -> str:
    handlers.register("stamp", flaky, mode="async", retry={"max_attempts": 2, "base_s": 30})
    assert client.post("/api/v1/definitions", data=documents.service_call().encode(),
                       content_type="application/xml").status_code == 201
    started = client.post("/api/v1/instances", json={"definition": "service_call", "data": {"folio_base": "INC"}})
    assert started.status_code == 201
    body = started.get_json()
    assert body["status"] == "running" and body["ready_tasks"] == []  # the handler has not run yet
    return body["id"]


def test_incident_lifecycle(app: Flask, client: FlaskClient, handlers: HandlerRegistry, clock: ManualClock) -> None:
    flaky = FlakyStamp()
    instance_id = _failing_instance(app, client, handlers, flaky)
    _drain(app)
    clock.advance(seconds=30)
    _drain(app)
    instance = client.get(f"/api/v1/instances/{instance_id}").get_json()
    assert instance["status"] == "incident" and instance["error"]["element_id"] == "Call_handler"

    listed = client.get("/api/v1/incidents?status=open").get_json()
    assert listed["total"] == 1 and listed["page"] == 1 and listed["page_size"] == 50
    incident = listed["items"][0]
    assert (incident["element_id"], incident["handler"], incident["attempts"], incident["instance_id"]) == (
        "Call_handler", "stamp", 2, instance_id)
    assert "folio service unreachable" in incident["error"]
    assert client.get(f"/api/v1/incidents?instance={instance_id}").get_json()["total"] == 1
    assert client.get("/api/v1/incidents?definition=other").get_json()["total"] == 0
    assert client.get("/api/v1/incidents?status=resolved").get_json()["total"] == 0
    assert client.get("/api/v1/incidents?status=bogus").status_code == 422

    detail = client.get(f"/api/v1/incidents/{incident['id']}").get_json()
    assert detail["invocation"]["input"] == {"value": "INC"} and detail["invocation"]["attempts"] == 2

    flaky.broken = False
    retried = client.post(f"/api/v1/incidents/{incident['id']}/retry", json={"comment": "servicio de vuelta"})
    assert retried.status_code == 200 and retried.get_json()["resolution"] == "retried"
    assert client.post(f"/api/v1/incidents/{incident['id']}/retry").status_code == 409
    _drain(app)
    instance = client.get(f"/api/v1/instances/{instance_id}").get_json()
    assert instance["status"] == "running" and instance["data"]["stamped"] == "INC-0003"
    assert [t["element_id"] for t in instance["ready_tasks"]] == ["Task_review"]
    replay = client.post(f"/api/v1/instances/{instance_id}/replay").get_json()
    assert replay["result"] == "verified", replay


def test_resolve_supplies_the_output(app: Flask, client: FlaskClient, handlers: HandlerRegistry,
                                     clock: ManualClock) -> None:
    instance_id = _failing_instance(app, client, handlers, FlakyStamp())
    _drain(app)
    clock.advance(seconds=30)
    _drain(app)
    incident_id = client.get("/api/v1/incidents").get_json()["items"][0]["id"]
    missing = client.post(f"/api/v1/incidents/{incident_id}/resolve", json={"output": "INC-9"})
    assert missing.status_code == 422 and "comment" in missing.get_json()["error"]["details"]["fields"]["json"]
    resolved = client.post(f"/api/v1/incidents/{incident_id}/resolve",
                           json={"comment": "folio asignado por teléfono", "output": "INC-9"})
    assert resolved.status_code == 200
    body = resolved.get_json()
    assert (body["status"], body["resolution"], body["resolved_by"]) == ("resolved", "output", "tester")
    assert client.post(f"/api/v1/incidents/{incident_id}/resolve",
                       json={"comment": "otra vez", "output": "x"}).status_code == 409
    instance = client.get(f"/api/v1/instances/{instance_id}").get_json()
    assert instance["status"] == "running" and instance["data"]["stamped"] == "INC-9"
    assert client.get("/api/v1/incidents/424242").status_code == 404


def test_script_error_retry_still_works(client: FlaskClient, handlers: HandlerRegistry) -> None:
    flaky = FlakyStamp()
    handlers.register("stamp", flaky)  # inline: a failure is an instance error, as before
    client.post("/api/v1/definitions", data=documents.service_call().encode(), content_type="application/xml")
    started = client.post("/api/v1/instances", json={"definition": "service_call", "data": {"folio_base": "INC"}})
    assert started.get_json()["status"] == "error"
    flaky.broken = False
    retried = client.post(f"/api/v1/instances/{started.get_json()['id']}/retry")
    assert retried.status_code == 200 and retried.get_json()["status"] == "running"
