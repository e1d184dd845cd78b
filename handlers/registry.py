"""Register cauce's built-in handlers under the names the diagrams use (bpmn/CONVENTIONS.md).

This is the only place that knows both the handler names and the functions behind them, so the
composition root calls :func:`register_builtin` once and the engine stays ignorant of what the
handlers do. ``folio`` and ``notify`` write in the step's transaction: the composition root passes
their database side (a folio counter, a mailroom) here, so this package never imports the engine;
likewise the file store, the producers' register and the staff roster of the file and assignment
handlers. A handler whose module is missing is simply not registered: asking for it then fails with
the registry's "no handler is registered as …" message, which lists what is available.

Nothing from Flask, ``api`` or the engine is imported at run time: the registry is only a type.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handlers.curp import Register

if TYPE_CHECKING:
    from engine.handler_registry import HandlerRegistry
    from handlers.curp_layout import BulkRegister
    from handlers.files import Files
    from handlers.folio import NextNumber
    from handlers.notify import Mailroom
    from handlers.workload import Staff

__all__ = ["BUILTIN", "Builtin", "register_builtin"]


@dataclass(frozen=True)
class Builtin:
    """One diagram-facing handler: its name, module, function and schema attributes."""

    name: str
    module: str
    func: str
    input_schema: str = "Input"
    output_schema: str = "Output"


#: Name (from the conventions' table) → where the handler lives.
BUILTIN: tuple[Builtin, ...] = (
    Builtin("check_certificate", "handlers.certificate", "make_check_certificate"),
    Builtin("validate_curp_layout", "handlers.curp_layout", "make_validate_curp_layout"),
    Builtin("reconcile_curp", "handlers.curp_layout", "make_reconcile_curp", "ReconcileInput", "ReconcileOutput"),
    Builtin("assign_by_workload", "handlers.workload", "make_assign_by_workload"),
    Builtin("priority", "handlers.priority", "priority"),
    Builtin("probe", "handlers.probe", "probe"),
    Builtin("set_status", "handlers.status", "set_status"),
    Builtin("folio", "handlers.folio", "make_folio"),
    Builtin("notify", "handlers.notify", "make_notify"),
)

#: The retry policy of the async built-ins: 4 attempts, 10 s, 20 s and 40 s apart.
_NETWORK_RETRY: dict[str, Any] = {"max_attempts": 4, "base_s": 10.0, "factor": 2.0, "cap_s": 600.0}

#: Where each built-in runs and how it is retried (``engine.handler_registry``, docs/handlers.md):
#: ``async`` for the slow ones and those that talk to the network (the worker runs them outside the
#: request, with retries); everything else ``inline``: ``priority``, ``set_status`` and
#: ``assign_by_workload`` are fast and pure, and ``folio``/``notify`` write rows (a folio number, an
#: outbox mail) that must commit or roll back with the step, the mail itself leaving later through
#: the outbox dispatcher.
POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "check_certificate": ("async", _NETWORK_RETRY),
    "validate_curp_layout": ("async", _NETWORK_RETRY),
    "reconcile_curp": ("async", _NETWORK_RETRY),
    "probe": ("async", _NETWORK_RETRY),
}


def _import(module: str) -> Any | None:
    """The module, or None if it does not exist; a module that exists but fails to import is a
    bug and its error propagates."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def _needs(name: str, dependency: str) -> Callable[..., Any]:
    """A stand-in for a handler registered without its database side: the name is known (diagrams
    validate) but running it says what the application forgot to pass."""

    def missing(**_: Any) -> Any:
        raise RuntimeError(f"{name} necesita {dependency}: la aplicación debe pasarlo a "
                           "handlers.registry.register_builtin().")

    return missing


def _instance(schema: Any) -> Any:
    """Schemas may be declared as classes; the registry wants instances."""
    return schema() if isinstance(schema, type) else schema


def register_builtin(
    registry: HandlerRegistry,
    *,
    curp_register: Register | BulkRegister | None = None,
    priority_matrix: str | os.PathLike[str] | None = None,
    folio_numbers: NextNumber | None = None,
    mailroom: Mailroom | None = None,
    files: Files | None = None,
    staff: Staff | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[str]:
    """Register every built-in handler whose module exists; return the names registered.

    ``curp_register``: the producers' register (a set of CURPs, a callable, or an object with
    ``present(curps)`` answering for a whole layout at once) that ``validate_curp_layout`` and
    ``reconcile_curp`` check against; diagrams only pass the file, so it is bound here.
    Without it the handler is still registered (so the name is known) but fails when run,
    saying what is missing, rather than judging every CURP "not in the register".
    ``priority_matrix``: a YAML matrix replacing the shipped ``priority_matrix.yaml``; it is
    loaded and checked now, so a broken policy file stops start-up.
    ``folio_numbers``: the counter ``folio`` takes numbers from (``(year, number)`` for a
    series, in the step's transaction). ``mailroom``: what ``notify`` resolves recipients with and
    queues mail in. Without them the names are registered but fail when run, like
    ``validate_curp_layout`` without its register. ``files``: where the file handlers read the
    uploads that process data references and store their reports (``handlers.files.Files``).
    ``staff``: who holds a role, where and with how many open tasks (``assign_by_workload``).
    ``clock``: the engine's time of the running step, which ``check_certificate`` judges validity
    by (the wall clock when absent).

    Registering twice into one registry raises ``ValueError`` (the registry's own rule).
    """
    names = []
    for spec in BUILTIN:
        module = _import(spec.module)
        if module is None or not hasattr(module, spec.func):
            continue
        func: Callable[..., Any] = getattr(module, spec.func)
        if spec.name in ("validate_curp_layout", "reconcile_curp"):
            func = (_needs(spec.name, "el padrón de productores (curp_register) y el almacén de archivos (files)")
                    if curp_register is None or files is None else func(files, curp_register))
        elif spec.name == "check_certificate":
            func = _needs(spec.name, "el almacén de archivos (files)") if files is None else func(files, clock)
        elif spec.name == "assign_by_workload":
            func = _needs(spec.name, "el personal (staff)") if staff is None else func(staff)
        elif spec.name == "priority":
            func = module.make_priority(priority_matrix)
        elif spec.name == "folio":
            func = _needs("folio", "un contador de folios") if folio_numbers is None else func(folio_numbers)
        elif spec.name == "notify":
            func = _needs("notify", "un buzón de salida (mailroom)") if mailroom is None else func(mailroom)
        registry.register(
            spec.name,
            func,
            input_schema=_instance(getattr(module, spec.input_schema, None)),
            output_schema=_instance(getattr(module, spec.output_schema, None)),
            mode=POLICIES.get(spec.name, ("inline", {}))[0],
            retry=POLICIES.get(spec.name, ("inline", {}))[1],
        )
        names.append(spec.name)
    return names
