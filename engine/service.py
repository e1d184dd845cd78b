"""Use cases of cauce: deploy, start, complete, cancel, retry, wake timers.

Each public method is one transaction. A mutation locks the instance row first (``FOR UPDATE``
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two requests on one instance run one after
the other and the second sees what the first did; the state, the human-task rows and the history
events of a step commit together or not at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, func, inspect, select, update
from sqlalchemy.orm import Session, undefer

from . import history, step_events, steps
from .errors import Conflict, InvalidInput, NotFound
from .handler_registry import HandlerRegistry
from .models import Definition, HumanTask, Instance, TaskCandidate
from .parsing import check_service_tasks, checksum, parse_definition
from .priorities import task_priority
from .roles import RoleCatalog
from .runtime import StepResult, WorkflowRuntime
from .sla import SlaClocks
from .sla_config import check_document as check_calendars_and_slas
from .specs import SpecStore, latest, latest_head
from .uow import UnitOfWork

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


# Statements of every step, built once so that SQLAlchemy reuses their compiled form. Only the
# instance row is locked, and nothing else is read with it: when PostgreSQL's FOR UPDATE waits for
# another step, it re-reads the locked row once that step commits but not the rows joined to it,
# so a joined row would be the one from before that step (a lost update). The workflow state is a
# column of the locked row for that reason, and a step reads it with the lock.
_LOCK = select(Instance).where(Instance.id == bindparam("instance_id")).with_for_update(of=Instance)
_LOCK_WITH_STATE = _LOCK.options(undefer(Instance.state))
_LOCK_BY_TASK = (
    select(Instance).join(HumanTask, HumanTask.instance_id == Instance.id)
    .where(HumanTask.id == bindparam("task_id")).with_for_update(of=Instance).options(undefer(Instance.state))
)
_READY_ROWS = select(HumanTask).where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == "ready")


@dataclass
class DeployResult:
    definition: Definition
    created: bool


class WorkflowService:
    """The engine's entry point for every caller (HTTP API, CLI, scheduler, tests)."""

    def __init__(self, uow: UnitOfWork, runtime: WorkflowRuntime, *, clock: Clock | None = None,
                 roles: RoleCatalog | None = None, handlers: HandlerRegistry | None = None) -> None:
        self.uow = uow
        # Known roles: a deploy whose lanes name an unknown one is refused (None: not checked).
        self.roles = roles
        # The complete set of handlers the diagrams run on: a deploy whose service tasks name an
        # unknown one or map its parameters wrongly is refused. None where tests deploy first
        # and register stub handlers afterwards.
        self.handlers = handlers
        self.runtime = runtime
        self.specs = SpecStore(runtime)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        runtime.clock = self.clock
        # Called with an instance's new earliest timer once it is committed (the scheduler arms
        # a wake-up for it); never inside the transaction, so a rollback announces nothing.
        self.timer_listeners: list[Callable[[datetime], None]] = []
        self.slas = SlaClocks(self)  # SLA clocks of bpmn/slas.yaml, kept by every step (engine/sla.py)

    # -- definitions -------------------------------------------------------------------------

    def deploy(self, xml: bytes, *, source_name: str = "upload.bpmn", actor: str | None = None) -> DeployResult:
        """Deploy a BPMN document as the next version of its process, unless it is unchanged."""
        parsed = parse_definition(xml, source_name=source_name)
        if self.roles is not None:
            self.roles.check_document(parsed.xml)
        if self.handlers is not None:
            check_service_tasks(parsed.xml, self.handlers)
        check_calendars_and_slas(parsed.xml, parsed.key)  # unknown calendars, SLA elements (engine/sla_config.py)
        with self.uow.write() as session:
            current = latest(session, parsed.key)
            if current is not None and current.checksum == parsed.checksum:
                return DeployResult(current, created=False)
            definition = Definition(
                key=parsed.key, version=(current.version + 1) if current else 1, name=parsed.name,
                manual_key=parsed.manual_key, bpmn_xml=parsed.xml.decode(), checksum=parsed.checksum,
                called_keys=parsed.called_keys, deployed_at=self.clock(), deployed_by=actor,
                source_name=source_name,
            )
            session.add(definition)
            session.commit()
            return DeployResult(definition, created=True)

    def deploy_directory(self, directory: Path, *, actor: str | None = None) -> list[DeployResult]:
        """Deploy every ``.bpmn`` file below ``directory`` (unchanged files are skipped)."""
        results = []
        for path in sorted(directory.rglob("*.bpmn")):
            results.append(self.deploy(path.read_bytes(), source_name=str(path.relative_to(directory)), actor=actor))
        return results

    def list_definitions(self) -> list[Definition]:
        with self.uow.read() as session:
            return list(session.scalars(select(Definition).order_by(Definition.key, Definition.version)))

    def definition_versions(self, key: str) -> list[Definition]:
        with self.uow.read() as session:
            versions = list(session.scalars(
                select(Definition).where(Definition.key == key).order_by(Definition.version)))
        if not versions:
            raise NotFound(f"No definition has the key {key!r}.", key=key)
        return versions

    def definition_version(self, key: str, version: int) -> Definition:
        with self.uow.read() as session:
            found = session.scalars(
                select(Definition).where(Definition.key == key, Definition.version == version)
                .options(undefer(Definition.bpmn_xml))).first()
        if found is None:
            raise NotFound(f"Definition {key!r} has no version {version}.", key=key, version=version)
        return found

    # -- instances ---------------------------------------------------------------------------

    def start(self, key: str, data: dict[str, Any] | None = None, *, business_key: str | None = None,
              requester: str | None = None) -> Instance:
        data = dict(data or {})
        with self.uow.write() as session:
            definition = latest_head(session, key)
            if definition is None:
                raise NotFound(f"No definition has the key {key!r}; deploy it first.", key=key)
            called = self.specs.pin_called(session, definition)
            spec, subs = self.specs.bundle(session, definition.id, called)
            now = self.clock()
            instance = Instance(
                id=str(uuid.uuid4()), definition_id=definition.id, definition_version=definition.version,
                definition_key=definition.key,
                called_definitions=called, status="running", business_key=business_key,
                requester=requester, started_at=now, updated_at=now, data={}, revision=0,
                last_event_seq=0, last_event_hash="",
            )
            session.add(instance)  # inserted at commit, before its history rows
            history.append(session, instance, "instance_started", at=now, actor=requester, payload={
                "definition_key": definition.key, "definition_version": definition.version,
                "called_definitions": called, "business_key": business_key, "data": data,
            })
            workflow = self.runtime.create(spec, subs, data)
            with steps.step(session, instance, self.clock()):  # handlers write in this transaction
                result = self.runtime.advance(workflow)
            self._save(session, instance, workflow, result, actor=requester)
            self._commit(session)
            return instance

    def complete_task(self, task_id: str, data: dict[str, Any] | None = None, *, actor: str | None = None,
                      authorize: Callable[[HumanTask], None] | None = None) -> Instance:
        """Complete a ready user task with ``data``; 409 if it is no longer ready.

        ``authorize`` sees the task row under the instance lock and raises to refuse (the inbox's
        "is it yours" check), so no one can claim the task between the check and the completion.
        """
        data = dict(data or {})
        with self.uow.write() as session:
            instance = session.scalars(_LOCK_BY_TASK, {"task_id": task_id}).first()
            if instance is None:
                raise NotFound(f"Task {task_id} does not exist.", task_id=task_id)
            # Read under the lock, so statuses are current; the ready rows are reused by _save. Two
            # indexed lookups, not one OR: the OR scans every task the instance ever had.
            rows = list(session.scalars(_READY_ROWS, {"instance_id": instance.id}))
            row = next((r for r in rows if r.id == task_id), None) or session.get(HumanTask, task_id)
            assert row is not None
            if row.status != "ready":
                raise Conflict(f"Task {task_id} is {row.status}, not ready; reload the inbox.",
                               task_id=task_id, status=row.status)
            if authorize is not None:
                authorize(row)
            form = self.specs.form_for(session, instance.definition_id, instance.called_definitions,
                                       row.process_key, row.element_id)
            if form is not None:
                problems = form.validate(data)
                if problems:
                    raise InvalidInput("The submitted data does not satisfy the task's form; see details.fields.",
                                       fields=problems)
            workflow = self._load(session, instance)
            task = self.runtime.find_task(workflow, task_id)
            if task is None or not task.task_spec.manual:
                raise Conflict(f"Task {task_id} is no longer waiting in its instance.", task_id=task_id)

            def complete() -> None:
                task.data.update(data)
                task.run()

            now = self.clock()
            row.status, row.completed_at, row.completed_by, row.submitted = "completed", now, actor, data
            history.append(session, instance, "task_completed", at=now, actor=actor, element_id=row.element_id,
                           payload={"task_id": task_id, "data": data})
            with steps.step(session, instance, self.clock()):  # handlers write in this transaction
                result = self.runtime.advance(workflow, complete)
            self._save(session, instance, workflow, result, actor=actor, ready_rows=rows)
            self._commit(session)
            return instance

    def cancel(self, instance_id: str, *, actor: str | None = None, reason: str | None = None) -> Instance:
        with self.uow.write() as session:
            instance = self._lock(session, instance_id)
            if instance.status in ("completed", "cancelled"):
                raise Conflict(f"Instance {instance_id} is already {instance.status}.", status=instance.status)
            now = self.clock()
            instance.status, instance.ended_at, instance.updated_at = "cancelled", now, now
            instance.next_timer_at = None
            instance.revision += 1
            session.execute(update(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "ready")
                            .values(status="cancelled"))
            history.append(session, instance, "instance_cancelled", at=now, actor=actor, payload={"reason": reason})
            self._commit(session)
            return instance

    def retry(self, instance_id: str, *, actor: str | None = None) -> Instance:
        """Run the failed step again, after its cause was fixed."""
        with self.uow.write() as session:
            instance = self._lock(session, instance_id, with_state=True)
            if instance.status != "error":
                raise Conflict(f"Instance {instance_id} is {instance.status}; only an instance in error can be "
                               "retried.",
                               status=instance.status)
            workflow = self._load(session, instance)
            history.append(session, instance, "instance_retried", at=self.clock(), actor=actor,
                           element_id=(instance.error or {}).get("element_id"))
            with steps.step(session, instance, self.clock()):  # handlers write in this transaction
                result = self.runtime.retry_errors(workflow)
            self._save(session, instance, workflow, result, actor=actor)
            self._commit(session)
            return instance

    def fire_due_timers(self, *, limit: int = 100) -> int:
        """Advance instances whose earliest timer is due; returns how many were advanced."""
        now = self.clock()
        with self.uow.read() as session:
            due = list(session.scalars(
                select(Instance.id).where(Instance.status == "running", Instance.next_timer_at <= now)
                .order_by(Instance.next_timer_at).limit(limit)))
        fired = 0
        for instance_id in due:
            try:
                with self.uow.write() as session:
                    instance = self._lock(session, instance_id, with_state=True)
                    if (instance.status != "running" or instance.next_timer_at is None
                            or instance.next_timer_at > now):
                        continue  # another worker got there first
                    workflow = self._load(session, instance)
                    with steps.step(session, instance, self.clock()):  # handlers write in this transaction
                        result = self.runtime.advance(workflow)
                    self._save(session, instance, workflow, result, actor="scheduler")
                    self._commit(session)
                    fired += 1
            except Exception:  # one broken instance (or a lock timeout) must not hold back the others
                log.exception("firing the timers of instance %s failed", instance_id)
        return fired

    def earliest_timer_at(self) -> datetime | None:
        """The earliest due time of any running instance: when the scheduler must wake next."""
        with self.uow.read() as session:
            return session.scalar(select(func.min(Instance.next_timer_at)).where(Instance.status == "running"))

    # -- queries -----------------------------------------------------------------------------

    def get_instance(self, instance_id: str) -> tuple[Instance, list[HumanTask]]:
        with self.uow.read() as session:
            instance = session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"Instance {instance_id} does not exist.", instance_id=instance_id)
            tasks = list(session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status == "ready").order_by(HumanTask.created_at)))
            return instance, tasks

    def ready_tasks(self, instance_id: str) -> list[HumanTask]:
        with self.uow.read() as session:
            return list(session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status == "ready").order_by(HumanTask.created_at)))

    def list_instances(self, *, definition: str | None = None, status: str | None = None,
                       business_key: str | None = None, status_label: str | None = None, page: int = 1,
                       page_size: int = 50) -> tuple[list[Instance], int]:
        query = select(Instance)
        if status_label:
            query = query.where(Instance.status_label == status_label)
        if definition:
            query = query.where(Instance.definition_key == definition)
        if status:
            query = query.where(Instance.status == status)
        if business_key:
            query = query.where(Instance.business_key == business_key)
        with self.uow.read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(session.scalars(query.order_by(Instance.started_at.desc(), Instance.id)
                                        .offset((page - 1) * page_size).limit(page_size)))
        return rows, total

    def list_tasks(self, *, status: str | None = "ready", instance_id: str | None = None,
                   definition: str | None = None, lane: str | None = None,
                   page: int = 1, page_size: int = 50) -> tuple[list[HumanTask], int]:
        query = select(HumanTask)
        if status:
            query = query.where(HumanTask.status == status)
        if instance_id:
            query = query.where(HumanTask.instance_id == instance_id)
        if definition:
            query = query.where(HumanTask.definition_key == definition)
        if lane:
            query = query.where(HumanTask.lane == lane)
        with self.uow.read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(session.scalars(query.order_by(HumanTask.created_at, HumanTask.id)
                                        .offset((page - 1) * page_size).limit(page_size)))
        return rows, total

    def get_task(self, task_id: str) -> HumanTask:
        with self.uow.read() as session:
            row = session.get(HumanTask, task_id)
        if row is None:
            raise NotFound(f"Task {task_id} does not exist.", task_id=task_id)
        return row

    # -- internals ---------------------------------------------------------------------------

    def _commit(self, session: Session) -> None:
        history.write_pending(session)
        session.commit()

    def _lock(self, session: Session, instance_id: str, *, with_state: bool = False) -> Instance:
        """Lock the instance row (with its workflow state when the caller will load the workflow)."""
        instance = session.scalars(_LOCK_WITH_STATE if with_state else _LOCK, {"instance_id": instance_id}).first()
        if instance is None:
            raise NotFound(f"Instance {instance_id} does not exist.", instance_id=instance_id)
        return instance

    def _load(self, session: Session, instance: Instance):  # noqa: ANN202 - BpmnWorkflow
        if instance.status in ("completed", "cancelled"):
            raise Conflict(f"Instance {instance.id} is {instance.status}.", status=instance.status)
        spec, subs = self.specs.bundle(session, instance.definition_id, instance.called_definitions)
        # Read by the lock (see _LOCK); a caller that locked without it reads it now, still under the lock.
        state = instance.state
        assert state is not None, "every instance row is written with its state"
        return self.runtime.load(state, spec, subs)

    def _save(self, session: Session, instance: Instance, workflow: Any, result: StepResult, *,
              actor: str | None, ready_rows: list[HumanTask] | None = None) -> None:
        """Record a step: history, inbox rows, instance columns and state (``ready_rows``: the
        instance's human-task rows the caller already loaded under the lock, if any)."""
        new = inspect(instance).pending
        now = self.clock()
        choices = step_events.take_gateway_choices(workflow)
        for element in result.completed:
            payload = {"task_id": element.task_id, "type": element.element_type, "name": element.name,
                       "process": element.process_key}
            if element.has_result:
                payload["result"] = element.result  # the handler's result, for replay
            history.append(session, instance, "element_completed", at=now, actor=actor, element_id=element.element_id,
                           payload=payload)
            # timer_fired / message_received / gateway_flow_taken
            for type_, extra in step_events.after_completion(session, self.specs, instance, workflow, element, choices):
                history.append(session, instance, type_, at=now, actor=actor, element_id=element.element_id,
                               payload=extra)
        for element_id, error in result.business_errors:  # a handler's routed outcome, for audit and replay
            history.append(session, instance, "handler_business_error", at=now, actor=actor, element_id=element_id,
                           payload=error)
        if new:
            ready_rows = []  # nothing of a new instance is in the database yet
        self._sync_human_tasks(session, instance, workflow, now, ready_rows)
        status = self.runtime.status(workflow)
        if status == "running" and instance.status == "incident":
            status = "incident"  # an open incident (engine/incidents.py) holds until retried or resolved
        if result.error is not None:
            status = "error"
            instance.error = result.error
            history.append(session, instance, "instance_error", at=now, actor=actor,
                           element_id=result.error.get("element_id"), payload=result.error)
        elif status not in ("error", "incident"):
            instance.error = None
        previous = instance.status
        instance.status = status
        if result.status_label is not None:
            instance.status_label = result.status_label
        instance.data = self.runtime.current_data(workflow)
        previous_timer = instance.next_timer_at
        instance.next_timer_at = self.runtime.next_timer_at(workflow) if status == "running" else None
        if instance.next_timer_at is not None and instance.next_timer_at != previous_timer:
            self._announce_timer(session, instance.next_timer_at)
        self.slas.on_step(session, instance, workflow, result, now, new=new)  # SLA clocks (engine/sla.py)
        instance.updated_at = now
        instance.revision += 1
        if status == "completed" and previous != "completed":
            instance.ended_at = now
            history.append(session, instance, "instance_completed", at=now, actor=actor)
        instance.state = self.runtime.dump(workflow)

    def _announce_timer(self, session: Session, due: datetime) -> None:
        if not self.timer_listeners:
            return

        def announce(_session: Session) -> None:
            for listener in list(self.timer_listeners):
                try:
                    listener(due)
                except Exception:  # the commit stands; the scheduler's sweep catches up
                    log.exception("timer listener failed")

        event.listen(session, "after_commit", announce, once=True)

    def _sync_human_tasks(self, session: Session, instance: Instance, workflow: Any, now: datetime,
                          rows: list[HumanTask] | None = None) -> None:
        ready = {t.task_id: t for t in self.runtime.ready_human_tasks(workflow)}
        if rows is None:
            rows = list(session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "ready")))
        # Filtered again in Python: rows changed in this unit of work are not flushed yet.
        existing = {row.id: row for row in rows if row.status == "ready"}
        for task_id, row in existing.items():
            if task_id not in ready:
                row.status = "cancelled"  # interrupted (boundary event, cancel) without completion
        still_ready = [row for task_id, row in existing.items() if task_id in ready]
        for task_id, task in ready.items():
            if task_id in existing:
                continue
            roles = [r.strip() for r in task.properties.get("candidateRoles", "").split(";") if r.strip()]
            # assigneeVariable: the process variable naming the user who must do this task; the
            # requester who started the instance when the variable is "requester" and not set.
            variable = task.properties.get("assigneeVariable", "").strip()
            assignee = task.assignee or (instance.requester if variable == "requester" else None)
            spiff_task = self.runtime.find_task(workflow, task_id)
            row = HumanTask(
                id=task_id, instance_id=instance.id, definition_key=instance.definition_key,
                process_key=task.process_key, element_id=task.element_id, name=task.name, lane=task.lane,
                candidate_roles=roles, status="ready", created_at=now, assignee=assignee, due_at=task.due_at,
                priority=task_priority(task.properties, spiff_task.data if spiff_task is not None else {}),
            )
            session.add(row)
            for role in dict.fromkeys(r for r in roles if r != task.lane):
                session.add(TaskCandidate(task_id=task_id, role=role))
            still_ready.append(row)
            history.append(session, instance, "task_ready", at=now, element_id=task.element_id,
                           payload={"task_id": task_id, "lane": task.lane, "name": task.name})
        instance.ready_rows = sorted(still_ready, key=lambda r: (r.created_at, r.id))


__all__ = ["DeployResult", "WorkflowService", "checksum"]
