"""Marshmallow schemas of the HTTP API (also the source of the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PageSchema(Schema):
    """The envelope of every paginated list; subclasses add ``items``."""

    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class DefinitionSchema(Schema):
    key = fields.String(metadata={"description": "Process id, the key used to start instances."})
    version = fields.Integer()
    name = fields.String(allow_none=True)
    manual_key = fields.String(allow_none=True, metadata={"description": "Key of the procedure in the manual."})
    checksum = fields.String(metadata={"description": "SHA-256 of the BPMN XML."})
    called_keys = fields.List(fields.String())
    deployed_at = fields.DateTime()
    deployed_by = fields.String(allow_none=True)
    source_name = fields.String(allow_none=True)


class DeployResultSchema(Schema):
    created = fields.Boolean(metadata={"description": "False when the same XML was already the latest version."})
    definition = fields.Nested(DefinitionSchema)


class DefinitionDetailSchema(Schema):
    key = fields.String()
    latest = fields.Nested(DefinitionSchema)
    versions = fields.List(fields.Nested(DefinitionSchema))


class DefinitionListSchema(Schema):
    items = fields.List(fields.Nested(DefinitionSchema))
    total = fields.Integer()


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.String()
    definition_key = fields.String()
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String(allow_none=True)
    lane = fields.String(allow_none=True)
    candidate_roles = fields.List(fields.String())
    status = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    submitted = fields.Dict(allow_none=True)


class ErrorInfoSchema(Schema):
    element_id = fields.String(allow_none=True)
    message = fields.String()
    at = fields.String()


class InstanceSchema(Schema):
    id = fields.String()
    definition_key = fields.String()
    definition_version = fields.Integer()
    status = fields.String()
    status_label = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    requester = fields.String(allow_none=True)
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    next_timer_at = fields.DateTime(allow_none=True)
    data = fields.Dict()
    error = fields.Nested(ErrorInfoSchema, allow_none=True)
    revision = fields.Integer()


class InstanceDetailSchema(InstanceSchema):
    ready_tasks = fields.List(fields.Nested(TaskSchema))


class InstanceListSchema(PageSchema):
    items = fields.List(fields.Nested(InstanceSchema))


class StartInstanceSchema(Schema):
    definition = fields.String(required=True, metadata={"description": "Definition key (process id)."})
    data = fields.Dict(load_default=dict)
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class InstanceQuerySchema(PageArgs):
    definition = fields.String()
    status = fields.String(validate=validate.OneOf(["running", "completed", "error", "incident", "cancelled"]))
    business_key = fields.String()
    status_label = fields.String(metadata={
        "description": "Business status the procedure gave the request (set_status), e.g. Aprobada."})


class TaskQuerySchema(PageArgs):
    status = fields.String(load_default="ready", validate=validate.OneOf(["ready", "completed", "cancelled"]))
    instance = fields.String()
    definition = fields.String()
    lane = fields.String()


class CompleteTaskSchema(Schema):
    data = fields.Dict(load_default=dict)


class CancelSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True)
