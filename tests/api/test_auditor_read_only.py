"""The auditor reads everything and changes nothing, on every endpoint the app has.

The endpoints are taken from the app's URL map (and the required query parameters from its
OpenAPI document), not listed here, so an endpoint added later is covered without editing this
test. What the auditor may call is the ``PERMISSIONS`` table of ``api/auth.py``; this test holds
the table to the rule and then checks over HTTP that the app answers as the table says:

* every GET is readable by the auditor, except administration that only ``admin`` may read;
* no mutating method is granted to the auditor, except those in ``READ_ONLY_POSTS``, which
  compute without writing (replay);
* after the auditor called everything, every table holds exactly what it held before.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.auth import PERMISSIONS, PUBLIC_PATHS, PUBLIC_PREFIXES
from engine.models import Base
from engine.roles import ADMIN, AUDITOR
from tests.api.conftest import Login
from tests.engine import documents

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# POSTs an auditor may call because they write nothing: replay re-executes in memory.
READ_ONLY_POSTS = {("instance_history.InstanceReplay", "POST")}
# Query parameters some reads require, with a value that exists in the fixture's data.
QUERY_VALUES = {"at": "1"}
# Tables whose rows change when anyone authenticates (a token's last use), not through an endpoint.
_IDENTITY_TABLES = {"api_tokens"}


@pytest.fixture
def existing(client: FlaskClient, clock: Any) -> dict[str, str]:
    """Resources the auditor's requests name: a definition, an instance with a ready task."""
    deployed = client.post("/api/v1/definitions", data=documents.approval().encode(), content_type="application/xml")
    assert deployed.status_code in (200, 201)
    started = client.post("/api/v1/instances", json={"definition": "approval", "data": {"solicitante": "ana"}})
    body = started.get_json()
    return {"key": "approval", "version": "1", "instance_id": body["id"], "task_id": body["ready_tasks"][0]["id"]}


def _endpoints(app: Flask) -> list[tuple[str, str, Any]]:
    """(endpoint, method, rule) for every protected route of the app."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in PUBLIC_PATHS or rule.rule.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule))
    return found


def _auditor_may(endpoint: str, method: str) -> bool:
    roles = PERMISSIONS.get((endpoint, method), frozenset({ADMIN}))
    return "any" in roles or AUDITOR in roles


def _snapshot(app: Flask) -> dict[str, list[str]]:
    db = app.extensions["cauce_db"]
    with db.connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                for table in Base.metadata.sorted_tables if table.name not in _IDENTITY_TABLES}


def test_the_permission_table_lets_the_auditor_read_everything_and_write_nothing(app: Flask) -> None:
    endpoints = _endpoints(app)
    assert endpoints
    for endpoint, method, rule in endpoints:
        roles = PERMISSIONS.get((endpoint, method), frozenset({ADMIN}))
        if method == "GET" and roles != {ADMIN}:
            assert _auditor_may(endpoint, method), f"GET {rule.rule} is readable, but not by the auditor"
        if method in MUTATING and (endpoint, method) not in READ_ONLY_POSTS:
            assert AUDITOR not in roles and "any" not in roles, f"the auditor may {method} {rule.rule}"


def _url(rule: Any, existing: dict[str, str]) -> tuple[str, bool]:
    """The rule's path with existing resources where the fixture has them; False if it had to guess."""
    known = True
    values = {}
    for argument in rule.arguments:
        if argument in existing:
            values[argument] = existing[argument]
        else:
            known = False
            values[argument] = "999999"
    path = rule.rule
    for argument, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{argument}>", value, path)
    return path, known


def _required_query(spec: dict, rule: Any, method: str) -> tuple[dict[str, str], bool]:
    openapi_path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
    operation = spec["paths"].get(openapi_path, {}).get(method.lower(), {})
    query, known = {}, True
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("required"):
            if parameter["name"] in QUERY_VALUES:
                query[parameter["name"]] = QUERY_VALUES[parameter["name"]]
            else:
                known = False
    return query, known


def test_the_auditor_reads_every_get_and_is_refused_every_change(app: Flask, login: Login, client: FlaskClient,
                                                                  existing: dict[str, str]) -> None:
    auditor = login("auditora", AUDITOR)
    spec = client.get("/api/openapi.json").get_json()
    before = _snapshot(app)
    checked = {"GET": 0, "refused": 0}
    for endpoint, method, rule in _endpoints(app):
        path, known = _url(rule, existing)
        query, query_known = _required_query(spec, rule, method)
        response = auditor.open(path, method=method, query_string=query, json={} if method in MUTATING else None)
        where = (method, path, response.status_code, response.get_json(silent=True))
        if not _auditor_may(endpoint, method):
            assert response.status_code == 403, where
            assert response.get_json()["error"]["code"] == "forbidden"
            checked["refused"] += method in MUTATING
        elif method == "GET" and known and query_known:
            assert 200 <= response.status_code < 300, where
            checked["GET"] += 1
        else:  # a resource the fixture does not create: the view ran, so the auditor was let through
            assert response.status_code not in (401, 403) and response.status_code < 500, where
    assert _snapshot(app) == before, "an auditor's request changed the database"
    assert checked["GET"] >= 12 and checked["refused"] >= 10, checked
