"""The timer scheduler: a wake-up armed at the earliest due time, catch-up, and firing once.

APScheduler runs paused here: the tests call what its jobs call (``run_due``, ``sweep``) on the
injected clock and inspect when the wake-up job is armed, so nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.models import Event
from engine.scheduler import WAKE_JOB_ID, TimerScheduler
from engine.settings import Settings
from engine.wakeups import RETRY
from tests.engine.processes import race_in_processes
from tests.engine.test_concurrency import _race
from tests.engine.test_timers import _fired, _ready, boundary


@pytest.fixture
def scheduler(wiring: Wiring) -> Iterator[TimerScheduler]:
    running = TimerScheduler(wiring.service).start(paused=True)
    yield running
    running.shutdown(wait=False)


def _ran(scheduler: TimerScheduler) -> int:
    """Do what APScheduler does with a due date job: drop it, then run it."""
    if scheduler.scheduler.get_job(WAKE_JOB_ID) is not None:
        scheduler.scheduler.remove_job(WAKE_JOB_ID)
    return scheduler.run_due()


def _deploy(wiring: Wiring, **durations: str) -> None:
    for pid, duration in durations.items():
        wiring.service.deploy(boundary(f'"{duration}"', calendar=None, pid=pid).encode())


def test_start_runs_a_catch_up_round_at_once(wiring: Wiring, clock: ManualClock, scheduler: TimerScheduler) -> None:
    assert scheduler.armed_at() == clock()


def test_wake_up_follows_the_earliest_timer(wiring: Wiring, clock: ManualClock, scheduler: TimerScheduler) -> None:
    _ran(scheduler)  # the start-up round: nothing pending, nothing armed
    assert scheduler.armed_at() is None
    _deploy(wiring, late="P5D", soon="PT1H", later="P10D")
    late = wiring.service.start("late")
    assert scheduler.armed_at() == late.next_timer_at
    soon = wiring.service.start("soon")
    assert scheduler.armed_at() == soon.next_timer_at  # moved earlier
    wiring.service.start("later")
    assert scheduler.armed_at() == soon.next_timer_at  # not moved later
    clock.set(soon.next_timer_at + timedelta(milliseconds=1))
    assert _ran(scheduler) == 1
    assert _ready(wiring, soon.id) == ["Task_late"]
    assert scheduler.armed_at() == late.next_timer_at  # re-armed from the database


def test_sweep_finds_timers_written_elsewhere(wiring: Wiring, clock: ManualClock, scheduler: TimerScheduler) -> None:
    _ran(scheduler)
    wiring.service.timer_listeners.clear()  # as if another process had started the instance
    _deploy(wiring, soon="PT1H")
    instance = wiring.service.start("soon")
    assert scheduler.armed_at() is None
    scheduler.sweep()
    assert scheduler.armed_at() == instance.next_timer_at


def test_a_rolled_back_step_announces_nothing(wiring: Wiring, clock: ManualClock, scheduler: TimerScheduler) -> None:
    _ran(scheduler)
    _deploy(wiring, soon="PT1H")
    original = wiring.service._sync_human_tasks

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    wiring.service._sync_human_tasks = fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        wiring.service.start("soon")
    wiring.service._sync_human_tasks = original  # type: ignore[method-assign]
    assert scheduler.armed_at() is None


def test_overdue_timers_fire_on_start_up_in_due_order(wiring: Wiring, clock: ManualClock) -> None:
    _deploy(wiring, third="PT3H", first="PT1H", second="PT2H")
    started = {pid: wiring.service.start(pid).id for pid in ("third", "first", "second")}
    clock.advance(days=2)  # the service was down meanwhile
    scheduler = TimerScheduler(wiring.service).start(paused=True)
    try:
        assert scheduler.armed_at() == clock()
        assert _ran(scheduler) == 3
    finally:
        scheduler.shutdown(wait=False)
    with wiring.service.uow.read() as session:
        order = list(session.scalars(select(Event.instance_id).where(
            Event.type == "element_completed", Event.element_id == "Timer_plazo").order_by(Event.id)))
    assert order == [started["first"], started["second"], started["third"]]


def test_two_workers_fire_a_due_timer_exactly_once(wiring: Wiring, settings: Settings, clock: ManualClock) -> None:
    """Two "processes" (separate engines and connection pools) wake for the same due instance."""
    other = build(settings, clock=clock)
    try:
        services = [wiring.service, other.service]
        _deploy(wiring, soon="PT1H")
        for _ in range(5):  # a race that passes by luck once should not pass five times
            instance = wiring.service.start("soon")
            clock.advance(hours=1, seconds=1)
            results = _race(2, lambda i: services[i].fire_due_timers())
            assert sorted(results) == [0, 1], results  # type: ignore[type-var]
            assert _fired(wiring, instance.id) == 1
            assert _ready(wiring, instance.id) == ["Task_late"]
            assert wiring.service.list_tasks(instance_id=instance.id)[1] == 1
    finally:
        other.db.dispose()


def _fire_in_process(url: str, now: str, barrier: Any, results: Any) -> None:
    """A worker process of its own: its own interpreter, engine and connections."""
    from datetime import datetime

    from engine.bootstrap import build
    from engine.clock import ManualClock
    from engine.settings import Settings

    wiring = build(Settings(database_url=url, scheduler_enabled=False, lock_timeout_s=20.0),
                   clock=ManualClock(datetime.fromisoformat(now)))
    try:
        barrier.wait(timeout=60)
        results.put(wiring.service.fire_due_timers())
    finally:
        wiring.db.dispose()


def test_two_processes_fire_a_due_timer_exactly_once(wiring: Wiring, db_url: str, clock: ManualClock) -> None:
    _deploy(wiring, soon="PT1H")
    instances = [wiring.service.start("soon").id for _ in range(3)]
    clock.advance(hours=1, seconds=1)
    counts = race_in_processes(_fire_in_process, db_url, clock().isoformat())
    assert sum(counts) == 3, counts  # each due instance advanced by exactly one of the two
    for instance_id in instances:
        assert _fired(wiring, instance_id) == 1
        assert _ready(wiring, instance_id) == ["Task_late"]


def test_a_timer_that_stays_due_is_retried_without_spinning(wiring: Wiring, clock: ManualClock,
                                                             scheduler: TimerScheduler,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _ran(scheduler)
    _deploy(wiring, soon="PT1H")
    instance = wiring.service.start("soon")
    clock.set(instance.next_timer_at + timedelta(seconds=1))
    monkeypatch.setattr(wiring.service, "fire_due_timers", lambda limit=100: 0)  # e.g. locked elsewhere
    assert _ran(scheduler) == 0
    assert scheduler.armed_at() == clock() + RETRY
    monkeypatch.undo()
    assert _ran(scheduler) == 1
    assert scheduler.armed_at() is None
