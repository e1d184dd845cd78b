"""Schemas of the inbox, task actions and users (kept apart from ``api/schemas.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import PageArgs, PageSchema
from engine.inbox import SLA_STATES, SORTS
from engine.priorities import LEVELS


class RoleRefSchema(Schema):
    id = fields.String(allow_none=True, metadata={"description": "Stable role id (bpmn/roles.yaml)."})
    name = fields.String(metadata={"description": "The role as the manual writes it (the lane name)."})


class TaskInstanceSchema(Schema):
    id = fields.String()
    business_key = fields.String(allow_none=True)
    requester = fields.String(allow_none=True)
    status = fields.String()


class TaskDefinitionSchema(Schema):
    key = fields.String()
    version = fields.Integer()
    manual_key = fields.String(allow_none=True, metadata={"description": "The procedure's key in the manual."})
    name = fields.String(allow_none=True)


class InboxTaskSchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    element_id = fields.String()
    process_key = fields.String()
    status = fields.String()
    lane = fields.Nested(RoleRefSchema, allow_none=True)
    candidate_roles = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True, metadata={
        "description": "When the task is due: its SLA's due time, else its boundary timer's; null if neither."})
    sla_state = fields.String(allow_none=True, metadata={
        "description": "The state of the SLA measuring the task (" + ", ".join(SLA_STATES) + "), or null."})
    priority = fields.String(allow_none=True, metadata={
        "description": "critical, high, medium or low: the task's `priority` property, else the process "
                       "variable its `priorityVariable` property names (default `prioridad`); null if none."})
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    instance = fields.Nested(TaskInstanceSchema)
    definition = fields.Nested(TaskDefinitionSchema)
    form = fields.Dict(allow_none=True, metadata={"description": "The task's form as JSON Schema, or null."})


class InboxListSchema(PageSchema):
    items = fields.List(fields.Nested(InboxTaskSchema))


class InboxQuerySchema(PageArgs):
    all = fields.Boolean(load_default=False, metadata={"description": "Everyone's tasks (auditor, admin)."})
    assignee = fields.String(metadata={"description": "`me`, `none` or a user name."})
    role = fields.String(metadata={"description": "Role id or manual name: the lane or a candidate role."})
    lane = fields.String(metadata={"description": "Same as role (kept for older clients)."})
    definition = fields.String()
    instance = fields.String()
    status = fields.String(load_default="ready", validate=validate.OneOf(["ready", "completed", "cancelled"]))
    due_before = fields.AwareDateTime(default_timezone=None)
    overdue = fields.Boolean(load_default=False)
    priority = fields.String(validate=validate.OneOf(LEVELS), metadata={"description": "Only tasks of this priority."})
    sla_state = fields.String(validate=validate.OneOf(SLA_STATES), metadata={
        "description": "Only tasks whose SLA is in this state."})
    sort = fields.String(load_default="created", validate=validate.OneOf(SORTS), metadata={
        "description": "`created` (oldest first), `due` (soonest due first, tasks without a due date last), "
                       "`priority` (critical first, then by due date; tasks without a priority last); "
                       "a leading `-` reverses the order exactly."})


class AssignSchema(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CommentInSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class CommentSchema(Schema):
    id = fields.Integer()
    task_id = fields.String()
    author = fields.String()
    body = fields.String()
    created_at = fields.DateTime()


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentSchema))


class RoleSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()


class RoleListSchema(Schema):
    items = fields.List(fields.Nested(RoleSchema))


class UserSchema(Schema):
    name = fields.String()
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    location = fields.String(allow_none=True, metadata={"description": "Where the person works (assign_by_workload)."})
    active = fields.Boolean()
    roles = fields.List(fields.Nested(RoleSchema))


class UserListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))


class NewUserSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    email = fields.String(load_default=None, allow_none=True)
    display_name = fields.String(load_default=None, allow_none=True)
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class NewUserResultSchema(Schema):
    user = fields.Nested(UserSchema)
    token = fields.String(metadata={"description": "The bearer token; shown once, stored only as a hash."})


class MeSchema(Schema):
    name = fields.String()
    roles = fields.List(fields.String())
    staff_roles = fields.List(fields.String())
