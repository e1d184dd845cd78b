"""``cauce report kpis``: the same report as the API, from a shell (JSON or CSV, exit code 2 on bad input)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from api.cli import main
from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.reports import CSV_COLUMNS
from tests.engine import kpi_data


def test_report_kpis_prints_json_and_csv(wiring: Wiring, clock: ManualClock, handlers: HandlerRegistry, db_url: str,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    kpi_data.register_handlers(handlers)
    kpi_data.deploy_with_callees(wiring.service, "MP_DGTIT_DOSI_GIS_3")
    kpi_data.ticket_level_1(kpi_data.Runner(wiring.service, clock))
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    args = ["report", "kpis", "--definition", "MP_DGTIT_DOSI_GIS_3", "--from", "2026-01-05", "--to", "2026-01-06"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["instances"] == 1 and report["from"] == "2026-01-05T00:00:00+00:00"
    helpdesk = next(i for i in report["indicators"] if i["id"] == "helpdesk_response")
    row = {"group": {"level": "1er. Nivel"}, "metric": "within_target", "value": 1, "unit": "count"}
    assert row in helpdesk["rows"]
    assert main([*args, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == CSV_COLUMNS and {r["indicator"] for r in rows} >= {"helpdesk_response", "citizen_feedback"}


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "ayer"], "not an ISO 8601"),
    (["--from", "2026-02-01", "--to", "2026-01-01"], "before"),
    (["--definition", "NO_EXISTE"], "NO_EXISTE"),
])
def test_report_kpis_refuses_bad_arguments(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    assert main(["report", "kpis", *args]) == 2
    assert message in capsys.readouterr().err
