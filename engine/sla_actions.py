"""What an SLA threshold does: notify (through the ``notify`` handler) and reassign.

``notify`` runs the very handler a diagram's notify task runs, from the handler registry the
composition root gave the script engine (``engine/bootstrap.py``), inside the step: the mail is
rendered from the same templates, its recipients resolved the same way (``role:…``,
``assignee``, ``data:…``) and it is written to the outbox in the threshold's transaction. Its
outbox key is the clock, threshold and action, so a threshold never queues the same mail twice.

``reassign`` is the escalation "to the next level": the measured task is opened to the next
level's role (added to its candidate roles, so it shows in that role's inbox) and released by
whoever held it. It changes inbox rows, which is the engine's business, not a handler's.

An action that fails (an unknown role, a handler that is not registered) is recorded in the
threshold's event and logged; the SLA state still changes, because the breach happened.
"""

from __future__ import annotations

import json
import logging
import uuid
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from . import steps
from .models import HumanTask, Instance, TaskCandidate
from .models.sla import SlaClock
from .sla_config import Action

if TYPE_CHECKING:
    from .service import WorkflowService

log = logging.getLogger(__name__)
_ACTIONS = uuid.UUID("5d1c3e0a-6b8f-4c1e-9a57-0c6a2b7e8f10")  # namespace of SLA action ids


def run_action(service: WorkflowService, session: Session, instance: Instance, clock: SlaClock, action: Action,
               percent: int, index: int) -> dict[str, Any]:
    """Run one action of a threshold; a JSON-ready record of what happened, for the history."""
    try:
        if action.kind == "notify":
            return {"notify": _notify(service, instance, clock, action, percent, index)}
        if action.kind == "reassign":
            return {"reassign": _reassign(service, session, clock, action.params["role"])}
        raise ValueError(f"unknown SLA action {action.kind!r}")
    except Exception as exc:
        log.warning("SLA %s of instance %s: action %s at %d %% failed: %s", clock.sla_name, instance.id,
                    action.kind, percent, exc)
        return {action.kind: {**action.params, "error": f"{exc.__class__.__name__}: {exc}"}}


def _notify(service: WorkflowService, instance: Instance, clock: SlaClock, action: Action, percent: int,
            index: int) -> Any:
    call = service.runtime.call_service
    registry = getattr(call, "registry", None)  # engine.invocations.HandlerCaller keeps the registry
    if call is None:
        raise RuntimeError("no handlers are wired into this service (engine/bootstrap.py)")
    # What the mailroom reads from "the running task": an id (a UUID, as task ids are, derived from
    # the clock, threshold and action so that the outbox key is stable), the data for the
    # template, the element for the record.
    task_id = uuid.uuid5(_ACTIONS, f"{clock.id}/{percent}/{index}")
    task = SimpleNamespace(id=task_id, data=dict(instance.data or {}), internal_data={},
                           task_spec=SimpleNamespace(bpmn_id=clock.element_id))
    if registry is not None:
        # The handler itself, not the service-task machinery around it (invocation records, feeding
        # results back to a waiting task): there is no BPMN task here, the SLA event is the record.
        with steps.running_task(task):
            result = registry.call("notify", dict(action.params))
    else:
        result = call(task, "notify", dict(action.params))
    return json.loads(json.dumps(result, default=str))


def _reassign(service: WorkflowService, session: Session, clock: SlaClock, role: str) -> dict[str, Any]:
    if clock.task_id is None:
        raise ValueError("reassign needs a task SLA (scope task)")
    name = service.roles.resolve(role).name if service.roles is not None else role
    row = session.get(HumanTask, clock.task_id)
    if row is None or row.status != "ready":
        return {"role": name, "task_id": clock.task_id, "skipped": "the task is no longer ready"}
    roles = list(row.candidate_roles or [])
    if name != row.lane and name not in roles:
        row.candidate_roles = [*roles, name]
        if session.get(TaskCandidate, (row.id, name)) is None:
            session.add(TaskCandidate(task_id=row.id, role=name))
    previous, row.assignee = row.assignee, None
    return {"role": name, "task_id": row.id, "previous_assignee": previous}


__all__ = ["run_action"]
