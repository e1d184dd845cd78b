"""Exact wake-ups for work that falls due at a known time: timers, SLA thresholds, handler retries.

Polling every few seconds either fires late or costs a query per tick whatever the load; instead
one APScheduler *date* job (fixed id per kind of work) is armed at the earliest due time:

* whoever commits new work announces its due time (a listener list) and the job moves earlier
  when that comes first, so work created by this process runs within milliseconds of its time;
* when the job runs it does everything due, then re-arms at the next due time read from the
  database;
* a periodic safety sweep re-arms from the database too, which picks up work written by other
  processes and recovers from anything missed;
* on start the job runs at once: what fell due while the service was down runs immediately
  (catch-up).

Several processes may arm the same kind of job against one PostgreSQL database: each kind's round
re-checks its rows under a lock, so a piece of work runs once however many processes wake for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Self

from apscheduler.schedulers.base import BaseScheduler

#: After a round leaves something due (a busy row, work that keeps failing), wait this long before
#: the next round instead of spinning.
RETRY = timedelta(seconds=1)
log = logging.getLogger(__name__)


class WakeUpJob:
    """Keeps one date job armed at the earliest due work of one kind.

    Subclasses say what a round does (:meth:`_round`, returning how much it handled) and when the
    next work is due (:meth:`_earliest`).
    """

    wake_job_id: str
    sweep_job_id: str

    def __init__(self, scheduler: BaseScheduler, *, clock: Callable[[], datetime],
                 listeners: list[Callable[[datetime], None]], sweep_s: float = 60.0) -> None:
        self.scheduler = scheduler
        self.clock = clock
        self.listeners = listeners
        self.sweep_s = sweep_s
        self._lock = threading.Lock()

    def _round(self) -> int:
        raise NotImplementedError

    def _earliest(self) -> datetime | None:
        raise NotImplementedError

    def start(self) -> Self:
        """Listen for announcements, add the sweep, and arm a catch-up round at once."""
        self.listeners.append(self.notify)
        self.scheduler.add_job(self.sweep, "interval", seconds=self.sweep_s, id=self.sweep_job_id,
                               max_instances=1, coalesce=True, replace_existing=True)
        self._arm(self.clock())
        return self

    def stop(self) -> None:
        if self.notify in self.listeners:
            self.listeners.remove(self.notify)

    def notify(self, due: datetime) -> None:
        """Work is now due at ``due`` (committed): wake then, if that is sooner."""
        self._arm(due)

    def sweep(self) -> None:
        """Re-arm from the database: work of other processes, and a missed wake-up, are found."""
        try:
            earliest = self._earliest()
        except Exception:
            log.exception("%s sweep failed", self.wake_job_id)
            return
        if earliest is not None:
            self._arm(earliest)

    def run_due(self) -> int:
        """Do everything due, then arm at the next due time; returns how much was handled."""
        started = self.clock()
        try:
            handled = self._round()
            earliest = self._earliest()
        except Exception:  # keep the scheduler alive; retry shortly
            log.exception("%s round failed", self.wake_job_id)
            self._arm(self.clock() + RETRY)
            return 0
        if earliest is None:
            return handled
        if earliest <= started:
            # Due before this round began and still pending (locked elsewhere, failing, or more
            # than a round's worth): try again shortly instead of spinning. Work that fell due
            # during the round is not delayed: its time is in the past, so the job runs at once.
            earliest = self.clock() + RETRY
        self._arm(earliest)
        return handled

    def armed_at(self) -> datetime | None:
        """When the wake-up job runs next (None when nothing is pending)."""
        job = self.scheduler.get_job(self.wake_job_id)
        return getattr(job, "next_run_time", None) if job is not None else None

    def _arm(self, due: datetime) -> None:
        """Arm the wake-up job at ``due`` unless it already runs sooner.

        A date job is removed once it has run, so at the end of a round nothing is armed except
        what :meth:`notify` armed meanwhile, which is kept when it is sooner.
        """
        with self._lock:
            current = self.armed_at()
            if current is not None and current <= due:
                return
            # Two instances allowed: a job armed by notify() while a round still runs must not be
            # dropped as "maximum number of running instances reached".
            self.scheduler.add_job(self.run_due, "date", run_date=due, id=self.wake_job_id, replace_existing=True,
                                   max_instances=2, coalesce=True, misfire_grace_time=None)


def in_batches(run_batch: Callable[[int], int], *, batch: int, max_batches: int = 100) -> int:
    """Call ``run_batch(batch)`` until it handles less than a full batch (at most ``max_batches``
    times, so a round always ends and re-arms); returns the total handled."""
    handled = 0
    for _ in range(max_batches):
        done = run_batch(batch)
        handled += done
        if done < batch:
            break
    return handled


__all__ = ["RETRY", "WakeUpJob", "in_batches"]
