"""The worker: runs async handlers outside any request and feeds their outcome to the instance.

One invocation at a time, in three short transactions (docs/handlers.md):

1. **claim**: a due ``pending`` row (or a ``running`` one whose lease ran out: its worker died)
   becomes ``running`` with ``attempts + 1`` and a lease, by a conditional UPDATE committed before
   the handler starts (on PostgreSQL the candidate is read ``FOR UPDATE SKIP LOCKED`` so that
   several processes take different rows; SQLite has one writer anyway);
2. **run**: the handler runs with no instance lock held, inside a unit of work of its own (handlers
   that read or store files need a session), and the outcome is recorded in that same transaction:
   ``succeeded`` / ``business_error`` with the output, or, on failure, back to ``pending`` at the
   next backoff time, or ``failed`` with an incident when the attempts ran out. A crash before
   this commit leaves the claim, which expires and is retried with the *same key*;
3. **apply**: the instance is locked, the waiting service task re-runs with the recorded outcome
   fed (:mod:`engine.invocations`), the engine advances and the step is saved, all in one
   transaction. A crash here rolls the step back; the outcome stays recorded and is applied again,
   without running the handler again.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, func, or_, select, update

from . import history, steps
from .handler_registry import HandlerRegistry
from .invocations import (
    HandlerCaller,
    InvocationContext,
    Outcome,
    business_payload,
    feeding,
    invoking,
    json_ready,
    rerun,
)
from .models import Instance
from .models.invocations import HandlerInvocation
from .service import WorkflowService

__all__ = ["LEASE", "WORKER_ACTOR", "InvocationWorker"]

log = logging.getLogger(__name__)

#: How long a claim holds before another worker may take the invocation again (its worker is
#: then presumed dead). Longer than any handler's own timeouts.
LEASE = timedelta(minutes=5)
WORKER_ACTOR = "worker"
_DONE = ("succeeded", "business_error")


@dataclass
class _Claim:
    key: str
    instance_id: str
    handler: str
    element_id: str | None
    input: dict[str, Any]
    attempt: int


class InvocationWorker:
    """Claims, runs and applies async handler invocations (see the module docstring)."""

    def __init__(self, service: WorkflowService, registry: HandlerRegistry, caller: HandlerCaller, *,
                 lease: timedelta = LEASE, name: str | None = None) -> None:
        self.service = service
        self.registry = registry
        self.caller = caller
        self.lease = lease
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def listeners(self) -> list[Callable[[datetime], None]]:
        """Called with a due time after the commit of a step that left async work."""
        return self.caller.listeners

    # -- the round -------------------------------------------------------------------------

    def run_due(self, *, limit: int = 100) -> int:
        """Run and apply every invocation due now (up to ``limit``); returns how many were handled.

        Synchronous: tests and ``cauce worker --once`` drain the queue with it."""
        handled, seen = 0, set()
        while handled < limit:
            key = self._next(seen)
            if key is None:
                break
            seen.add(key)
            try:
                self._handle(key)
            except Exception:  # one broken invocation (or a lock timeout) must not stop the round
                log.exception("handler invocation %s failed in the worker", key)
            handled += 1
        return handled

    def earliest_due(self) -> datetime | None:
        """When the worker has something to do next: a retry, an expired lease, an outcome to apply."""
        with self.service.uow.read() as session:
            done = session.scalar(select(func.min(HandlerInvocation.finished_at)).where(
                HandlerInvocation.status.in_(_DONE), HandlerInvocation.applied_at.is_(None)))
            pending = session.scalar(select(func.min(HandlerInvocation.next_attempt_at)).where(
                HandlerInvocation.status == "pending"))
            leased = session.scalar(select(func.min(HandlerInvocation.lease_until)).where(
                HandlerInvocation.status == "running"))
        found = [d for d in (done, pending, leased) if d is not None]
        return min(found) if found else None

    # -- one invocation --------------------------------------------------------------------

    def _next(self, seen: set[str]) -> str | None:
        now = self.service.clock()
        due = or_(and_(HandlerInvocation.status == "pending", HandlerInvocation.next_attempt_at <= now),
                  and_(HandlerInvocation.status == "running", HandlerInvocation.lease_until <= now),
                  and_(HandlerInvocation.status.in_(_DONE), HandlerInvocation.applied_at.is_(None)))
        query = select(HandlerInvocation.key).where(due)
        if seen:
            query = query.where(HandlerInvocation.key.not_in(seen))
        with self.service.uow.read() as session:
            return session.scalar(query.order_by(HandlerInvocation.next_attempt_at).limit(1))

    def _handle(self, key: str) -> None:
        claim = self._claim(key)
        if claim is not None:
            self._run(claim)
        self._apply(key)

    def _claim(self, key: str) -> _Claim | None:
        """Take ``key`` for this worker if it is (still) due to run; None otherwise."""
        now = self.service.clock()
        with self.service.uow.write() as session:
            query = select(HandlerInvocation).where(HandlerInvocation.key == key)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = session.scalars(query).first()
            runnable = row is not None and (
                (row.status == "pending" and row.next_attempt_at is not None and row.next_attempt_at <= now)
                or (row.status == "running" and row.lease_until is not None and row.lease_until <= now))
            if row is None or not runnable:
                return None
            instance = session.get(Instance, row.instance_id)
            if instance is None or instance.status in ("completed", "cancelled"):
                row.status, row.finished_at = "cancelled", now
                session.commit()
                return None
            attempt = row.attempts + 1
            claim = _Claim(key, row.instance_id, row.handler, row.element_id, dict(row.input or {}), attempt)
            claimed = session.execute(
                update(HandlerInvocation)
                .where(HandlerInvocation.key == key, HandlerInvocation.status == row.status,
                       HandlerInvocation.attempts == row.attempts)
                .values(status="running", attempts=attempt, claimed_at=now, claimed_by=self.name,
                        lease_until=now + self.lease)
                .execution_options(synchronize_session=False))
            session.commit()
            return claim if claimed.rowcount == 1 else None  # 0: another worker took it

    def _run(self, claim: _Claim) -> None:
        """Run the handler and record its outcome (one transaction: the handler's own writes too)."""
        started = time.perf_counter()
        with self.service.uow.write() as session:
            instance = session.get(Instance, claim.instance_id)
            assert instance is not None
            context = InvocationContext(claim.key, claim.instance_id, claim.element_id, claim.handler, claim.attempt)
            outcome: Outcome | None = None
            error: str | None = None
            permanent = False
            try:
                with steps.step(session, instance, self.service.clock()), invoking(context):
                    result = self.registry.call(claim.handler, dict(claim.input))
                outcome = Outcome(result=json_ready(result))
            except Exception as exc:
                routed = business_payload(exc)
                if routed is not None:  # the diagram's business outcome: routed, never retried
                    outcome = Outcome(business_error=routed)
                else:
                    error = f"{type(exc).__name__}: {exc}"[:4000]
                    # Bad data (handlers.errors.PermanentError, input failing the handler's schema)
                    # fails the same way every time: no attempts are spent on it.
                    permanent = getattr(exc, "retryable", True) is False
                    session.rollback()  # nothing the failed attempt wrote stays
            duration_ms = (time.perf_counter() - started) * 1000
            now = self.service.clock()
            row = session.get(HandlerInvocation, claim.key)
            assert row is not None
            if row.status != "running" or row.attempts != claim.attempt:
                log.warning("invocation %s was taken over while it ran; its outcome is dropped", claim.key)
                return
            row.duration_ms, row.finished_at, row.lease_until = duration_ms, now, None
            if outcome is not None:
                row.status = "business_error" if outcome.business_error is not None else "succeeded"
                row.output = outcome.business_error if outcome.business_error is not None else outcome.result
                row.error = outcome.business_error.get("message") if outcome.business_error else None
                session.commit()
                return
            self._failed(session, row, error or "failed", now, permanent=permanent)
            session.commit()

    def _failed(self, session: Any, row: HandlerInvocation, error: str, now: datetime, *,
                permanent: bool = False) -> None:
        """A failed attempt: retry after the backoff, or raise an incident when none are left (or
        when retrying cannot help)."""
        instance = self.service._lock(session, row.instance_id)
        row.error = error
        final = permanent or row.attempts >= row.max_attempts
        retry_at = None
        if not final:
            policy = self.registry.policy(row.handler).retry if row.handler in self.registry else None
            delay = policy.delay_s(row.attempts) if policy is not None else 60.0
            retry_at = now + timedelta(seconds=delay)
            row.status, row.next_attempt_at = "pending", retry_at
        history.append(session, instance, "handler_failed", at=now, actor=WORKER_ACTOR, element_id=row.element_id,
                       payload={"key": row.key, "handler": row.handler, "attempt": row.attempts, "error": error,
                                "retry_at": retry_at.isoformat() if retry_at else None})
        if final:
            from .incidents import raise_incident  # engine.incidents builds on this module

            raise_incident(session, instance, row, now)
        instance.revision += 1
        instance.updated_at = now
        history.write_pending(session)
        if retry_at is not None:
            self.caller._announce(session, retry_at)

    def _apply(self, key: str) -> None:
        """Feed a recorded outcome to the waiting task and advance the instance (one transaction)."""
        with self.service.uow.write() as session:
            row = session.get(HandlerInvocation, key)
            if row is None or row.status not in _DONE or row.applied_at is not None:
                return
            instance = self.service._lock(session, row.instance_id, with_state=True)
            session.refresh(row)  # read again under the instance lock: another worker may have applied it
            if row.status not in _DONE or row.applied_at is not None:
                return
            outcome = Outcome(business_error=row.output) if row.status == "business_error" else Outcome(row.output)
            event = "handler_succeeded" if row.status == "succeeded" else "handler_failed"
            payload = {"key": key, "handler": row.handler, "attempt": row.attempts, "duration_ms": row.duration_ms,
                       "resume": True, "task_id": row.task_id}
            payload["output" if row.status == "succeeded" else "business_error"] = row.output
            resume(self.service, session, instance, row, outcome, event=event, payload=payload, actor=WORKER_ACTOR)


def resume(service: WorkflowService, session: Any, instance: Instance, row: HandlerInvocation, outcome: Outcome, *,
           event: str, payload: dict[str, Any], actor: str | None) -> bool:
    """Under the instance lock: feed ``outcome`` to the task waiting for ``row``, advance, save and
    commit. Returns False (and marks the invocation cancelled) when the task no longer waits: a
    boundary event interrupted it, or the instance ended."""
    now = service.clock()
    if instance.status in ("completed", "cancelled"):
        row.status, row.applied_at = "cancelled", now
        session.commit()
        return False
    workflow = service._load(session, instance)
    task = service.runtime.find_task(workflow, row.task_id)
    if task is None or task.state != TaskState.STARTED:
        row.status, row.applied_at = "cancelled", now
        session.commit()
        return False
    history.append(session, instance, event, at=now, actor=actor, element_id=row.element_id, payload=payload)
    with steps.step(session, instance, now), feeding({row.task_id: outcome}):
        result = service.runtime.advance(workflow, rerun(task))
    row.applied_at = now
    service._save(session, instance, workflow, result, actor=actor)
    service._commit(session)
    return True
