"""Users carry a location (for assignment by location): ``cauce user add --location`` and the users API."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from api.cli import main
from engine.bootstrap import build
from engine.settings import Settings


def test_users_api_stores_and_shows_the_location(client: FlaskClient) -> None:
    created = client.post("/api/v1/users", json={"name": "luis", "roles": ["Operador(a) de Soporte en campo"],
                                                 "location": " Oficina Recaudadora de León "})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["user"]["location"] == "Oficina Recaudadora de León"
    listed = {u["name"]: u for u in client.get("/api/v1/users").get_json()["items"]}
    assert listed["luis"]["location"] == "Oficina Recaudadora de León" and listed["tester"]["location"] is None
    too_long = client.post("/api/v1/users", json={"name": "x", "roles": ["1er-nivel"], "location": "x" * 201})
    assert too_long.status_code == 422


def test_cli_user_add_location(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", settings.database_url)
    assert main(["user", "add", "marta", "--role", "Operador(a) de Soporte en campo",
                 "--location", "Dirección de Catastro"]) == 0
    wiring = build(settings)
    try:
        (user,) = [u for u in wiring.identity.list_users() if u.name == "marta"]
        assert user.location == "Dirección de Catastro"
    finally:
        wiring.db.dispose()
