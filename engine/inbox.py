"""The staff inbox: who may see and work which human task, claims, assignment, comments.

The inbox is one indexed query on ``human_tasks`` (plus ``task_candidates`` for the roles a task
lists besides its lane), never a load of workflows: a page's instance and definition columns are
read afterwards for that page only. A task is someone's when it is assigned to them, or when it
is unassigned and they hold its lane's role or one of its candidate roles. Claims and assignments
lock the instance row, as completing does, so a claim and a completion cannot cross.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select, union_all
from sqlalchemy.orm import Session, load_only
from sqlalchemy.sql.elements import ColumnElement

from . import history
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .identity import Actor, IdentityService
from .models import Definition, HumanTask, Instance, TaskCandidate, TaskComment
from .roles import RoleCatalog
from .specs import SpecStore
from .uow import UnitOfWork

SORTS = {
    "created": (HumanTask.created_at.asc(), HumanTask.id.asc()),
    "-created": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    # Tasks without a due date come last either way: they are the least urgent.
    "due": (HumanTask.due_at.is_(None), HumanTask.due_at.asc(), HumanTask.created_at.asc(), HumanTask.id.asc()),
    "-due": (HumanTask.due_at.is_(None), HumanTask.due_at.desc(), HumanTask.created_at.asc(), HumanTask.id.asc()),
}


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
        conditions: list[ColumnElement[bool]] = [HumanTask.status == query.status]
        if not query.all:
            conditions.append(self._scope(actor, query.status))  # (replaced by branches for ready tasks)
        if query.assignee == "me":
            conditions.append(HumanTask.assignee == actor.name)
        elif query.assignee == "none":
            conditions.append(HumanTask.assignee.is_(None))
        elif query.assignee:
            conditions.append(HumanTask.assignee == query.assignee)
        role = self.catalog.resolve(query.role).name if query.role else None
        by_role = (or_(HumanTask.lane == role, HumanTask.id.in_(
            select(TaskCandidate.task_id).where(TaskCandidate.role == role))) if role else None)
        if query.definition:
            conditions.append(HumanTask.definition_key == query.definition)
        if query.instance:
            conditions.append(HumanTask.instance_id == query.instance)
        if query.due_before is not None:
            conditions.append(HumanTask.due_at < query.due_before)
        if query.overdue:
            conditions.append(HumanTask.due_at < self.clock())
        if not query.all and query.status == "ready":
            return self._list_ready(actor, query, conditions[2:], role, by_role)
        if by_role is not None:
            conditions.append(by_role)
        where = and_(*conditions)
        with self.uow.read() as session:
            total = session.scalar(select(func.count()).select_from(HumanTask).where(where)) or 0
            rows = list(session.scalars(select(HumanTask).where(where).order_by(*SORTS[query.sort])
                                        .offset((query.page - 1) * query.page_size).limit(query.page_size)))
            return self._present(session, rows), total

    def _list_ready(self, actor: Actor, query: TaskQuery, filters: list[ColumnElement[bool]], role: str | None,
                    by_role: ColumnElement[bool] | None) -> tuple[list[dict[str, Any]], int]:
        """The caller's ready tasks as a UNION ALL of disjoint branches, each answered from a covering
        index (assigned to me; unassigned in my lanes; unassigned in no lane; unassigned with a
        candidate role of mine in a lane not mine), counted and paged in one statement.

        One OR over the same conditions makes SQLite visit every matching row of the table;
        this reads index entries only, then the page's rows. ``coalesce`` in the candidate branch
        keeps SQLite from walking the status index instead of looking the few ids up (PostgreSQL
        plans the plain form well, and the wrapped one badly)."""
        with self.uow.read() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
        status_col = func.coalesce(HumanTask.status, "") if sqlite else HumanTask.status
        unassigned = func.coalesce(HumanTask.assignee, "") == "" if sqlite else HumanTask.assignee.is_(None)
        # A role filter narrows the lanes of the branches instead of adding an OR to each.
        roles = sorted(actor.staff_roles if role is None else actor.staff_roles & {role})
        columns = (HumanTask.id, HumanTask.created_at, HumanTask.due_at)
        mine_filters = [*filters, by_role] if by_role is not None else filters
        branches: list[Select[Any]] = [
            select(*columns).where(HumanTask.status == "ready", HumanTask.assignee == actor.name, *mine_filters)]
        if roles:
            branches += [
                select(*columns).where(HumanTask.status == "ready", HumanTask.assignee.is_(None),
                                       HumanTask.lane.in_(roles), *filters),
                *([select(*columns).where(HumanTask.status == "ready", HumanTask.assignee.is_(None),
                                          HumanTask.lane.is_(None), *filters)] if role is None else []),
                select(*columns).where(
                    status_col == "ready", unassigned, HumanTask.lane.not_in(roles),
                    HumanTask.id.in_(select(TaskCandidate.task_id).where(TaskCandidate.role.in_(roles))), *filters),
            ]
        mine = union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
        order = {
            "created": (mine.c.created_at.asc(), mine.c.id.asc()),
            "-created": (mine.c.created_at.desc(), mine.c.id.desc()),
            "due": (mine.c.due_at.is_(None), mine.c.due_at.asc(), mine.c.created_at.asc(), mine.c.id.asc()),
            "-due": (mine.c.due_at.is_(None), mine.c.due_at.desc(), mine.c.created_at.asc(), mine.c.id.asc()),
        }[query.sort]
        with self.uow.read() as session:
            page = session.execute(select(mine.c.id, func.count().over().label("total")).order_by(*order)
                                   .offset((query.page - 1) * query.page_size).limit(query.page_size)).all()
            if page:
                total = int(page[0].total)
            else:  # past the last page: the window saw no row, count separately
                total = session.scalar(select(func.count()).select_from(mine)) or 0
            ids = [r.id for r in page]
            found = {r.id: r for r in session.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))} if ids else {}
            return self._present(session, [found[i] for i in ids]), total

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
            by_role = or_(HumanTask.lane.in_(roles), HumanTask.lane.is_(None), HumanTask.id.in_(
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

    def _present(self, session: Session, rows: list[HumanTask]) -> list[dict[str, Any]]:
        """Rows as the inbox shows them, with their instance, definition and form."""
        if not rows:
            return []
        instances = {i.id: i for i in session.scalars(
            select(Instance).where(Instance.id.in_({r.instance_id for r in rows})).options(load_only(
                Instance.id, Instance.definition_id, Instance.definition_version, Instance.definition_key,
                Instance.called_definitions, Instance.business_key, Instance.requester, Instance.status)))}
        definitions = {d.id: d for d in session.scalars(
            select(Definition).where(Definition.id.in_({i.definition_id for i in instances.values()})))}
        out = []
        for row in rows:
            instance = instances[row.instance_id]
            definition = definitions[instance.definition_id]
            form = self.specs.form_for(session, instance.definition_id, instance.called_definitions,
                                       row.process_key, row.element_id)
            lane = self.catalog.by_name.get(row.lane or "")
            out.append({
                "id": row.id, "name": row.name, "element_id": row.element_id, "process_key": row.process_key,
                "status": row.status,
                "lane": {"id": lane.id if lane else None, "name": row.lane} if row.lane else None,
                "candidate_roles": list(row.candidate_roles or []),
                "assignee": row.assignee, "created_at": row.created_at, "due_at": row.due_at,
                "completed_at": row.completed_at, "completed_by": row.completed_by,
                "instance": {"id": instance.id, "business_key": instance.business_key,
                             "requester": instance.requester, "status": instance.status},
                "definition": {"key": definition.key, "version": instance.definition_version,
                               "manual_key": definition.manual_key, "name": definition.name},
                "form": form.to_json_schema() if form is not None else None,
            })
        return out
