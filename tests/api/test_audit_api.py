"""The audit endpoints and command as an auditor uses them: verify, read a history, export."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from api.cli import main as cauce
from engine.clock import ManualClock
from tests.engine import documents


def _deploy(client: FlaskClient, xml: str) -> None:
    response = client.post("/api/v1/definitions", data={"file": (io.BytesIO(xml.encode()), "d.bpmn")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 201), response.get_json()


def _start(client: FlaskClient, key: str, data: dict | None = None) -> dict:
    response = client.post("/api/v1/instances", json={"definition": key, "data": data or {}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _complete(client: FlaskClient, instance: dict, element_id: str, data: dict) -> None:
    task = next(t for t in client.get(f"/api/v1/instances/{instance['id']}").get_json()["ready_tasks"]
                if t["element_id"] == element_id)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def histories(client: FlaskClient, clock: ManualClock) -> dict[str, dict]:
    _deploy(client, documents.approval())
    _deploy(client, documents.parallel_pair())
    done = _start(client, "approval", {"solicitante": "ana"})
    clock.advance(minutes=3)
    _complete(client, done, "Task_review", {"aprobada": "Sí"})
    pair = _start(client, "pair")
    clock.advance(minutes=1)
    _complete(client, pair, "Task_a", {"a": 1})
    waiting = _start(client, "approval", {"solicitante": "leo"})
    return {"done": done, "pair": pair, "waiting": waiting}


def _sql(app: Flask, statement: str, **params: object) -> None:
    with app.extensions["cauce_db"].begin() as conn:
        conn.execute(text(statement), params)


def test_verify_is_clean_then_reports_tampering(client: FlaskClient, app: Flask, histories: dict) -> None:
    clean = client.get("/api/v1/audit/verify")
    assert clean.status_code == 200
    assert clean.get_json()["ok"] is True and clean.get_json()["checked"] == 3 and clean.get_json()["problems"] == []
    _sql(app, "UPDATE events SET actor = 'mallory' WHERE instance_id = :i AND seq = 1", i=histories["done"]["id"])
    _sql(app, "DELETE FROM events WHERE instance_id = :i AND seq = 2", i=histories["pair"]["id"])
    body = client.get("/api/v1/audit/verify").get_json()
    assert body["ok"] is False and body["checked"] == 3
    problems = {p["instance_id"]: p for p in body["problems"]}
    assert set(problems) == {histories["done"]["id"], histories["pair"]["id"]}
    assert (problems[histories["done"]["id"]]["kind"], problems[histories["done"]["id"]]["seq"]) == ("altered", 1)
    assert (problems[histories["pair"]["id"]]["kind"], problems[histories["pair"]["id"]]["seq"]) == ("deleted", 2)
    assert problems[histories["pair"]["id"]]["definition_key"] == "pair" and problems[histories["pair"]["id"]][
        "message"]
    one = client.get("/api/v1/audit/verify", query_string={"instance": histories["waiting"]["id"]}).get_json()
    assert one["ok"] is True and one["checked"] == 1
    assert client.get("/api/v1/audit/verify", query_string={"instance": "nope"}).status_code == 404


def test_cli_verify_exit_code(app: Flask, histories: dict, db_url: str, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    assert cauce(["audit", "verify"]) == 0
    assert "3 instances" in capsys.readouterr().out
    _sql(app, "UPDATE events SET seq = 99 WHERE instance_id = :i AND seq = 2", i=histories["waiting"]["id"])
    assert cauce(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert "DELETED" in captured.err and histories["waiting"]["id"] in captured.err
    assert cauce(["audit", "verify", "--instance", histories["done"]["id"]]) == 0
    assert cauce(["audit", "verify", "--instance", "nope"]) == 2


def test_instance_events_are_ordered_and_paginated(client: FlaskClient, histories: dict) -> None:
    instance_id = histories["done"]["id"]
    everything = client.get(f"/api/v1/instances/{instance_id}/events").get_json()
    total = everything["total"]
    assert [e["seq"] for e in everything["items"]] == list(range(1, total + 1))
    first = everything["items"][0]
    assert first["type"] == "instance_started" and first["payload"]["data"] == {"solicitante": "ana"}
    assert first["prev_hash"] == "" and len(first["hash"]) == 64 and first["at"].endswith("+00:00")
    assert all(e["prev_hash"] == p["hash"] for p, e in zip(everything["items"], everything["items"][1:], strict=False))
    completed = next(e for e in everything["items"] if e["type"] == "task_completed")
    assert completed["payload"]["data"] == {"aprobada": "Sí"} and completed["element_id"] == "Task_review"
    assert everything["items"][-1]["type"] == "instance_completed"
    page = client.get(f"/api/v1/instances/{instance_id}/events", query_string={"page": 2, "page_size": 2}).get_json()
    assert [e["seq"] for e in page["items"]] == [3, 4] and page["total"] == total and page["page"] == 2
    assert client.get("/api/v1/instances/nope/events").status_code == 404
    assert client.get(f"/api/v1/instances/{instance_id}/events", query_string={"page": 0}).status_code == 422


def test_audit_paths_are_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/audit/verify", "/api/v1/audit/export", "/api/v1/instances/{instance_id}/events"):
        assert path in spec["paths"], path
    assert "VerifyReport" in spec["components"]["schemas"] and "Event" in spec["components"]["schemas"]


def test_export_csv_and_xes_over_http(client: FlaskClient, histories: dict) -> None:
    from pathlib import Path

    from lxml import etree

    response = client.get("/api/v1/audit/export", query_string={"format": "csv", "definition": "approval"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="cauce-events-approval.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("case_id,activity,timestamp,resource,lifecycle_transition")
    cases = {line.split(",")[0] for line in lines[1:]}
    assert cases == {histories["done"]["id"], histories["waiting"]["id"]}

    xes = client.get("/api/v1/audit/export", query_string={"format": "xes"})
    assert xes.status_code == 200 and xes.mimetype == "application/xml"
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).resolve().parent.parent / "fixtures" / "xes.xsd")))
    root = etree.fromstring(xes.data)
    schema.assertValid(root)
    assert len(root.findall("trace")) == 3

    later = client.get("/api/v1/audit/export", query_string={"from": "2030-01-01T00:00:00+00:00"})
    assert later.get_data(as_text=True).splitlines()[1:] == []
    window = client.get("/api/v1/audit/export",
                        query_string={"from": "2026-01-05T09:00:00", "to": "2026-01-05T09:03:30"})
    assert {line.split(",")[0] for line in window.get_data(as_text=True).splitlines()[1:]} == {
        histories["done"]["id"], histories["pair"]["id"]}


@pytest.mark.parametrize("query", [{"format": "pdf"}, {"from": "yesterday"},
                                   {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}])
def test_export_rejects_bad_parameters(client: FlaskClient, query: dict) -> None:
    response = client.get("/api/v1/audit/export", query_string=query)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_replay_over_http(client: FlaskClient, app: Flask, histories: dict) -> None:
    for name in ("done", "pair", "waiting"):
        body = client.post(f"/api/v1/instances/{histories[name]['id']}/replay").get_json()
        assert body["result"] == "verified" and body["divergence"] is None and body["events"] > 0, body
    _sql(app, "DELETE FROM events WHERE instance_id = :i AND type = 'task_completed'", i=histories["done"]["id"])
    body = client.post(f"/api/v1/instances/{histories['done']['id']}/replay").get_json()
    assert body["result"] == "diverged"
    assert set(body["divergence"]) == {"seq", "event_type", "expected", "found", "message"}
    assert client.post("/api/v1/instances/nope/replay").status_code == 404
    assert "/api/v1/instances/{instance_id}/replay" in client.get("/api/openapi.json").get_json()["paths"]


def test_cli_replay_all(app: Flask, histories: dict, db_url: str, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    assert cauce(["audit", "replay", "--all"]) == 0
    out = capsys.readouterr().out
    assert "3 instances replayed" in out and "3 verified, 0 diverged" in out
    _sql(app, "DELETE FROM events WHERE instance_id = :i AND type = 'task_completed'", i=histories["done"]["id"])
    assert cauce(["audit", "replay"]) == 1
    captured = capsys.readouterr()
    assert "2 verified, 1 diverged" in captured.out and histories["done"]["id"] in captured.err
    assert cauce(["audit", "replay", "--instance", histories["pair"]["id"]]) == 0
