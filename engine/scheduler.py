"""Wake instances at their timers' due time, from APScheduler in the serving process.

The timer wake-up is one of the exact wake-ups of :mod:`engine.wakeups`, armed at the earliest
``Instance.next_timer_at``: the service announces every committed change of an instance's earliest
timer (:attr:`WorkflowService.timer_listeners`), a round fires everything due in due order, a
safety sweep (60 s by default) re-arms from the database, and start-up catches up on what fell due
during downtime. Several processes may run it against one PostgreSQL database:
:meth:`WorkflowService.fire_due_timers` re-checks each instance under its row lock, so a timer
fires once however many processes wake for it.

:func:`start_scheduler` runs the three wake-ups of the serving process on one scheduler: timers,
SLA thresholds (:mod:`engine.sla_scheduler`) and the handler worker (:mod:`engine.worker_jobs`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from .service import WorkflowService
from .wakeups import WakeUpJob, in_batches

if TYPE_CHECKING:
    from .worker import InvocationWorker

WAKE_JOB_ID = "cauce-timer-wake"
SWEEP_JOB_ID = "cauce-timer-sweep"
SWEEP_S = 60.0
log = logging.getLogger(__name__)


class TimerScheduler(WakeUpJob):
    """Keeps one wake-up job armed at the earliest pending timer, on its own scheduler."""

    wake_job_id = WAKE_JOB_ID
    sweep_job_id = SWEEP_JOB_ID

    def __init__(self, service: WorkflowService, *, sweep_s: float = SWEEP_S, batch: int = 100,
                 scheduler: BaseScheduler | None = None) -> None:
        super().__init__(scheduler or BackgroundScheduler(timezone="UTC"), clock=service.clock,
                         listeners=service.timer_listeners, sweep_s=sweep_s)
        self.service = service
        self.batch = batch

    def start(self, *, paused: bool = False) -> TimerScheduler:  # type: ignore[override]
        """Start the scheduler, and run a catch-up round at once (in the scheduler's thread)."""
        self.scheduler.start(paused=paused)
        return super().start()

    def shutdown(self, wait: bool = True) -> None:
        self.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def _round(self) -> int:
        fired = in_batches(lambda limit: self.service.fire_due_timers(limit=limit), batch=self.batch)
        if fired:
            log.info("advanced %d instance(s) with due timers", fired)
        return fired

    def _earliest(self) -> datetime | None:
        return self.service.earliest_timer_at()


def start_scheduler(service: WorkflowService, *, worker: InvocationWorker | None = None,
                    interval_s: float = SWEEP_S) -> TimerScheduler:
    """Start the timer scheduler with the SLA wake-up and, given one, the handler worker's;
    ``interval_s`` is the period of their safety sweeps."""
    from .sla_scheduler import SlaScheduler
    from .worker_jobs import InvocationJobs

    running = TimerScheduler(service, sweep_s=interval_s).start()
    SlaScheduler(service.slas, running.scheduler, sweep_s=interval_s).start()
    if worker is not None:
        InvocationJobs(worker, running.scheduler, sweep_s=interval_s).start()
    return running


__all__ = ["SWEEP_S", "TimerScheduler", "start_scheduler"]
