"""Marshmallow schemas of the audit endpoints (history, chain verification, exports, replay).

Kept apart from :mod:`api.schemas` so that the audit surface can grow without touching the
schemas of the core endpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas import PageArgs, PageSchema


class EventSchema(Schema):
    seq = fields.Integer(metadata={"description": "Position in the instance's history, from 1, without gaps."})
    type = fields.String(metadata={"description": "instance_started, task_ready, task_completed, element_completed, "
                                                  "instance_error, instance_retried, instance_cancelled, "
                                                  "instance_completed, …"})
    at = fields.DateTime(metadata={"description": "When it happened (UTC)."})
    actor = fields.String(allow_none=True, metadata={"description": "Who caused it (user, 'scheduler', …)."})
    element_id = fields.String(allow_none=True, metadata={"description": "BPMN element id, when there is one."})
    payload = fields.Dict(metadata={"description": "What the event records (e.g. submitted task data)."})
    prev_hash = fields.String(metadata={"description": "Hash of the previous event ('' for the first)."})
    hash = fields.String(metadata={"description": "SHA-256 over the canonical JSON of the event and prev_hash."})


class EventListSchema(PageSchema):
    instance_id = fields.String()
    items = fields.List(fields.Nested(EventSchema))


class EventQuerySchema(PageArgs):
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class VerifyQuerySchema(Schema):
    instance = fields.List(fields.String(), metadata={
        "description": "Check only these instances (repeat the parameter); default: every instance."})


class ChainProblemSchema(Schema):
    instance_id = fields.String()
    definition_key = fields.String()
    kind = fields.String(metadata={"description": "altered | deleted | reordered | truncated"})
    seq = fields.Integer(metadata={"description": "First sequence number at which the chain no longer holds."})
    message = fields.String()


class VerifyReportSchema(Schema):
    ok = fields.Boolean(metadata={"description": "True when every checked chain holds."})
    checked = fields.Integer(metadata={"description": "Instances checked."})
    events = fields.Integer(metadata={"description": "Events checked."})
    problems = fields.List(fields.Nested(ChainProblemSchema))


class ExportQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xes"]))
    definition = fields.String(metadata={"description": "Only instances of this definition key."})
    from_ = fields.DateTime(data_key="from", metadata={
        "description": "Only instances started at or after this time (ISO 8601 with offset; UTC if none)."})
    to = fields.DateTime(metadata={"description": "Only instances started before this time."})

    @validates_schema
    def _range(self, data: dict, **_: object) -> None:
        if data.get("from_") and data.get("to") and aware(data["from_"]) >= aware(data["to"]):
            raise ValidationError("'from' must be before 'to'.", "to")


def aware(moment: datetime) -> datetime:
    """A query time without an offset is taken as UTC, the zone every stored time is in."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class DivergenceSchema(Schema):
    seq = fields.Integer(allow_none=True, metadata={
        "description": "The recorded event where replay and record differ; null when only the final state differs."})
    event_type = fields.String(allow_none=True)
    expected = fields.String(metadata={"description": "What the record says."})
    found = fields.String(metadata={"description": "What the re-execution did."})
    message = fields.String()


class ReplayResultSchema(Schema):
    instance_id = fields.String()
    result = fields.String(attribute="status", metadata={"description": "verified | diverged"})
    steps = fields.Integer(metadata={"description": "Recorded transactions re-executed."})
    events = fields.Integer(metadata={"description": "Events in the instance's history."})
    divergence = fields.Nested(DivergenceSchema, allow_none=True)
