"""Composition root of the engine: settings in, a ready :class:`WorkflowService` out.

The HTTP app, the CLI, the benchmarks and the tests all build the service here, so that they
run exactly the same wiring (database, locks, script sandbox, handlers, clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from .clock import Clock
from .db import make_engine, make_session_factories
from .files import FileService, FileStore, StepFiles
from .handler_registry import HandlerRegistry
from .identity import IdentityService
from .inbox import InboxService
from .incidents import IncidentService
from .invocations import HandlerCaller
from .producers import ProducerRegister
from .roles import RoleCatalog
from .runtime import WorkflowRuntime
from .service import WorkflowService
from .settings import Settings
from .uow import UnitOfWork
from .worker import InvocationWorker

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
    files: FileService
    register: ProducerRegister
    # The async handler worker (``invocations.run_due()`` drains it) and the incidents it raises.
    invocations: InvocationWorker | None = None
    incidents: IncidentService | None = None


def build(settings: Settings, *, handlers: HandlerRegistry | None = None, clock: Clock | None = None,
          check_handlers: bool = False) -> Wiring:
    registry = handlers or HandlerRegistry()
    db = make_engine(settings.database_url, lock_timeout_s=settings.lock_timeout_s)
    readers, writers = make_session_factories(db)

    # Inline handlers run in the step, async ones are deferred to the worker (engine/invocations.py).
    call_service = HandlerCaller(registry)
    runtime = WorkflowRuntime(script_timeout_s=settings.script_timeout_s, call_service=call_service)
    catalog = RoleCatalog.load(settings.roles_file)
    uow = UnitOfWork(readers, writers)
    service = WorkflowService(uow, runtime, clock=clock, roles=catalog,
                              handlers=registry if check_handlers else None)
    identity = IdentityService(uow, catalog, clock=service.clock, cache_s=settings.auth_cache_s)
    inbox = InboxService(uow, service.specs, catalog, identity, service.clock)
    files = FileService(uow, file_store(settings), clock=service.clock)
    register = ProducerRegister(uow, clock=service.clock)
    worker = InvocationWorker(service, registry, call_service, lease=timedelta(seconds=settings.handler_lease_s))
    return Wiring(settings=settings, db=db, handlers=registry, service=service, identity=identity, inbox=inbox,
                  files=files, register=register, invocations=worker, incidents=IncidentService(worker))


def file_store(settings: Settings) -> FileStore:
    """Where files live and how large they may be (``CAUCE_FILES_DIR``, ``CAUCE_MAX_UPLOAD_BYTES``)."""
    return FileStore(settings.files_dir, max_bytes=settings.max_upload_bytes)


def step_handler_dependencies(settings: Settings | None = None) -> dict[str, Any]:
    """The database side of the built-in handlers that write in the step's transaction, as
    keyword arguments of ``handlers.registry.register_builtin``: the folio counter, the
    mailroom of ``notify``, the file store and producers' register of the file handlers and the
    staff roster of ``assign_by_workload``. All work through :mod:`engine.steps`, so they serve
    any service built here; the handlers get them by closure and never import the engine."""
    from .folios import next_folio_number
    from .outbox import StepMailroom
    from .producers import StepRegister
    from .steps import step_time
    from .workload import StepStaff

    return {"folio_numbers": next_folio_number, "mailroom": StepMailroom(),
            "files": StepFiles(file_store(settings or Settings.from_env())), "curp_register": StepRegister(),
            "staff": StepStaff(), "clock": step_time}


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

