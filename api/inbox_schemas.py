"""Schemas of the inbox, task actions and users (kept apart from ``api/schemas.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import PageArgs, PageSchema


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
    due_at = fields.DateTime(allow_none=True)
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
    sort = fields.String(load_default="created", validate=validate.OneOf(["created", "-created", "due", "-due"]))


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
    active = fields.Boolean()
    roles = fields.List(fields.Nested(RoleSchema))


class UserListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))


class NewUserSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    email = fields.String(load_default=None, allow_none=True)
    display_name = fields.String(load_default=None, allow_none=True)


class NewUserResultSchema(Schema):
    user = fields.Nested(UserSchema)
    token = fields.String(metadata={"description": "The bearer token; shown once, stored only as a hash."})


class MeSchema(Schema):
    name = fields.String()
    roles = fields.List(fields.String())
    staff_roles = fields.List(fields.String())
