"""Deploy-time validation of service tasks: every diagram names a registered handler and maps
exactly the parameters it takes; anything else is refused with the element id, by the API (422)
and by ``cauce deploy``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.cli import main
from engine.clock import ManualClock
from engine.settings import Settings
from tests.api.conftest import Login
from tests.engine import documents


def _service_task(handler: str, params: dict[str, str]) -> str:
    """documents.service_call with a handler and parameters of our choosing."""
    xml = documents.service_call(handler)
    body = "".join(f'<spiffworkflow:parameter id="{k}" type="str" value="{v}"/>' for k, v in params.items())
    old = '<spiffworkflow:parameter id="value" type="str" value="folio_base"/>'
    assert old in xml
    return xml.replace(old, body)


@pytest.fixture
def checked(settings: Settings, clock: ManualClock) -> Iterator[Flask]:
    """The app as production builds it: the built-in handlers, deploys checked against them."""
    app = create_app(settings, clock=clock, scheduler=False)
    yield app
    app.extensions["cauce_db"].dispose()


@pytest.fixture
def owner(checked: Flask) -> FlaskClient:
    _, token = checked.extensions["cauce"].identity.create_user("duena", ["process-owner"])
    client = checked.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.mark.parametrize(("handler", "params", "fragment", "extra"), [
    ("asignar", {"role": "'x'"}, "not registered", {"handler": "asignar"}),
    ("set_status", {"value": "'Nuevo'"}, "does not take value", {"unknown": ["value"], "missing": ["label"]}),
    ("check_certificate", {"expected_domain": "'curp.gob.mx'"}, "requires file", {"missing": ["file"]}),
    ("set_status", {"label": "'Nuevo"}, "not a valid Python expression", {"parameter": "label"}),
])
def test_bad_service_task_is_422_naming_the_element(owner: FlaskClient, handler: str, params: dict[str, str],
                                                    fragment: str, extra: dict) -> None:
    response = owner.post("/api/v1/definitions", data=_service_task(handler, params).encode(),
                          content_type="application/xml")
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_definition" and fragment in error["message"]
    assert error["details"]["element_id"] == "Call_handler"
    assert extra.items() <= error["details"].items()


def test_good_mapping_deploys(owner: FlaskClient) -> None:
    response = owner.post("/api/v1/definitions", data=_service_task("set_status", {"label": "'Nuevo'"}).encode(),
                          content_type="application/xml")
    assert response.status_code == 201, response.get_json()


def test_test_registries_are_not_checked(client: FlaskClient, login: Login) -> None:
    """Apps given their own registry (tests with stub handlers registered later) deploy as before."""
    response = client.post("/api/v1/definitions", data=documents.service_call("stamp").encode(),
                           content_type="application/xml")
    assert response.status_code == 201


def test_cli_deploy_reports_the_element(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    monkeypatch.setenv("CAUCE_FILES_DIR", str(tmp_path / "files"))
    bad = tmp_path / "bad.bpmn"
    bad.write_text(_service_task("set_status", {"etiqueta": "'Nuevo'"}), encoding="utf-8")
    assert main(["deploy", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "Call_handler" in err and "etiqueta" in err

