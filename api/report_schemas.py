"""Marshmallow schemas of the reports endpoints (the KPI report of issue 6)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.audit_schemas import aware


class KpiQuerySchema(Schema):
    definition = fields.String(metadata={
        "description": "Only this definition key: its instances, and only the indicators that count it."})
    from_ = fields.DateTime(data_key="from", metadata={
        "description": "Only instances started at or after this time (ISO 8601 with offset; UTC if none)."})
    to = fields.DateTime(metadata={"description": "Only instances started before this time (exclusive)."})
    format = fields.String(validate=validate.OneOf(["json", "csv"]), metadata={
        "description": "json or csv; without it, `Accept: text/csv` asks for CSV."})

    @validates_schema
    def _range(self, data: dict, **_: object) -> None:
        if data.get("from_") and data.get("to") and aware(data["from_"]) >= aware(data["to"]):
            raise ValidationError("'from' must be before 'to'.", "to")


class KpiRowSchema(Schema):
    group = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The group the value belongs to, e.g. {\"level\": \"1er. Nivel\", \"priority\": \"Alta\"}; "
                       "{} for the whole indicator. \"(sin dato)\" stands for instances whose history does not "
                       "record the value."})
    metric = fields.String(metadata={
        "description": "instances, count, percent, mean, p50, p90, p95, target, within_target, "
                       "percent_within_target, met, breached, open, percent_met."})
    value = fields.Raw(metadata={"type": "number", "description": "An integer for counts, else a number."})
    unit = fields.String(metadata={"description": "count, percent or s (seconds)."})


class KpiIndicatorSchema(Schema):
    id = fields.String(metadata={"description": "Stable id of the indicator (kpi_sources.yaml)."})
    name = fields.String(metadata={"description": "The indicator as the source document names it."})
    kind = fields.String(metadata={"description": "share, ratio, response_time, resolution_time, response_target, "
                                                  "sla_compliance or unavailable."})
    source = fields.String(metadata={"description": "Which document and section define it."})
    definitions = fields.List(fields.String(), metadata={
        "description": "Definition keys whose instances it counts; empty: every definition."})
    available = fields.Boolean(metadata={"description": "False when the histories cannot answer it."})
    reason = fields.String(allow_none=True, metadata={"description": "Why it is not available."})
    rows = fields.List(fields.Nested(KpiRowSchema))


class KpiReportSchema(Schema):
    definition = fields.String(allow_none=True)
    from_ = fields.DateTime(attribute="started_from", data_key="from", allow_none=True)
    to = fields.DateTime(attribute="started_to", allow_none=True)
    generated_at = fields.DateTime()
    instances = fields.Integer(metadata={
        "description": "Instances started in the period (of the definition, when given)."})
    indicators = fields.List(fields.Nested(KpiIndicatorSchema))
