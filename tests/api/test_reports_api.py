"""GET /api/v1/reports/kpis over HTTP: JSON, CSV (format=csv or Accept), validation and who may read it.

The numbers themselves are checked in tests/engine/test_kpis.py; here one real ticket of
bpmn/ (GIS-3 solved by 1er. Nivel) gives the report something to say.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.reports import CSV_COLUMNS
from tests.api.conftest import Login
from tests.engine import kpi_data

URL = "/api/v1/reports/kpis"


@pytest.fixture
def ticket(app: Flask, clock: ManualClock, handlers: HandlerRegistry) -> str:
    kpi_data.register_handlers(handlers)
    service = app.extensions["cauce"].service
    kpi_data.deploy_with_callees(service, "MP_DGTIT_DOSI_GIS_3")
    return kpi_data.ticket_level_1(kpi_data.Runner(service, clock))


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_json_report_is_documented_and_answers_from_the_run(client: FlaskClient, ticket: str) -> None:
    body = client.get(f"{URL}?definition=MP_DGTIT_DOSI_GIS_3&from=2026-01-05T00:00:00Z&to=2026-01-06T00:00:00")
    assert body.status_code == 200, body.get_json()
    report = body.get_json()
    assert report["definition"] == "MP_DGTIT_DOSI_GIS_3" and report["instances"] == 1
    assert report["from"] == "2026-01-05T00:00:00+00:00" and report["to"] == "2026-01-06T00:00:00+00:00"
    by_id = {i["id"]: i for i in report["indicators"]}
    rows = {(json.dumps(r["group"], sort_keys=True), r["metric"]): r["value"] for r in by_id["response_time"]["rows"]}
    assert rows[('{"level": "1er. Nivel"}', "mean")] == 240.0
    assert rows[('{"level": "1er. Nivel"}', "count")] == 1
    assert by_id["citizen_feedback"]["available"] is False and by_id["citizen_feedback"]["reason"]
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"definition", "from", "to", "format"}
    content = operation["responses"]["200"]["content"]
    assert "text/csv" in content and content["application/json"]["schema"]["$ref"].endswith("/KpiReport")
    assert "KpiReport" in spec["components"]["schemas"]


@pytest.mark.parametrize("how", [{"query": "?format=csv"}, {"headers": {"Accept": "text/csv"}}])
def test_csv_has_one_row_per_indicator_group_and_metric(client: FlaskClient, ticket: str, how: dict) -> None:
    response = client.get(URL + how.get("query", ""), headers=how.get("headers", {}))
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0].split(",") == CSV_COLUMNS
    rows = _rows(text)
    assert all(len(r) == len(CSV_COLUMNS) and None not in r for r in rows)
    assert all(r["generated_at"].endswith("+00:00") for r in rows)
    mean = [r for r in rows if r["indicator"] == "response_time" and r["metric"] == "mean"
            and r["group"] and json.loads(r["group"]) == {"level": "1er. Nivel"}]
    assert [(m["value"], m["unit"], m["available"]) for m in mean] == [("240.0", "s", "true")]
    unit = [r for r in rows if r["indicator"] == "tickets_by_requesting_unit" and r["metric"] == "percent"]
    assert [(json.loads(r["group"]), r["value"]) for r in unit] == [
        ({"requesting_unit": "Dirección de Egresos"}, "100.0")]
    unavailable = [r for r in rows if r["available"] == "false"]
    assert {r["indicator"] for r in unavailable} >= {"citizen_feedback", "problems_diagnosed_on_time"}
    assert all(r["reason"] and r["metric"] == "" for r in unavailable)


def test_the_csv_period_carries_its_offset(client: FlaskClient) -> None:
    rows = _rows(client.get(f"{URL}?format=csv&from=2026-01-05T08:00:00-06:00").get_data(as_text=True))
    assert rows and all(r["period_from"] == "2026-01-05T14:00:00+00:00" and r["period_to"] == "" for r in rows)


@pytest.mark.parametrize("query", [
    "from=ayer", "to=2026-13-01", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    "from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "format=xml",
])
def test_bad_parameters_are_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "validation_error"
    assert response.get_json()["error"]["details"]["fields"]


def test_unknown_definition_is_404(client: FlaskClient) -> None:
    response = client.get(f"{URL}?definition=NO_EXISTE")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_auditors_read_it_staff_do_not(login: Login) -> None:
    assert login("eva", "auditor").get(f"{URL}?format=csv").status_code == 200
    assert login("olga", "process-owner").get(URL).status_code == 200
    assert login("carla", "1er-nivel").get(URL).status_code == 403
