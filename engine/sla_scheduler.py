"""Wake SLA clocks at their next threshold, the way :mod:`engine.scheduler` wakes timers.

One APScheduler *date* job (its own id) is armed at the earliest ``sla_clocks.next_check_at``:
a step that commits an earlier threshold announces it (:attr:`SlaClocks.listeners`) and the job
moves earlier; a round fires everything due, oldest first, and re-arms from the database; a safety
sweep re-arms periodically (thresholds written by other processes); on start-up the job runs at
once (catch-up after downtime). Several processes may run it: :meth:`SlaClocks.fire_due` re-reads
each clock under its instance's row lock, so a threshold fires once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

from .sla import SlaClocks

WAKE_JOB_ID = "cauce-sla-wake"
SWEEP_JOB_ID = "cauce-sla-sweep"
#: After a round leaves something due (a locked instance, a failing clock), retry this much later.
RETRY = timedelta(seconds=1)
MAX_BATCHES = 100
log = logging.getLogger(__name__)


class SlaScheduler:
    """Keeps one wake-up job armed at the earliest pending SLA threshold."""

    def __init__(self, slas: SlaClocks, scheduler: BaseScheduler, *, sweep_s: float = 60.0, batch: int = 100) -> None:
        self.slas = slas
        self.scheduler = scheduler
        self.sweep_s = sweep_s
        self.batch = batch
        self._lock = threading.Lock()

    def start(self) -> SlaScheduler:
        """Register for announcements, add the sweep, and run a catch-up round at once."""
        self.slas.listeners.append(self.notify)
        self.scheduler.add_job(self.sweep, "interval", seconds=self.sweep_s, id=SWEEP_JOB_ID, max_instances=1,
                               coalesce=True, replace_existing=True)
        if not self.scheduler.running:
            self.scheduler.start()
        self._arm(self.slas.service.clock())
        return self

    def stop(self) -> None:
        if self.notify in self.slas.listeners:
            self.slas.listeners.remove(self.notify)

    def notify(self, due: datetime) -> None:
        self._arm(due)

    def sweep(self) -> None:
        try:
            earliest = self.slas.earliest_check_at()
        except Exception:
            log.exception("SLA sweep failed")
            return
        if earliest is not None:
            self._arm(earliest)

    def run_due(self) -> int:
        """Fire every due threshold, then arm at the next one; returns the clocks moved."""
        fired = 0
        started = self.slas.service.clock()
        try:
            for _ in range(MAX_BATCHES):
                moved = self.slas.fire_due(limit=self.batch)
                fired += moved
                if moved < self.batch:
                    break
            earliest = self.slas.earliest_check_at()
        except Exception:
            log.exception("SLA round failed")
            self._arm(self.slas.service.clock() + RETRY)
            return fired
        if earliest is None:
            return fired
        if earliest <= started:
            earliest = self.slas.service.clock() + RETRY
        self._arm(earliest)
        return fired

    def armed_at(self) -> datetime | None:
        job = self.scheduler.get_job(WAKE_JOB_ID)
        return getattr(job, "next_run_time", None) if job is not None else None

    def _arm(self, due: datetime) -> None:
        with self._lock:
            current = self.armed_at()
            if current is not None and current <= due:
                return
            self.scheduler.add_job(self.run_due, "date", run_date=due, id=WAKE_JOB_ID, replace_existing=True,
                                   max_instances=2, coalesce=True, misfire_grace_time=None)


__all__ = ["SlaScheduler"]
