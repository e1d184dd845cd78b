"""``cauce report kpis …``: the KPI report from a shell, on the database the server uses.

Prints the same document as ``GET /api/v1/reports/kpis`` (JSON, or CSV with ``--csv``) so that a
cron job can file the monthly indicators without a token or a running server.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from engine.settings import Settings


def _moment(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--{name} {text!r} is not an ISO 8601 date or time (e.g. 2026-01-01 or "
                         "2026-01-01T00:00:00-06:00)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def kpis(settings: Settings, *, definition: str | None, started_from: str | None, started_to: str | None,
         as_csv: bool) -> int:
    """Print the report; exit code 2 for bad arguments or an unknown definition."""
    from api.report_schemas import KpiReportSchema
    from engine import reports
    from engine.db import make_engine, make_session_factories
    from engine.errors import NotFound

    try:
        start, end = _moment(started_from, "from"), _moment(started_to, "to")
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if start and end and start >= end:
        print("--from must be before --to", file=sys.stderr)
        return 2
    db = make_engine(settings.database_url, lock_timeout_s=settings.lock_timeout_s)
    try:
        readers, _ = make_session_factories(db)
        with readers() as session:
            report = reports.kpi_report(session, clock_now=datetime.now(UTC), definition=definition,
                                        started_from=start, started_to=end)
    except NotFound as exc:
        print(exc.message, file=sys.stderr)
        return 2
    finally:
        db.dispose()
    if as_csv:
        sys.stdout.write(reports.to_csv(report))
    else:
        print(json.dumps(KpiReportSchema().dump(report), ensure_ascii=False, indent=2))
    return 0
