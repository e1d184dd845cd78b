"""Wake instances whose timers are due, from an APScheduler job in the serving process.

One job with a fixed id, never overlapping itself: a slow round delays the next instead of
piling up. Several processes may run it at once (e.g. gunicorn workers on PostgreSQL) because
:meth:`WorkflowService.fire_due_timers` re-checks each instance under its row lock.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from .service import WorkflowService

JOB_ID = "cauce-fire-due-timers"
log = logging.getLogger(__name__)


def start_scheduler(service: WorkflowService, *, interval_s: float = 5.0) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")

    def tick() -> None:
        try:
            fired = service.fire_due_timers()
            if fired:
                log.info("advanced %d instance(s) with due timers", fired)
        except Exception:  # keep the scheduler alive; the next tick retries
            log.exception("timer round failed")

    scheduler.add_job(tick, "interval", seconds=interval_s, id=JOB_ID, max_instances=1, coalesce=True,
                      replace_existing=True)
    scheduler.start()
    return scheduler
