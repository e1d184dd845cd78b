"""Composition root of the engine: settings in, a ready :class:`WorkflowService` out.

The HTTP app, the CLI, the benchmarks and the tests all build the service here, so that they
run exactly the same wiring (database, locks, script sandbox, handlers, clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from . import steps
from .clock import Clock
from .db import make_engine, make_session_factories
from .handler_registry import HandlerRegistry
from .identity import IdentityService
from .inbox import InboxService
from .roles import RoleCatalog
from .runtime import WorkflowRuntime
from .service import WorkflowService
from .settings import Settings
from .uow import UnitOfWork

if TYPE_CHECKING:
    from .outbox import DispatchReport


@dataclass
class Wiring:
    """Everything a caller of the engine holds on to (dispose ``db`` when done)."""

    settings: Settings
    db: Engine
    handlers: HandlerRegistry
    service: WorkflowService
    identity: IdentityService
    inbox: InboxService


def build(settings: Settings, *, handlers: HandlerRegistry | None = None, clock: Clock | None = None) -> Wiring:
    registry = handlers or HandlerRegistry()
    db = make_engine(settings.database_url, lock_timeout_s=settings.lock_timeout_s)
    readers, writers = make_session_factories(db)

    def call_service(task: Any, name: str, params: dict[str, Any]) -> Any:
        with steps.running_task(task):  # for handlers that write in the step (folio, notify)
            return registry.call(name, params)

    runtime = WorkflowRuntime(script_timeout_s=settings.script_timeout_s, call_service=call_service)
    catalog = RoleCatalog.load(settings.roles_file)
    uow = UnitOfWork(readers, writers)
    service = WorkflowService(uow, runtime, clock=clock, roles=catalog)
    identity = IdentityService(uow, catalog, clock=service.clock)
    inbox = InboxService(uow, service.specs, catalog, identity, service.clock)
    return Wiring(settings=settings, db=db, handlers=registry, service=service, identity=identity, inbox=inbox)


def step_handler_dependencies() -> dict[str, Any]:
    """The database side of the built-in handlers that write in the step's transaction, as
    keyword arguments of ``handlers.registry.register_builtin``: the folio counter and the
    mailroom of ``notify``. Both work through :mod:`engine.steps`, so they serve any service
    built here; the handlers get them by closure and never import the engine."""
    from .folios import next_folio_number
    from .outbox import StepMailroom

    return {"folio_numbers": next_folio_number, "mailroom": StepMailroom()}


def outbox_dispatcher(wiring: Wiring) -> Callable[[], DispatchReport] | None:
    """A no-argument function that sends the pending outbox with the configured transport (for
    the scheduler and ``cauce outbox send``); None when no mail transport is configured."""
    from .outbox import dispatch_outbox, transport_from_settings

    transport = transport_from_settings(wiring.settings)
    if transport is None:
        return None
    service = wiring.service

    def dispatch() -> DispatchReport:
        return dispatch_outbox(service.uow, transport, sender=wiring.settings.smtp_sender, clock=service.clock)

    return dispatch

