"""What the report knows about each instance, read from history and task rows only.

Loading a workflow to compute an indicator would cost a deserialization per instance and would
answer with the *current* state rather than what was recorded; the history and the inbox rows
already hold every submitted form, handler result, ready/complete time and lane. Three queries
read them for all selected instances at once, so a report costs the same whatever the number of
instances' steps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.models import Event, HumanTask, Instance

from .sources import Source, SourceTable

MISSING = "(sin dato)"


@dataclass(frozen=True)
class TaskFact:
    process: str
    element: str
    lane: str | None
    roles: frozenset[str]  # lane and candidate roles
    status: str
    created_at: datetime
    completed_at: datetime | None
    submitted: dict[str, Any] | None


@dataclass(frozen=True)
class ElementFact:
    process: str | None
    element: str
    at: datetime
    result: Any


@dataclass
class InstanceFacts:
    id: str
    definition_key: str
    status: str
    status_label: str | None
    started_at: datetime
    tasks: list[TaskFact] = field(default_factory=list)  # in the order they became ready
    elements: list[ElementFact] = field(default_factory=list)  # recorded order


def select_instances(definitions: set[str] | None, started_from: datetime | None,
                     started_to: datetime | None) -> Select[tuple[str]]:
    """Ids of the instances a report covers: by definition key and start time (``to`` exclusive)."""
    query = select(Instance.id)
    if definitions is not None:
        query = query.where(Instance.definition_key.in_(sorted(definitions)))
    if started_from is not None:
        query = query.where(Instance.started_at >= started_from)
    if started_to is not None:
        query = query.where(Instance.started_at < started_to)
    return query


def load_facts(session: Session, ids: Select[tuple[str]], element_ids: set[str]) -> dict[str, InstanceFacts]:
    """The facts of the selected instances; ``element_ids``: the elements whose completion matters."""
    subquery = ids.scalar_subquery()
    facts: dict[str, InstanceFacts] = {}
    rows = session.execute(select(Instance.id, Instance.definition_key, Instance.status, Instance.status_label,
                                  Instance.started_at).where(Instance.id.in_(subquery)))
    for iid, key, status, label, started in rows:
        facts[iid] = InstanceFacts(id=iid, definition_key=key, status=status, status_label=label, started_at=started)
    tasks = session.execute(
        select(HumanTask.instance_id, HumanTask.process_key, HumanTask.element_id, HumanTask.lane,
               HumanTask.candidate_roles, HumanTask.status, HumanTask.created_at, HumanTask.completed_at,
               HumanTask.submitted)
        .where(HumanTask.instance_id.in_(subquery)).order_by(HumanTask.created_at, HumanTask.id))
    for iid, process, element, lane, candidates, status, created, completed, submitted in tasks:
        roles = frozenset([lane] if lane else []) | frozenset(candidates or [])
        facts[iid].tasks.append(TaskFact(process, element, lane, roles, status, created, completed, submitted))
    if element_ids:
        events = session.execute(
            select(Event.instance_id, Event.element_id, Event.at, Event.payload)
            .where(Event.instance_id.in_(subquery), Event.type == "element_completed",
                   Event.element_id.in_(sorted(element_ids)))
            .order_by(Event.instance_id, Event.seq))
        for iid, element, at, payload in events:
            payload = payload or {}
            facts[iid].elements.append(ElementFact(payload.get("process"), element, at, payload.get("result")))
    return facts


def elements_named(table: SourceTable) -> set[str]:
    """Every element id whose completion the table reads (handler results, ends reached, closings)."""
    names: set[str] = set()
    for sources in table.dimensions.values():
        for source in sources:
            if source.kind == "result":
                names.add(source.name)
            elif source.kind == "reached":
                names.update(source.name)
    for level in table.levels:
        names.update(c.element for c in level.closes)
    return names


def _raw(source: Source, facts: InstanceFacts) -> Any:
    if source.kind == "field":
        value = None
        for task in facts.tasks:  # the last submission wins (a loop may ask again)
            if (task.status == "completed" and task.submitted and source.name in task.submitted
                    and source.process in (None, task.process) and source.element in (None, task.element)):
                value = task.submitted[source.name]
        return value
    if source.kind == "result":
        value = None
        for element in facts.elements:
            if element.element == source.name and source.process in (None, element.process):
                value = element.result
        if source.key is not None:
            return value.get(source.key) if isinstance(value, dict) else None
        return value
    if source.kind == "reached":
        hit = any(e.element in source.name and source.process in (None, e.process) for e in facts.elements)
        return source.value if hit else None
    if source.kind == "open_in_process":
        open_processes = [t.process for t in facts.tasks if t.status == "ready" and t.process in source.name]
        return source.name[open_processes[-1]] if open_processes else None
    if source.kind == "status_label":
        return facts.status_label
    if source.kind == "instance_status":
        return source.name.get(facts.status)
    raise AssertionError(source.kind)  # the loader admits no other kind


def dimension_value(sources: tuple[Source, ...], facts: InstanceFacts) -> str:
    """The first value a source yields (mapped and filtered), else :data:`MISSING`."""
    for source in sources:
        raw = _raw(source, facts)
        if raw is None or raw == "" or isinstance(raw, dict | list):
            continue
        value = source.map.get(str(raw), str(raw))
        if source.only and value not in source.only:
            continue
        return value
    return MISSING


def by_definition(facts: dict[str, InstanceFacts]) -> dict[str, list[InstanceFacts]]:
    grouped: dict[str, list[InstanceFacts]] = defaultdict(list)
    for fact in facts.values():
        grouped[fact.definition_key].append(fact)
    return grouped
