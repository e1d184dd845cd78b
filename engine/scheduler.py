"""Wake instances at their timers' due time, from APScheduler in the serving process.

Polling every few seconds either fires late or costs a query per tick whatever the load; instead
one APScheduler *date* job (fixed id) is armed at the earliest ``Instance.next_timer_at``:

* the service announces every committed change of an instance's earliest timer
  (:attr:`WorkflowService.timer_listeners`) and the job is moved earlier when the new due time
  comes first, so a timer created by this process fires within milliseconds of its time;
* when the job runs it fires everything due, in due order, then re-arms at the next due time
  read from the database (one ``min`` query per round);
* a periodic safety sweep (60 s by default) re-arms from the database too, which picks up
  timers written by other processes and recovers from anything missed;
* on start-up the job runs at once: timers that fell due while the service was down fire
  immediately, oldest first (catch-up).

Several processes may run this scheduler against one PostgreSQL database:
:meth:`WorkflowService.fire_due_timers` re-checks each instance under its row lock, so a timer
fires once however many processes wake for it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from .service import WorkflowService

WAKE_JOB_ID = "cauce-timer-wake"
SWEEP_JOB_ID = "cauce-timer-sweep"
SWEEP_S = 60.0
#: After a round leaves something due (a busy row, an instance that keeps failing), wait this long
#: before the next round instead of spinning.
RETRY = timedelta(seconds=1)
#: Upper bound of consecutive batches in one round, so a round always ends and re-arms.
MAX_BATCHES = 100
log = logging.getLogger(__name__)


class TimerScheduler:
    """Keeps one wake-up job armed at the earliest pending timer (see the module docstring)."""

    def __init__(self, service: WorkflowService, *, sweep_s: float = SWEEP_S, batch: int = 100,
                 scheduler: BaseScheduler | None = None) -> None:
        self.service = service
        self.sweep_s = sweep_s
        self.batch = batch
        self.scheduler = scheduler or BackgroundScheduler(timezone="UTC")
        self._lock = threading.Lock()

    def start(self, *, paused: bool = False) -> TimerScheduler:
        """Start, and run a catch-up round at once (in the scheduler's thread)."""
        self.service.timer_listeners.append(self.notify)
        self.scheduler.add_job(self.sweep, "interval", seconds=self.sweep_s, id=SWEEP_JOB_ID, max_instances=1,
                               coalesce=True, replace_existing=True)
        self.scheduler.start(paused=paused)
        self._arm(self.service.clock())
        return self

    def shutdown(self, wait: bool = True) -> None:
        if self.notify in self.service.timer_listeners:
            self.service.timer_listeners.remove(self.notify)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def notify(self, due: datetime) -> None:
        """An instance's earliest timer is now ``due`` (committed): wake then, if that is sooner."""
        self._arm(due)

    def sweep(self) -> None:
        """Re-arm from the database: timers of other processes, and a missed wake-up, are found."""
        try:
            earliest = self.service.earliest_timer_at()
        except Exception:
            log.exception("timer sweep failed")
            return
        if earliest is not None:
            self._arm(earliest)

    def run_due(self) -> int:
        """Fire every due timer, oldest first, then arm at the next one; returns instances advanced."""
        fired = 0
        started = self.service.clock()
        try:
            for _ in range(MAX_BATCHES):
                advanced = self.service.fire_due_timers(limit=self.batch)
                fired += advanced
                if advanced < self.batch:
                    break
            if fired:
                log.info("advanced %d instance(s) with due timers", fired)
            earliest = self.service.earliest_timer_at()
        except Exception:  # keep the scheduler alive; retry shortly
            log.exception("timer round failed")
            self._arm(self.service.clock() + RETRY)
            return fired
        if earliest is None:
            return fired
        if earliest <= started:
            # Due before this round began and still pending (locked elsewhere, failing, or more
            # than a round's worth): try again shortly instead of spinning. A timer that fell due
            # during the round is not delayed: its time is in the past, so the job runs at once.
            earliest = self.service.clock() + RETRY
        self._arm(earliest)
        return fired

    def armed_at(self) -> datetime | None:
        """When the wake-up job will run next (None when nothing is pending)."""
        job = self.scheduler.get_job(WAKE_JOB_ID)
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
            self.scheduler.add_job(self.run_due, "date", run_date=due, id=WAKE_JOB_ID, replace_existing=True,
                                   max_instances=2, coalesce=True, misfire_grace_time=None)


def start_scheduler(service: WorkflowService, *, interval_s: float = SWEEP_S) -> TimerScheduler:
    """Start the timer scheduler; ``interval_s`` is the period of the safety sweep."""
    running = TimerScheduler(service, sweep_s=interval_s).start()
    from .sla_scheduler import SlaScheduler  # SLA thresholds: a second wake-up job (engine/sla.py)

    SlaScheduler(service.slas, running.scheduler, sweep_s=interval_s).start()
    return running


__all__ = ["SWEEP_S", "TimerScheduler", "start_scheduler"]
