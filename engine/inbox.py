"""The staff inbox: who may see and work which human task, claims, assignment, comments.

The inbox is read from ``human_tasks`` alone, never from workflows. A task is someone's when it is
assigned to them, or when it is unassigned and they hold its lane's role or one of its candidate
roles: its ``audience``. The caller's ready tasks are one branch per audience they belong to plus
one for their own, each an index range already in the requested order, merged and cut to the page;
the total is counted from the same indexes, and only the page's rows, instances, definitions and
forms are read afterwards. Claims and assignments lock the instance row, as completing does, so a
claim and a completion cannot cross.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from . import history
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .identity import Actor, IdentityService
from .models import AUDIENCE_SEPARATOR, Definition, HumanTask, Instance, TaskCandidate, TaskComment
from .priorities import LEVELS
from .roles import RoleCatalog
from .specs import SpecStore
from .uow import UnitOfWork

#: Sort keys of the inbox, most significant first; ``-x`` is the exact reverse of ``x``. Tasks
#: without a due date count as due last (``due_missing``), tasks without a priority as the lowest.
SORT_KEYS = {
    "created": ("created_at", "id"),
    "due": ("due_missing", "due_at", "created_at", "id"),
    "priority": ("priority_rank", "due_missing", "due_at", "created_at", "id"),
}
SORTS = (*SORT_KEYS, *(f"-{name}" for name in SORT_KEYS))
SLA_STATES = ("on_track", "at_risk", "breached", "met", "paused")
#: 'ready' written into the SQL, not bound: SQLite uses a partial index (``WHERE status = 'ready'
#: AND assignee IS NULL``) without reading the table only when it sees the very same terms.
READY = literal_column("'ready'")
#: What ``_present`` reads of a task (plain rows: cheaper than loading ORM objects).
PAGE_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.name, HumanTask.element_id, HumanTask.process_key,
                HumanTask.status, HumanTask.lane, HumanTask.candidate_roles, HumanTask.assignee, HumanTask.created_at,
                HumanTask.due_at, HumanTask.priority, HumanTask.sla_state, HumanTask.completed_at,
                HumanTask.completed_by)
#: More audiences than this in one inbox are read as one range and sorted, instead of merged.
MAX_BRANCHES = 24


def _order(columns: Any, sort: str) -> list[ColumnElement[Any]]:
    """ORDER BY terms of a sort over ``columns`` (a table's or a subquery's ``.c``)."""
    keys = [getattr(columns, key) for key in SORT_KEYS[sort.lstrip("-")]]
    return [key.desc() for key in keys] if sort.startswith("-") else [key.asc() for key in keys]


@dataclass
class TaskQuery:
    all: bool = False
    assignee: str | None = None  # "me", "none" or a user name
    role: str | None = None  # a role id or manual name
    definition: str | None = None
    instance: str | None = None
    status: str = "ready"
    due_before: datetime | None = None
    overdue: bool = False
    priority: str | None = None  # critical | high | medium | low
    sla_state: str | None = None
    sort: str = "created"
    page: int = 1
    page_size: int = 50


def holds_role(actor: Actor, row: HumanTask) -> bool:
    """Whether the actor holds the task's lane role or one of its candidate roles (a task in no
    lane, which the manual's diagrams never have, is open to every member of staff)."""
    if not row.lane and not row.candidate_roles:
        return actor.is_staff
    return row.lane in actor.staff_roles or bool(set(row.candidate_roles or ()) & actor.staff_roles)


def may_work(actor: Actor, row: HumanTask) -> bool:
    """Assigned to the actor, or unassigned with a role the actor holds."""
    if row.assignee is not None:
        return row.assignee == actor.name
    return holds_role(actor, row)


@functools.cache
def _audience_scan() -> Select[tuple[str]]:
    """The distinct audiences of the unassigned ready tasks, by a loose index scan (a recursive
    query that asks the open-task index for the next audience after the previous one). Built once:
    it has no parameters."""
    open_task = and_(HumanTask.status == READY, HumanTask.assignee.is_(None))
    first = select(func.min(HumanTask.audience)).where(open_task).scalar_subquery()
    found = select(first.label("audience")).cte("audiences", recursive=True)
    following = select(func.min(HumanTask.audience)).where(
        open_task, HumanTask.audience > found.c.audience).scalar_subquery()
    found = found.union_all(select(following).where(found.c.audience.is_not(None)))
    return select(found.c.audience).where(found.c.audience.is_not(None))


class InboxService:
    def __init__(self, uow: UnitOfWork, specs: SpecStore, catalog: RoleCatalog, identity: IdentityService,
                 clock: Callable[[], datetime]) -> None:
        self.uow = uow
        self.specs = specs
        self.catalog = catalog
        self.identity = identity
        self.clock = clock

    # -- reading -----------------------------------------------------------------------------

    def list_tasks(self, actor: Actor, query: TaskQuery) -> tuple[list[dict[str, Any]], int]:
        """A page of tasks as the inbox shows them, and how many match in all."""
        if query.all and not actor.may_read_all():
            raise Forbidden("Only an auditor or an admin may list everyone's tasks (all=true).")
        role = self.catalog.resolve(query.role).name if query.role else None
        by_role = (or_(HumanTask.lane == role, HumanTask.id.in_(
            select(TaskCandidate.task_id).where(TaskCandidate.role == role))) if role else None)
        filters = self._filters(query)
        if not query.all and query.status == "ready":
            return self._list_ready(actor, query, filters, role, by_role)
        conditions = [HumanTask.status == query.status, *filters]
        if not query.all:
            conditions.append(self._scope(actor, query.status))
        if query.assignee == "me":
            conditions.append(HumanTask.assignee == actor.name)
        elif query.assignee == "none":
            conditions.append(HumanTask.assignee.is_(None))
        elif query.assignee:
            conditions.append(HumanTask.assignee == query.assignee)
        if by_role is not None:
            conditions.append(by_role)
        where = and_(*conditions)
        with self.uow.read() as session:
            total = session.scalar(select(func.count()).select_from(HumanTask).where(where)) or 0
            rows = list(session.execute(select(*PAGE_COLUMNS).where(where).order_by(*_order(HumanTask, query.sort))
                                        .offset((query.page - 1) * query.page_size).limit(query.page_size)))
            return self._present(session, rows), total

    def _filters(self, query: TaskQuery) -> list[ColumnElement[bool]]:
        """The conditions of the filters that do not decide whose tasks are listed."""
        filters: list[ColumnElement[bool]] = []
        if query.definition:
            filters.append(HumanTask.definition_key == query.definition)
        if query.instance:
            filters.append(HumanTask.instance_id == query.instance)
        if query.due_before is not None:
            filters.append(HumanTask.due_at < query.due_before)
        if query.overdue:
            filters.append(HumanTask.due_at < self.clock())
        if query.priority:
            # The rank, not the label: it is the column the priority index holds.
            filters.append(HumanTask.priority_rank == LEVELS.index(query.priority))
        if query.sla_state:
            filters.append(HumanTask.sla_state == query.sla_state)
        return filters

    def _list_ready(self, actor: Actor, query: TaskQuery, filters: list[ColumnElement[bool]], role: str | None,
                    by_role: ColumnElement[bool] | None) -> tuple[list[dict[str, Any]], int]:
        """The caller's ready tasks: one branch for those assigned to them, one per audience (set of
        roles, ``HumanTask.audience``) they belong to for the unassigned ones.

        Each branch is an equality range of an index already in the sort's order, read only as
        far as the page's end (an inner ORDER BY and LIMIT, which is also what lets PostgreSQL
        merge the branches with a Merge Append instead of sorting them all); the total is a sum of
        counts from the same indexes. A task has one audience, so the branches never overlap.
        """
        sort_columns = SORT_KEYS[query.sort.lstrip("-")]
        columns = [getattr(HumanTask, c) for c in dict.fromkeys(("id", *sort_columns))]
        offset = (query.page - 1) * query.page_size
        branches: list[ColumnElement[bool]] = []
        if query.assignee in (None, "me", actor.name):
            branches.append(and_(HumanTask.status == "ready", HumanTask.assignee == actor.name, *filters,
                                 *([by_role] if by_role is not None else [])))
        with self.uow.read() as session:
            if query.assignee in (None, "none"):
                audiences = self._audiences(session, actor, role)
                groups = [[a] for a in audiences] if len(audiences) <= MAX_BRANCHES else [audiences]
                branches += [and_(HumanTask.status == READY, HumanTask.assignee.is_(None),
                                  HumanTask.audience == group[0] if len(group) == 1 else HumanTask.audience.in_(group),
                                  *filters) for group in groups if group]
            if not branches:
                return [], 0
            if len(branches) == 1:
                page_query = (select(HumanTask.id).where(branches[0]).order_by(*_order(HumanTask, query.sort))
                              .offset(offset).limit(query.page_size))
            else:
                merged = union_all(*(
                    select(*limited.c) for limited in (
                        select(*columns).where(branch).order_by(*_order(HumanTask, query.sort))
                        .limit(offset + query.page_size).subquery() for branch in branches))).subquery()
                page_query = (select(merged.c.id).order_by(*_order(merged.c, query.sort))
                              .offset(offset).limit(query.page_size))
            ids = list(session.scalars(page_query))
            if len(ids) < query.page_size and (ids or offset == 0):
                total = offset + len(ids)  # the last page: no need to count
            else:
                # A sum of counts, each from its branch's index alone.
                total = sum(session.execute(select(*(
                    select(func.count()).select_from(HumanTask).where(branch).scalar_subquery()
                    for branch in branches))).one())
            found = {r.id: r for r in session.execute(select(*PAGE_COLUMNS).where(HumanTask.id.in_(ids)))}
            return self._present(session, [found[i] for i in ids]), total

    def _audiences(self, session: Session, actor: Actor, role: str | None) -> list[str]:
        """The audiences of unassigned ready tasks that the actor belongs to (with ``role``, those
        that include it).

        The scan costs one index probe per distinct audience (a few dozen: the lanes and candidate
        roles of the diagrams), not one per task.
        """
        mine = actor.staff_roles if role is None else actor.staff_roles & {role}
        out = []
        for audience in session.scalars(_audience_scan()):
            roles = set(audience.split(AUDIENCE_SEPARATOR)) if audience else set()
            if roles & mine or (not roles and role is None and actor.is_staff):
                out.append(audience)
        return out

    def get_task(self, actor: Actor, task_id: str) -> dict[str, Any]:
        with self.uow.read() as session:
            row = self._row(session, task_id)
            return self._present(session, [row])[0]

    def form(self, task_id: str) -> dict[str, Any]:
        """The task's form as JSON Schema (an empty object schema when the task has no form)."""
        with self.uow.read() as session:
            row = self._row(session, task_id)
            instance = session.get(Instance, row.instance_id)
            assert instance is not None
            form = self.specs.form_for(session, instance.definition_id, instance.called_definitions,
                                       row.process_key, row.element_id)
        if form is None:
            return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {}}
        return form.to_json_schema()

    def comments(self, task_id: str) -> list[TaskComment]:
        with self.uow.read() as session:
            self._row(session, task_id)
            return list(session.scalars(select(TaskComment).where(TaskComment.task_id == task_id)
                                        .order_by(TaskComment.id)))

    # -- writing -----------------------------------------------------------------------------

    def claim(self, actor: Actor, task_id: str) -> dict[str, Any]:
        """Take an unassigned task one holds the role of; 409 if someone else holds it."""
        with self.uow.write() as session:
            instance, row = self._lock(session, task_id)
            if row.assignee == actor.name:
                return self._present(session, [row])[0]
            if row.assignee is not None:
                raise Conflict(f"Task {task_id} is already claimed by {row.assignee}.", assignee=row.assignee)
            if not holds_role(actor, row):
                raise Forbidden(f"Task {task_id} belongs to {row.lane!r}; you do not hold that role.")
            self._set_assignee(session, instance, row, actor.name, actor, "task_claimed")
            return self._present(session, [row])[0]

    def unclaim(self, actor: Actor, task_id: str) -> dict[str, Any]:
        """Put a task back in its lane; its holder, an admin or someone with its role may."""
        with self.uow.write() as session:
            instance, row = self._lock(session, task_id)
            if row.assignee is None:
                return self._present(session, [row])[0]
            if row.assignee != actor.name and not actor.is_admin and not holds_role(actor, row):
                raise Forbidden(f"Task {task_id} is held by {row.assignee}; only they, an admin or someone "
                                "with its role may release it.")
            self._set_assignee(session, instance, row, None, actor, "task_unclaimed")
            return self._present(session, [row])[0]

    def assign(self, actor: Actor, task_id: str, user: str) -> dict[str, Any]:
        """Give a task to a user who may do it, by an admin or someone holding the task's role."""
        target = self.identity.find_actor(user)
        if target is None:
            raise InvalidInput(f"No active user is called {user!r}.", fields={"user": ["Usuario desconocido."]})
        with self.uow.write() as session:
            instance, row = self._lock(session, task_id)
            if not actor.is_admin and not holds_role(actor, row):
                raise Forbidden(f"Only an admin or someone with the role {row.lane!r} may assign task {task_id}.")
            if not holds_role(target, row):
                raise InvalidInput(f"{user} does not hold the role of task {task_id} ({row.lane!r}).",
                                   fields={"user": ["No tiene el rol de la tarea."]})
            self._set_assignee(session, instance, row, user, actor, "task_assigned")
            return self._present(session, [row])[0]

    def add_comment(self, actor: Actor, task_id: str, body: str) -> TaskComment:
        if not body.strip():
            raise InvalidInput("A comment cannot be empty.", fields={"body": ["Este campo es obligatorio."]})
        with self.uow.write() as session:
            self._row(session, task_id)
            comment = TaskComment(task_id=task_id, author=actor.name, body=body, created_at=self.clock())
            session.add(comment)
            session.commit()
            return comment

    def authorizer(self, actor: Actor) -> Callable[[HumanTask], None]:
        """The check ``WorkflowService.complete_task`` runs under its lock: the task must be yours."""

        def check(row: HumanTask) -> None:
            if row.assignee is not None and row.assignee != actor.name:
                raise Forbidden(f"Task {row.id} is claimed by {row.assignee}; only they may complete it.",
                                assignee=row.assignee)
            if row.assignee is None and not holds_role(actor, row):
                raise Forbidden(f"Task {row.id} belongs to {row.lane!r}; you do not hold that role.")

        return check

    # -- internals ---------------------------------------------------------------------------

    def _scope(self, actor: Actor, status: str) -> ColumnElement[bool]:
        roles = sorted(actor.staff_roles)
        by_role: ColumnElement[bool] = false()
        if roles:
            by_role = or_(HumanTask.lane.in_(roles), HumanTask.audience == "", HumanTask.id.in_(
                select(TaskCandidate.task_id).where(TaskCandidate.role.in_(roles))))
        terms = [HumanTask.assignee == actor.name, and_(HumanTask.assignee.is_(None), by_role)]
        if status != "ready":
            terms.append(HumanTask.completed_by == actor.name)
        return or_(*terms)

    def _row(self, session: Session, task_id: str) -> HumanTask:
        row = session.get(HumanTask, task_id)
        if row is None:
            raise NotFound(f"Task {task_id} does not exist.", task_id=task_id)
        return row

    def _lock(self, session: Session, task_id: str) -> tuple[Instance, HumanTask]:
        instance = session.scalars(
            select(Instance).join(HumanTask, HumanTask.instance_id == Instance.id).where(HumanTask.id == task_id)
            .with_for_update(of=Instance)).first()
        if instance is None:
            raise NotFound(f"Task {task_id} does not exist.", task_id=task_id)
        row = self._row(session, task_id)
        session.refresh(row)
        if row.status != "ready":
            raise Conflict(f"Task {task_id} is {row.status}, not ready; reload the inbox.", status=row.status)
        return instance, row

    def _set_assignee(self, session: Session, instance: Instance, row: HumanTask, user: str | None, actor: Actor,
                      event: str) -> None:
        previous, row.assignee = row.assignee, user
        history.append(session, instance, event, at=self.clock(), actor=actor.name, element_id=row.element_id,
                       payload={"task_id": row.id, "assignee": user, "previous": previous})
        history.write_pending(session)
        session.commit()

    def _present(self, session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """Rows (``HumanTask`` objects or rows of PAGE_COLUMNS) as the inbox shows them, with their
        instance, definition and form; each form is built once per page."""
        if not rows:
            return []
        instances = {i.id: i for i in session.execute(
            select(Instance.id, Instance.definition_id, Instance.definition_version, Instance.called_definitions,
                   Instance.business_key, Instance.requester, Instance.status)
            .where(Instance.id.in_({r.instance_id for r in rows})))}
        definitions = {d.id: d for d in session.execute(
            select(Definition.id, Definition.key, Definition.manual_key, Definition.name)
            .where(Definition.id.in_({i.definition_id for i in instances.values()})))}
        forms: dict[tuple[int, str, str], dict[str, Any] | None] = {}
        out = []
        for row in rows:
            instance = instances[row.instance_id]
            definition = definitions[instance.definition_id]
            holder = (instance.called_definitions or {}).get(row.process_key, instance.definition_id)
            form_key = (holder, row.process_key, row.element_id)
            if form_key not in forms:
                form = self.specs.form_for(session, instance.definition_id, instance.called_definitions,
                                           row.process_key, row.element_id)
                forms[form_key] = form.to_json_schema() if form is not None else None
            lane = self.catalog.by_name.get(row.lane or "")
            out.append({
                "id": row.id, "name": row.name, "element_id": row.element_id, "process_key": row.process_key,
                "status": row.status,
                "lane": {"id": lane.id if lane else None, "name": row.lane} if row.lane else None,
                "candidate_roles": list(row.candidate_roles or []),
                "assignee": row.assignee, "created_at": row.created_at, "due_at": row.due_at,
                "priority": row.priority, "sla_state": row.sla_state,
                "completed_at": row.completed_at, "completed_by": row.completed_by,
                "instance": {"id": instance.id, "business_key": instance.business_key,
                             "requester": instance.requester, "status": instance.status},
                "definition": {"key": definition.key, "version": instance.definition_version,
                               "manual_key": definition.manual_key, "name": definition.name},
                "form": forms[form_key],
            })
        return out
