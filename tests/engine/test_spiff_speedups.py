"""SpiffWorkflow's logging made cheap (engine/spiff_speedups.py) without changing what it answers."""

from __future__ import annotations

import logging

from SpiffWorkflow.util.task import TaskState

from engine import spiff_speedups


def test_state_names_are_the_librarys_for_every_state_and_combination() -> None:
    spiff_speedups.install()
    assert TaskState.__dict__["get_name"] is spiff_speedups._memoized
    for value in range(TaskState.ANY_MASK + 1):
        assert TaskState.get_name(value) == spiff_speedups._original_get_name(value), value
    spiff_speedups.install()  # idempotent
    assert TaskState.get_name(TaskState.READY) == "READY"


def test_spiffworkflow_loggers_nobody_configured_are_quiet_and_a_configured_one_is_left_alone() -> None:
    configured = logging.getLogger("spiff.data")
    configured.setLevel(logging.DEBUG)  # as an operator debugging a diagram would
    logging.getLogger("spiff.task").setLevel(logging.NOTSET)
    try:
        spiff_speedups.install()
        assert logging.getLogger("spiff.task").level == logging.WARNING
        assert logging.getLogger("spiff.workflow").level == logging.WARNING
        assert configured.level == logging.DEBUG
    finally:
        configured.setLevel(logging.NOTSET)
        spiff_speedups.install()
