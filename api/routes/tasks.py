"""Human tasks: the caller's inbox, claim/unclaim/assign, complete, comments and forms.

Who may call what is in ``api/auth.py``; whether *this* task is the caller's is decided by the
engine's inbox under the instance lock.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.context import inbox, service
from api.inbox_schemas import (
    AssignSchema,
    CommentInSchema,
    CommentListSchema,
    CommentSchema,
    InboxListSchema,
    InboxQuerySchema,
    InboxTaskSchema,
)
from api.routes.instances import _detail
from api.schemas import CompleteTaskSchema, InstanceDetailSchema
from engine.inbox import TaskQuery
from engine.models import TaskComment

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Human tasks (the inbox).")


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxListSchema)
    @blp.alt_response(403, description="`all=true` by someone who is neither auditor nor admin.")
    def get(self, args: dict) -> dict:
        """The caller's inbox: tasks assigned to them, or unassigned in a lane (or candidate role) they hold.

        An auditor or admin sees everyone's with ``all=true``. Filters combine; ``sort`` is
        ``created`` (default), ``due`` (tasks without a due date last) or ``priority`` (critical
        first), each reversed by a leading ``-``. Each task shows its due date, SLA state and priority.
        """
        query = TaskQuery(
            all=args["all"], assignee=args.get("assignee"), role=args.get("role") or args.get("lane"),
            definition=args.get("definition"), instance=args.get("instance"), status=args["status"],
            due_before=args.get("due_before"), overdue=args["overdue"], priority=args.get("priority"),
            sla_state=args.get("sla_state"), sort=args["sort"], page=args["page"], page_size=args["page_size"])
        items, total = inbox().list_tasks(current_actor(), query)
        return {"items": items, "total": total, "page": args["page"], "page_size": args["page_size"]}


@blp.route("/<string:task_id>")
class TaskDetail(MethodView):
    @blp.response(200, InboxTaskSchema)
    def get(self, task_id: str) -> dict:
        """One human task, as the inbox shows it."""
        return inbox().get_task(current_actor(), task_id)


@blp.route("/<string:task_id>/form")
class TaskForm(MethodView):
    @blp.response(200, description="JSON Schema (draft 2020-12) of the task's form, labels in Spanish.")
    def get(self, task_id: str) -> dict:
        """The form to fill to complete the task: fields, types, required ones, enum choices."""
        return inbox().form(task_id)


@blp.route("/<string:task_id>/claim")
class TaskClaim(MethodView):
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(403, description="The caller does not hold the task's role.")
    @blp.alt_response(409, description="Someone else holds the task, or it is no longer ready.")
    def post(self, task_id: str) -> dict:
        """Take the task: it leaves the lane's shared inbox and only the caller may complete it."""
        return inbox().claim(current_actor(), task_id)


@blp.route("/<string:task_id>/unclaim")
class TaskUnclaim(MethodView):
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(403, description="Held by someone else, and the caller is neither admin nor of its role.")
    def post(self, task_id: str) -> dict:
        """Put the task back in its lane's shared inbox."""
        return inbox().unclaim(current_actor(), task_id)


@blp.route("/<string:task_id>/assign")
class TaskAssign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(403, description="The caller is neither admin nor of the task's role.")
    @blp.alt_response(422, description="The user does not exist or does not hold the task's role.")
    def post(self, args: dict, task_id: str) -> dict:
        """Give the task to a user who holds its role (by an admin or someone of its role)."""
        return inbox().assign(current_actor(), task_id, args["user"])


@blp.route("/<string:task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(CompleteTaskSchema)
    @blp.response(200, InstanceDetailSchema)
    @blp.alt_response(403, description="The task is claimed by someone else, or the caller lacks its role.")
    @blp.alt_response(409, description="The task is no longer ready (someone completed it first).")
    @blp.alt_response(422, description="The data does not satisfy the task's form; errors per field.")
    def post(self, args: dict, task_id: str) -> dict:
        """Complete a ready task with ``data``; returns the instance as it is afterwards."""
        actor = current_actor()
        instance = service().complete_task(task_id, args["data"], actor=actor.name,
                                           authorize=inbox().authorizer(actor))
        return _detail(instance.id, instance)


@blp.route("/<string:task_id>/comments")
class TaskComments(MethodView):
    @blp.response(200, CommentListSchema)
    def get(self, task_id: str) -> dict:
        """The task's comments, oldest first."""
        return {"items": inbox().comments(task_id)}

    @blp.arguments(CommentInSchema)
    @blp.response(201, CommentSchema)
    def post(self, args: dict, task_id: str) -> TaskComment:
        """Add a comment to the task."""
        return inbox().add_comment(current_actor(), task_id, args["body"])
