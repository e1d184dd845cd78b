"""Reports computed from the recorded histories (issue 6): the KPIs the source documents name.

Where each indicator reads its data is the declarative table ``kpi_sources.yaml`` (see
docs/kpis.md); :func:`kpi_report` computes it, :func:`to_csv` renders it.
"""

from .kpis import Indicator, KpiReport, Row, kpi_report, percentile
from .render import CSV_COLUMNS, to_csv
from .sources import SourceTable, SourceTableError, load_table

__all__ = ["CSV_COLUMNS", "Indicator", "KpiReport", "Row", "SourceTable", "SourceTableError", "kpi_report",
           "load_table", "percentile", "to_csv"]
