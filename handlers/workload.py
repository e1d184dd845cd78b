"""``assign_by_workload``: the field-support step that picks the operator who goes to a site.

The manual (MP-DGTIT-DOSI-GIS-GIC-3.4, activity 2) assigns "al operador de acuerdo a la ubicación y
carga de trabajo": among the people holding the role whose location is the request's, the one with
the fewest open tasks. Who holds the role, where they work and how many ready tasks they have is
the application's knowledge (a :class:`Staff` injected at registration); the choice is made here,
so the rule is a plain function that tests can drive with any roster.

Locations are compared as people write them: case, accents and spacing are ignored
("Oficina Recaudadora de León" = "oficina recaudadora de leon"). Ties go to the user whose name
sorts first, so the same roster always gives the same answer (a replay must too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from marshmallow import Schema, fields, validate

from handlers.curp import plain_text

__all__ = ["Input", "Member", "Staff", "choose_operator", "make_assign_by_workload", "same_location"]


@dataclass(frozen=True)
class Member:
    """An active user holding the role: their name, location and open (ready, assigned) tasks."""

    name: str
    location: str | None
    open_tasks: int


class Staff(Protocol):
    def members(self, role: str) -> Sequence[Member]:
        """Active users holding ``role`` (its manual name or id), with their workload."""
        ...


def same_location(a: str | None, b: str | None) -> bool:
    return bool(a and b) and plain_text(a) == plain_text(b)


def choose_operator(members: Sequence[Member], location: str) -> Member | None:
    """The member at ``location`` with the fewest open tasks (ties: the first name), or None."""
    here = [m for m in members if same_location(m.location, location)]
    return min(here, key=lambda m: (m.open_tasks, m.name)) if here else None


def make_assign_by_workload(staff: Staff) -> Callable[..., str]:
    """The handler bound to a :class:`Staff`; it returns the chosen user's name, which the next
    tasks name in ``assigneeVariable``."""

    def assign_by_workload(role: str, location: str) -> str:
        members = staff.members(role)
        chosen = choose_operator(members, location)
        if chosen is None:
            where = sorted({m.location for m in members if m.location})
            raise LookupError(
                f"Nadie con el rol {role!r} tiene la ubicación {location!r} "
                f"({len(members)} persona(s) con el rol; ubicaciones registradas: {', '.join(where) or 'ninguna'}). "
                "Registre la ubicación del personal (cauce user add --location) y reintente el paso.")
        return chosen.name

    return assign_by_workload


class Input(Schema):
    """Parameters of ``assign_by_workload``: the role (manual name or id) and the request's location."""

    role = fields.String(required=True, validate=validate.Length(min=1))
    location = fields.String(required=True, validate=validate.Length(min=1))
