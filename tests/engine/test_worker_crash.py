"""Kill the worker (SIGKILL) in the middle of a handler, or of the step that applies its result;
a restarted worker finishes the instance with no duplicate side effect: one folio number taken,
one mail received by a real SMTP server on loopback, and a handler result recorded once is never
computed again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.models import FolioCounter, OutboxMessage
from engine.models.invocations import HandlerInvocation
from engine.outbox import SmtpTransport, dispatch_outbox
from engine.replay import replay_instance
from engine.settings import Settings
from engine.worker import LEASE
from tests.engine.crash_worker import register_crash_handlers
from tests.engine.step_documents import service_steps
from tests.smtp_server import Mailbox

REPO = Path(__file__).resolve().parents[2]
REACH_TIMEOUT_S = 60.0


def _worker(db_url: str, workdir: Path, now: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.engine.crash_worker", db_url, str(workdir), now],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_reached(process: subprocess.Popen[str], workdir: Path) -> None:
    """Poll for the worker's marker (a subprocess's progress, not a timer)."""
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while not (workdir / "reached").exists():
        if process.poll() is not None:
            raise AssertionError(f"the worker exited early: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the worker never reached the blocking point")
        time.sleep(0.02)


@pytest.mark.parametrize("where", ["block_handler", "block_step"])
def test_a_killed_worker_leaves_no_duplicate_side_effect(
        where: str, db_url: str, wiring: Wiring, handlers: HandlerRegistry, settings: Settings,
        clock: ManualClock, tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    inbox, port = smtp
    register_crash_handlers(handlers, tmp_path, settings)
    wiring.identity.create_user("carla", ["1er. Nivel"], email="carla@dgtit.example.mx")
    wiring.service.deploy(service_steps("crash", [
        ("fragile", "probed", {"label": "'x'"}),
        ("folio", "ticket", {"series": "'INC'"}),
        ("notify", "aviso", {"template": "'ticket_cerrado'", "to": "'requester'"}),
        ("gate", "gated", {}),
    ]).encode())
    instance = wiring.service.start("crash", requester="carla")
    assert instance.status == "running" and instance.data.get("ticket") is None  # fragile waits for the worker

    (tmp_path / where).touch()
    first = _worker(db_url, tmp_path, clock().isoformat())
    try:
        _wait_until_reached(first, tmp_path)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    (tmp_path / where).unlink()

    # The restarted worker runs after the dead one's lease ran out.
    later = (clock() + LEASE + LEASE / 10).isoformat()
    second = _worker(db_url, tmp_path, later)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err

    calls = (tmp_path / "calls.log").read_text().split()
    key = calls[0]
    if where == "block_handler":  # killed mid-handler: run again, with the same idempotency key
        assert calls == [key, "1", key, "2"]
    else:  # killed mid-step: the recorded result is applied again, the handler is not called again
        assert calls == [key, "1"]
    assert key.startswith(f"{instance.id}/")

    report = dispatch_outbox(wiring.service.uow, SmtpTransport("127.0.0.1", port), sender="cauce@localhost",
                             clock=clock)
    assert len(report.sent) == 1
    assert inbox.subjects == ["Ticket cerrado [INC-2026-000001]"]
    with wiring.service.uow.read() as session:
        assert [c.last_number for c in session.scalars(select(FolioCounter))] == [1]
        assert len(list(session.scalars(select(OutboxMessage)))) == 1
        row = session.scalars(select(HandlerInvocation).where(HandlerInvocation.key == key)).one()
        assert (row.status, row.attempts) == ("succeeded", 2 if where == "block_handler" else 1)

    instance, tasks = wiring.service.get_instance(instance.id)
    assert instance.data["ticket"] == "INC-2026-000001" and instance.data["probed"] == {"label": "x", "key": key}
    done = wiring.service.complete_task(tasks[0].id, {})
    assert done.status == "completed"
    with wiring.service.uow.read() as session:
        replayed = replay_instance(session, instance.id, runtime=wiring.service.runtime, specs=wiring.service.specs)
    assert replayed.divergence is None, replayed.divergence
