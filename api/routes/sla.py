"""SLA clocks: which requests and tasks are on track, at risk, breached or met."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.context import service
from api.sla_schemas import SlaListSchema, SlaQuerySchema

blp = Blueprint("sla", __name__, url_prefix="/api/v1/sla", description="SLA clocks (bpmn/slas.yaml).")


@blp.route("")
class SlaClocks(MethodView):
    @blp.arguments(SlaQuerySchema, location="query")
    @blp.response(200, SlaListSchema)
    def get(self, args: dict) -> dict:
        """SLA clocks, soonest due first, filtered by state (e.g. ``at_risk``), instance, definition,
        metric or scope."""
        items, total = service().slas.list_clocks(
            state=args.get("state"), instance_id=args.get("instance"), definition=args.get("definition"),
            metric=args.get("metric"), scope=args.get("scope"), page=args["page"], page_size=args["page_size"])
        return {"items": items, "total": total, "page": args["page"], "page_size": args["page_size"]}
