"""set_status: the label a diagram sets becomes the instance's business status, in the step's transaction."""

from __future__ import annotations

from engine.bootstrap import Wiring
from engine.handler_registry import HandlerRegistry
from handlers import status
from tests.engine.step_documents import service_steps


def _register(handlers: HandlerRegistry) -> None:
    handlers.register("set_status", status.set_status, input_schema=status.Input(), output_schema=status.Output())


def test_set_status_stores_the_label_on_the_instance(wiring: Wiring, handlers: HandlerRegistry) -> None:
    _register(handlers)
    wiring.service.deploy(service_steps("estados", [
        ("set_status", "estado", {"label": "'Nuevo'"}),
        ("set_status", "estado", {"label": "' Aprobada '"}),
    ], review_between=True).encode())
    instance = wiring.service.start("estados")
    assert instance.status_label == "Nuevo"
    assert instance.data["estado"] == {"label": "Nuevo"}
    _, tasks = wiring.service.get_instance(instance.id)
    done = wiring.service.complete_task(tasks[0].id, {})
    assert done.status_label == "Aprobada"  # trimmed by the handler
    reread, _ = wiring.service.get_instance(instance.id)
    assert reread.status_label == "Aprobada"
    assert [i.id for i in wiring.service.list_instances(status_label="Aprobada")[0]] == [instance.id]
    assert wiring.service.list_instances(status_label="Nuevo")[1] == 0


def test_the_label_follows_the_saved_state_when_a_later_step_fails(wiring: Wiring, handlers: HandlerRegistry) -> None:
    """The instance is saved in error after the first set_status completed: its label is kept,
    as its completion is in the saved state and history; the failed one changes nothing."""
    _register(handlers)
    wiring.service.deploy(service_steps("falla", [
        ("set_status", "estado", {"label": "'Aprobada'"}),
        ("set_status", "estado", {"label": "''"}),  # invalid: the step errs
    ]).encode())
    instance = wiring.service.start("falla")
    assert instance.status == "error"
    assert instance.status_label == "Aprobada"
    assert wiring.service.list_instances(status_label="Aprobada")[1] == 1
