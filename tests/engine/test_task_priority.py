"""Which priority a human task gets when it becomes ready (engine/priorities.py)."""

from __future__ import annotations

from engine.models import audience_of
from engine.priorities import task_priority


def test_a_fixed_priority_property_wins_over_the_variable() -> None:
    assert task_priority({"priority": "High"}, {"prioridad": "low"}) == "high"
    assert task_priority({"priority": "urgentísima"}, {"prioridad": "low"}) is None


def test_the_variable_is_prioridad_unless_the_task_names_another() -> None:
    assert task_priority({}, {"prioridad": " CRITICAL "}) == "critical"
    assert task_priority({"priorityVariable": "p"}, {"p": "medium", "prioridad": "low"}) == "medium"
    assert task_priority({}, {}) is None and task_priority({}, {"prioridad": 3}) is None


def test_the_audience_is_the_sorted_set_of_lane_and_candidate_roles() -> None:
    assert audience_of("B", ["A", "B", ""]) == "A\x1fB"
    assert audience_of(None, None) == "" and audience_of(None, ["C"]) == "C"
