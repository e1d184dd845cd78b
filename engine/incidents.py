"""Incidents: async handlers whose retries ran out, and what an operator does about them.

An incident records the element, handler, last error, attempts and time; its instance's status is
``incident`` (its timers wait, as an instance in ``error`` does) until the incident is acted on:

* **retry**: the invocation goes back to ``pending`` with a fresh round of the handler's attempts,
  due now; the instance is ``running`` again and the worker takes it at once. For a cause that was
  fixed (the endpoint is back, the file was replaced).
* **resolve**: the operator did the handler's work by other means and supplies its ``output``; the
  waiting service task completes with it and the instance continues, in one transaction. The
  handler is not called. For a cause that cannot be fixed in time (a remote service retired).

Either way the incident is ``resolved`` with who, when, how and the operator's comment, and the
history gets ``incident_resolved``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import history
from .errors import Conflict, InvalidInput, NotFound
from .invocations import Outcome, json_ready
from .models import Instance
from .models.invocations import HandlerInvocation, Incident
from .worker import InvocationWorker, resume

__all__ = ["IncidentService", "raise_incident"]


def raise_incident(session: Session, instance: Instance, row: HandlerInvocation, now: datetime) -> Incident:
    """Open an incident for ``row`` (its attempts ran out) under the instance lock the caller holds."""
    row.status, row.next_attempt_at = "failed", None
    incident = Incident(invocation_key=row.key, instance_id=instance.id, definition_key=instance.definition_key,
                        element_id=row.element_id, handler=row.handler, error=row.error or "failed",
                        attempts=row.attempts, status="open", created_at=now)
    session.add(incident)
    session.flush()  # its id goes in the history and on the instance
    instance.status = "incident"
    instance.error = {"element_id": row.element_id, "at": now.isoformat(), "incident_id": incident.id,
                      "message": f"Handler '{row.handler}' failed {row.attempts} time(s): {row.error}"}
    history.append(session, instance, "incident_raised", at=now, actor="worker", element_id=row.element_id,
                   payload={"incident_id": incident.id, "key": row.key, "handler": row.handler,
                            "attempts": row.attempts, "error": row.error})
    return incident


class IncidentService:
    """Lists incidents and acts on them; each action is one transaction under the instance lock."""

    def __init__(self, worker: InvocationWorker) -> None:
        self.worker = worker
        self.service = worker.service

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.service.clock

    def list(self, *, status: str | None = None, instance_id: str | None = None, definition: str | None = None,
             page: int = 1, page_size: int = 50) -> tuple[list[Incident], int]:
        query = select(Incident)
        if status:
            query = query.where(Incident.status == status)
        if instance_id:
            query = query.where(Incident.instance_id == instance_id)
        if definition:
            query = query.where(Incident.definition_key == definition)
        with self.service.uow.read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(session.scalars(query.order_by(Incident.created_at.desc(), Incident.id.desc())
                                        .offset((page - 1) * page_size).limit(page_size)))
        return rows, total

    def get(self, incident_id: int) -> Incident:
        with self.service.uow.read() as session:
            incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"Incident {incident_id} does not exist.", incident_id=incident_id)
        return incident

    def invocation(self, key: str) -> HandlerInvocation | None:
        with self.service.uow.read() as session:
            return session.get(HandlerInvocation, key)

    def retry(self, incident_id: int, *, actor: str | None = None, comment: str | None = None) -> Incident:
        """Give the handler a fresh round of attempts, due now (see the module docstring)."""
        with self.service.uow.write() as session:
            incident, instance, row = self._open(session, incident_id)
            now = self.clock()
            row.status, row.next_attempt_at, row.error = "pending", now, None
            row.max_attempts = row.attempts + self.worker.registry.policy(row.handler).retry.max_attempts \
                if row.handler in self.worker.registry else row.attempts + 1
            self._close(session, incident, instance, "retried", actor, comment, now)
            instance.status, instance.error = "running", None
            history.write_pending(session)
            self.worker.caller._announce(session, now)
            session.commit()
            return incident

    def resolve(self, incident_id: int, *, output: Any, actor: str | None = None,
                comment: str | None = None) -> Incident:
        """Complete the waiting task with ``output`` supplied by the operator (see the module docstring)."""
        with self.service.uow.write() as session:
            incident, instance, row = self._open(session, incident_id)
            now = self.clock()
            output = json_ready(output)
            self._check_output(row.handler, output)
            row.status, row.output, row.finished_at = "resolved", output, now
            self._close(session, incident, instance, "output", actor, comment, now, history_event=False)
            instance.status, instance.error = "running", None
            payload = {"incident_id": incident.id, "key": row.key, "handler": row.handler, "resolution": "output",
                       "comment": comment, "output": output, "resume": True, "task_id": row.task_id}
            resume(self.service, session, instance, row, Outcome(result=output), event="incident_resolved",
                   payload=payload, actor=actor)
            return incident

    def _check_output(self, handler: str, output: Any) -> None:
        """The operator's output must be what the handler would have returned (its output schema),
        or the steps after the task would fail on it."""
        registry = self.worker.registry
        schema = registry.get(handler).output_schema if handler in registry else None
        if schema is None:
            return
        errors = schema.validate(output) if isinstance(output, dict) else {"_schema": ["An object is required."]}
        if errors:
            raise InvalidInput(f"The output does not match what handler '{handler}' returns.", fields=errors)

    def _open(self, session: Session, incident_id: int) -> tuple[Incident, Instance, HandlerInvocation]:
        found = session.get(Incident, incident_id)
        if found is None:
            raise NotFound(f"Incident {incident_id} does not exist.", incident_id=incident_id)
        instance = self.service._lock(session, found.instance_id)
        session.refresh(found)  # under the lock: another operator may have acted on it meanwhile
        if found.status != "open":
            raise Conflict(f"Incident {incident_id} is already {found.status}.", status=found.status)
        if instance.status in ("completed", "cancelled"):
            raise Conflict(f"Instance {instance.id} is {instance.status}; its incident can no longer be acted on.",
                           status=instance.status)
        row = session.get(HandlerInvocation, found.invocation_key)
        assert row is not None
        return found, instance, row

    def _close(self, session: Session, incident: Incident, instance: Instance, resolution: str,
               actor: str | None, comment: str | None, now: datetime, *, history_event: bool = True) -> None:
        incident.status, incident.resolution, incident.resolved_at = "resolved", resolution, now
        incident.resolved_by, incident.comment = actor, comment
        instance.updated_at = now
        instance.revision += 1
        if history_event:
            history.append(session, instance, "incident_resolved", at=now, actor=actor, element_id=incident.element_id,
                           payload={"incident_id": incident.id, "key": incident.invocation_key,
                                    "handler": incident.handler, "resolution": resolution, "comment": comment})
