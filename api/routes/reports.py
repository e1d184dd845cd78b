"""Reports computed from the recorded histories: the KPIs the source documents name.

Read only: a report never writes, and it reads history and task rows, never a workflow.
"""

from __future__ import annotations

import re
from datetime import UTC

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.audit_schemas import aware
from api.context import service
from api.report_schemas import KpiQuerySchema, KpiReportSchema
from engine import reports

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                description="Indicators (KPIs) computed from process histories.")


def _wants_csv(args: dict) -> bool:
    if args.get("format"):
        return bool(args["format"] == "csv")
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


@blp.route("/kpis")
class Kpis(MethodView):
    @blp.arguments(KpiQuerySchema, location="query")
    @blp.response(200, KpiReportSchema)
    @blp.alt_response(404, description="No definition has the requested key.")
    # The CSV alternative; flask-smorest writes a single content type, so the JSON one is repeated here.
    @blp.doc(responses={"200": {"description": "The report as JSON; as CSV with `format=csv` or `Accept: text/csv` "
                                               "(one row per indicator, group and metric).",
                                "content": {"application/json": {"schema": KpiReportSchema},
                                            "text/csv": {"schema": {"type": "string"}}}}})
    def get(self, args: dict) -> reports.KpiReport | Response:
        """The indicators of the manual, the pilot's Annex 1 and the gob.mx protocol, over instances started
        in ``[from, to)``.

        SLA compliance (met vs breached by metric and level), response and resolution times by support
        level and priority (count, mean, p50, p90, p95 in seconds), help-desk responses against Level 1
        10 min / Level 2 24 h, tickets per requesting unit and per catalog service, % of incidents by
        type, % of problems resolved, initiatives by status, % of changes per life-cycle stage. Where
        each one reads its data is the table ``engine/reports/kpi_sources.yaml`` (docs/kpis.md); an
        indicator the diagrams cannot answer comes with ``available: false`` and the reason.
        """
        wf = service()
        # Reported in UTC, the zone every stored time is in, whatever offset the caller used.
        start = aware(args["from_"]).astimezone(UTC) if args.get("from_") else None
        end = aware(args["to"]).astimezone(UTC) if args.get("to") else None
        with wf.uow.read() as session:
            report = reports.kpi_report(session, clock_now=wf.clock(), definition=args.get("definition"),
                                        started_from=start, started_to=end)
        if not _wants_csv(args):
            return report
        suffix = re.sub(r"[^A-Za-z0-9._-]", "_", args.get("definition") or "")
        name = f"cauce-kpis{'-' + suffix if suffix else ''}.csv"
        return Response(reports.to_csv(report), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
