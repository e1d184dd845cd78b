"""A human task's priority: which one it gets when it becomes ready.

The service desk procedures compute an ITIL priority with the ``priority`` handler and keep it in
a process variable (``prioridad`` in the manual's diagrams); a diagram may also fix a task's
priority outright. In that order of precedence, a user task's properties say:

- ``priority``: the level itself (``critical``, ``high``, ``medium``, ``low``);
- ``priorityVariable``: the process variable holding it (default ``prioridad``).

The level is stored on the inbox row; the database ranks it (``HumanTask.priority_rank``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.priority import PRIORITIES, normalize_level

#: The levels, most urgent first; their position is ``HumanTask.priority_rank`` (4: none).
LEVELS = PRIORITIES
DEFAULT_VARIABLE = "prioridad"


def level(value: Any) -> str | None:
    """The level a value names ("Critical ", "HIGH" too), or None when it names none."""
    found = normalize_level(value)
    return found if found in LEVELS else None


def task_priority(properties: Mapping[str, str], data: Mapping[str, Any]) -> str | None:
    """The priority of a task that has just become ready, from its properties and its data."""
    fixed = properties.get("priority", "").strip()
    if fixed:
        return level(fixed)
    variable = properties.get("priorityVariable", "").strip() or DEFAULT_VARIABLE
    return level(data.get(variable))


__all__ = ["DEFAULT_VARIABLE", "LEVELS", "level", "task_priority"]
