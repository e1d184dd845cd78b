"""The mail outbox: written by ``notify`` in the step's transaction, sent later by a dispatcher.

Writing the mail in the step's transaction (instead of talking SMTP from the handler) means a
step that rolls back sends nothing, a step that commits is certain to have its mail queued, and a
slow or absent mail server neither fails a step nor holds an instance lock.

Each outbox row is sent at most once. :func:`dispatch_outbox` *claims* a row (``pending`` →
``sending``, a conditional UPDATE committed before talking to the server, so two dispatchers never
take the same row), sends it with a Message-ID derived from the row id, and marks it ``sent``
with that id. A send that fails before the server accepted the mail puts the row back to
``pending`` (``failed`` after :data:`MAX_ATTEMPTS`). If the process dies between the server's
acceptance and the ``sent`` mark, the row stays ``sending``: it is *not* sent again
automatically (that could send it twice); :func:`stale_claims` lists such rows for an operator,
who can check the mail server's log by Message-ID and requeue them with
:func:`requeue_stale` (``cauce outbox send --requeue-stale``).

Transports: SMTP (``CAUCE_SMTP_*``), or in development a folder of ``.eml`` files
(``CAUCE_MAIL_DIR``), where a file already present for a row is not written again.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from .models import Definition, HumanTask, OutboxMessage, Role, User, user_roles
from .settings import Settings
from .steps import current_step
from .uow import UnitOfWork

__all__ = ["MAX_ATTEMPTS", "DirectoryTransport", "DispatchReport", "SmtpTransport", "StepMailroom",
           "Transport", "build_message", "dispatch_outbox", "requeue_stale", "stale_claims", "transport_from_settings"]

log = logging.getLogger(__name__)

#: Failed sends before a row is given up (``failed``): a wrong address should not retry forever.
MAX_ATTEMPTS = 5
#: A claim older than this with no ``sent`` mark is reported as stale (the dispatcher died).
STALE_AFTER = timedelta(minutes=15)


# -- writing: the Mailroom the notify handler is bound to ----------------------------------------


class StepMailroom:
    """``handlers.notify.Mailroom`` over the running step (:mod:`engine.steps`).

    Users and roles come from the identity tables (``users.email``; ``role:<name>`` matches a
    role's manual name or its id); inactive users and users without an address are skipped.
    """

    def variables(self) -> dict[str, Any]:
        context = current_step()
        instance = context.instance
        data = dict(context.task.data) if context.task is not None else dict(instance.data or {})
        definition = context.session.get(Definition, instance.definition_id)
        data["instancia"] = {
            "id": instance.id,
            "proceso": (definition.name if definition is not None and definition.name else instance.definition_key),
            "clave_proceso": instance.definition_key,
            "clave": instance.business_key,
            "solicitante": instance.requester,
            "estado": instance.status_label,
        }
        return data

    def user_address(self, name: str) -> str | None:
        session = current_step().session
        user = session.scalars(select(User).where(User.name == name)).first()
        if user is None or not user.active or not user.email:
            return None
        return user.email

    def role_addresses(self, role: str) -> list[str]:
        session = current_step().session
        rows = session.scalars(
            select(User.email).join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where((Role.name == role) | (Role.id == role), User.active.is_(True), User.email.is_not(None))
            .order_by(User.name))
        return [email for email in rows if email]

    def requester(self) -> str | None:
        return current_step().instance.requester

    def assignee(self) -> str | None:
        """Who worked the latest human task: its assignee, else who completed it. The task this
        very step completed is not flushed yet (writers do not autoflush), so the session's own
        rows are looked at as well as the database's."""
        context = current_step()
        instance_id = context.instance.id
        rows = [o for o in list(context.session.identity_map.values())
                if isinstance(o, HumanTask) and o.instance_id == instance_id and (o.completed_by or o.assignee)]
        stored = context.session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id,
                   (HumanTask.completed_by.is_not(None)) | (HumanTask.assignee.is_not(None)))
            .order_by(HumanTask.completed_at.desc().nulls_last(), HumanTask.created_at.desc())
            .limit(1)).first()
        if stored is not None:
            rows.append(stored)
        if not rows:
            return None
        latest = max(rows, key=lambda r: (r.completed_at is not None, r.completed_at or r.created_at))
        return latest.assignee or latest.completed_by

    def enqueue(self, mail: Any) -> dict[str, Any]:
        """Add the outbox row to the step's session (inserted at its commit). The row is keyed by
        instance and SpiffWorkflow task, so running the same task again reuses its row."""
        context = current_step()
        task_id = str(context.task.id) if context.task is not None else uuid.uuid4().hex
        key = f"{context.instance.id}/{task_id}"
        existing = context.session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()
        row = existing or OutboxMessage(
            id=str(uuid.uuid4()), idempotency_key=key, instance_id=context.instance.id,
            element_id=getattr(getattr(context.task, "task_spec", None), "bpmn_id", None),
            template=mail.template, recipient_spec=mail.recipient_spec[:500], recipients=list(mail.recipients),
            subject=mail.subject[:500], body=mail.body, status="pending" if mail.recipients else "no_recipients",
            attempts=0, created_at=context.now,
        )
        if existing is None:
            context.session.add(row)
        return {"outbox_id": row.id, "template": row.template, "to": list(row.recipients), "status": row.status,
                "subject": row.subject}


# -- sending -------------------------------------------------------------------------------------


class Transport(Protocol):
    """Delivers one message; raises on failure (the row is retried)."""

    def send(self, message: EmailMessage, recipients: list[str], row_id: str) -> None: ...


@dataclass
class SmtpTransport:
    """SMTP with optional STARTTLS (``tls="starttls"``) or implicit TLS (``tls="ssl"``)."""

    host: str
    port: int = 25
    tls: str = "none"
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0
    ca_file: str | os.PathLike[str] | None = None  # None: the system's trust store

    def send(self, message: EmailMessage, recipients: list[str], row_id: str) -> None:
        # Certificates are always verified: mail carries personal data (names, CURP-related
        # requests), so a server that cannot prove who it is must not receive it.
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with client:
            if self.tls == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            refused = client.send_message(message, to_addrs=recipients)
        if refused:
            log.warning("outbox %s: the server refused %s", row_id, sorted(refused))


@dataclass
class DirectoryTransport:
    """Development mode: each message becomes ``<row id>.eml`` in a folder (written atomically;
    a file already there means the row was delivered, so it is not written twice)."""

    directory: Path

    def send(self, message: EmailMessage, recipients: list[str], row_id: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{row_id}.eml"
        if target.exists():
            return
        partial = self.directory / f".{row_id}.eml.tmp"
        partial.write_bytes(bytes(message))
        os.replace(partial, target)


def transport_from_settings(settings: Settings) -> Transport | None:
    """The mail folder when ``CAUCE_MAIL_DIR`` is set, else SMTP when ``CAUCE_SMTP_HOST`` is; None
    when mail is not configured (rows then wait in the outbox)."""
    if settings.mail_dir is not None:
        return DirectoryTransport(settings.mail_dir)
    if settings.smtp_host:
        return SmtpTransport(settings.smtp_host, settings.smtp_port, settings.smtp_tls, settings.smtp_user,
                             settings.smtp_password, ca_file=settings.smtp_ca_file)
    return None


def message_id(row_id: str, sender: str) -> str:
    """Derived from the row, so the same row always carries the same Message-ID (a receiver, or
    an operator reading the server's log, can tell a repeated delivery)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "cauce.localhost"
    return f"<{row_id}@{domain}>"


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(row.recipients)
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row.id, sender)
    message["X-Cauce-Outbox"] = row.id
    message["X-Cauce-Template"] = row.template
    message.set_content(row.body, charset="utf-8")
    return message


@dataclass
class DispatchReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def dispatch_outbox(uow: UnitOfWork, transport: Transport, *, sender: str, clock: Callable[[], datetime],
                    limit: int = 100, max_attempts: int = MAX_ATTEMPTS) -> DispatchReport:
    """Send up to ``limit`` pending rows, oldest first (see the module docstring for the
    guarantees). The scheduler calls it periodically; ``cauce outbox send`` once."""
    report = DispatchReport()
    with uow.read() as session:
        ids = list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")
                                   .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)))
    for row_id in ids:
        with uow.write() as session:  # the claim: committed before any byte goes to the server
            claimed = session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
                .values(status="sending", claimed_at=clock(), attempts=OutboxMessage.attempts + 1))
            session.commit()
            if claimed.rowcount != 1:
                continue  # another dispatcher took it
            row = session.get(OutboxMessage, row_id)
            assert row is not None
        message = build_message(row, sender)
        try:
            transport.send(message, list(row.recipients), row.id)
        except Exception as exc:  # the server did not accept it: safe to try again later
            log.warning("outbox %s: sending failed (attempt %d): %s", row_id, row.attempts, exc)
            final = row.attempts >= max_attempts
            with uow.write() as session:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                    status="failed" if final else "pending", last_error=f"{type(exc).__name__}: {exc}"[:2000]))
                session.commit()
            (report.failed if final else report.retrying).append(row_id)
            continue
        with uow.write() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                status="sent", sent_at=clock(), message_id=message["Message-ID"], last_error=None))
            session.commit()
        report.sent.append(row_id)
    report.stale = stale_claims(uow, clock=clock)
    return report


def stale_claims(uow: UnitOfWork, *, clock: Callable[[], datetime], older_than: timedelta = STALE_AFTER) -> list[str]:
    """Rows claimed longer ago than ``older_than`` and never marked sent: possibly delivered."""
    with uow.read() as session:
        return list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status == "sending", OutboxMessage.claimed_at < clock() - older_than)))


def requeue_stale(uow: UnitOfWork, *, clock: Callable[[], datetime], older_than: timedelta = STALE_AFTER) -> int:
    """Put stale claims back to ``pending`` (an operator's decision: they may be sent twice)."""
    with uow.write() as session:
        result = session.execute(update(OutboxMessage).where(
            OutboxMessage.status == "sending", OutboxMessage.claimed_at < clock() - older_than)
            .values(status="pending"))
        session.commit()
        return int(result.rowcount or 0)
