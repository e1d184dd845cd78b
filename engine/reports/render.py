"""The KPI report as CSV: one row per indicator, group, metric and value.

Spreadsheets and BI tools want a flat table; the group (``{"level": "1er. Nivel", "priority":
"high"}``) is written as JSON so that values containing separators stay unambiguous, and the
period and generation times carry their offset so that nobody reads them in the wrong zone.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from .kpis import KpiReport

CSV_COLUMNS = ["indicator", "name", "group", "metric", "value", "unit", "available", "reason", "period_from",
               "period_to", "generated_at"]


def _time(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def to_csv(report: KpiReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    tail = [_time(report.started_from), _time(report.started_to), _time(report.generated_at)]
    for indicator in report.indicators:
        head = [indicator.id, indicator.name]
        if not indicator.available:
            writer.writerow(head + ["", "", "", "", "false", indicator.reason or ""] + tail)
            continue
        for row in indicator.rows:
            group = json.dumps(row.group, ensure_ascii=False, sort_keys=True) if row.group else ""
            writer.writerow(head + [group, row.metric, row.value, row.unit, "true", ""] + tail)
    return buffer.getvalue()
