"""A handler's business error follows the diagram's error boundary event; others stop the instance."""

from __future__ import annotations

from engine.bootstrap import Wiring
from engine.handler_registry import HandlerRegistry
from handlers.errors import BusinessError
from tests.engine import documents


def _ready(wiring: Wiring, instance_id: str) -> list[str]:
    return [t.element_id for t in wiring.service.get_instance(instance_id)[1]]


def _register(handlers: HandlerRegistry) -> None:
    def check(value: str) -> dict:
        if value == "vencido":
            raise BusinessError("El certificado venció el 2026-01-01", code="certificado_invalido",
                                details={"days_left": -5})
        if value == "otro":
            raise BusinessError("Formato desconocido", code="formato_desconocido")
        return {"valid_now": True}

    handlers.register("check", check)


def test_business_error_is_routed_to_the_boundary(wiring: Wiring, handlers: HandlerRegistry) -> None:
    _register(handlers)
    wiring.service.deploy(documents.business_error().encode())
    instance = wiring.service.start("checked", {"certificado": "vencido"})
    assert instance.status == "running"
    assert _ready(wiring, instance.id) == ["Task_fix"]
    assert instance.data["error"] == {"code": "certificado_invalido", "message": "El certificado venció el 2026-01-01",
                                      "details": {"days_left": -5}}
    task = wiring.service.get_instance(instance.id)[1][0]
    assert wiring.service.complete_task(task.id, {}).status == "completed"


def test_success_takes_the_normal_flow(wiring: Wiring, handlers: HandlerRegistry) -> None:
    _register(handlers)
    wiring.service.deploy(documents.business_error().encode())
    instance = wiring.service.start("checked", {"certificado": "vigente"})
    assert _ready(wiring, instance.id) == ["Task_continue"]
    assert instance.data["checked"] == {"valid_now": True}


def test_uncaught_business_error_puts_the_instance_in_error(wiring: Wiring, handlers: HandlerRegistry) -> None:
    _register(handlers)
    wiring.service.deploy(documents.business_error().encode())
    instance = wiring.service.start("checked", {"certificado": "otro"})
    assert instance.status == "error"
    assert instance.error["element_id"] == "Check"
    assert "Formato desconocido" in instance.error["message"]
