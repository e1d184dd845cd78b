"""A pure SpiffWorkflow function made cheap, where it runs at every task state change.

``TaskState.get_name`` rebuilds a dictionary of the nine states and five masks at every call, and
SpiffWorkflow calls it for the log message of every state change whether or not logging is on:
2% of the server's CPU in an HTTP start+complete cycle. A state's name never changes, so
:func:`install` memoizes it; the answers are the library's own (an unknown value still gets the
library's answer, computed once).
"""

from __future__ import annotations

from functools import lru_cache

from SpiffWorkflow.util.task import TaskState

__all__ = ["install"]

_original_get_name = TaskState.get_name  # bound to the class: get_name(state)


@lru_cache(maxsize=1024)
def _get_name(state: int) -> str:
    return str(_original_get_name(state))


def install() -> None:
    """Replace ``TaskState.get_name`` with its memoized form (idempotent)."""
    if TaskState.__dict__["get_name"] is not _memoized:
        TaskState.get_name = _memoized  # type: ignore[method-assign]


_memoized = classmethod(lambda cls, state: _get_name(state))
