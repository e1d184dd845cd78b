"""``cauce audit …``: the auditor's checks from a shell, on the database the server uses."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

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


# Divergences printed in full after the summary; the rest are counted (``--instance`` shows one).
FIRST_DIVERGENCES = 10


def replay(settings: Settings, instance_ids: Sequence[str] | None = None, *, progress: bool = True) -> int:
    """Replay instances (default: all), with a progress bar, then a summary and the first divergences.

    Returns 1 if any instance diverged or could not be replayed, 2 for an unknown ``--instance``.
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
    counts = {"verified": 0, "diverged": 0, "errored": 0}
    problems: list[replaying.ReplayResult] = []
    events = 0
    bar = _ProgressBar(enabled=progress and sys.stderr.isatty())
    started = time.perf_counter()
    try:
        with service.uow.read() as session:
            ids = list(instance_ids) if instance_ids else list(session.scalars(
                select(Instance.id).order_by(Instance.started_at, Instance.id)))
            try:
                for number, result in enumerate(replaying.replay_many(session, ids, runtime=service.runtime,
                                                                      specs=service.specs), start=1):
                    events += result.events
                    counts[result.status] += 1
                    if result.status != "verified":
                        problems.append(result)
                    bar.show(number, len(ids), counts)
            except NotFound as exc:
                bar.close()
                print(exc.message, file=sys.stderr)
                return 2
    finally:
        wiring.db.dispose()
    bar.close()
    elapsed = time.perf_counter() - started
    rate = f", {events / elapsed:,.0f} events/s" if elapsed > 0 else ""
    print(f"{len(ids)} instances replayed ({events} events{rate}): {counts['verified']} verified, "
          f"{counts['diverged']} diverged, {counts['errored']} errored")
    for result in problems[:FIRST_DIVERGENCES]:
        print(_describe(result), file=sys.stderr)
    if len(problems) > FIRST_DIVERGENCES:
        print(f"... and {len(problems) - FIRST_DIVERGENCES} more (replay them one by one with --instance)",
              file=sys.stderr)
    return 1 if problems else 0


def _describe(result: Any) -> str:
    if result.error is not None:
        return f"ERRORED    {result.instance_id}: {result.error}"
    d = result.divergence
    where = f"event {d.seq} ({d.event_type})" if d.seq is not None else "final state"
    return f"DIVERGED   {result.instance_id}  at {where}: expected {d.expected!r}, found {d.found!r} ({d.message})"


class _ProgressBar:
    """``[#####.....] 512/1024 (3 diverged)`` redrawn in place on a terminal; silent elsewhere (logs)."""

    WIDTH = 30

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.drawn = False

    def show(self, done: int, total: int, counts: dict[str, int]) -> None:
        if not self.enabled or total == 0:
            return
        filled = self.WIDTH * done // total
        bad = counts["diverged"] + counts["errored"]
        note = f" ({bad} not verified)" if bad else ""
        print(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}{note}", end="", file=sys.stderr,
              flush=True)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            print(file=sys.stderr)
            self.drawn = False
