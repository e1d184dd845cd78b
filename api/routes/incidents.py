"""Incidents: async handlers whose retries ran out (engine/incidents.py), and acting on them."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.incident_schemas import (
    IncidentDetailSchema,
    IncidentListSchema,
    IncidentQuerySchema,
    IncidentResolveSchema,
    IncidentRetrySchema,
)
from engine.incidents import IncidentService

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents",
                description="Handler failures that need a person: list, retry, resolve.")


def incidents() -> IncidentService:
    return current_app.extensions["cauce_incidents"]


def _detail(incident_id: int) -> dict[str, Any]:
    service = incidents()
    incident = service.get(incident_id)
    detail = {name: getattr(incident, name) for name in IncidentDetailSchema().fields if name != "invocation"}
    detail["invocation"] = service.invocation(incident.invocation_key)
    return detail


@blp.route("")
class Incidents(MethodView):
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentListSchema)
    def get(self, args: dict) -> dict:
        """Incidents, newest first, filtered by status (open, resolved), instance or definition."""
        items, total = incidents().list(status=args.get("status"), instance_id=args.get("instance"),
                                        definition=args.get("definition"), page=args["page"],
                                        page_size=args["page_size"])
        return {"items": items, "total": total, "page": args["page"], "page_size": args["page_size"]}


@blp.route("/<int:incident_id>")
class IncidentDetail(MethodView):
    @blp.response(200, IncidentDetailSchema)
    def get(self, incident_id: int) -> dict:
        """One incident with its invocation (input, last error, attempts)."""
        return _detail(incident_id)


@blp.route("/<int:incident_id>/retry")
class IncidentRetry(MethodView):
    @blp.arguments(IncidentRetrySchema, required=False)
    @blp.response(200, IncidentDetailSchema)
    def post(self, args: dict, incident_id: int) -> dict:
        """Run the handler again with a fresh round of attempts, once the cause is fixed."""
        incidents().retry(incident_id, actor=current_actor().name, comment=(args or {}).get("comment"))
        return _detail(incident_id)


@blp.route("/<int:incident_id>/resolve")
class IncidentResolve(MethodView):
    @blp.arguments(IncidentResolveSchema)
    @blp.response(200, IncidentDetailSchema)
    def post(self, args: dict, incident_id: int) -> dict:
        """Close the incident with the handler's output obtained by other means; the instance continues."""
        incidents().resolve(incident_id, output=args["output"], actor=current_actor().name, comment=args["comment"])
        return _detail(incident_id)
