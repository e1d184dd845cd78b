"""The manual's diagrams run on the built-in handlers (as ``make run`` wires them): folio, set_status
and notify steps complete, take real numbers, set the business status and queue mail."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from api import default_handlers
from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.errors import InvalidDefinition
from engine.models import OutboxMessage
from engine.parsing import check_service_tasks
from engine.settings import Settings

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def test_ris_and_renapo_run_on_the_builtin_handlers(settings: Settings, clock: ManualClock) -> None:
    wiring = build(settings, handlers=default_handlers(settings), clock=clock)
    try:
        wiring.service.deploy_directory(BPMN)
        service = wiring.service

        # MP-DGTIT-DOSI-GIS-RIS-3.2: registering the ticket takes a folio and sets "Nuevo".
        ris = service.start("MP_DGTIT_DOSI_GIS_RIS_3_2", requester="mesa")
        assert ris.status == "running", ris.error
        assert list(_ready(wiring, ris.id)) == ["Activity_1"]
        ris = service.complete_task(_ready(wiring, ris.id)["Activity_1"], {
            "solicitante": "Mtro. Jorge Aguilar Reyes", "ubicacion": "Edificio central SFIA, piso 2",
            "descripcion_ticket": "Alta de 5 cuentas de correo", "tipo_ticket": "Solicitud de servicio",
            "medio_recepcion": "Oficio a través de firma electrónica", "quien_registra": "1er nivel"}, actor="mesa")
        assert ris.status == "running", ris.error
        assert ris.status_label == "Nuevo"
        folios = [v for v in ris.data.values() if isinstance(v, str) and v.startswith("SOL-2026-")]
        assert folios == ["SOL-2026-000001"]
        assert "Activity_2" in _ready(wiring, ris.id)

        # FED-RENAPO-CERT: a folio at start; observations send the requester a notification.
        renapo = service.start("FED_RENAPO_CERT", requester="laura")
        assert renapo.status == "running", renapo.error
        assert renapo.data["numero_ticket"] == "TKT-2026-000001"
        renapo = service.complete_task(_ready(wiring, renapo.id)["Activity_1_2"], {
            "unidad_administrativa": "Delegación Estatal en Jalisco", "solicitante": "Pedro Ramírez Luna",
            "correo_solicitante": "pedro.ramirez@externo.mx", "director_que_turna": "Lic. Ana Torres Gil",
            "descripcion": "Actualización de certificado para consultas de CURP."})
        renapo = service.complete_task(_ready(wiring, renapo.id)["Activity_2_1"], {
            "existen_observaciones": "Sí", "observaciones": "No se indica el sistema que consume el servicio."})
        assert renapo.status == "running", renapo.error
        record = next(v for v in renapo.data.values() if isinstance(v, dict) and "outbox_id" in v)
        assert record["to"] == ["pedro.ramirez@externo.mx"] and record["status"] == "pending"
        assert record["subject"] == "Se requieren datos adicionales [TKT-2026-000001]"
        with service.uow.read() as session:
            row = session.scalars(select(OutboxMessage)).one()
        assert row.id == record["outbox_id"] and row.instance_id == renapo.id and row.element_id == "Activity_2_2"
        assert "Procedimiento:" in row.body and "Referencia: TKT-2026-000001" in row.body
    finally:
        wiring.db.dispose()


def test_every_service_task_names_a_registered_handler_with_a_valid_mapping(tmp_path: Path) -> None:
    """What ``cauce deploy`` and ``POST /api/v1/definitions`` check (engine.parsing.check_service_tasks),
    over every diagram: the handler exists and the parameters are exactly those it takes."""
    registry = default_handlers(Settings(files_dir=tmp_path))
    files = sorted(BPMN.rglob("*.bpmn"))
    assert len(files) == 58
    for path in files:
        check_service_tasks(path.read_bytes(), registry)  # raises naming the element on any mismatch
    broken = (BPMN / "federal" / "FED-DGTIC-DSSD-003.bpmn").read_bytes().replace(
        b'<spiffworkflow:parameter id="response"', b'<spiffworkflow:parameter id="respuesta"', 1)
    try:
        check_service_tasks(broken, registry)
    except InvalidDefinition as exc:
        assert exc.details["element_id"] == "Activity_10_renapo" and exc.details["unknown"] == ["respuesta"]
    else:
        raise AssertionError("a parameter the handler does not take must be refused")
