"""The memoized SpiffWorkflow function answers exactly as the library does."""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from engine import spiff_speedups


def test_state_names_are_the_librarys_for_every_state_and_combination() -> None:
    spiff_speedups.install()
    assert TaskState.__dict__["get_name"] is spiff_speedups._memoized
    for value in range(TaskState.ANY_MASK + 1):
        assert TaskState.get_name(value) == spiff_speedups._original_get_name(value), value
    spiff_speedups.install()  # idempotent
    assert TaskState.get_name(TaskState.READY) == "READY"
