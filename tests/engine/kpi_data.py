"""Histories for the KPI report, produced by running the real diagrams of ``bpmn/`` through the
service on a ManualClock, so that every duration the report computes is known exactly.

What each case does (and so what the report must say) is written next to it; the tests compute
their expectations from these numbers.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from engine.clock import ManualClock
from engine.errors import InvalidInput
from engine.handler_registry import HandlerRegistry
from engine.service import WorkflowService

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
T0 = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


@functools.cache
def _files() -> dict[str, Path]:
    """Process id -> file, for every executable process of bpmn/."""
    found = {}
    for path in BPMN.rglob("*.bpmn"):
        for process in etree.parse(str(path)).getroot().findall("bpmn:process", NS):
            if process.get("isExecutable") == "true":
                found[process.get("id") or ""] = path
    return found


def deploy_with_callees(service: WorkflowService, *keys: str) -> None:
    """Deploy the diagrams of ``keys`` and every process they call, callees first."""
    seen: list[str] = []

    def visit(key: str) -> None:
        if key in seen:
            return
        root = etree.parse(str(_files()[key])).getroot()
        for call in root.iter(f"{{{NS['bpmn']}}}callActivity"):
            visit(call.get("calledElement") or "")
        seen.append(key)

    for key in keys:
        visit(key)
    for key in seen:
        path = _files()[key]
        service.deploy(path.read_bytes(), source_name=path.name)


def register_handlers(handlers: HandlerRegistry) -> None:
    from engine.bootstrap import step_handler_dependencies
    from handlers.registry import register_builtin

    register_builtin(handlers, **step_handler_dependencies())


class Runner:
    """Start instances and complete their tasks by element id, moving the clock first."""

    def __init__(self, service: WorkflowService, clock: ManualClock) -> None:
        self.service, self.clock = service, clock

    def start(self, key: str, at: datetime, data: dict[str, Any] | None = None) -> str:
        self.clock.now = at
        return self.service.start(key, data or {}, requester="ana").id

    def do(self, instance_id: str, element: str, data: dict[str, Any], *, after: timedelta,
           process: str | None = None) -> None:
        """Complete the ready task ``element`` (of the called ``process``, when two share the id)."""
        self.clock.advance(seconds=after.total_seconds())
        ready = {t.element_id: t.id for t in self.service.ready_tasks(instance_id)
                 if process in (None, t.process_key)}
        assert element in ready, f"{element} is not ready; ready: {sorted(ready)}"
        try:
            instance = self.service.complete_task(ready[element], data, actor="ana")
        except InvalidInput as exc:
            raise AssertionError(f"{element}: {exc.details}") from exc
        assert instance.status != "error", instance.error


M = timedelta(minutes=1)
H = timedelta(hours=1)
OFICIO_NO = "Sistema de oficios / Portal DGTIT / Teléfono / Correo dentro de mesa de servicio"


def ticket_level_1(run: Runner) -> str:
    """GIS-3 at T0, Dirección de Egresos, critical request solved by 1er. Nivel.

    1er. Nivel response 4 min (RIS-3.1 act. 1 ready at +2 min, done at +6 min); closed by RIS-3.2
    act. 6 at +30 min.
    """
    iid = run.start("MP_DGTIT_DOSI_GIS_3", T0)
    run.do(iid, "Activity_recibir_reporte", {"solicitante": "Lic. Ana Ruiz",
                                             "unidad_responsable": "Dirección de Egresos",
                                             "descripcion_reporte": "Alta de cuentas de correo", "usuario_vip": "No"},
           after=2 * M)
    run.do(iid, "Activity_1", {"solicitante": "Lic. Ana Ruiz", "descripcion_solicitud": "Alta de cuentas",
                               "metodo_recepcion": OFICIO_NO}, after=4 * M)
    run.do(iid, "Activity_7", {"servicio_catalogo": "Correo electrónico institucional", "procede": "Sí"}, after=M)
    run.do(iid, "Activity_1", {"solicitante": "Lic. Ana Ruiz", "ubicacion": "Edificio central",
                               "descripcion_ticket": "Alta de 5 cuentas", "tipo_ticket": "Solicitud de servicio",
                               "medio_recepcion": "Correo electrónico", "quien_registra": "1er nivel"}, after=M)
    run.do(iid, "Activity_2", {"servicio_catalogo": "Correo electrónico institucional",
                               "clasificacion": "Alta de cuentas"}, after=M)
    run.do(iid, "Activity_3", {"impacto": "alta", "urgencia": "alta", "puede_responder": "Sí"}, after=M)
    run.do(iid, "Activity_5", {"solucion": "Cuentas creadas"}, after=20 * M)
    return iid


def ticket_level_2(run: Runner) -> str:
    """GIS-3 at T0+1 h, Dirección General de Recursos Humanos, low-priority incident solved by 2do. Nivel.

    1er. Nivel response 6 min; 2do. Nivel response 3 h (AIS-3.3 act. 1 ready at +15 min, done at
    +3 h 15 min); closed by AIS-3.3 act. 7 at +5 h 15 min.
    """
    iid = run.start("MP_DGTIT_DOSI_GIS_3", T0 + H)
    run.do(iid, "Activity_recibir_reporte", {"solicitante": "Ing. Carlos Rangel",
                                             "unidad_responsable": "Dirección General de Recursos Humanos",
                                             "descripcion_reporte": "Sin acceso a la carpeta de nómina",
                                             "usuario_vip": "No"}, after=3 * M)
    run.do(iid, "Activity_1", {"solicitante": "Ing. Carlos Rangel", "descripcion_solicitud": "Sin acceso",
                               "metodo_recepcion": OFICIO_NO}, after=6 * M)
    run.do(iid, "Activity_7", {"servicio_catalogo": "Soporte a equipo de cómputo", "procede": "Sí"}, after=M)
    run.do(iid, "Activity_1", {"solicitante": "Ing. Carlos Rangel", "ubicacion": "Piso 3",
                               "descripcion_ticket": "Sin acceso a la carpeta", "tipo_ticket": "Incidente",
                               "medio_recepcion": "Llamada telefónica", "quien_registra": "1er nivel"}, after=M)
    run.do(iid, "Activity_2", {"servicio_catalogo": "Soporte a equipo de cómputo",
                               "clasificacion": "Permisos"}, after=M)
    run.do(iid, "Activity_3", {"impacto": "baja", "urgencia": "baja", "puede_responder": "No"}, after=M)
    run.do(iid, "Activity_4", {"atencion_local": "No", "incidente_mayor": "No", "resolutor_conocido": "Sí",
                               "asignado_a": "Ing. Verónica Salas"}, after=2 * M)
    run.do(iid, "Activity_1", {"folio_ticket": "INC-2026-000001", "resolutor_asignado": "Ing. Verónica Salas",
                               "recepcion_por_oficio": "No"}, after=3 * H)
    run.do(iid, "Activity_2", {"acciones_realizadas": "Permisos corregidos", "incidente_resuelto": "Sí"}, after=H)
    run.do(iid, "Activity_3", {"solucion": "Permisos de la carpeta restablecidos"}, after=H)
    return iid


def ticket_declined(run: Runner) -> str:
    """RIS-3.1 started directly at T0+6 h (no requesting unit recorded), declined.

    1er. Nivel response 30 min (act. 1 ready at start); never resolved.
    """
    iid = run.start("MP_DGTIT_DOSI_GIS_RIS_3_1", T0 + 6 * H)
    run.do(iid, "Activity_1", {"solicitante": "C. Laura Méndez", "descripcion_solicitud": "Impresora personal",
                               "metodo_recepcion": OFICIO_NO}, after=30 * M)
    run.do(iid, "Activity_7", {"servicio_catalogo": "Impresión personal", "procede": "No",
                               "motivo_improcedencia": "El equipo no es patrimonio del Gobierno del Estado"},
           after=5 * M)
    return iid


def tickets(run: Runner) -> dict[str, str]:
    return {"level_1": ticket_level_1(run), "level_2": ticket_level_2(run), "declined": ticket_declined(run)}


TICKET_KEYS = ("MP_DGTIT_DOSI_GIS_3", "MP_DGTIT_DOSI_GIS_RIS_3_1")


PROBLEM_KEY, INITIATIVE_KEY, CHANGE_KEY = "MP_DGTIT_DOSI_GPS_4", "MP_DGTIT_DIDS_EDS_1", "MP_DGTIT_DIDS_GCL_2"
EIT, SIT = "MP_DGTIT_DIDS_EDS_EIT_1_1", "MP_DGTIT_DIDS_EDS_SIT_1_4"


def _diagnose(run: Runner, iid: str, folio: str) -> None:
    run.do(iid, "Activity_diagnostico", {"folio_problema": folio, "servicio_afectado": "Correo institucional",
                                         "incidentes_relacionados": "INC-2026-000010",
                                         "causa_raiz": "Certificado vencido",
                                         "propuesta_solucion": "Renovar el certificado"}, after=H)


def problem_resolved(run: Runner) -> str:
    """GPS-4: viable standard change, executed, validated without recurrence (sin_recurrencia = Sí)."""
    iid = run.start(PROBLEM_KEY, T0)
    _diagnose(run, iid, "PRB-1")
    run.do(iid, "Activity_1", {"folio_problema": "PRB-1", "analisis_viabilidad": "Viable",
                               "solucion_temporal": "Ninguna", "tipo_cambio": "Cambio estándar",
                               "solucion_viable_aprobada": "Sí"}, after=H)
    run.do(iid, "Activity_3", {"programacion_actividades": "Viernes", "solucion_ejecutada": "Definitiva"}, after=H)
    run.do(iid, "Activity_4", {"workaround_solventa": "Sí", "otras_soluciones_temporales": "",
                               "liberacion_solucion_definitiva": "Liberada"}, after=H)
    run.do(iid, "Activity_5", {"resultado_pruebas": "Correctas"}, after=H)
    run.do(iid, "Activity_6", {"parametro_observacion": "30 días", "sin_recurrencia": "Sí"}, after=H)
    run.do(iid, "Activity_7", {"codigo_cierre": "RESUELTO", "problema_mayor": "No"}, after=H)
    return iid


def problem_not_viable(run: Runner) -> str:
    """GPS-4: the solution is not viable; the problem is closed (act. 7) without a solution."""
    iid = run.start(PROBLEM_KEY, T0 + H)
    _diagnose(run, iid, "PRB-2")
    run.do(iid, "Activity_1", {"folio_problema": "PRB-2", "analisis_viabilidad": "Sin presupuesto",
                               "solucion_temporal": "Ninguna", "tipo_cambio": "Cambio estándar",
                               "solucion_viable_aprobada": "No"}, after=H)
    run.do(iid, "Activity_7", {"codigo_cierre": "SIN_RECURSOS", "problema_mayor": "No"}, after=H)
    return iid


def problems(run: Runner) -> dict[str, str]:
    """Three problems: one resolved, one closed without solution, one still in diagnosis."""
    return {"resolved": problem_resolved(run), "not_viable": problem_not_viable(run),
            "open": run.start(PROBLEM_KEY, T0 + 2 * H)}


def initiatives(run: Runner) -> dict[str, str]:
    """EDS-1: one in "Evaluación" (EIT act. 3), one "Cancelado" by its follow-up (SIT act. 4), one just received."""
    evaluating = run.start(INITIATIVE_KEY, T0)
    run.do(evaluating, "Activity_1", {"folio_iniciativa": "INI-1", "tipo_solicitud": "Nuevo sistema o módulo",
                                      "dentro_periodo": "Sí"}, after=H, process=EIT)
    run.do(evaluating, "Activity_2", {"analista_responsable": "Ing. Paula Vega"}, after=H, process=EIT)
    cancelled = run.start(INITIATIVE_KEY, T0 + H)
    run.do(cancelled, "Activity_1", {"estatus_revisado": "Sin avance"}, after=H, process=SIT)
    run.do(cancelled, "Activity_2", {"resultado_revision": "La iniciativa ya no es relevante o necesaria",
                                     "acuerdos_revision": "Cancelar"}, after=H, process=SIT)
    run.do(cancelled, "Activity_4", {"observacion": "El área ya no la necesita"}, after=H, process=SIT)
    return {"evaluating": evaluating, "cancelled": cancelled, "received": run.start(INITIATIVE_KEY, T0 + 2 * H)}


def _register_change(run: Runner, iid: str, significant: str) -> None:
    run.do(iid, "Activity_1", {"origen_requerimiento": "Iniciativa de TI", "referencia_requerimiento": "INI-7"},
           after=H)
    run.do(iid, "Activity_2", {"tipo_cambio": "Normal", "prioridad_negocio": "Alta", "categoria": "Sistema",
                               "area_negocio": "Egresos", "solicitante": "Lic. Ana Ruiz", "dias_estimados": 10,
                               "inicio_planeado": "2026-01-12", "fin_planeado": "2026-01-23"}, after=H)
    run.do(iid, "Activity_3", {"cambio_significativo": significant, "asociada_otras_solicitudes": "No",
                               "contacto_solicitante": "Ext. 4360", "lider_asignado": "ana",
                               "analista_prevalidacion": "ana"}, after=H)


def changes(run: Runner) -> dict[str, str]:
    """GCL-2: one in registration (RAC), one not significant (transferred), one in construction (CCP)."""
    registering = run.start(CHANGE_KEY, T0)
    transferred = run.start(CHANGE_KEY, T0 + H)
    _register_change(run, transferred, "No")
    building = run.start(CHANGE_KEY, T0 + 2 * H)
    _register_change(run, building, "Sí")
    run.do(building, "Activity_3_prevalidacion", {"fec": "fec.pdf", "wbs": "wbs.xlsx", "plan_trabajo": "plan.xlsx",
                                                  "snapshot_configuracion": "v1"}, after=H)
    return {"registering": registering, "transferred": transferred, "building": building}
