"""Wake SLA clocks at their next threshold (an exact wake-up of :mod:`engine.wakeups`).

Armed at the earliest ``sla_clocks.next_check_at``; a step that commits an earlier threshold
announces it (:attr:`SlaClocks.listeners`). Several processes may run it:
:meth:`SlaClocks.fire_due` re-reads each clock under its instance's row lock, so a threshold fires
once.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler

from .sla import SlaClocks
from .wakeups import WakeUpJob, in_batches

WAKE_JOB_ID = "cauce-sla-wake"
SWEEP_JOB_ID = "cauce-sla-sweep"


class SlaScheduler(WakeUpJob):
    """Keeps one wake-up job armed at the earliest pending SLA threshold."""

    wake_job_id = WAKE_JOB_ID
    sweep_job_id = SWEEP_JOB_ID

    def __init__(self, slas: SlaClocks, scheduler: BaseScheduler, *, sweep_s: float = 60.0, batch: int = 100) -> None:
        super().__init__(scheduler, clock=slas.service.clock, listeners=slas.listeners, sweep_s=sweep_s)
        self.slas = slas
        self.batch = batch

    def _round(self) -> int:
        return in_batches(lambda limit: self.slas.fire_due(limit=limit), batch=self.batch)

    def _earliest(self) -> datetime | None:
        return self.slas.earliest_check_at()


__all__ = ["SlaScheduler"]
