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
    type = fields.String(metadata={"description": "instance_started, task_ready, task_claimed, task_unclaimed, "
                                                  "task_assigned, task_completed, element_completed, "
                                                  "gateway_flow_taken, timer_fired, message_received, "
                                                  "instance_error, instance_retried, instance_cancelled, "
                                                  "instance_completed, … (docs/audit.md lists them)"})
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
    result = fields.String(attribute="status", metadata={
        "description": "verified | diverged | errored (replay itself failed; see ``error``)"})
    error = fields.String(allow_none=True, metadata={"description": "Why replay could not run, when errored."})
    steps = fields.Integer(metadata={"description": "Recorded transactions re-executed."})
    events = fields.Integer(metadata={"description": "Events in the instance's history."})
    divergence = fields.Nested(DivergenceSchema, allow_none=True)


class StateQuerySchema(Schema):
    at = fields.Integer(required=True, validate=validate.Range(min=1), metadata={
        "description": "Sequence number of the event after which to show the state (1 = just after the start)."})


class ReadyTaskAtSchema(Schema):
    task_id = fields.String(metadata={"description": "The task's id as recorded (the id the inbox showed)."})
    element_id = fields.String()
    name = fields.String(allow_none=True)
    lane = fields.String(allow_none=True)
    process_key = fields.String()
    assignee = fields.String(allow_none=True, metadata={
        "description": "Who held the task then: the last claim/assignment before the event, else the assignee "
                       "the diagram names."})


class ActiveElementSchema(Schema):
    element_id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String(metadata={"description": "SpiffWorkflow's class of the element (UserTask, "
                                                  "IntermediateCatchEvent, CallActivity, …)."})
    process_key = fields.String()
    state = fields.String(metadata={"description": "READY (workable), WAITING (for time, a message or a join), "
                                                   "STARTED (running, e.g. a call activity) or ERROR."})


class StateAtSchema(Schema):
    instance_id = fields.String()
    at = fields.Integer(attribute="seq", metadata={"description": "The event asked for."})
    event_type = fields.String()
    event_at = fields.DateTime(attribute="at", metadata={"description": "When that event happened (UTC)."})
    first_seq = fields.Integer(metadata={
        "description": "First event of the transaction that wrote event ``at``: the state is the one it committed."})
    last_seq = fields.Integer(metadata={"description": "Last event of that transaction."})
    status = fields.String(metadata={"description": "running | error | completed | cancelled"})
    data = fields.Dict(metadata={"description": "The instance's data at that point."})
    ready_tasks = fields.List(fields.Nested(ReadyTaskAtSchema))
    active = fields.List(fields.Nested(ActiveElementSchema), metadata={
        "description": "The position: every element of the diagram active at that point."})


class ConformanceActivitySchema(Schema):
    element_id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String(metadata={"description": "The BPMN element: userTask, serviceTask, callActivity, …"})
    process_key = fields.String()
    performed = fields.Integer(metadata={"description": "How many times the history records it completed."})


class ConformanceFlowSchema(Schema):
    flow_id = fields.String()
    source = fields.String()
    target = fields.String()
    name = fields.String(allow_none=True)
    process_key = fields.String()
    taken = fields.Integer(metadata={"description": "How many times the path went along this sequence flow."})


class DeviationSchema(Schema):
    seq = fields.Integer(metadata={"description": "The element_completed event that deviates."})
    element_id = fields.String()
    process_key = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "not_enabled (no flow from anything executed leads there), "
                                                  "incomplete_join (a parallel join fired without all branches), "
                                                  "inactive_boundary (a boundary event of an activity that was "
                                                  "not active), unknown_element (not in the diagram)"})
    message = fields.String()
    allowed_after = fields.List(fields.String(), metadata={
        "description": "The elements after which the diagram allows it."})


class TokenCountsSchema(Schema):
    produced = fields.Integer()
    consumed = fields.Integer()
    missing = fields.Integer(metadata={"description": "Tokens a deviating element needed and did not have."})
    remaining = fields.Integer(metadata={
        "description": "Tokens left when the instance completed (0 while it runs): required work never done."})


class ConformanceSchema(Schema):
    instance_id = fields.String()
    definition_key = fields.String()
    definition_version = fields.Integer()
    status = fields.String()
    conforms = fields.Boolean(metadata={"description": "No deviation and, once completed, nothing left undone."})
    fitness = fields.Float(metadata={
        "description": "Token-replay fitness: ½(1 − missing/consumed) + ½(1 − remaining/produced); 1.0 is a "
                       "path the diagram allows."})
    protocol_compliance = fields.Float(allow_none=True, metadata={
        "description": "Actions the diagram allowed when performed / actions performed (the pilot indicator "
                       "'acciones dentro del protocolo vs acciones efectivamente realizadas'); null before any."})
    actions_performed = fields.Integer(metadata={"description": "Activity completions recorded."})
    actions_in_protocol = fields.Integer(metadata={"description": "Those the diagram allowed at that point."})
    coverage = fields.Float(allow_none=True, metadata={
        "description": "Activities performed at least once / activities of the diagram (and of called processes "
                       "the instance entered). Branches not taken lower it; that is no deviation."})
    tokens = fields.Method("_tokens", metadata={"description": "The token counts behind ``fitness``."})
    not_performed = fields.List(fields.Nested(ConformanceActivitySchema), metadata={
        "description": "Activities of the protocol this instance never performed."})
    waiting_at = fields.List(fields.String(), metadata={
        "description": "Elements a token is waiting in front of: where a running instance stands, or what a "
                       "completed one left undone."})
    activities = fields.List(fields.Nested(ConformanceActivitySchema))
    flows = fields.List(fields.Nested(ConformanceFlowSchema))
    deviations = fields.List(fields.Nested(DeviationSchema))

    def _tokens(self, report: object) -> dict:
        return TokenCountsSchema().dump(report)
