"""SpiffWorkflow's logging made cheap where it runs at every task state change.

SpiffWorkflow logs each state change at INFO and builds the record's details whether or not
anything is logged, which together cost several percent of an HTTP start+complete cycle:

* ``TaskState.get_name`` rebuilds a dictionary of the nine states and five masks at every call. A
  state's name never changes, so :func:`install` memoizes it; the answers are the library's own
  (an unknown value still gets the library's answer, computed once).
* The details include every task id of the workflow and a task's whole data whenever the
  logger's *own* level is below INFO, and it is (NOTSET) unless someone set it. :func:`install`
  sets SpiffWorkflow's loggers that nobody configured to WARNING: cauce's history, not its log,
  records what an instance did.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from SpiffWorkflow.util.task import TaskState

__all__ = ["install"]

_original_get_name = TaskState.get_name  # bound to the class: get_name(state)


@lru_cache(maxsize=1024)
def _get_name(state: int) -> str:
    return str(_original_get_name(state))


_LOGGERS = ("spiff.task", "spiff.workflow", "spiff.data")


def install() -> None:
    """Memoize ``TaskState.get_name``; quiet SpiffWorkflow's unconfigured loggers (idempotent)."""
    if TaskState.__dict__["get_name"] is not _memoized:
        TaskState.get_name = _memoized  # type: ignore[method-assign]
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


_memoized = classmethod(lambda cls, state: _get_name(state))
