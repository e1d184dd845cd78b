"""Schemas of the SLA clocks (``GET /api/v1/sla``, and the clocks shown with an instance)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import InstanceDetailSchema, PageArgs, PageSchema
from engine.models.sla import SLA_METRICS, SLA_SCOPES, SLA_STATES


class SlaClockSchema(Schema):
    id = fields.String()
    instance_id = fields.String()
    definition_key = fields.String(metadata={"description": "The process the SLA is defined on."})
    sla_name = fields.String(metadata={"description": "The SLA's name in bpmn/slas.yaml."})
    metric = fields.String(metadata={"description": "response, resolution or validation."})
    scope = fields.String(metadata={"description": "instance (the whole request) or task (one user task)."})
    element_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    level = fields.String(allow_none=True, metadata={"description": "The priority or severity that chose the target."})
    target = fields.String(metadata={"description": "ISO 8601 duration on the calendar, e.g. PT15M or P5D."})
    calendar = fields.String()
    state = fields.String(metadata={"description": "on_track, at_risk, breached, met or paused."})
    started_at = fields.DateTime()
    due_at = fields.DateTime()
    stopped_at = fields.DateTime(allow_none=True)
    breached_at = fields.DateTime(allow_none=True)
    last_threshold = fields.Integer(metadata={"description": "The highest threshold reached, in percent."})
    paused_since = fields.DateTime(allow_none=True)
    paused_seconds = fields.Integer(metadata={"description": "Working seconds spent paused (not counted)."})
    next_check_at = fields.DateTime(allow_none=True, metadata={"description": "When the next threshold falls."})


class SlaListSchema(PageSchema):
    items = fields.List(fields.Nested(SlaClockSchema))


class SlaQuerySchema(PageArgs):
    state = fields.String(validate=validate.OneOf(SLA_STATES))
    instance = fields.String(metadata={"description": "An instance id."})
    definition = fields.String(metadata={"description": "The process key the SLA is defined on."})
    metric = fields.String(validate=validate.OneOf(SLA_METRICS))
    scope = fields.String(validate=validate.OneOf(SLA_SCOPES))


class InstanceWithSlaSchema(InstanceDetailSchema):
    """``GET /api/v1/instances/{id}``: the instance, its ready tasks and its SLA clocks."""

    sla_clocks = fields.List(fields.Nested(SlaClockSchema))
