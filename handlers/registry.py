"""Register cauce's built-in handlers under the names the diagrams use (bpmn/CONVENTIONS.md).

This is the only place that knows both the handler names and the functions behind them, so the
composition root calls :func:`register_builtin` once and the engine stays ignorant of what the
handlers do. ``folio`` and ``notify`` write in the step's transaction: the composition root passes
their database side (a folio counter, a mailroom) here, so this package never imports the engine.
Handlers whose module is not there yet (``assign_by_workload``) are simply not registered: asking
for them then fails with the registry's "no handler is registered as …" message, which lists what is available.

Nothing from Flask, ``api`` or the engine is imported at run time: the registry is only a type.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handlers.curp import Register

if TYPE_CHECKING:
    from engine.handler_registry import HandlerRegistry
    from handlers.folio import NextNumber
    from handlers.notify import Mailroom

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
    Builtin("check_certificate", "handlers.certificate", "check_certificate"),
    Builtin("validate_curp_layout", "handlers.curp_layout", "validate_curp_layout"),
    Builtin("reconcile_curp", "handlers.curp_layout", "reconcile_curp", "ReconcileInput", "ReconcileOutput"),
    Builtin("priority", "handlers.priority", "priority"),
    Builtin("probe", "handlers.probe", "probe"),
    Builtin("set_status", "handlers.status", "set_status"),
    Builtin("folio", "handlers.folio", "make_folio"),
    Builtin("notify", "handlers.notify", "make_notify"),
)


def _import(module: str) -> Any | None:
    """The module, or None if it does not exist; a module that exists but fails to import is a
    bug and its error propagates."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def _missing_register(**_: Any) -> Any:
    raise RuntimeError(
        "validate_curp_layout necesita el padrón de productores: la aplicación debe pasar "
        "curp_register a handlers.registry.register_builtin()."
    )


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
    curp_register: Register | None = None,
    priority_matrix: str | os.PathLike[str] | None = None,
    folio_numbers: NextNumber | None = None,
    mailroom: Mailroom | None = None,
) -> list[str]:
    """Register every built-in handler whose module exists; return the names registered.

    ``curp_register``: the producers' register (a set of CURPs or a callable) that
    ``validate_curp_layout`` checks against; diagrams only pass the file, so it is bound here.
    Without it the handler is still registered (so the name is known) but fails when run,
    saying what is missing, rather than judging every CURP "not in the register".
    ``priority_matrix``: a YAML matrix replacing the shipped ``priority_matrix.yaml``; it is
    loaded and checked now, so a broken policy file stops start-up.
    ``folio_numbers``: the counter ``folio`` takes numbers from (``(year, number)`` for a
    series, in the step's transaction). ``mailroom``: what ``notify`` resolves recipients with and
    queues mail in. Without them the names are registered but fail when run, like
    ``validate_curp_layout`` without its register.

    Registering twice into one registry raises ``ValueError`` (the registry's own rule).
    """
    names = []
    for spec in BUILTIN:
        module = _import(spec.module)
        if module is None or not hasattr(module, spec.func):
            continue
        func: Callable[..., Any] = getattr(module, spec.func)
        if spec.name == "validate_curp_layout":
            func = _missing_register if curp_register is None else functools.partial(
                func, register=curp_register)
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
        )
        names.append(spec.name)
    return names
