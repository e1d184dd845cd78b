"""Who holds a role, where they work and how busy they are: the roster ``assign_by_workload``
chooses from (:class:`handlers.workload.Staff`).

Workload is the number of ready human tasks assigned to the person, across every instance, read
in the running step's transaction, so two assignments committed one after the other see each
other's tasks.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from handlers.workload import Member

from .models import HumanTask, Role, User, user_roles
from .steps import current_step

__all__ = ["StepStaff"]


class StepStaff:
    def members(self, role: str) -> list[Member]:
        session = current_step().session
        users = [(row[0], row[1]) for row in session.execute(
            select(User.name, User.location).join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(User.active.is_(True), or_(Role.name == role.strip(), Role.id == role.strip()))
            .order_by(User.name))]
        names = [name for name, _ in users]
        open_tasks = {row[0]: row[1] for row in session.execute(
            select(HumanTask.assignee, func.count()).where(HumanTask.status == "ready", HumanTask.assignee.in_(names))
            .group_by(HumanTask.assignee))} if names else {}
        return [Member(name=name, location=location, open_tasks=int(open_tasks.get(name, 0)))
                for name, location in users]
