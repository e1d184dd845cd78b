"""Audit endpoints: chain verification, an instance's history, replay, its state at an event,
conformance with its diagram, event-log exports.

Everything here only reads; no endpoint changes or deletes an event (replay re-executes in memory).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from api.audit_schemas import (
    ConformanceSchema,
    EventListSchema,
    EventQuerySchema,
    ExportQuerySchema,
    ReplayResultSchema,
    StateAtSchema,
    StateQuerySchema,
    VerifyQuerySchema,
    VerifyReportSchema,
    aware,
)
from api.context import service
from engine import audit, conformance, exports, replay, replay_state

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit",
                description="Tamper evidence and event-log exports for auditors.")
# The per-instance history lives under /instances/{id}; its own blueprint keeps routes/instances.py untouched.
history_blp = Blueprint("instance_history", __name__, url_prefix="/api/v1/instances",
                        description="The recorded history of one instance.")


@blp.route("/verify")
class Verify(MethodView):
    @blp.arguments(VerifyQuerySchema, location="query")
    @blp.response(200, VerifyReportSchema)
    @blp.alt_response(404, description="One of the requested instances does not exist.")
    def get(self, args: dict) -> dict:
        """Recompute every instance's hash chain and list the instances whose history was tampered with.

        A problem names the first sequence number that no longer holds and its kind: ``altered``
        (content or hash changed), ``deleted`` (a gap), ``reordered`` (events swapped) or
        ``truncated`` (the last events are gone). ``ok`` is false when there is any problem.
        """
        with service().uow.read() as session:
            report = audit.verify_chains(session, args.get("instance") or None)
        return {"ok": report.ok, "checked": report.checked, "events": report.events, "problems": report.problems}


_EXPORT_TYPES = {"csv": ("text/csv; charset=utf-8", "csv"), "xes": ("application/xml; charset=utf-8", "xes")}


@blp.route("/export")
class Export(MethodView):
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.doc(responses={"200": {
        "description": "The event log as a file: one row (CSV) or ``event`` (XES) per activity start/complete.",
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/xml": {"schema": {"type": "string"}}},
    }})
    def get(self, args: dict) -> Response:
        """Event log of many instances for process mining, as CSV or XES (IEEE 1849-2016).

        Columns / attributes: case id (the instance id), activity (element name, else its id),
        timestamp (ISO 8601 with offset, UTC), resource (the actor), lifecycle transition
        (``start`` when a user task became ready, ``complete`` when an element completed;
        gateways are left out), plus element id, definition key and version and the event's
        sequence number. ``definition``, ``from`` and ``to`` select instances by key and by
        start time (``from`` inclusive, ``to`` exclusive), so every case is exported whole.
        """
        uow = service().uow
        mimetype, extension = _EXPORT_TYPES[args["format"]]
        start = aware(args["from_"]) if args.get("from_") else None
        end = aware(args["to"]) if args.get("to") else None

        def generate() -> Iterator[str]:
            with uow.read() as session:
                entries = exports.event_log(session, definition=args.get("definition"), started_from=start,
                                            started_to=end)
                render = exports.to_xes if args["format"] == "xes" else exports.to_csv
                yield from render(entries)

        suffix = re.sub(r"[^A-Za-z0-9._-]", "_", args.get("definition") or "")
        name = f"cauce-events{'-' + suffix if suffix else ''}.{extension}"
        return Response(stream_with_context(generate()), mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@history_blp.route("/<string:instance_id>/events")
class InstanceEvents(MethodView):
    @history_blp.arguments(EventQuerySchema, location="query")
    @history_blp.response(200, EventListSchema)
    @history_blp.alt_response(404, description="The instance does not exist.")
    def get(self, args: dict, instance_id: str) -> dict:
        """The instance's events in sequence order, a page at a time, with their hashes."""
        with service().uow.read() as session:
            items, total = audit.list_events(session, instance_id, page=args["page"], page_size=args["page_size"])
        return {"instance_id": instance_id, "items": items, "total": total, "page": args["page"],
                "page_size": args["page_size"]}


@history_blp.route("/<string:instance_id>/replay")
class InstanceReplay(MethodView):
    @history_blp.response(200, ReplayResultSchema)
    @history_blp.alt_response(404, description="The instance does not exist.")
    def post(self, instance_id: str) -> replay.ReplayResult:
        """Re-execute the instance from its recorded events and report ``verified`` or the first divergence.

        The instance runs again on the definition version it ran under, from its recorded initial
        data, task completions (with their data, in order), retries and timer firings (at their
        recorded times); service tasks get their recorded results, so no handler is called and
        nothing is written. Each step's completed elements, newly ready tasks, failures and end
        are compared with the record, then the final status and data with the instance's.
        """
        wf = service()
        with wf.uow.read() as session:
            return replay.replay_instance(session, instance_id, runtime=wf.runtime, specs=wf.specs)


@history_blp.route("/<string:instance_id>/state")
class InstanceStateAt(MethodView):
    @history_blp.arguments(StateQuerySchema, location="query")
    @history_blp.response(200, StateAtSchema)
    @history_blp.alt_response(404, description="The instance does not exist.")
    @history_blp.alt_response(409, description="The history diverges from the procedure before event ``at``.")
    @history_blp.alt_response(422, description="``at`` is missing or outside the instance's history.")
    def get(self, args: dict, instance_id: str) -> replay_state.StateAt:
        """The instance as it was just after event ``at``: status, data, ready tasks and position.

        Rebuilt by replaying the history up to the transaction that wrote event ``at`` (a
        transaction writes several events and commits one state, so ``first_seq``–``last_seq``
        say which). Ready tasks carry their recorded ids and the assignee the history gives them
        at that point; ``active`` lists the diagram elements ready, waiting, running or failed.
        Nothing is written.
        """
        wf = service()
        with wf.uow.read() as session:
            return replay_state.state_at(session, instance_id, args["at"], runtime=wf.runtime, specs=wf.specs)


@history_blp.route("/<string:instance_id>/conformance")
class InstanceConformance(MethodView):
    @history_blp.response(200, ConformanceSchema)
    @history_blp.alt_response(404, description="The instance does not exist.")
    def get(self, instance_id: str) -> conformance.ConformanceReport:
        """Compare the instance's executed path with its diagram (the version it ran under).

        Token replay over the sequence flows: which activities of the protocol were performed and
        how often, which flows were taken, every element executed without a flow of the diagram
        leading to it from what was executed before (a deviation), and the ratios ``fitness``,
        ``protocol_compliance`` (actions within the protocol / actions performed) and
        ``coverage``. See docs/audit.md for what each number means.
        """
        with service().uow.read() as session:
            return conformance.check_instance(session, instance_id)
