"""The handler worker in APScheduler: woken when a step defers a handler, and at the retry time.

APScheduler runs paused: the tests call what its jobs call and read when the wake-up is armed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from api.cli import main
from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.worker_jobs import WAKE_JOB_ID, InvocationJobs
from tests.engine import documents
from tests.engine.handler_doubles import FlakyStamp


@pytest.fixture
def jobs(wiring: Wiring) -> Iterator[InvocationJobs]:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    assert wiring.invocations is not None
    running = InvocationJobs(wiring.invocations, scheduler).start()
    yield running
    running.stop()
    scheduler.shutdown(wait=False)


def _ran(jobs: InvocationJobs) -> int:
    if jobs.scheduler.get_job(WAKE_JOB_ID) is not None:
        jobs.scheduler.remove_job(WAKE_JOB_ID)
    return jobs.run_due()


def test_deferred_handler_wakes_the_worker_then_its_retry(wiring: Wiring, handlers: HandlerRegistry,
                                                          clock: ManualClock, jobs: InvocationJobs) -> None:
    _ran(jobs)  # the start-up round: nothing to do, nothing armed
    assert jobs.armed_at() is None
    flaky = FlakyStamp()
    handlers.register("stamp", flaky, mode="async", retry={"max_attempts": 2, "base_s": 45})
    wiring.service.deploy(documents.service_call().encode())
    instance = wiring.service.start("service_call", {"folio_base": "INC"})
    assert jobs.armed_at() == instance.started_at  # at once, announced by the step's commit
    assert _ran(jobs) == 1 and len(flaky.calls) == 1
    assert jobs.armed_at() == clock() + timedelta(seconds=45)  # the backoff
    flaky.broken = False
    clock.advance(seconds=45)
    assert _ran(jobs) == 1
    assert wiring.service.get_instance(instance.id)[0].data["stamped"] == "INC-0002"
    assert jobs.armed_at() is None


def test_cli_drains_once_and_lists_incidents(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAUCE_DATABASE_URL", db_url)
    monkeypatch.setenv("CAUCE_SCHEDULER", "0")
    assert main(["worker", "--once"]) == 0
    assert "0 invocation(s) handled" in capsys.readouterr().out
    assert main(["incidents"]) == 0
