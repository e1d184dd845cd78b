"""Composition root of the engine: settings in, a ready :class:`WorkflowService` out.

The HTTP app, the CLI, the benchmarks and the tests all build the service here, so that they
run exactly the same wiring (database, locks, script sandbox, handlers, clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from .clock import Clock
from .db import make_engine, make_session_factories
from .handler_registry import HandlerRegistry
from .runtime import WorkflowRuntime
from .service import WorkflowService
from .settings import Settings
from .uow import UnitOfWork


@dataclass
class Wiring:
    """Everything a caller of the engine holds on to (dispose ``db`` when done)."""

    settings: Settings
    db: Engine
    handlers: HandlerRegistry
    service: WorkflowService


def build(settings: Settings, *, handlers: HandlerRegistry | None = None, clock: Clock | None = None) -> Wiring:
    registry = handlers or HandlerRegistry()
    db = make_engine(settings.database_url, lock_timeout_s=settings.lock_timeout_s)
    readers, writers = make_session_factories(db)

    def call_service(task: Any, name: str, params: dict[str, Any]) -> Any:
        return registry.call(name, params)

    runtime = WorkflowRuntime(script_timeout_s=settings.script_timeout_s, call_service=call_service)
    service = WorkflowService(UnitOfWork(readers, writers), runtime, clock=clock)
    return Wiring(settings=settings, db=db, handlers=registry, service=service)
