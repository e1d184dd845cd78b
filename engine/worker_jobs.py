"""Run the handler worker from APScheduler: woken when work is announced, and at the next retry.

Like the timer wake-up (:mod:`engine.scheduler`), one *date* job with a fixed id is armed at the
earliest moment the worker has something to do (:meth:`InvocationWorker.earliest_due`): a step
that deferred a handler announces it after its commit, so the handler starts within milliseconds;
a failed attempt announces its retry time; a periodic sweep re-arms from the database, which picks
up work written by other processes and claims whose worker died (expired leases).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

from .worker import InvocationWorker

WAKE_JOB_ID = "cauce-invocations-wake"
SWEEP_JOB_ID = "cauce-invocations-sweep"
#: After a round leaves work due (a row another process holds, an instance lock that timed out),
#: wait this long before the next round instead of spinning.
RETRY = timedelta(seconds=1)
log = logging.getLogger(__name__)

__all__ = ["InvocationJobs", "start_invocation_jobs"]


class InvocationJobs:
    """Keeps the worker's wake-up job armed at its earliest due work."""

    def __init__(self, worker: InvocationWorker, scheduler: BaseScheduler, *, sweep_s: float = 60.0) -> None:
        self.worker = worker
        self.scheduler = scheduler
        self.sweep_s = sweep_s
        self._lock = threading.Lock()

    def start(self) -> InvocationJobs:
        self.worker.listeners.append(self.notify)
        self.scheduler.add_job(self.sweep, "interval", seconds=self.sweep_s, id=SWEEP_JOB_ID, max_instances=1,
                               coalesce=True, replace_existing=True)
        self._arm(self.worker.service.clock())  # catch up on what waited while the service was down
        return self

    def stop(self) -> None:
        if self.notify in self.worker.listeners:
            self.worker.listeners.remove(self.notify)

    def notify(self, due: datetime) -> None:
        self._arm(due)

    def sweep(self) -> None:
        try:
            due = self.worker.earliest_due()
        except Exception:
            log.exception("handler worker sweep failed")
            return
        if due is not None:
            self._arm(due)

    def run_due(self) -> int:
        started = self.worker.service.clock()
        try:
            handled = self.worker.run_due()
            due = self.worker.earliest_due()
        except Exception:
            log.exception("handler worker round failed")
            self._arm(self.worker.service.clock() + RETRY)
            return 0
        if due is not None:
            # Due before this round began and still there: held elsewhere or failing; not a spin.
            self._arm(self.worker.service.clock() + RETRY if due <= started else due)
        return handled

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


def start_invocation_jobs(worker: InvocationWorker, scheduler: BaseScheduler, *,
                          sweep_s: float = 60.0) -> InvocationJobs:
    """Arm the handler worker on a running (or paused) scheduler."""
    return InvocationJobs(worker, scheduler, sweep_s=sweep_s).start()
