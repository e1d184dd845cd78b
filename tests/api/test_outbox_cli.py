"""``cauce outbox send``: sends the pending mail once with the configured transport."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main
from engine.bootstrap import Wiring, step_handler_dependencies
from engine.handler_registry import HandlerRegistry
from handlers.registry import register_builtin
from tests.engine.step_documents import service_steps


def test_outbox_send_writes_the_pending_mail_to_the_mail_dir(
        wiring: Wiring, handlers: HandlerRegistry, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    register_builtin(handlers, **step_handler_dependencies())
    wiring.service.deploy(service_steps("uno", [
        ("notify", "aviso", {"template": "'ticket_cerrado'", "to": "'ana@dgtit.example.mx'"})]).encode())
    wiring.service.start("uno")
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    monkeypatch.delenv("CAUCE_MAIL_DIR", raising=False)
    monkeypatch.delenv("CAUCE_SMTP_HOST", raising=False)
    assert main(["outbox", "send"]) == 1
    assert "no mail transport" in capsys.readouterr().err
    folder = tmp_path / "correo"
    monkeypatch.setenv("CAUCE_MAIL_DIR", str(folder))
    assert main(["outbox", "send"]) == 0
    assert "1 sent" in capsys.readouterr().out
    assert main(["outbox", "send"]) == 0
    assert "0 sent" in capsys.readouterr().out
    [eml] = folder.glob("*.eml")
    assert b"Subject: Ticket cerrado" in eml.read_bytes()


def test_smtp_tls_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.settings import Settings

    for value, mode in (("1", "starttls"), ("starttls", "starttls"), ("ssl", "ssl"), ("", "none"), ("no", "none")):
        monkeypatch.setenv("CAUCE_SMTP_TLS", value)
        assert Settings.from_env().smtp_tls == mode
    monkeypatch.setenv("CAUCE_SMTP_TLS", "sí")
    with pytest.raises(ValueError, match="CAUCE_SMTP_TLS"):
        Settings.from_env()


def test_the_serving_process_sends_the_outbox_periodically(settings, clock, tmp_path: Path) -> None:
    import dataclasses

    from api import create_app

    app = create_app(dataclasses.replace(settings, mail_dir=tmp_path / "correo"), clock=clock, scheduler=True)
    running = app.extensions["cauce"].scheduler
    try:
        job = running.scheduler.get_job("cauce-outbox")
        assert job is not None and job.trigger.interval.total_seconds() == settings.outbox_interval_s
    finally:
        running.shutdown(wait=False)
        app.extensions["cauce_db"].dispose()
    quiet = create_app(settings, clock=clock, scheduler=True)  # no transport: no job
    try:
        assert quiet.extensions["cauce"].scheduler.scheduler.get_job("cauce-outbox") is None
    finally:
        quiet.extensions["cauce"].scheduler.shutdown(wait=False)
        quiet.extensions["cauce_db"].dispose()
