"""Human tasks: list, inspect, complete."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.context import service
from api.routes.instances import _detail
from api.schemas import CompleteTaskSchema, InstanceDetailSchema, TaskListSchema, TaskQuerySchema, TaskSchema

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Human tasks (the inbox).")


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskListSchema)
    def get(self, args: dict) -> dict:
        """Human tasks, oldest first; ``status=ready`` by default."""
        items, total = service().list_tasks(
            status=args.get("status"), instance_id=args.get("instance"), definition=args.get("definition"),
            lane=args.get("lane"), page=args["page"], page_size=args["page_size"])
        return {"items": items, "total": total, "page": args["page"], "page_size": args["page_size"]}


@blp.route("/<string:task_id>")
class TaskDetail(MethodView):
    @blp.response(200, TaskSchema)
    def get(self, task_id: str) -> object:
        """One human task."""
        return service().get_task(task_id)


@blp.route("/<string:task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(CompleteTaskSchema)
    @blp.response(200, InstanceDetailSchema)
    @blp.alt_response(409, description="The task is no longer ready (someone completed it first).")
    def post(self, args: dict, task_id: str) -> dict:
        """Complete a ready task with ``data``; returns the instance as it is afterwards."""
        instance = service().complete_task(task_id, args["data"])
        return _detail(instance.id, instance)
