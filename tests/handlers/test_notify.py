"""notify: templates, rendering and recipient resolution, with a fake mailroom (no database)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from handlers.notify import Input, Mail, make_notify, reference, render, resolve_recipients, template_names

ROOT = Path(__file__).resolve().parents[2]


class FakeMailroom:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data or {}
        self.users = {"ana": "ana@dgtit.example.mx", "luis": "luis@dgtit.example.mx"}
        self.roles = {"Mesa de Servicio": ["ana@dgtit.example.mx", "luis@dgtit.example.mx"]}
        self.queued: list[Mail] = []

    def variables(self) -> dict[str, Any]:
        return dict(self.data)

    def user_address(self, name: str) -> str | None:
        return self.users.get(name)

    def role_addresses(self, role: str) -> list[str]:
        return list(self.roles.get(role, []))

    def requester(self) -> str | None:
        return "ana"

    def assignee(self) -> str | None:
        return "luis"

    def enqueue(self, mail: Mail) -> dict[str, Any]:
        self.queued.append(mail)
        return {"outbox_id": str(len(self.queued)), "template": mail.template, "to": mail.recipients,
                "status": "pending" if mail.recipients else "no_recipients", "subject": mail.subject}


def _diagram_templates() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "bpmn").rglob("*.bpmn"):
        for value in re.findall(r'id="template" type="str" value="([^"]*)"', path.read_text(encoding="utf-8")):
            names.update(re.findall(r"'([a-z0-9_]+)'", value.replace("&apos;", "'")))
    return names


def test_every_template_a_diagram_names_exists_and_renders() -> None:
    wanted = _diagram_templates()
    assert len(wanted) > 50
    assert wanted <= set(template_names()), sorted(wanted - set(template_names()))
    for name in template_names():
        subject, body = render(name, {"folio": "SOL-2026-000042", "instancia": {"proceso": "Proceso X"}})
        assert subject and "\n" not in subject and subject.endswith("[SOL-2026-000042]"), name
        assert body.startswith("Estimado(a)") and "Referencia: SOL-2026-000042" in body, name
        assert "{{" not in body and "{%" not in body


def test_render_without_reference_and_bad_names() -> None:
    subject, body = render("ticket_cerrado", {})
    assert subject == "Ticket cerrado" and "Referencia" not in body
    for bad in ("../etc/passwd", "No_Existe", "no_existe"):
        with pytest.raises(ValueError):
            render(bad, {})
    with pytest.raises(ValidationError):
        Input().load({"template": "no_existe", "to": "requester"})
    assert Input().load({"template": "ticket_cerrado", "to": "requester"})["to"] == "requester"


def test_reference_is_the_first_folio_or_the_business_key() -> None:
    assert reference({"x": "hola", "ticket": "INC-2026-000001"}) == "INC-2026-000001"
    assert reference({"instancia": {"clave": "SOL-1"}}) == "SOL-1"
    assert reference({}) is None


@pytest.mark.parametrize(("to", "data", "expected"), [
    ("requester", {}, ["ana@dgtit.example.mx"]),
    ("assignee", {}, ["luis@dgtit.example.mx"]),
    ("role:Mesa de Servicio", {}, ["ana@dgtit.example.mx", "luis@dgtit.example.mx"]),
    ("role:Nadie", {}, []),
    ("data:correo", {"correo": "Ana Pérez <Ana@Example.MX>"}, ["ana@example.mx"]),
    ("data:correo", {"correo": ["x@example.mx", "luis", "x@example.mx", "desconocido"]},
     ["x@example.mx", "luis@dgtit.example.mx"]),
    ("data:correo", {"correo": "a@example.mx; b@example.mx"}, ["a@example.mx", "b@example.mx"]),
    ("data:correo", {}, []),
    ("data:correo", {"correo": "no es correo@"}, []),
    ("mesa@dgtit.example.mx, jefe@dgtit.example.mx", {}, ["mesa@dgtit.example.mx", "jefe@dgtit.example.mx"]),
])
def test_recipients(to: str, data: dict[str, Any], expected: list[str]) -> None:
    assert resolve_recipients(to, data, FakeMailroom()) == expected


@pytest.mark.parametrize("to", ["role:", "data:", "alguien", "a@b"])
def test_malformed_recipient_is_a_modelling_error(to: str) -> None:
    with pytest.raises(ValueError):
        resolve_recipients(to, {}, FakeMailroom())


def test_notify_renders_resolves_and_enqueues() -> None:
    mailroom = FakeMailroom({"ticket": "INC-2026-000009", "instancia": {"proceso": "Gestión de incidentes"}})
    record = make_notify(mailroom)(template="ticket_cerrado", to="role:Mesa de Servicio")
    assert record["status"] == "pending" and record["to"] == ["ana@dgtit.example.mx", "luis@dgtit.example.mx"]
    [mail] = mailroom.queued
    assert mail.subject == "Ticket cerrado [INC-2026-000009]" and mail.recipient_spec == "role:Mesa de Servicio"
    assert "Procedimiento: Gestión de incidentes" in mail.body
