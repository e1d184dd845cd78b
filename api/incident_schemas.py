"""Schemas of the incidents API (``api/routes/incidents.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .schemas import PageArgs, PageSchema


class InvocationSchema(Schema):
    key = fields.String(metadata={"description": "Idempotency key: <instance id>/<SpiffWorkflow task id>."})
    handler = fields.String()
    mode = fields.String(metadata={"description": "inline | async"})
    status = fields.String()
    input = fields.Raw()
    output = fields.Raw(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    duration_ms = fields.Float(allow_none=True)
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class IncidentSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "open | resolved"})
    instance_id = fields.String()
    definition_key = fields.String()
    element_id = fields.String(allow_none=True)
    handler = fields.String()
    error = fields.String(metadata={"description": "The last attempt's error."})
    attempts = fields.Integer()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True, metadata={"description": "retried | output"})
    comment = fields.String(allow_none=True)


class IncidentDetailSchema(IncidentSchema):
    invocation = fields.Nested(InvocationSchema, allow_none=True)


class IncidentListSchema(PageSchema):
    items = fields.List(fields.Nested(IncidentSchema))


class IncidentQuerySchema(PageArgs):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))
    instance = fields.String()
    definition = fields.String()


class IncidentRetrySchema(Schema):
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class IncidentResolveSchema(Schema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000),
                            metadata={"description": "What was done about the cause."})
    output = fields.Raw(required=True, allow_none=True, metadata={
        "description": "The handler's output, obtained by other means: the waiting task completes with it."})
