"""Run the handler worker from APScheduler (an exact wake-up of :mod:`engine.wakeups`).

Armed at the earliest moment the worker has something to do (:meth:`InvocationWorker.earliest_due`):
a step that deferred a handler announces it after its commit, so the handler starts within
milliseconds; a failed attempt announces its retry time; the sweep also finds claims whose worker
died (expired leases).
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler

from .wakeups import WakeUpJob
from .worker import InvocationWorker

WAKE_JOB_ID = "cauce-invocations-wake"
SWEEP_JOB_ID = "cauce-invocations-sweep"

__all__ = ["InvocationJobs"]


class InvocationJobs(WakeUpJob):
    """Keeps the worker's wake-up job armed at its earliest due work."""

    wake_job_id = WAKE_JOB_ID
    sweep_job_id = SWEEP_JOB_ID

    def __init__(self, worker: InvocationWorker, scheduler: BaseScheduler, *, sweep_s: float = 60.0) -> None:
        super().__init__(scheduler, clock=worker.service.clock, listeners=worker.listeners, sweep_s=sweep_s)
        self.worker = worker

    def _round(self) -> int:
        return self.worker.run_due()

    def _earliest(self) -> datetime | None:
        return self.worker.earliest_due()
