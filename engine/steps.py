"""The step being executed: its session, instance and time, for handlers that write to the database.

Some handlers have effects that must commit or roll back with the step that ran them: a folio
number taken by a step that then fails must be given back, and an e-mail must not be queued for a
step that never happened. They therefore write through the *step's* session. The service opens a
step context around every engine run (:func:`step`), the call path of service tasks marks the task
whose handler runs (:func:`running_task`), and the adapters the composition root binds to such
handlers read :func:`current_step`. Handlers themselves never see the session.

A :class:`~contextvars.ContextVar` (not a global) keeps concurrent requests in different threads
apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import Instance

__all__ = ["StepContext", "current_step", "running_task", "step", "step_time"]


@dataclass
class StepContext:
    """What a database-backed handler may use: the step's transaction, its instance and time."""

    session: Session
    instance: Instance
    now: datetime
    # The SpiffWorkflow task whose handler is running (None between service tasks).
    task: Any = None


_current: ContextVar[StepContext | None] = ContextVar("cauce_step", default=None)


@contextmanager
def step(session: Session, instance: Instance, now: datetime) -> Iterator[StepContext]:
    """Run the block as one step of ``instance`` inside ``session``'s transaction."""
    context = StepContext(session=session, instance=instance, now=now)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def running_task(task: Any) -> Iterator[None]:
    """Mark ``task`` as the service task whose handler runs (a no-op outside a step)."""
    context = _current.get()
    if context is None:
        yield
        return
    previous, context.task = context.task, task
    try:
        yield
    finally:
        context.task = previous


def current_step() -> StepContext:
    """The running step; a handler that writes to the database cannot run outside one."""
    context = _current.get()
    if context is None:
        raise RuntimeError("This handler writes in the step's transaction and can only run inside an engine step.")
    return context


def step_time() -> datetime:
    """The engine's time of the running step (the injected clock in tests, and the same instant
    for every handler of a step); the wall clock outside a step."""
    context = _current.get()
    return context.now if context is not None else datetime.now(UTC)
