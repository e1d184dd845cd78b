"""Replay: re-execute an instance from its recorded history and check that it takes the same path.

The hash chain proves the record was not edited; replay proves the record is *consistent with
the procedure*: that the recorded inputs, run again on the definition version the instance ran
under, produce exactly the recorded elements, ready tasks, errors and end. A definition edited in
the database, a lost or forged event, or an engine upgrade that changes behaviour shows up as
the first divergence.

The record is read as a sequence of steps, one per transaction of :class:`WorkflowService`:

* ``instance_started`` (initial data, definition key and version, pinned called processes);
* ``task_completed`` (the task and the submitted data);
* ``instance_retried``;
* a timer step: ``element_completed`` events by the ``scheduler`` with no command before them;
* ``instance_cancelled``;
* the steps of async handlers (:func:`engine.invocations.handler_step_kind`): a recorded outcome
  fed to the task that waited for it since its ``handler_invoked`` event, an incident raised, an
  incident retried.

Each step is re-run at its recorded time on a :class:`~engine.clock.ManualClock`, so timers fire
where they fired. Handlers are never called: service tasks get the result recorded in their
``element_completed`` event, a business error routed to a boundary (``handler_business_error``) is
raised again, and a handler that failed fails again with its recorded message.
The workflow is serialized and loaded between steps, as the live service does, so replay also
exercises the state codec. Nothing is written.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import ManualClock
from .errors import NotFound
from .history import canonical
from .invocations import INCIDENT, INCIDENT_RETRY, RESUME, Deferred, handler_step_kind, rerun, started_tasks
from .models import Definition, Event, HumanTask, Instance
from .runtime import StepResult, WorkflowRuntime
from .specs import SpecStore

# Deployed definition ids by (key, version), per spec store (whose parsed specs are cached by id).
_DEFINITION_IDS: WeakKeyDictionary[SpecStore, dict[tuple[Any, Any], int]] = WeakKeyDictionary()

log = logging.getLogger(__name__)

COMMANDS = {"instance_started", "task_completed", "instance_retried", "instance_cancelled"}
SCHEDULER = "scheduler"


@dataclass
class Divergence:
    """Where the re-execution and the record part ways."""

    seq: int | None  # the recorded event at (or after) which they differ; None for the final state
    event_type: str | None
    expected: str  # what the record says
    found: str  # what the re-execution did
    message: str


@dataclass
class ReplayResult:
    instance_id: str
    steps: int = 0
    events: int = 0
    divergence: Divergence | None = None
    # Replay itself failed (an exception, not a disagreement with the record): the record is unproven.
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "errored"
        return "verified" if self.divergence is None else "diverged"


@dataclass
class _Step:
    kind: str  # start | complete | retry | cancel | timer
    at: Any
    command: Event | None
    events: list[Event] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        return (self.events[-1] if self.events else self.command).seq  # type: ignore[union-attr]


class _Diverged(Exception):
    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.message)
        self.divergence = divergence


class _RecordedFailure(Exception):
    """A handler failure as recorded; raised instead of calling the handler."""


class _RecordedBusinessError(Exception):
    """A handler's business error as recorded, raised again so that the diagram routes it the same way."""

    def __init__(self, recorded: dict[str, Any]) -> None:
        super().__init__(recorded.get("message", ""))
        self.bpmn_error_code = recorded.get("code")
        self.details = copy.deepcopy(recorded.get("details"))


class _Feeder:
    """Stands in for the handler registry: returns the results recorded for the current step."""

    def __init__(self) -> None:
        self.results: dict[str, list[Any]] = {}
        self.business: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[str, str] = {}
        self.missing: list[str] = []
        self.deferred: list[str | None] = []

    def load(self, step: _Step) -> None:
        self.results, self.business, self.failures, self.missing = {}, {}, {}, []
        self.deferred = [e.element_id for e in step.events if e.type == "handler_invoked"]  # async handlers
        for event in step.events:
            if event.type == "element_completed" and "result" in (event.payload or {}):
                self.results.setdefault(event.element_id or "", []).append(event.payload["result"])
            elif event.type == "handler_business_error":
                self.business.setdefault(event.element_id or "", []).append(event.payload or {})
            elif event.type == "instance_error" and event.element_id:
                self.failures[event.element_id] = str((event.payload or {}).get("message", "recorded failure"))

    def __call__(self, task: Any, name: str, params: dict[str, Any]) -> Any:
        element_id = task.task_spec.bpmn_id
        queue = self.results.get(element_id)
        if queue:
            return copy.deepcopy(queue.pop(0))
        routed = self.business.get(element_id)
        if routed:
            raise _RecordedBusinessError(routed.pop(0))
        if element_id in self.deferred:  # the handler ran later, in the worker: the task waits
            self.deferred.remove(element_id)
            raise Deferred(f"handler {name!r} ran in the worker")
        if element_id in self.failures:
            raise _RecordedFailure(self.failures[element_id])
        self.missing.append(element_id)
        raise _RecordedFailure(f"the record holds no result of handler '{name}' for {element_id}")


def steps_of(events: Sequence[Event]) -> list[_Step]:
    """Cut the history into the transactions that wrote it (see the module docstring)."""
    kinds = {"instance_started": "start", "task_completed": "complete", "instance_retried": "retry",
             "instance_cancelled": "cancel"}
    steps: list[_Step] = []
    for event in events:
        if event.type in COMMANDS:
            steps.append(_Step(kinds[event.type], event.at, event))
            continue
        handler_kind = handler_step_kind(event)  # the worker's and incident actions' steps
        if handler_kind is not None:
            steps.append(_Step(handler_kind, event.at, event))
            continue
        timer_starts = (event.type == "element_completed" and event.actor == SCHEDULER
                        and (not steps or steps[-1].kind != "timer" or steps[-1].at != event.at))
        if timer_starts or not steps:
            steps.append(_Step("timer", event.at, None))
        steps[-1].events.append(event)
    return steps


def replay_instance(session: Session, instance_id: str, *, runtime: WorkflowRuntime,
                    specs: SpecStore) -> ReplayResult:
    """Re-execute ``instance_id`` from its events and compare every step with the record."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.", instance_id=instance_id)
    return _replay_loaded(session, instance, recorded_events(session, instance_id), None, runtime, specs)


# Instances whose rows, events and ready tasks ``replay_many`` reads per round of queries.
_BATCH = 100


def replay_many(session: Session, instance_ids: Sequence[str], *, runtime: WorkflowRuntime,
                specs: SpecStore) -> Iterator[ReplayResult]:
    """Replay ``instance_ids`` in order, one result each, reading the database a batch at a time.

    ``cauce audit replay --all`` goes through here: three queries per hundred instances instead
    of three per instance, which on short histories cost as much as the replay itself. Raises
    :class:`NotFound` for the first unknown id of a batch, before replaying that batch.
    """
    ids = list(dict.fromkeys(instance_ids))
    for start in range(0, len(ids), _BATCH):
        batch = ids[start:start + _BATCH]
        instances = {i.id: i for i in session.scalars(select(Instance).where(Instance.id.in_(batch)))}
        missing = [i for i in batch if i not in instances]
        if missing:
            raise NotFound(f"Instance {missing[0]} does not exist.", instance_ids=missing)
        events: dict[str, list[Any]] = {i: [] for i in batch}
        for row in session.execute(select(Event.instance_id, *_COLUMNS).where(Event.instance_id.in_(batch))
                                   .order_by(Event.instance_id, Event.seq)):
            events[row.instance_id].append(row)
        waiting: dict[str, list[str]] = {i: [] for i in batch}
        for instance_id, element_id in session.execute(select(HumanTask.instance_id, HumanTask.element_id).where(
                HumanTask.instance_id.in_(batch), HumanTask.status == "ready")):
            waiting[instance_id].append(element_id)
        for instance_id in batch:
            yield _replay_loaded(session, instances[instance_id], events[instance_id], waiting[instance_id],
                                 runtime, specs)
        session.expunge_all()  # nothing of a batch is needed again


def _replay_loaded(session: Session, instance: Instance, events: list[Any], waiting: list[str] | None,
                   runtime: WorkflowRuntime, specs: SpecStore) -> ReplayResult:
    """Replay one instance whose events (and, if given, ready task elements) are already read."""
    result = ReplayResult(instance_id=instance.id, events=len(events))
    try:
        _Replayer(session, runtime, specs).run(instance, steps_of(events), result, waiting=waiting)
    except _Diverged as diverged:
        result.divergence = diverged.divergence
    except Exception as exc:  # a record replay cannot even run is reported, not raised
        log.exception("replaying instance %s failed", instance.id)
        result.error = f"{exc.__class__.__name__}: {exc}"
    return result


# The columns replay reads. Plain rows, not ORM objects: they are read-only here, and building
# and tracking an ORM object per event cost a tenth of a replay.
_COLUMNS = (Event.seq, Event.type, Event.at, Event.actor, Event.element_id, Event.payload)


def recorded_events(session: Session, instance_id: str) -> list[Any]:
    """The instance's events in order, as rows with the attributes of :class:`Event` replay reads."""
    return list(session.execute(select(*_COLUMNS).where(Event.instance_id == instance_id).order_by(Event.seq)))


class _Replayer:
    def __init__(self, session: Session, runtime: WorkflowRuntime, specs: SpecStore) -> None:
        self.session = session
        self.specs = specs
        self.clock = ManualClock()
        self.feeder = _Feeder()
        # A private runtime: same codec and calendars, but this clock and no handler calls.
        self.runtime = copy.copy(runtime)
        self.runtime.clock = self.clock
        self.runtime.script_engine = copy.copy(runtime.script_engine)
        self.runtime.script_engine._call_service = self.feeder
        self.workflow: Any = None
        self.spec: Any = None
        self.subs: dict[str, Any] = {}
        self.status = "running"
        # Ready user tasks of the re-execution, mapped to the recorded task id that stands for them.
        self.ready: dict[str, str] = {}
        self.by_recorded: dict[str, str] = {}

    def run(self, instance: Instance, steps: list[_Step], result: ReplayResult, until: int | None = None,
            waiting: list[str] | None = None) -> None:
        """Re-execute ``steps``; with ``until``, stop after the step that wrote event ``until``
        (when that is before the last step, the comparison with the instance as it stands, which
        describes the end, is skipped).
        ``waiting``: the element ids of the instance's ready task rows, if the caller read them."""
        if not steps or steps[0].kind != "start":
            first = steps[0].command or steps[0].events[0] if steps else None
            raise _Diverged(Divergence(first.seq if first else 1, first.type if first else None,
                                       "instance_started", first.type if first else "no events",
                                       "The history does not begin with instance_started."))
        for step in steps:
            if until is not None and (step.command or step.events[0]).seq > until:
                return
            if self.status in ("completed", "cancelled"):
                event = step.command or step.events[0]
                raise _Diverged(Divergence(event.seq, event.type, "no further events", event.type,
                                           f"The instance was already {self.status}."))
            self.clock.set(step.at)
            self.feeder.load(step)
            outcome = self._execute(step)
            result.steps += 1
            if outcome is not None:
                self._compare(step, outcome)
        self._compare_final(instance, result.events, waiting)

    # -- one step ----------------------------------------------------------------------------

    def _execute(self, step: _Step) -> StepResult | None:
        command = step.command
        if step.kind == "start":
            assert command is not None
            payload = command.payload
            definition_id = self._definition_id(payload.get("definition_key"), payload.get("definition_version"))
            if definition_id is None:
                raise _Diverged(Divergence(command.seq, command.type, f"{payload.get('definition_key')} "
                                           f"v{payload.get('definition_version')}", "no such definition",
                                           "The recorded definition version is not deployed."))
            called = {k: int(v) for k, v in (payload.get("called_definitions") or {}).items()}
            self.spec, self.subs = self.specs.bundle(self.session, definition_id, called)
            self.workflow = self.runtime.create(self.spec, self.subs, dict(payload.get("data") or {}))
            return self.runtime.advance(self.workflow)
        self._reload()
        if step.kind == "cancel":
            self.status = "cancelled"
            return None
        if step.kind == "retry":
            return self.runtime.retry_errors(self.workflow)
        if step.kind == "timer":
            return self.runtime.advance(self.workflow)
        if step.kind in (RESUME, INCIDENT, INCIDENT_RETRY):
            return self._handler_step(step)
        assert command is not None
        recorded_id = str(command.payload.get("task_id"))
        replay_id = self.by_recorded.get(recorded_id)
        task = self.runtime.find_task(self.workflow, replay_id) if replay_id else None
        if task is None or not task.task_spec.manual:
            raise _Diverged(Divergence(command.seq, command.type, f"{command.element_id} ready",
                                       "not ready", f"The record completes {command.element_id}, which the "
                                       "re-execution does not have waiting."))
        data = dict(command.payload.get("data") or {})

        def complete() -> None:
            task.data.update(data)
            task.run()

        return self.runtime.advance(self.workflow, complete)

    def _handler_step(self, step: _Step) -> StepResult | None:
        """A step of the worker or of an incident action (engine/invocations.py): a recorded
        handler outcome fed to its waiting task, or a change of the instance's status only."""
        if step.kind == INCIDENT:
            self.status = "incident"
            return None
        if step.kind == INCIDENT_RETRY:
            self.status = "running"
            return None
        command = step.command
        assert command is not None
        waiting = started_tasks(self.workflow, command.element_id)
        if not waiting:
            raise _Diverged(Divergence(command.seq, command.type, f"{command.element_id} waiting for its handler",
                                       "not waiting", f"The record feeds a handler result to {command.element_id}, "
                                       "which the re-execution does not have waiting."))
        self.status = "running"
        return self.runtime.advance(self.workflow, rerun(waiting[0]))

    def _definition_id(self, key: Any, version: Any) -> int | None:
        """The id of a deployed definition version, remembered per spec store: a version never
        changes once deployed, and ``replay --all`` looks the same few up thousands of times."""
        known = _DEFINITION_IDS.setdefault(self.specs, {})
        if (key, version) not in known:
            found = self.session.scalar(select(Definition.id).where(Definition.key == key,
                                                                     Definition.version == version))
            if found is None:
                return None
            known[(key, version)] = found
        return known[(key, version)]

    def _reload(self) -> None:
        """Serialize and load, as the live service does between transactions."""
        self.workflow = self.runtime.load(self.runtime.dump(self.workflow), self.spec, self.subs)

    def _compare(self, step: _Step, outcome: StepResult) -> None:
        recorded = [e for e in step.events if e.type == "element_completed"]
        found = outcome.completed
        for index in range(max(len(recorded), len(found))):
            want = recorded[index] if index < len(recorded) else None
            got = found[index] if index < len(found) else None
            want_key = (want.element_id, (want.payload or {}).get("process")) if want else None
            got_key = (got.element_id, got.process_key) if got else None
            if want_key != got_key:
                seq = want.seq if want else step.last_seq
                if got is not None and got.element_id in self.feeder.missing:
                    message = f"The record holds no handler result for {got.element_id}."
                else:
                    message = "The re-execution completed a different element than the record."
                raise _Diverged(Divergence(seq, "element_completed",
                                           want.element_id or "" if want else "no further element",
                                           got.element_id if got else "no further element", message))
        self._compare_ready(step)
        error = next((e for e in step.events if e.type == "instance_error"), None)
        if (error is None) != (outcome.error is None) or (
                error is not None and outcome.error is not None
                and error.element_id != outcome.error.get("element_id")):
            seq = error.seq if error else step.last_seq
            raise _Diverged(Divergence(seq, "instance_error",
                                       f"error at {error.element_id}" if error else "no error",
                                       f"error at {outcome.error.get('element_id')}: {outcome.error.get('message')}"
                                       if outcome.error else "no error",
                                       "The re-execution and the record disagree on a failure."))
        status = self.runtime.status(self.workflow)
        if outcome.error is not None:
            status = "error"
        completed = next((e for e in step.events if e.type == "instance_completed"), None)
        if (completed is not None) != (status == "completed"):
            raise _Diverged(Divergence(completed.seq if completed else step.last_seq, "instance_completed",
                                       "completed" if completed else "not completed", status,
                                       "The re-execution and the record disagree on the end of the instance."))
        if status == "running" and self.status == "incident" and step.kind != RESUME:
            status = "incident"  # an open incident holds whatever else the instance does
        self.status = status

    def _compare_ready(self, step: _Step) -> None:
        now_ready = {t.task_id: t for t in self.runtime.ready_human_tasks(self.workflow)}
        for gone in [t for t in self.ready if t not in now_ready]:
            self.by_recorded.pop(self.ready.pop(gone), None)
        new = [t for t in now_ready.values() if t.task_id not in self.ready]
        for event in (e for e in step.events if e.type == "task_ready"):
            match = next((t for t in new if t.element_id == event.element_id), None)
            if match is None:
                raise _Diverged(Divergence(event.seq, event.type, f"{event.element_id} ready",
                                           ", ".join(sorted(t.element_id for t in new)) or "no new task",
                                           "The record has a task become ready that the re-execution does not."))
            new.remove(match)
            recorded_id = str((event.payload or {}).get("task_id"))
            self.ready[match.task_id] = recorded_id
            self.by_recorded[recorded_id] = match.task_id
        if new:
            raise _Diverged(Divergence(step.last_seq, "task_ready", "no further task ready",
                                       ", ".join(sorted(t.element_id for t in new)),
                                       "The re-execution has a task ready that the record does not."))

    def _compare_final(self, instance: Instance, events: int, waiting: list[str] | None = None) -> None:
        """The end of the record must be the instance as it stands: a lost trailing step shows here."""
        if instance.last_event_seq != events:
            raise _Diverged(Divergence(None, None, f"{instance.last_event_seq} events",
                                       f"{events} events", "The instance recorded a different number of events "
                                       "than its history holds."))
        if instance.status != self.status:
            raise _Diverged(Divergence(None, None, f"status {instance.status}", f"status {self.status}",
                                       "The instance's status differs from the replayed one."))
        if waiting is None:
            waiting = list(self.session.scalars(select(HumanTask.element_id).where(
                HumanTask.instance_id == instance.id, HumanTask.status == "ready")))
        waiting = sorted(waiting)
        replayed = sorted(t.element_id for t in self.runtime.ready_human_tasks(self.workflow)) \
            if self.status not in ("completed", "cancelled") else []
        if waiting != replayed:
            raise _Diverged(Divergence(None, None, f"ready {', '.join(waiting) or 'nothing'}",
                                       f"ready {', '.join(replayed) or 'nothing'}",
                                       "The instance's ready tasks differ from the replayed ones."))
        data = self.runtime.current_data(self.workflow)
        if canonical(data) != canonical(instance.data):
            raise _Diverged(Divergence(None, None, canonical(instance.data)[:500], canonical(data)[:500],
                                       "The instance's data differs from the replayed data."))

