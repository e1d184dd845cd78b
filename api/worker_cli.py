"""``cauce worker`` and ``cauce incidents``: the async handler worker outside the serving process."""

from __future__ import annotations

import sys

from engine.settings import Settings


def worker(settings: Settings, *, once: bool, poll_s: float) -> int:
    """Run async handlers: drain what is due and exit (``--once``), or keep running, woken every
    ``poll_s`` seconds to pick up work other processes wrote and retries that fell due."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from engine.bootstrap import build
    from engine.worker_jobs import InvocationJobs

    from . import default_handlers

    wiring = build(settings, handlers=default_handlers(settings))
    assert wiring.invocations is not None
    try:
        if once:
            print(f"{wiring.invocations.run_due()} invocation(s) handled")
            return 0
        scheduler = BlockingScheduler(timezone="UTC")
        InvocationJobs(wiring.invocations, scheduler, sweep_s=poll_s).start()
        print(f"cauce worker polling every {poll_s:g} s ({settings.database_url.split('://')[0]})", flush=True)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        return 0
    finally:
        wiring.db.dispose()


def incidents(settings: Settings, *, show_all: bool) -> int:
    """List open incidents (all with ``--all``); exit code 1 when any is open, for monitoring."""
    from engine.bootstrap import build

    wiring = build(settings)
    assert wiring.incidents is not None
    try:
        rows, _ = wiring.incidents.list(status=None if show_all else "open", page_size=500)
        _, open_count = wiring.incidents.list(status="open", page_size=1)
    finally:
        wiring.db.dispose()
    for row in rows:
        print(f"{row.id}\t{row.status}\t{row.created_at.isoformat()}\t{row.instance_id}\t{row.element_id}\t"
              f"{row.handler}\t{row.attempts} attempt(s)\t{row.error}", file=sys.stdout)
    return 1 if open_count else 0
