"""SLA clocks: started, paused, resumed and stopped as steps happen; thresholds fired on time.

Every step of an instance whose process (or a process it calls) has SLAs in ``bpmn/slas.yaml``
calls :meth:`SlaClocks.on_step` inside the step's transaction (``WorkflowService._save``), so a
clock, the inbox row it writes (``human_tasks.due_at`` and ``sla_state``) and its history events
(``sla_started``, ``sla_paused``, ``sla_resumed``, ``sla_met``) commit with the step or not at
all. Instances of processes without SLAs cost one set intersection and no query.

Thresholds (50 %, 75 %, 100 %) are reached while nothing happens to the instance, so they are
fired by the scheduler (:mod:`engine.sla_scheduler`) through :meth:`SlaClocks.fire_due`: each clock
stores when its next threshold falls (``next_check_at``, indexed), and firing re-reads it under the
instance's row lock, so a threshold fires once however many processes wake for it. A threshold
records ``sla_at_risk`` or ``sla_breached`` and runs its actions: ``notify`` through the same
handler a diagram's notify task calls (mail in the outbox, in the same transaction) and
``reassign`` (:mod:`engine.sla_actions`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from . import history, steps
from .calendars import Calendar, CalendarError
from .models import HumanTask, Instance
from .models.sla import SlaClock
from .sla_actions import run_action
from .sla_config import PAUSE_PROPERTY, SlaCatalog, SlaConfigError, SlaDefinition, Threshold
from .sla_time import due_time, shift_for_pause, threshold_time

if TYPE_CHECKING:
    from .runtime import StepResult
    from .service import WorkflowService

log = logging.getLogger(__name__)
CatalogSource = SlaCatalog | Callable[[], SlaCatalog]
#: Instance statuses after which no clock runs.
_ENDED = ("completed", "cancelled")


class SlaClocks:
    """The SLA side of a :class:`WorkflowService` (``service.slas``)."""

    def __init__(self, service: WorkflowService, catalog: CatalogSource | None = None) -> None:
        self.service = service
        self._source: CatalogSource = catalog if catalog is not None else SlaCatalog.load
        self._catalog: SlaCatalog | None = catalog if isinstance(catalog, SlaCatalog) else None
        # Called with the earliest new threshold time once a step commits it (the SLA scheduler
        # arms a wake-up); never inside the transaction, so a rollback announces nothing.
        self.listeners: list[Callable[[datetime], None]] = []

    @property
    def catalog(self) -> SlaCatalog:
        """The SLA definitions, loaded on first use. A broken ``bpmn/slas.yaml`` is logged and measures
        nothing rather than failing every step of every procedure; deploys refuse diagrams while it is
        broken (:func:`engine.sla_config.check_document`), so the problem does not go unnoticed."""
        if self._catalog is None:
            source = self._source
            try:
                self._catalog = source if isinstance(source, SlaCatalog) else source()
            except SlaConfigError:
                log.exception("SLA configuration not loaded: no SLA clocks are kept")
                self._catalog = SlaCatalog()
        return self._catalog

    @catalog.setter
    def catalog(self, value: SlaCatalog) -> None:
        self._catalog = value

    def calendar(self, name: str) -> Calendar:
        return self.service.runtime.timer_calendars.registry.get(name)

    # -- steps --------------------------------------------------------------------------------

    def on_step(self, session: Session, instance: Instance, workflow: Any, result: StepResult,
                now: datetime, *, new: bool) -> None:
        """Start, pause, resume and stop the instance's clocks for the step just run."""
        catalog = self.catalog
        if not catalog:
            return
        keys = catalog.process_keys() & ({instance.definition_key} | set(instance.called_definitions or {}))
        if not keys:
            return
        clocks = [] if new else list(session.scalars(select(SlaClock).where(
            SlaClock.instance_id == instance.id, SlaClock.stopped_at.is_(None))))
        ready = [r for r in (instance.ready_rows or []) if r.status == "ready"]
        completed_elements = {(c.process_key, c.element_id) for c in result.completed}
        completed_tasks = {c.task_id for c in result.completed}
        ready_ids = {r.id for r in ready}
        pauses: set[tuple[str, str]] | None = None
        for clock in clocks:
            definition = self._definition(clock)
            if clock.scope == "task":
                if clock.task_id not in ready_ids:
                    self._stop(session, instance, clock, now, completed=clock.task_id in completed_tasks)
                continue
            stop_at = definition.stop_at if definition is not None else ()
            if instance.status == "completed" or any((clock.definition_key, e) in completed_elements for e in stop_at):
                self._stop(session, instance, clock, now, completed=True)
                continue
            if pauses is None:
                pauses = self._pausing_tasks(workflow, ready)
            self._pause_or_resume(session, instance, clock, definition, pauses, now)
        if instance.status in _ENDED:
            self._announce(session, clocks)
            return
        data = instance.data or {}
        open_names = {c.sla_name for c in clocks if c.stopped_at is None and c.scope == "instance"}
        measured_tasks = {c.task_id for c in clocks if c.stopped_at is None}
        for key in sorted(keys):
            for definition in catalog.for_process(key):
                if not definition.applies(data):
                    continue
                if definition.scope == "task":
                    for row in ready:
                        measured = (row.process_key, row.element_id) == (key, definition.element)
                        if measured and row.id not in measured_tasks:
                            clocks.append(self._start(session, instance, definition, data, now, row=row))
                elif definition.name not in open_names and self._starts(definition, instance, completed_elements, new):
                    clock = self._start(session, instance, definition, data, now)
                    if clock is None:
                        continue
                    clocks.append(clock)
                    if pauses is None:
                        pauses = self._pausing_tasks(workflow, ready)
                    self._pause_or_resume(session, instance, clock, definition, pauses, now)
        self._announce(session, [c for c in clocks if c is not None])

    def _starts(self, definition: SlaDefinition, instance: Instance, completed: set[tuple[str, str]],
                new: bool) -> bool:
        if definition.start_after:
            return any((definition.process_key, e) in completed for e in definition.start_after)
        return new and definition.process_key == instance.definition_key

    def _definition(self, clock: SlaClock) -> SlaDefinition | None:
        return next((d for d in self.catalog.for_process(clock.definition_key) if d.name == clock.sla_name), None)

    def _start(self, session: Session, instance: Instance, definition: SlaDefinition, data: dict[str, Any],
               now: datetime, *, row: HumanTask | None = None) -> SlaClock | None:
        chosen = definition.target_for(data)
        if chosen is None:
            return None  # the level is not known yet: the clock starts at a later step that knows it
        level, target = chosen
        started = row.created_at if row is not None else now
        try:
            due = due_time(self.calendar(definition.calendar), started, target)
        except (CalendarError, ValueError) as exc:  # a measurement must never fail the business step
            log.error("SLA %s of %s not started for instance %s: %s", definition.name, definition.process_key,
                      instance.id, exc)
            return None
        clock = SlaClock(
            id=str(uuid.uuid4()), instance_id=instance.id, definition_key=definition.process_key,
            sla_name=definition.name, metric=definition.metric, scope=definition.scope,
            element_id=row.element_id if row is not None else None, task_id=row.id if row is not None else None,
            level=level[:100] if level else None, target=target, calendar=definition.calendar, state="on_track",
            started_at=started, due_at=due, last_threshold=0, paused_seconds=0,
        )
        clock.next_check_at = self._next_check(clock, definition, now)
        session.add(clock)
        if row is not None:
            row.due_at, row.sla_state = clock.due_at, clock.state
        history.append(session, instance, "sla_started", at=now, element_id=clock.element_id, payload={
            "clock_id": clock.id, "sla": clock.sla_name, "metric": clock.metric, "scope": clock.scope,
            "task_id": clock.task_id, "level": clock.level, "target": target, "calendar": clock.calendar,
            "due_at": clock.due_at.isoformat()})
        return clock

    def _stop(self, session: Session, instance: Instance, clock: SlaClock, now: datetime, *, completed: bool) -> None:
        """End a clock: its stop condition happened (``completed``: met, or breached if late), or
        its task or instance went away without it (it keeps the state it had)."""
        if clock.paused_since is not None:
            self._resume(clock, now)
        clock.stopped_at, clock.next_check_at = now, None
        if completed:
            if clock.state == "breached" or now > clock.due_at:
                if clock.breached_at is None:  # late, and no scheduler saw the due time pass
                    clock.breached_at = clock.due_at
                    history.append(session, instance, "sla_breached", at=now, element_id=clock.element_id,
                                   payload=self._payload(clock, 100, []))
                clock.state = "breached"
            else:
                clock.state = "met"
                history.append(session, instance, "sla_met", at=now, element_id=clock.element_id,
                               payload=self._payload(clock, clock.last_threshold, []))
        else:
            clock.state = _running_state(clock)
        self._sync_task(session, clock)

    def _pausing_tasks(self, workflow: Any, ready: Iterable[HumanTask]) -> set[tuple[str, str]]:
        """(process, element) of the ready tasks that wait on the requester: the diagram marks
        them with the property ``slaPause``."""
        if not ready:
            return set()
        marked = set()
        for task in self.service.runtime.ready_human_tasks(workflow):
            if task.properties.get(PAUSE_PROPERTY, "").strip().lower() in ("true", "requester", "1", "yes", "sí"):
                marked.add((task.process_key, task.element_id))
        return marked

    def _pause_or_resume(self, session: Session, instance: Instance, clock: SlaClock,
                         definition: SlaDefinition | None, marked: set[tuple[str, str]], now: datetime) -> None:
        ready = [(r.process_key, r.element_id) for r in (instance.ready_rows or []) if r.status == "ready"]
        configured = {(clock.definition_key, e) for e in (definition.pause_while if definition else ())}
        waiting = any(item in marked or item in configured for item in ready)
        if waiting and clock.paused_since is None:
            clock.paused_since, clock.state, clock.next_check_at = now, "paused", None
            history.append(session, instance, "sla_paused", at=now, element_id=clock.element_id,
                           payload=self._payload(clock, clock.last_threshold, []))
        elif not waiting and clock.paused_since is not None:
            self._resume(clock, now)
            clock.next_check_at = self._next_check(clock, definition, now)
            history.append(session, instance, "sla_resumed", at=now, element_id=clock.element_id,
                           payload=self._payload(clock, clock.last_threshold, []))

    def _resume(self, clock: SlaClock, now: datetime) -> None:
        assert clock.paused_since is not None
        clock.due_at, seconds = shift_for_pause(self.calendar(clock.calendar), clock.due_at, clock.paused_since, now)
        clock.paused_seconds = (clock.paused_seconds or 0) + seconds
        clock.paused_since = None
        clock.state = _running_state(clock)

    # -- thresholds ---------------------------------------------------------------------------

    def fire_due(self, *, limit: int = 100) -> int:
        """Reach every threshold that is due, oldest first; returns how many clocks moved."""
        now = self.service.clock()
        uow = self.service.uow
        with uow.read() as session:
            due = list(session.execute(
                select(SlaClock.id, SlaClock.instance_id).where(SlaClock.next_check_at <= now)
                .order_by(SlaClock.next_check_at).limit(limit)))
        fired = 0
        for clock_id, instance_id in due:
            try:
                with uow.write() as session:
                    instance = session.scalars(select(Instance).where(Instance.id == instance_id)
                                               .with_for_update(of=Instance)).first()
                    clock = session.get(SlaClock, clock_id)
                    if (instance is None or clock is None or clock.next_check_at is None
                            or clock.next_check_at > now or clock.stopped_at is not None):
                        continue  # another process got there first, or the step moved it
                    if instance.status in _ENDED:  # cancelled (cancel runs no step): the clock ends as it was
                        self._stop(session, instance, clock, now, completed=False)
                    else:  # running, or stuck in error / incident: the deadline runs on
                        with steps.step(session, instance, now):  # notify writes in this transaction
                            self._reach(session, instance, clock, now)
                    instance.revision += 1  # the inbox rows it shows changed
                    history.write_pending(session)
                    session.commit()
                    fired += 1
            except Exception:  # one broken clock must not hold back the others
                log.exception("firing SLA clock %s of instance %s failed", clock_id, instance_id)
        return fired

    def earliest_check_at(self) -> datetime | None:
        """When the SLA scheduler must wake next."""
        with self.service.uow.read() as session:
            return session.scalar(select(func.min(SlaClock.next_check_at)))

    def _reach(self, session: Session, instance: Instance, clock: SlaClock, now: datetime) -> None:
        definition = self._definition(clock)
        calendar = self.calendar(clock.calendar)
        for threshold in _thresholds(definition):
            if threshold.percent <= clock.last_threshold:
                continue
            when = threshold_time(calendar, clock.started_at, clock.due_at, clock.paused_seconds,
                                  threshold.percent, now)
            if when > now:
                break
            outcomes = [run_action(self.service, session, instance, clock, action, threshold.percent, index)
                        for index, action in enumerate(threshold.actions)]
            clock.last_threshold = threshold.percent
            if threshold.percent >= 100:
                clock.state, clock.breached_at = "breached", clock.due_at
                kind = "sla_breached"
            else:
                clock.state = "at_risk"
                kind = "sla_at_risk"
            history.append(session, instance, kind, at=now, actor="scheduler", element_id=clock.element_id,
                           payload=self._payload(clock, threshold.percent, outcomes))
        clock.next_check_at = self._next_check(clock, definition, now)
        self._sync_task(session, clock)

    def _next_check(self, clock: SlaClock, definition: SlaDefinition | None, now: datetime) -> datetime | None:
        upcoming = [t for t in _thresholds(definition) if t.percent > clock.last_threshold]
        if not upcoming or clock.paused_since is not None:
            return None
        return threshold_time(self.calendar(clock.calendar), clock.started_at, clock.due_at, clock.paused_seconds,
                              upcoming[0].percent, now)

    # -- helpers ------------------------------------------------------------------------------

    def _payload(self, clock: SlaClock, percent: int, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
        payload: dict[str, Any] = {"clock_id": clock.id, "sla": clock.sla_name, "metric": clock.metric,
                                   "task_id": clock.task_id, "percent": percent, "state": clock.state,
                                   "due_at": clock.due_at.isoformat()}
        if outcomes:
            payload["actions"] = outcomes
        return payload

    def _sync_task(self, session: Session, clock: SlaClock) -> None:
        """Show the clock on its inbox row (``human_tasks.sla_state``, ``due_at``)."""
        if clock.task_id is None:
            return
        row = session.get(HumanTask, clock.task_id)
        if row is not None:
            row.sla_state, row.due_at = clock.state, clock.due_at

    def _announce(self, session: Session, clocks: list[SlaClock]) -> None:
        times = [c.next_check_at for c in clocks if c.next_check_at is not None]
        if not times or not self.listeners:
            return
        earliest = min(times)

        def announce(_session: Session) -> None:
            for listener in list(self.listeners):
                try:
                    listener(earliest)
                except Exception:  # the commit stands; the SLA sweep catches up
                    log.exception("SLA listener failed")

        event.listen(session, "after_commit", announce, once=True)

    # -- queries ------------------------------------------------------------------------------

    def list_clocks(self, *, state: str | None = None, instance_id: str | None = None,
                    definition: str | None = None, metric: str | None = None, scope: str | None = None,
                    page: int = 1, page_size: int = 50) -> tuple[list[SlaClock], int]:
        """Clocks, soonest due first (``GET /api/v1/sla``)."""
        query = select(SlaClock)
        if state:
            query = query.where(SlaClock.state == state)
        if instance_id:
            query = query.where(SlaClock.instance_id == instance_id)
        if definition:
            query = query.where(SlaClock.definition_key == definition)
        if metric:
            query = query.where(SlaClock.metric == metric)
        if scope:
            query = query.where(SlaClock.scope == scope)
        with self.service.uow.read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(session.scalars(query.order_by(SlaClock.due_at, SlaClock.id)
                                        .offset((page - 1) * page_size).limit(page_size)))
        return rows, total

    def instance_clocks(self, instance_id: str) -> list[SlaClock]:
        with self.service.uow.read() as session:
            return list(session.scalars(select(SlaClock).where(SlaClock.instance_id == instance_id)
                                        .order_by(SlaClock.started_at, SlaClock.id)))


def _thresholds(definition: SlaDefinition | None) -> tuple[Threshold, ...]:
    # A clock whose SLA was removed from the configuration keeps its due time and its breach.
    return definition.thresholds if definition is not None else (Threshold(100),)


def _running_state(clock: SlaClock) -> str:
    if clock.last_threshold >= 100:
        return "breached"
    return "at_risk" if clock.last_threshold > 0 else "on_track"


__all__ = ["SlaClocks"]
