"""Authentication and the authorisation matrix: each system role and a staff role against each endpoint."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.auth import PERMISSIONS, PUBLIC_PATHS
from tests.api.conftest import Login
from tests.engine import documents

STAFF = "mesa-de-servicio"  # the lane of documents.approval()
ROLES = ["process-owner", "auditor", "admin", STAFF]
ALL = set(ROLES)
OVERSIGHT = {"process-owner", "auditor", "admin"}

# (method, path, body, roles allowed, status when allowed). {i}: a running approval instance, {t}: its task.
MATRIX = [
    ("GET", "/api/v1/definitions", None, ALL, 200),
    ("POST", "/api/v1/definitions", "xml", {"process-owner"}, 200),
    ("GET", "/api/v1/definitions/approval", None, ALL, 200),
    ("GET", "/api/v1/definitions/approval/versions/1/bpmn", None, ALL, 200),
    ("GET", "/api/v1/instances", None, ALL, 200),
    ("POST", "/api/v1/instances", {"definition": "approval"}, {STAFF}, 201),
    ("GET", "/api/v1/instances/{i}", None, ALL, 200),
    ("POST", "/api/v1/instances/{i}/cancel", {}, {"process-owner", "admin"}, 200),
    ("POST", "/api/v1/instances/{i}/retry", None, {"process-owner", "admin"}, 409),  # allowed, but not in error
    ("GET", "/api/v1/instances/{i}/events", None, OVERSIGHT, 200),
    ("POST", "/api/v1/instances/{i}/replay", None, OVERSIGHT, 200),
    ("GET", "/api/v1/instances/{i}/state?at=1", None, OVERSIGHT, 200),
    ("GET", "/api/v1/instances/{i}/conformance", None, OVERSIGHT, 200),
    ("GET", "/api/v1/audit/verify", None, OVERSIGHT, 200),
    ("GET", "/api/v1/audit/export", None, OVERSIGHT, 200),
    ("GET", "/api/v1/reports/kpis", None, OVERSIGHT, 200),
    ("GET", "/api/v1/tasks", None, ALL, 200),
    ("GET", "/api/v1/tasks/{t}", None, ALL, 200),
    ("GET", "/api/v1/tasks/{t}/form", None, ALL, 200),
    ("POST", "/api/v1/tasks/{t}/claim", None, {STAFF}, 200),
    ("POST", "/api/v1/tasks/{t}/unclaim", None, {STAFF, "admin"}, 200),
    ("POST", "/api/v1/tasks/{t}/assign", {"user": "mesa"}, {STAFF, "admin"}, 200),
    ("POST", "/api/v1/tasks/{t}/complete", {"data": {"aprobada": "Sí"}}, {STAFF}, 200),
    ("GET", "/api/v1/tasks/{t}/comments", None, ALL, 200),
    ("POST", "/api/v1/tasks/{t}/comments", {"body": "Revisado"}, {STAFF}, 201),
    ("GET", "/api/v1/sla?state=at_risk", None, ALL, 200),
    ("GET", "/api/v1/me", None, ALL, 200),
    ("GET", "/api/v1/roles", None, ALL, 200),
    ("GET", "/api/v1/users", None, {"admin"}, 200),
    ("POST", "/api/v1/users", {"name": "nuevo", "roles": ["1er-nivel"]}, {"admin"}, 201),
    ("POST", "/api/v1/files", "upload", {STAFF}, 201),
    ("GET", "/api/v1/files/{f}", None, ALL, 200),
    ("GET", "/api/v1/files/{f}/content", None, ALL, 200),
    ("GET", "/api/v1/incidents", None, OVERSIGHT, 200),
    ("GET", "/api/v1/incidents/999999", None, OVERSIGHT, 404),  # allowed, but there is no such incident
    ("POST", "/api/v1/incidents/999999/retry", {}, {"process-owner", "admin"}, 404),
    ("POST", "/api/v1/incidents/999999/resolve", {"comment": "a mano", "output": {}}, {"process-owner", "admin"}, 404),
]


@pytest.fixture
def setup(client: FlaskClient, login: Login) -> dict[str, str]:
    login("mesa", STAFF)
    deployed = client.post("/api/v1/definitions", data=documents.approval().encode(), content_type="application/xml")
    assert deployed.status_code == 201
    started = client.post("/api/v1/instances", json={"definition": "approval"}).get_json()
    uploaded = client.post("/api/v1/files", data={"file": (io.BytesIO(b"CURP,Nombre\nA,B\n"), "layout.csv")})
    assert uploaded.status_code == 201, uploaded.get_json()
    return {"i": started["id"], "t": started["ready_tasks"][0]["id"], "f": uploaded.get_json()["id"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, body, allowed, status", MATRIX,
                         ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_matrix(login: Login, setup: dict[str, str], role: str, method: str, path: str, body: object,
                allowed: set[str], status: int) -> None:
    caller = login(f"as-{role}", role)
    url = path.format(**setup)
    if body == "xml":
        response = caller.open(url, method=method, data=documents.approval().encode(), content_type="application/xml")
    elif body == "upload":  # content of its own, so that the upload is new (201)
        response = caller.open(url, method=method, data={"file": (io.BytesIO(f"CURP\n{role}\n".encode()), "a.csv")})
    else:
        response = caller.open(url, method=method, json=body)
    expected = status if role in allowed else 403
    assert response.status_code == expected, (role, method, url, response.get_json(silent=True))
    if expected == 403:
        assert response.get_json()["error"]["code"] == "forbidden"


def test_every_endpoint_is_in_the_table_or_public(app: Flask) -> None:
    table = {endpoint for endpoint, _ in PERMISSIONS}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in PUBLIC_PATHS or rule.rule.startswith("/api/docs"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in PERMISSIONS, f"{method} {rule.rule} is not classified in api/auth.py"
        assert rule.endpoint in table
    adapter = app.url_map.bind("localhost")
    covered = {(adapter.match(path.format(i="x", t="y", f="z").split("?")[0], method)[0], method)
               for method, path, *_ in MATRIX}
    assert covered == set(PERMISSIONS), "the matrix must try every endpoint of the table"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "token abc"])
def test_no_or_bad_token_is_401_with_the_standard_body(anonymous: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/api/v1/definitions", "/api/v1/tasks", "/api/v1/instances/x", "/api/v1/nothing"):
        response = anonymous.get(path, headers=headers)
        assert response.status_code == 401, path
        body = response.get_json()
        assert body["error"]["code"] == "unauthorized" and body["error"]["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_public_paths_and_revoked_tokens(app: Flask, anonymous: FlaskClient, login: Login) -> None:
    assert anonymous.get("/healthz").status_code == 200
    spec = anonymous.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert "/api/v1/tasks/{task_id}/claim" in spec["paths"]
    assert anonymous.get("/api/docs").status_code == 200
    caller = login("eva", "auditor")
    assert caller.get("/api/v1/me").get_json() == {"name": "eva", "roles": ["auditor"], "staff_roles": []}
    app.extensions["cauce"].identity.revoke("eva")
    assert caller.get("/api/v1/me").status_code == 401


def test_deploy_records_who_deployed(client: FlaskClient) -> None:
    response = client.post("/api/v1/definitions", data={"file": (io.BytesIO(documents.approval().encode()), "a.bpmn")},
                           content_type="multipart/form-data")
    assert response.get_json()["definition"]["deployed_by"] == "tester"
