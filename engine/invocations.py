"""How a service task's handler is called: inline in the step, or deferred to the worker.

The runtime's service caller (:class:`HandlerCaller`, bound by the composition root) looks at the
handler's :class:`~engine.handler_registry.HandlerPolicy`:

* ``inline``: the handler runs now, inside the step's transaction, and its call is recorded as a
  ``handler_invocations`` row (input, output, duration, attempt) in that same transaction.
* ``async``: a ``pending`` row is written with the evaluated input and a ``handler_invoked``
  event, and :class:`Deferred` makes the service task return ``None``, which SpiffWorkflow keeps
  as a STARTED task that survives serialization. The step commits with the task waiting; after
  the commit the worker (:mod:`engine.worker`) is told there is work.

When the worker has the outcome, it re-runs the waiting task under the instance lock with the
outcome *fed* (:func:`feeding`): the caller returns the recorded result (or raises the recorded
business error, which the diagram routes as usual) instead of calling the handler again. Replay
does the same with the results in the history, so no side effect ever runs twice from cauce's side.

Every invocation has a stable key, ``<instance id>/<task id>``; a handler that talks to an outside
system reads it with :func:`current_invocation` to make its effect idempotent.
"""

from __future__ import annotations

import json
import logging
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.spiff.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event
from sqlalchemy.orm import Session

from . import history, steps
from .business_errors import business_error
from .handler_registry import ASYNC, HandlerRegistry
from .models.invocations import HandlerInvocation

__all__ = ["Deferred", "HandlerCaller", "InvocationContext", "Outcome", "current_invocation", "defer_async_tasks",
           "feeding", "invocation_key", "rerun", "started_tasks"]

log = logging.getLogger(__name__)
_MARK = "_cauce_defers_async"
_RECORDED = "cauce_invocation"


class Deferred(SpiffWorkflowException):
    """The handler runs later, in the worker: the service task waits STARTED.

    A :class:`SpiffWorkflowException` so that the script engine lets it through unwrapped."""


@dataclass(frozen=True)
class InvocationContext:
    """What a handler may know about its own call: the idempotency key and the attempt."""

    key: str
    instance_id: str
    element_id: str | None
    handler: str
    attempt: int


@dataclass(frozen=True)
class Outcome:
    """A handler's recorded outcome: a result, or a business error ``{code, message, details}``."""

    result: Any = None
    business_error: dict[str, Any] | None = None

    def deliver(self) -> Any:
        if self.business_error is not None:
            raise RecordedBusinessError(self.business_error)
        return self.result


class RecordedBusinessError(Exception):
    """A business error the handler raised earlier, raised again so that the diagram routes it."""

    def __init__(self, recorded: dict[str, Any]) -> None:
        super().__init__(recorded.get("message", ""))
        self.bpmn_error_code = recorded.get("code")
        self.details = recorded.get("details")


_invocation: ContextVar[InvocationContext | None] = ContextVar("cauce_invocation", default=None)
_fed: ContextVar[dict[str, Outcome] | None] = ContextVar("cauce_fed_outcomes", default=None)


def current_invocation() -> InvocationContext | None:
    """The handler call running in this thread, if any (its key makes outside effects idempotent)."""
    return _invocation.get()


@contextmanager
def invoking(context: InvocationContext) -> Iterator[InvocationContext]:
    token = _invocation.set(context)
    try:
        yield context
    finally:
        _invocation.reset(token)


@contextmanager
def feeding(outcomes: dict[str, Outcome]) -> Iterator[None]:
    """Within the block, the service tasks with these ids get their recorded outcome."""
    token = _fed.set(dict(outcomes))
    try:
        yield
    finally:
        _fed.reset(token)


def invocation_key(instance_id: str, task_id: str) -> str:
    return f"{instance_id}/{task_id}"


def json_ready(value: Any) -> Any:
    """What the JSON columns can hold (dates and decimals in parameters become text)."""
    return json.loads(json.dumps(value, default=str))


def business_payload(exc: BaseException) -> dict[str, Any] | None:
    cause = business_error(exc)
    if cause is None:
        return None
    return json_ready({"code": cause.bpmn_error_code, "message": str(cause),  # type: ignore[attr-defined]
                       "details": getattr(cause, "details", None)})


# -- the engine side: deferring and re-running service tasks ------------------------------------


def defer_async_tasks(spec: WorkflowSpec) -> None:
    """Wrap the service tasks of ``spec`` once so that :class:`Deferred` leaves them STARTED."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, ServiceTask) and not getattr(task_spec, _MARK, False):
            task_spec._execute = types.MethodType(_deferring(task_spec._execute), task_spec)
            task_spec.cancelled_event.connect(_on_cancelled)
            setattr(task_spec, _MARK, True)


def _deferring(original: Callable[[Task], Any]) -> Callable[[Any, Task], Any]:
    def _execute(self: Any, task: Task) -> Any:
        try:
            return original(task)
        except Deferred:
            return None  # SpiffWorkflow keeps a task whose _execute returns None STARTED

    return _execute


def _on_cancelled(workflow: Any, task: Task) -> None:
    """A waiting task interrupted (boundary event, terminate): its pending handler must not run."""
    if not task.internal_data.get(_RECORDED):
        return  # its handler was never invoked
    try:
        context = steps.current_step()
    except RuntimeError:
        return
    row = context.session.get(HandlerInvocation, invocation_key(context.instance.id, str(task.id)))
    if row is not None and row.status == "pending":
        row.status, row.finished_at, row.next_attempt_at = "cancelled", context.now, None


def started_tasks(workflow: Any, element_id: str | None = None) -> list[Task]:
    """STARTED service tasks (waiting for their handler) in the workflow and its sub-workflows."""
    found: dict[Any, Task] = {t.id: t for t in workflow.get_tasks(state=TaskState.STARTED)}
    for sub in workflow.subprocesses.values():
        for task in sub.get_tasks(state=TaskState.STARTED):
            found.setdefault(task.id, task)
    return [t for t in found.values() if isinstance(t.task_spec, ServiceTask)
            and (element_id is None or t.task_spec.bpmn_id == element_id)]


def rerun(task: Task) -> Callable[[], None]:
    """The action that runs a waiting service task again (its handler outcome being fed)."""

    def action() -> None:
        task._set_state(TaskState.READY)
        task.run()

    return action


# -- the service caller --------------------------------------------------------------------------


class HandlerCaller:
    """The runtime's ``call_service``: runs inline handlers, defers async ones, feeds outcomes.

    ``announce`` is called after the commit of a step that left async work (see
    :class:`engine.worker.InvocationWorker`); never inside the transaction.
    """

    def __init__(self, registry: HandlerRegistry) -> None:
        self.registry = registry
        self.listeners: list[Callable[[datetime], None]] = []

    def __call__(self, task: Any, name: str, params: dict[str, Any]) -> Any:
        fed = _fed.get()
        if fed is not None and str(task.id) in fed:
            return fed.pop(str(task.id)).deliver()
        handler = self.registry.get(name)
        try:
            context = steps.current_step()
        except RuntimeError:  # a bare runtime (no database): nothing to record or defer to
            with steps.running_task(task):
                return self.registry.call(name, params)
        key = invocation_key(context.instance.id, str(task.id))
        if handler.policy.mode == ASYNC:
            self._defer(context, task, key, name, params)
        return self._inline(context, task, key, name, params)

    def _row(self, context: steps.StepContext, task: Any, key: str, name: str, mode: str,
             params: dict[str, Any]) -> HandlerInvocation:
        # Only a task that already has a row (run again after an error) pays for the lookup: the
        # mark travels with the workflow state, so it is as committed (or rolled back) as the row.
        row = context.session.get(HandlerInvocation, key) if task.internal_data.get(_RECORDED) else None
        if row is None:
            task.internal_data[_RECORDED] = True
            row = HandlerInvocation(
                key=key, instance_id=context.instance.id, task_id=str(task.id),
                element_id=getattr(task.task_spec, "bpmn_id", None), handler=name, mode=mode,
                status="pending", input=json_ready(params), attempts=0,
                max_attempts=self.registry.policy(name).retry.max_attempts, created_at=context.now)
            context.session.add(row)
        return row

    def _defer(self, context: steps.StepContext, task: Any, key: str, name: str, params: dict[str, Any]) -> None:
        row = self._row(context, task, key, name, ASYNC, params)
        row.status, row.next_attempt_at = "pending", context.now
        history.append(context.session, context.instance, "handler_invoked", at=context.now,
                       element_id=row.element_id, payload={"key": key, "task_id": row.task_id, "handler": name,
                                                           "mode": ASYNC, "input": row.input})
        self._announce(context.session, context.now)
        raise Deferred(f"handler {name!r} runs in the worker")

    def _inline(self, context: steps.StepContext, task: Any, key: str, name: str, params: dict[str, Any]) -> Any:
        row = self._row(context, task, key, name, "inline", params)
        row.attempts += 1
        started = time.perf_counter()
        try:
            with steps.running_task(task), invoking(InvocationContext(key, context.instance.id, row.element_id,
                                                                      name, row.attempts)):
                result = self.registry.call(name, params)
        except Exception as exc:
            routed = business_payload(exc)
            row.status = "business_error" if routed else "failed"
            row.output = routed
            row.error = f"{type(exc).__name__}: {exc}"[:4000]
            raise
        else:
            row.status, row.output, row.error = "succeeded", json_ready(result), None
            return result
        finally:
            row.duration_ms = (time.perf_counter() - started) * 1000
            row.finished_at = row.applied_at = context.now

    def _announce(self, session: Session, due: datetime) -> None:
        if not self.listeners or session.info.get("cauce_invocation_announced"):
            return
        session.info["cauce_invocation_announced"] = True

        def announce(_session: Session) -> None:
            _session.info.pop("cauce_invocation_announced", None)
            for listener in list(self.listeners):
                try:
                    listener(due)
                except Exception:  # the commit stands; the worker's sweep catches up
                    log.exception("handler worker listener failed")

        def forget(_session: Session) -> None:
            _session.info.pop("cauce_invocation_announced", None)

        event.listen(session, "after_commit", announce, once=True)
        event.listen(session, "after_rollback", forget, once=True)


# -- replay: the steps the worker and incidents write -------------------------------------------

#: Step kinds of :func:`handler_step_kind`, which :mod:`engine.replay` re-executes.
RESUME, INCIDENT, INCIDENT_RETRY = "resume", "incident", "incident_retry"


def handler_step_kind(event: Any) -> str | None:
    """The kind of step an event begins, when it is one of the worker's or an incident action's:
    ``resume`` (a recorded outcome fed to a waiting task), ``incident`` (retries ran out) or
    ``incident_retry`` (an operator gave the handler another round)."""
    payload = event.payload or {}
    if event.type in ("handler_succeeded", "handler_failed", "incident_resolved") and payload.get("resume"):
        return RESUME
    if event.type == "incident_raised":
        return INCIDENT
    if event.type == "incident_resolved" and payload.get("resolution") == "retried":
        return INCIDENT_RETRY
    return None
