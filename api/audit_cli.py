"""``cauce audit …``: the auditor's checks from a shell, on the database the server uses."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.settings import Settings


def verify(settings: Settings, instance_ids: Sequence[str] | None = None) -> int:
    """Print one line per broken chain and a summary; returns 1 when any chain is broken.

    The exit code is what a cron job or CI step checks, so "problems found" must not look like success.
    """
    from engine import audit
    from engine.db import make_engine, make_session_factories
    from engine.errors import NotFound

    db = make_engine(settings.database_url, lock_timeout_s=settings.lock_timeout_s)
    try:
        readers, _ = make_session_factories(db)
        with readers() as session:
            try:
                report = audit.verify_chains(session, list(instance_ids) if instance_ids else None)
            except NotFound as exc:
                print(exc.message, file=sys.stderr)
                return 2
    finally:
        db.dispose()
    for p in report.problems:
        print(f"{p.kind.upper():10} {p.instance_id}  ({p.definition_key})  at event {p.seq}: {p.message}",
              file=sys.stderr)
    verdict = "OK" if report.ok else f"{len(report.problems)} instance(s) with a broken history"
    print(f"{report.checked} instances, {report.events} events checked: {verdict}")
    return 0 if report.ok else 1


def replay(settings: Settings, instance_ids: Sequence[str] | None = None, *, progress: bool = True) -> int:
    """Replay instances (default: all) and print each divergence and a summary; 1 if any diverged.

    A changed stored procedure or a corrupted row shows up here as a divergence, so this is the
    check to run after restoring a backup or upgrading the engine.
    """
    import time

    from sqlalchemy import select

    from engine import replay as replaying
    from engine.bootstrap import build
    from engine.errors import NotFound
    from engine.models import Instance

    wiring = build(settings)
    service = wiring.service
    diverged = verified = events = 0
    started = time.perf_counter()
    try:
        with service.uow.read() as session:
            ids = list(instance_ids) if instance_ids else list(session.scalars(
                select(Instance.id).order_by(Instance.started_at, Instance.id)))
        for number, instance_id in enumerate(ids, start=1):
            with service.uow.read() as session:
                try:
                    result = replaying.replay_instance(session, instance_id, runtime=service.runtime,
                                                       specs=service.specs)
                except NotFound as exc:
                    print(exc.message, file=sys.stderr)
                    return 2
            events += result.events
            if result.divergence is None:
                verified += 1
            else:
                diverged += 1
                d = result.divergence
                where = f"event {d.seq}" if d.seq is not None else "final state"
                print(f"\rDIVERGED   {instance_id}  at {where}: expected {d.expected!r}, found {d.found!r} "
                      f"({d.message})", file=sys.stderr)
            if progress and sys.stderr.isatty():
                filled = int(30 * number / len(ids))
                print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {number}/{len(ids)}", end="", file=sys.stderr)
    finally:
        wiring.db.dispose()
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    elapsed = time.perf_counter() - started
    rate = f", {events / elapsed:,.0f} events/s" if elapsed > 0 else ""
    print(f"{verified + diverged} instances replayed ({events} events{rate}): {verified} verified, "
          f"{diverged} diverged")
    return 1 if diverged else 0
