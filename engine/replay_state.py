"""The state of an instance just after one of its events, rebuilt by replay.

Replay (:mod:`engine.replay`) re-executes a history step by step and checks every step; stopping
it after the transaction that wrote event N leaves the workflow exactly as that transaction
committed it, which is the only state there was "just after event N".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from .errors import Conflict, InvalidInput, NotFound
from .models import Instance
from .replay import ReplayResult, _Diverged, _Replayer, recorded_events, steps_of
from .runtime import WorkflowRuntime
from .specs import SpecStore

_ASSIGNMENTS = ("task_claimed", "task_unclaimed", "task_assigned")


@dataclass
class StateAt:
    """An instance as it stood just after one recorded event, rebuilt by replay.

    A transaction writes several events and commits one state, so there is no state between the
    events of one transaction: the state after event N is the one the transaction that wrote N
    committed, whose events are ``first_seq`` to ``last_seq``.
    """

    instance_id: str
    seq: int
    event_type: str
    at: Any
    first_seq: int
    last_seq: int
    status: str
    data: dict[str, Any]
    ready_tasks: list[dict[str, Any]]
    active: list[dict[str, Any]]


def state_at(session: Session, instance_id: str, seq: int, *, runtime: WorkflowRuntime,
             specs: SpecStore) -> StateAt:
    """The state (status, data, ready tasks, active elements) just after event ``seq``.

    Raises :class:`NotFound` for an unknown instance, :class:`InvalidInput` for a ``seq`` outside
    the history, and :class:`Conflict` when the history diverges from the procedure before
    ``seq`` (a state built from a record the procedure does not reproduce would be fiction).
    """
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.", instance_id=instance_id)
    events = recorded_events(session, instance_id)
    if not 1 <= seq <= len(events):
        raise InvalidInput(f"Event {seq} is outside the history of instance {instance_id}, which has events 1 to "
                           f"{len(events)}.", at=seq, events=len(events))
    steps = steps_of(events)
    replayer = _Replayer(session, runtime, specs)
    try:
        replayer.run(instance, steps, ReplayResult(instance_id=instance_id, events=len(events)), until=seq)
    except _Diverged as diverged:
        d = diverged.divergence
        raise Conflict(f"The history of instance {instance_id} diverges from its procedure at event {d.seq}, "
                       f"before event {seq}: {d.message} Run POST /api/v1/instances/{instance_id}/replay for details.",
                       divergence_seq=d.seq, expected=d.expected, found=d.found) from None
    step = next(s for s in reversed(steps) if (s.command or s.events[0]).seq <= seq)
    event = events[seq - 1]
    first = (step.command or step.events[0]).seq
    return StateAt(instance_id=instance_id, seq=seq, event_type=event.type, at=event.at, first_seq=first,
                   last_seq=step.last_seq, status=replayer.status,
                   data=runtime.current_data(replayer.workflow),
                   ready_tasks=_ready_at(replayer, events[:seq]) if replayer.status not in ("completed", "cancelled")
                   else [],
                   active=_active(replayer.workflow) if replayer.status not in ("completed", "cancelled") else [])


def _ready_at(replayer: _Replayer, events: Sequence[Any]) -> list[dict[str, Any]]:
    """Ready user tasks under their recorded ids, with the assignee the history gives them so far."""
    requester = events[0].actor
    assignee: dict[str, str | None] = {}
    for event in events:
        if event.type in _ASSIGNMENTS:
            assignee[str((event.payload or {}).get("task_id"))] = (event.payload or {}).get("assignee")
    tasks = []
    for task in replayer.runtime.ready_human_tasks(replayer.workflow):
        recorded_id = replayer.ready.get(task.task_id, task.task_id)
        named = task.assignee or (requester if task.properties.get("assigneeVariable", "").strip() == "requester"
                                  else None)
        tasks.append({"task_id": recorded_id, "element_id": task.element_id, "name": task.name, "lane": task.lane,
                      "process_key": task.process_key, "assignee": assignee.get(recorded_id, named)})
    return tasks


_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def _active(workflow: Any) -> list[dict[str, Any]]:
    """Where the instance stands: every diagram element with a task ready, waiting, running or failed."""
    found: dict[Any, Any] = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.get_tasks(state=_ACTIVE):
            found.setdefault(task.id, task)
    active = []
    for task in found.values():
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None) is None:
            continue  # engine-internal tasks (start, boundary splits) are no element of the diagram
        active.append({"element_id": spec.bpmn_id, "name": spec.bpmn_name, "type": type(spec).__name__,
                       "process_key": task.workflow.spec.name, "state": TaskState.get_name(task.state)})
    return sorted(active, key=lambda a: (a["process_key"], a["element_id"], a["state"]))
