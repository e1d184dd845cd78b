"""notify through the outbox: written in the step's transaction, sent once over real SMTP on loopback."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.bootstrap import Wiring, step_handler_dependencies
from engine.handler_registry import HandlerRegistry
from engine.models import OutboxMessage
from engine.outbox import (
    MAX_ATTEMPTS,
    DirectoryTransport,
    SmtpTransport,
    dispatch_outbox,
    requeue_stale,
    stale_claims,
)
from handlers.registry import register_builtin
from tests.engine.step_documents import service_steps
from tests.smtp_server import Mailbox, free_port

SENDER = "Mesa de Servicio DGTIT <mesa@dgtit.example.mx>"


@pytest.fixture
def mail_wiring(wiring: Wiring, handlers: HandlerRegistry) -> Wiring:
    register_builtin(handlers, **step_handler_dependencies())
    wiring.identity.create_user("ana", ["Mesa de Servicio"], email="ana@dgtit.example.mx")
    wiring.identity.create_user("beto", ["Mesa de Servicio"], email="Beto@DGTIT.example.mx")
    wiring.identity.create_user("carla", ["1er. Nivel"], email="carla@dgtit.example.mx")
    wiring.identity.create_user("sin_correo", ["Mesa de Servicio"])
    return wiring


def _rows(wiring: Wiring) -> list[OutboxMessage]:
    with wiring.service.uow.read() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.element_id)))


def _deploy_notifications(wiring: Wiring) -> None:
    wiring.service.deploy(service_steps("avisos", [
        ("folio", "ticket", {"series": "'INC'"}),
        ("notify", "aviso_rol", {"template": "'ticket_cerrado'", "to": "'role:Mesa de Servicio'"}),
        ("notify", "aviso_solicitante", {"template": "'solicitud_declinada'", "to": "'requester'"}),
        ("notify", "aviso_dato", {"template": "'sla_vencido_ticket'", "to": "'data:correo_contacto'"}),
        ("notify", "aviso_nadie", {"template": "'ticket_cerrado'", "to": "'role:CEDN'"}),
    ]).encode())


def test_notify_queues_in_the_step_and_the_dispatcher_sends_once(mail_wiring: Wiring, smtp: tuple[Mailbox, int],
                                                                  clock: Any) -> None:
    inbox, port = smtp
    _deploy_notifications(mail_wiring)
    instance = mail_wiring.service.start("avisos", {"correo_contacto": "Contacto <contacto@externo.example.com>"},
                                         requester="carla")
    assert instance.status == "running", instance.error
    assert instance.data["aviso_rol"]["to"] == ["ana@dgtit.example.mx", "beto@dgtit.example.mx"]
    assert instance.data["aviso_rol"]["status"] == "pending"
    assert instance.data["aviso_solicitante"]["to"] == ["carla@dgtit.example.mx"]
    assert instance.data["aviso_dato"]["to"] == ["contacto@externo.example.com"]
    # A role nobody with an address holds: recorded, not sent, and the process goes on.
    assert instance.data["aviso_nadie"] | {"outbox_id": None} == {
        "outbox_id": None, "template": "ticket_cerrado", "to": [], "status": "no_recipients",
        "subject": "Ticket cerrado [INC-2026-000001]"}
    rows = _rows(mail_wiring)
    assert sorted(r.status for r in rows) == ["no_recipients", "pending", "pending", "pending"]
    assert all(r.instance_id == instance.id for r in rows)

    transport = SmtpTransport("127.0.0.1", port)
    report = dispatch_outbox(mail_wiring.service.uow, transport, sender=SENDER, clock=clock)
    assert len(report.sent) == 3 and not report.failed and not report.retrying
    assert len(inbox.received) == 3
    by_subject = {m["Subject"]: (rcpts, m) for rcpts, m in inbox.received}
    rcpts, message = by_subject["Ticket cerrado [INC-2026-000001]"]
    assert rcpts == ["ana@dgtit.example.mx", "beto@dgtit.example.mx"]
    assert message["From"] == SENDER
    body = message.get_content()
    assert "Su ticket fue atendido y se cerró" in body and "Referencia: INC-2026-000001" in body
    assert "Procedimiento: avisos" in body
    rcpts, message = by_subject["Solicitud declinada [INC-2026-000001]"]
    assert rcpts == ["carla@dgtit.example.mx"]
    sent = {r.id: r for r in _rows(mail_wiring) if r.status == "sent"}
    assert len(sent) == 3
    for _, message in inbox.received:
        row = sent[message["X-Cauce-Outbox"]]
        assert row.message_id == message["Message-ID"] == f"<{row.id}@dgtit.example.mx>"
        assert row.attempts == 1 and row.sent_at == clock()
    # Sent once: another round (or another dispatcher) finds nothing to send.
    again = dispatch_outbox(mail_wiring.service.uow, transport, sender=SENDER, clock=clock)
    assert again.sent == [] and len(inbox.received) == 3


def test_a_rolled_back_step_queues_nothing(mail_wiring: Wiring, monkeypatch: pytest.MonkeyPatch) -> None:
    _deploy_notifications(mail_wiring)

    def crash(session: object) -> None:
        raise RuntimeError("the process died before the commit")

    monkeypatch.setattr(mail_wiring.service, "_commit", crash)
    with pytest.raises(RuntimeError):
        mail_wiring.service.start("avisos", {"correo_contacto": "x@example.com"}, requester="carla")
    assert _rows(mail_wiring) == []


class _AcceptedThenCrash:
    """The server accepts the mail, then the dispatcher dies before marking the row sent."""

    def __init__(self, inner: SmtpTransport) -> None:
        self.inner = inner

    def send(self, message: Any, recipients: list[str], row_id: str) -> None:
        self.inner.send(message, recipients, row_id)
        raise KeyboardInterrupt("killed after the server accepted the mail")


def test_a_crash_after_sending_does_not_send_twice(mail_wiring: Wiring, smtp: tuple[Mailbox, int], clock: Any) -> None:
    inbox, port = smtp
    mail_wiring.service.deploy(service_steps("uno", [
        ("notify", "aviso", {"template": "'ticket_cerrado'", "to": "'ana@dgtit.example.mx'"})]).encode())
    mail_wiring.service.start("uno")
    with pytest.raises(KeyboardInterrupt):
        dispatch_outbox(mail_wiring.service.uow, _AcceptedThenCrash(SmtpTransport("127.0.0.1", port)),
                        sender=SENDER, clock=clock)
    assert len(inbox.received) == 1
    [row] = _rows(mail_wiring)
    assert row.status == "sending"
    # The restarted dispatcher does not send it again; after a while it is reported as stale.
    report = dispatch_outbox(mail_wiring.service.uow, SmtpTransport("127.0.0.1", port), sender=SENDER, clock=clock)
    assert report.sent == [] and report.stale == [] and len(inbox.received) == 1
    clock.advance(minutes=20)
    assert stale_claims(mail_wiring.service.uow, clock=clock) == [row.id]
    # Requeueing is an operator's decision; the repeated mail carries the same Message-ID.
    assert requeue_stale(mail_wiring.service.uow, clock=clock) == 1
    dispatch_outbox(mail_wiring.service.uow, SmtpTransport("127.0.0.1", port), sender=SENDER, clock=clock)
    assert len(inbox.received) == 2
    assert inbox.received[0][1]["Message-ID"] == inbox.received[1][1]["Message-ID"]


def test_an_unreachable_server_is_retried_then_given_up(mail_wiring: Wiring, clock: Any) -> None:
    mail_wiring.service.deploy(service_steps("uno", [
        ("notify", "aviso", {"template": "'ticket_cerrado'", "to": "'ana@dgtit.example.mx'"})]).encode())
    mail_wiring.service.start("uno")
    closed = SmtpTransport("127.0.0.1", free_port(), timeout_s=2)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = dispatch_outbox(mail_wiring.service.uow, closed, sender=SENDER, clock=clock)
        [row] = _rows(mail_wiring)
        assert row.attempts == attempt and "ConnectionRefusedError" in (row.last_error or "")
        assert row.status == ("failed" if attempt == MAX_ATTEMPTS else "pending")
        assert len(report.failed if attempt == MAX_ATTEMPTS else report.retrying) == 1


def test_development_mode_writes_eml_files(mail_wiring: Wiring, tmp_path: Path, clock: Any) -> None:
    _deploy_notifications(mail_wiring)
    mail_wiring.service.start("avisos", {"correo_contacto": "x@example.com"}, requester="carla")
    folder = tmp_path / "correo"
    report = dispatch_outbox(mail_wiring.service.uow, DirectoryTransport(folder), sender=SENDER, clock=clock)
    files = sorted(folder.glob("*.eml"))
    assert len(files) == len(report.sent) == 3
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Subject"].endswith("[INC-2026-000001]") and parsed["Message-ID"]
    assert dispatch_outbox(mail_wiring.service.uow, DirectoryTransport(folder), sender=SENDER, clock=clock).sent == []
    assert len(list(folder.iterdir())) == 3


def test_assignee_and_inactive_users(mail_wiring: Wiring) -> None:
    """``assignee`` is whoever worked the latest human task; a deactivated user gets no mail."""
    mail_wiring.service.deploy(service_steps("asignado", [
        ("notify", "aviso_1", {"template": "'ticket_cerrado'", "to": "'assignee'"}),
        ("notify", "aviso_2", {"template": "'ticket_cerrado'", "to": "'assignee'"}),
    ], review_between=True).encode())
    instance = mail_wiring.service.start("asignado", requester="nadie")
    assert instance.data["aviso_1"]["status"] == "no_recipients"  # nobody worked a task yet
    _, tasks = mail_wiring.service.get_instance(instance.id)
    done = mail_wiring.service.complete_task(tasks[0].id, {}, actor="beto")
    assert done.data["aviso_2"]["to"] == ["beto@dgtit.example.mx"]
    from engine.models import User

    with mail_wiring.service.uow.write() as session:
        session.scalars(select(User).where(User.name == "ana")).one().active = False
        session.commit()
    mail_wiring.service.deploy(service_steps("rol", [
        ("notify", "aviso", {"template": "'ticket_cerrado'", "to": "'role:mesa-de-servicio'"})]).encode())
    assert mail_wiring.service.start("rol").data["aviso"]["to"] == ["beto@dgtit.example.mx"]


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (the test's "internal CA")."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.prueba.local")])
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_and_login_with_an_internal_ca(mail_wiring: Wiring, tmp_path: Path, clock: Any) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_path, key_path = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password == b"secreto")
        return AuthResult(success=False, handled=False)

    inbox, port = Mailbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
                            authenticator=authenticator, auth_required=True)
    controller.start()
    try:
        mail_wiring.service.deploy(service_steps("uno", [
            ("notify", "aviso", {"template": "'ticket_cerrado'", "to": "'ana@dgtit.example.mx'"})]).encode())
        mail_wiring.service.start("uno")
        untrusted = SmtpTransport("127.0.0.1", port, tls="starttls", username="cauce", password="secreto", timeout_s=5)
        report = dispatch_outbox(mail_wiring.service.uow, untrusted, sender=SENDER, clock=clock)
        assert len(report.retrying) == 1 and inbox.received == []  # the certificate is not trusted
        assert "SSLCertVerificationError" in (_rows(mail_wiring)[0].last_error or "")
        trusted = SmtpTransport("127.0.0.1", port, tls="starttls", username="cauce", password="secreto",
                                timeout_s=5, ca_file=cert_path)
        report = dispatch_outbox(mail_wiring.service.uow, trusted, sender=SENDER, clock=clock)
        assert len(report.sent) == 1 and len(inbox.received) == 1
        assert logins == [("cauce", "secreto")]
    finally:
        controller.stop()
