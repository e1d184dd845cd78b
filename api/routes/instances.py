"""Process instances: start, list, inspect, cancel, retry."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.context import service
from api.schemas import (
    CancelSchema,
    InstanceDetailSchema,
    InstanceListSchema,
    InstanceQuerySchema,
    InstanceSchema,
    StartInstanceSchema,
)
from api.sla_schemas import InstanceWithSlaSchema
from engine.models import Instance

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances", description="Process instances.")


# Built once: creating a marshmallow schema copies its fields, which costs more than the dump.
_INSTANCE_FIELDS = tuple(InstanceSchema().fields)


def _detail(instance_id: str, instance: Instance | None = None) -> dict:
    """The instance with its ready tasks; pass the instance a write just returned to skip re-reading it."""
    if instance is None:
        instance, tasks = service().get_instance(instance_id)
    elif instance.ready_rows is not None:
        tasks = instance.ready_rows
    else:
        tasks = service().ready_tasks(instance_id)
    detail = {name: getattr(instance, name) for name in _INSTANCE_FIELDS}
    detail["ready_tasks"] = tasks
    return detail


@blp.route("")
class Instances(MethodView):
    @blp.arguments(InstanceQuerySchema, location="query")
    @blp.response(200, InstanceListSchema)
    def get(self, args: dict) -> dict:
        """Instances, newest first, filtered by definition, status, business status or business key."""
        items, total = service().list_instances(
            definition=args.get("definition"), status=args.get("status"),
            business_key=args.get("business_key"), status_label=args.get("status_label"),
            page=args["page"], page_size=args["page_size"])
        return {"items": items, "total": total, "page": args["page"], "page_size": args["page_size"]}

    @blp.arguments(StartInstanceSchema)
    @blp.response(201, InstanceDetailSchema)
    def post(self, args: dict) -> dict:
        """Start an instance of the latest version of a definition."""
        instance = service().start(args["definition"], args["data"], business_key=args.get("business_key"),
                                   requester=current_actor().name)
        return _detail(instance.id, instance)


@blp.route("/<string:instance_id>")
class InstanceDetail(MethodView):
    @blp.response(200, InstanceWithSlaSchema)
    def get(self, instance_id: str) -> dict:
        """Status, data, ready tasks and SLA clocks of one instance."""
        detail = _detail(instance_id)
        detail["sla_clocks"] = service().slas.instance_clocks(instance_id)  # engine/sla.py
        return detail


@blp.route("/<string:instance_id>/cancel")
class InstanceCancel(MethodView):
    @blp.arguments(CancelSchema, required=False)
    @blp.response(200, InstanceDetailSchema)
    def post(self, args: dict, instance_id: str) -> dict:
        """Cancel a running instance; its ready tasks leave every inbox."""
        service().cancel(instance_id, reason=(args or {}).get("reason"), actor=current_actor().name)
        return _detail(instance_id)


@blp.route("/<string:instance_id>/retry")
class InstanceRetry(MethodView):
    @blp.response(200, InstanceDetailSchema)
    def post(self, instance_id: str) -> dict:
        """Run the failed step of an instance in ``error`` again, once its cause is fixed."""
        service().retry(instance_id, actor=current_actor().name)
        return _detail(instance_id)
