"""E-mail notifications: render a Spanish template and queue the mail in the step's outbox.

A diagram names a notification (``template``) and its recipients (``to``); this handler renders
``handlers/templates/<template>.txt`` with Jinja2 and hands the mail to a :class:`Mailroom`, the
dependency the composition root binds: it resolves people to addresses (users and roles live in
the database) and writes the mail to an outbox *in the step's transaction*, so a step that rolls
back sends nothing, and a slow or absent mail server never fails or holds up a step. A dispatcher
sends the outbox later (``engine.outbox``).

Recipients (``to``), as bpmn/CONVENTIONS.md lists them:

* ``requester``: whoever started the instance;
* ``assignee``: whoever worked the instance's latest human task;
* ``role:<role name>``: every active user holding the role (its name as the lanes write it);
* ``data:<variable>``: an address, a user name or a list of them in process data;
* an address, or several separated by ``,`` or ``;``.

Nobody resolved is not an error: the mail is recorded as ``no_recipients`` and the process goes on
(a procedure must not stop because a role has no members yet); the delivery record says so.

Template files start with the subject (one line, after ``Asunto:``), a blank line, then the body.
They see the process data as variables, plus ``instancia`` (``id``, ``proceso``, ``clave``,
``solicitante``) and ``referencia`` (the request's folio, see :func:`reference`). Most extend
``_layout.txt``, which adds the greeting, the reference and the footer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape
from marshmallow import Schema, ValidationError, fields

from handlers.folio import parse_folio

__all__ = ["TEMPLATE_DIR", "Input", "Mail", "Mailroom", "Output", "make_notify", "reference", "render",
           "resolve_recipients", "template_names"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
_NAME = re.compile(r"[a-z0-9_]{1,100}")
_SUBJECT = "Asunto:"


@dataclass(frozen=True)
class Mail:
    """A rendered notification for the outbox."""

    template: str
    recipient_spec: str  # the diagram's ``to``, kept for the record
    recipients: list[str]
    subject: str
    body: str


class Mailroom(Protocol):
    """What ``notify`` needs from the running service; bound by the composition root."""

    def variables(self) -> dict[str, Any]:
        """Template variables: the process data and ``instancia``."""

    def user_address(self, name: str) -> str | None:
        """The e-mail address of the active user ``name``, if any."""

    def role_addresses(self, role: str) -> list[str]:
        """The addresses of the active users holding ``role``."""

    def requester(self) -> str | None:
        """The user (or address) that started the instance."""

    def assignee(self) -> str | None:
        """The user who worked the instance's latest human task."""

    def enqueue(self, mail: Mail) -> dict[str, Any]:
        """Write ``mail`` to the outbox in the step's transaction; the delivery record."""


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Plain-text mail: no HTML escaping; undefined variables render empty, because process data
    # differs between paths of a diagram and a notification must not fail over a missing field.
    return Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape([]),
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def template_names() -> list[str]:
    """The notifications that exist (file names without ``.txt``; ``_``-prefixed files are layouts)."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt") if not p.name.startswith("_"))


def render(template: str, variables: dict[str, Any]) -> tuple[str, str]:
    """``(subject, body)`` of notification ``template`` with ``variables``; ``ValueError`` when the
    template does not exist or does not start with the subject line."""
    if not isinstance(template, str) or not _NAME.fullmatch(template):
        raise ValueError(f"Nombre de plantilla no válido: {template!r}")
    try:
        text = _environment().get_template(f"{template}.txt").render(
            {"referencia": reference(variables), **variables})
    except TemplateNotFound:
        raise ValueError(f"No existe la plantilla de notificación {template!r} en handlers/templates/.") from None
    first, _, body = text.lstrip().partition("\n")
    if not first.startswith(_SUBJECT):
        raise ValueError(f"La plantilla {template!r} debe empezar con la línea '{_SUBJECT} …'.")
    subject = " ".join(first.removeprefix(_SUBJECT).split())
    return subject, body.strip() + "\n"


def reference(variables: dict[str, Any]) -> str | None:
    """What the requester quotes: the first folio in process data (diagrams name its variable
    ``folio``, ``ticket``, ``numero_ticket``…), else the instance's business key."""
    for value in variables.values():
        if isinstance(value, str):
            try:
                parse_folio(value)
            except ValueError:
                continue
            return value
    instancia = variables.get("instancia")
    return instancia.get("clave") if isinstance(instancia, dict) else None


def _is_address(value: str) -> bool:
    _, address = parseaddr(value)
    local, at, domain = address.partition("@")
    return bool(local and at and "." in domain and " " not in address)


def _person(value: Any, mailroom: Mailroom) -> list[str]:
    """An address stays; a user name becomes the user's address; lists are flattened."""
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _person(v, mailroom)]
    if not isinstance(value, str) or not value.strip():
        return []
    out = []
    for part in re.split(r"[;,]", value):
        part = part.strip()
        if not part:
            continue
        if "@" in part:
            if _is_address(part):
                out.append(parseaddr(part)[1])
            continue
        address = mailroom.user_address(part)
        if address:
            out.append(address)
    return out


def resolve_recipients(to: str, variables: dict[str, Any], mailroom: Mailroom) -> list[str]:
    """The addresses ``to`` stands for (see the module docstring), each once, in order.

    ``ValueError`` only for a ``to`` that is malformed as written in the diagram (a literal that
    is not an address, an empty role or variable name): that is a modelling mistake to fix.
    """
    spec = to.strip()
    if spec == "requester":
        found = _person(mailroom.requester(), mailroom)
    elif spec == "assignee":
        found = _person(mailroom.assignee(), mailroom)
    elif spec.startswith("role:"):
        role = spec.removeprefix("role:").strip()
        if not role:
            raise ValueError("Destinatario 'role:' sin nombre de rol.")
        found = mailroom.role_addresses(role)
    elif spec.startswith("data:"):
        name = spec.removeprefix("data:").strip()
        if not name:
            raise ValueError("Destinatario 'data:' sin nombre de variable.")
        found = _person(variables.get(name), mailroom)
    else:
        parts = [p.strip() for p in re.split(r"[;,]", spec) if p.strip()]
        if not parts or not all(_is_address(p) for p in parts):
            raise ValueError(
                f"Destinatario no válido: {to!r} (use requester, assignee, role:<rol>, data:<variable> o un correo).")
        found = [parseaddr(p)[1] for p in parts]
    return list(dict.fromkeys(a.lower() if a.count("@") == 1 else a for a in found))


def make_notify(mailroom: Mailroom) -> Callable[..., dict[str, Any]]:
    """The ``notify`` handler bound to a :class:`Mailroom`."""

    def notify(template: str, to: str) -> dict[str, Any]:
        """Render ``template`` and queue it for ``to``; the delivery record (outbox id, recipients, status)."""
        variables = mailroom.variables()
        subject, body = render(template, variables)
        recipients = resolve_recipients(to, variables, mailroom)
        return mailroom.enqueue(Mail(template=template, recipient_spec=to, recipients=recipients,
                                     subject=subject, body=body))

    return notify


def _valid_template(value: str) -> None:
    if not _NAME.fullmatch(value):
        raise ValidationError(f"Nombre de plantilla no válido: {value!r}")
    if not (TEMPLATE_DIR / f"{value}.txt").is_file():
        raise ValidationError(f"No existe la plantilla de notificación {value!r}.")


class Input(Schema):
    """Parameters of ``notify``."""

    template = fields.String(required=True, validate=_valid_template)
    to = fields.String(required=True)


class Output(Schema):
    """The delivery record ``notify`` returns (stored in the diagram's result variable)."""

    outbox_id = fields.String(required=True)
    template = fields.String(required=True)
    to = fields.List(fields.String(), required=True)
    status = fields.String(required=True)  # pending | no_recipients
    subject = fields.String(required=True)
