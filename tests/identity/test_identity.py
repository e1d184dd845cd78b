"""Users, roles and tokens: the catalogue from bpmn/roles.yaml, the CLI, and deploy validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from api.cli import main as cauce
from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.errors import Conflict, InvalidDefinition, NotFound
from engine.identity import IdentityService
from engine.roles import DEFAULT_ROLES_FILE, RoleCatalog
from engine.settings import Settings
from tests.engine import documents

BPMN = DEFAULT_ROLES_FILE.parent
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "s": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def test_every_lane_and_candidate_role_of_the_manual_is_a_known_role_with_an_ascii_id() -> None:
    catalog = RoleCatalog.load()
    for path in BPMN.rglob("*.bpmn"):
        root = etree.parse(str(path))
        names = {n.strip() for n in root.xpath("//bpmn:lane/@name", namespaces=NS)}
        for value in root.xpath("//s:property[@name='candidateRoles']/@value", namespaces=NS):
            names.update(v.strip() for v in value.split(";") if v.strip())
        assert names <= set(catalog.by_name), (path.name, names - set(catalog.by_name))
    assert all(r.id.isascii() and r.id == r.id.lower() and " " not in r.id for r in catalog.roles)
    assert {"process-owner", "auditor", "admin"} <= {r.id for r in catalog.roles if r.kind == "system"}
    assert catalog.resolve("Mesa de Servicio").id == catalog.resolve("mesa-de-servicio").id
    with pytest.raises(NotFound):
        catalog.resolve("Jefe Supremo")


def test_users_tokens_and_revocation(wiring: Wiring) -> None:
    identity = wiring.identity
    user, token = identity.create_user("ana", ["Mesa de Servicio", "auditor"], email="ana@example.org")
    assert {r.id for r in user.roles} == {"mesa-de-servicio", "auditor"}
    actor = identity.authenticate(token)
    assert actor is not None and actor.name == "ana" and actor.is_auditor and not actor.is_admin
    assert actor.staff_roles == {"Mesa de Servicio"}
    second = identity.issue_token("ana")
    assert second != token and identity.authenticate(second) is not None
    assert identity.authenticate("not-a-token") is None
    with pytest.raises(Conflict):
        identity.create_user("ana", ["admin"])
    assert identity.revoke("ana") == 2
    assert identity.authenticate(token) is None and identity.authenticate(second) is None
    with pytest.raises(NotFound):
        identity.issue_token("nobody")


def test_cli_prints_the_token_last(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], wiring: Wiring, clock: ManualClock) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", settings.database_url)
    assert cauce(["user", "add", "leo", "--role", "1er-nivel", "--role", "2do. Nivel", "--email", "l@x.mx"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    actor = wiring.identity.authenticate(token)
    assert actor is not None and actor.staff_roles == {"1er. Nivel", "2do. Nivel"}
    assert cauce(["user", "token", "leo"]) == 0
    other = capsys.readouterr().out.strip().splitlines()[-1]
    assert wiring.identity.authenticate(other) is not None
    assert cauce(["user", "revoke", "leo"]) == 0
    clock.advance(seconds=settings.auth_cache_s + 1)  # the server's window for tokens it checked
    assert wiring.identity.authenticate(token) is None and wiring.identity.authenticate(other) is None
    assert cauce(["user", "add", "eva", "--role", "Jefe Supremo"]) == 1


def test_a_lane_or_candidate_role_that_is_not_a_known_role_fails_deploy(wiring: Wiring) -> None:
    bad_lane = documents.approval().replace('name="Mesa de Servicio"', 'name="Mesa de Servisio"')
    with pytest.raises(InvalidDefinition) as raised:
        wiring.service.deploy(bad_lane.encode())
    assert raised.value.details["element_id"] == "lane_mesa" and "Mesa de Servisio" in raised.value.message
    bad_candidate = documents.approval(form=False).replace(
        '<bpmn:userTask id="Task_review" name="1. Revisar la solicitud">',
        '<bpmn:userTask id="Task_review" name="1. Revisar la solicitud"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="candidateRoles" value="1er. Nivel;Nadie"/>'
        '</spiffworkflow:properties></bpmn:extensionElements>')
    with pytest.raises(InvalidDefinition) as raised:
        wiring.service.deploy(bad_candidate.encode())
    assert raised.value.details == {"element_id": "Task_review", "role": "Nadie"}


def test_a_token_revoked_by_another_process_stops_working_within_the_cache_window(
        wiring: Wiring, clock: ManualClock) -> None:
    """The server remembers a checked token for ``auth_cache_s`` seconds (5 by default); a
    revocation by ``cauce user revoke`` (another process, another IdentityService) reaches it
    when that window ends, and one by the server itself at once."""
    server = wiring.identity
    assert server.cache_for == timedelta(seconds=Settings().auth_cache_s) == timedelta(seconds=5)
    _, token = server.create_user("ana", ["Mesa de Servicio"])
    cli = IdentityService(server.uow, server.catalog, clock=clock)  # as `cauce user revoke ana` builds it
    assert server.authenticate(token) is not None
    assert cli.revoke("ana") == 1
    clock.advance(seconds=4)
    assert server.authenticate(token) is not None  # still inside the window
    clock.advance(seconds=2)
    assert server.authenticate(token) is None
    _, second = server.create_user("luis", ["Mesa de Servicio"])
    assert server.authenticate(second) is not None
    server.revoke("luis")
    assert server.authenticate(second) is None  # revoked here: no window


def test_without_the_cache_every_request_reads_the_token(wiring: Wiring, clock: ManualClock) -> None:
    server = IdentityService(wiring.identity.uow, wiring.identity.catalog, clock=clock, cache_s=0)
    _, token = server.create_user("ana", ["Mesa de Servicio"])
    assert server.authenticate(token) is not None
    IdentityService(server.uow, server.catalog, clock=clock).revoke("ana")
    assert server.authenticate(token) is None
