"""The KPI report on histories produced by running the real diagrams of bpmn/ through the service.

Every expected number is worked out by hand from what ``tests/engine/kpi_data.py`` did (its
docstrings give the times), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.errors import NotFound
from engine.handler_registry import HandlerRegistry
from engine.reports import KpiReport, kpi_report, percentile
from tests.engine import kpi_data
from tests.engine.kpi_data import T0, H, M, Runner

MISSING = "(sin dato)"


def _report(wiring: Wiring, clock: ManualClock, **filters: object) -> KpiReport:
    with wiring.service.uow.read() as session:
        return kpi_report(session, clock_now=clock(), **filters)  # type: ignore[arg-type]


def value(report: KpiReport, indicator: str, metric: str, /, **group: str) -> float | int | None:
    """The value of one row; None when the report has no such row."""
    found = next(i for i in report.indicators if i.id == indicator)
    matches = [r.value for r in found.rows if r.group == group and r.metric == metric]
    assert len(matches) <= 1, f"{indicator}/{metric}/{group} is not unique"
    return matches[0] if matches else None


def indicator(report: KpiReport, indicator_id: str):  # noqa: ANN201 - engine.reports.Indicator
    return next(i for i in report.indicators if i.id == indicator_id)


@pytest.fixture
def run(wiring: Wiring, clock: ManualClock, handlers: HandlerRegistry) -> Runner:
    kpi_data.register_handlers(handlers)
    return Runner(wiring.service, clock)


@pytest.fixture
def tickets(wiring: Wiring, run: Runner) -> dict[str, str]:
    kpi_data.deploy_with_callees(wiring.service, *kpi_data.TICKET_KEYS)
    return kpi_data.tickets(run)


def test_percentiles_are_nearest_rank() -> None:
    sample = [240.0, 360.0, 1800.0]
    assert [percentile(sample, p) for p in (50, 90, 95)] == [360.0, 1800.0, 1800.0]
    assert percentile([7.0], 95) == 7.0
    assert [percentile(list(range(1, 21)), p) for p in (50, 90, 95)] == [10, 18, 19]


def test_ticket_times_by_level_and_priority(wiring: Wiring, clock: ManualClock, tickets: dict[str, str]) -> None:
    report = _report(wiring, clock)
    level_1, level_2 = {"level": "1er. Nivel"}, {"level": "2do. Nivel"}
    # 1er. Nivel responded in 4 min, 6 min and 30 min.
    assert value(report, "response_time", "instances") == 3
    assert value(report, "response_time", "count", **level_1) == 3
    assert value(report, "response_time", "mean", **level_1) == (240 + 360 + 1800) / 3
    assert value(report, "response_time", "p50", **level_1) == 360
    assert value(report, "response_time", "p90", **level_1) == 1800
    assert value(report, "response_time", "p95", **level_1) == 1800
    # By priority: the critical request, the low incident, and the declined one that was never prioritized.
    assert value(report, "response_time", "mean", **level_1, priority="Crítica") == 240
    assert value(report, "response_time", "mean", **level_1, priority="Baja") == 360
    assert value(report, "response_time", "mean", **level_1, priority=MISSING) == 1800
    # 2do. Nivel took the escalated ticket 3 h after it reached its inbox.
    assert value(report, "response_time", "count", **level_2) == 1
    assert value(report, "response_time", "p95", **level_2, priority="Baja") == 3 * 3600
    assert value(report, "response_time", "count", level="Soporte en campo") == 0
    assert value(report, "response_time", "mean", level="Soporte en campo") is None
    # Resolution: closed by 1er. Nivel at +30 min, by 2do. Nivel at +5 h 15 min; the declined one never.
    assert value(report, "resolution_time", "count", **level_1) == 1
    assert value(report, "resolution_time", "mean", **level_1, priority="Crítica") == 1800
    assert value(report, "resolution_time", "count", **level_2) == 1
    assert value(report, "resolution_time", "p50", **level_2) == 5 * 3600 + 15 * 60
    # Help desk against Level 1 = 10 min, Level 2 = 24 h.
    assert value(report, "helpdesk_response", "target", **level_1) == 600
    assert value(report, "helpdesk_response", "within_target", **level_1) == 2
    assert value(report, "helpdesk_response", "percent_within_target", **level_1) == 66.667
    assert value(report, "helpdesk_response", "target", **level_2) == 86400
    assert value(report, "helpdesk_response", "percent_within_target", **level_2) == 100.0


def test_tickets_per_unit_service_and_type(wiring: Wiring, clock: ManualClock, tickets: dict[str, str]) -> None:
    report = _report(wiring, clock)
    third = 33.333
    assert value(report, "tickets_by_requesting_unit", "instances") == 3
    assert value(report, "tickets_by_requesting_unit", "count", requesting_unit="Dirección de Egresos") == 1
    assert value(report, "tickets_by_requesting_unit", "percent",
                 requesting_unit="Dirección General de Recursos Humanos") == third
    # RIS-3.1 started on its own records no requesting unit; its service comes from act. 7.
    assert value(report, "tickets_by_requesting_unit", "count", requesting_unit=MISSING) == 1
    assert value(report, "tickets_by_catalog_service", "count", catalog_service="Impresión personal") == 1
    assert value(report, "tickets_by_unit_and_service", "percent", requesting_unit="Dirección de Egresos",
                 catalog_service="Correo electrónico institucional") == third
    assert value(report, "tickets_by_type", "count", ticket_type="Incidente") == 1
    assert value(report, "tickets_by_type", "percent", ticket_type="Solicitud de servicio") == third
    assert value(report, "tickets_by_type", "count", ticket_type=MISSING) == 1
    unavailable = indicator(report, "problems_diagnosed_on_time")
    assert unavailable.available is False and unavailable.reason and unavailable.rows == []


def test_period_and_definition_select_instances(wiring: Wiring, clock: ManualClock, tickets: dict[str, str]) -> None:
    # `to` is exclusive: the declined ticket started exactly at T0 + 6 h.
    before = _report(wiring, clock, started_to=T0 + 6 * H)
    assert value(before, "response_time", "count", level="1er. Nivel") == 2
    assert value(before, "response_time", "mean", level="1er. Nivel") == 300
    after = _report(wiring, clock, started_from=T0 + H)
    assert value(after, "tickets_by_requesting_unit", "instances") == 2
    assert value(after, "resolution_time", "count", level="1er. Nivel") == 0
    only_ris = _report(wiring, clock, definition="MP_DGTIT_DOSI_GIS_RIS_3_1")
    assert only_ris.instances == 1
    assert value(only_ris, "tickets_by_catalog_service", "count", catalog_service="Impresión personal") == 1
    assert {i.id for i in only_ris.indicators} >= {"sla_compliance", "response_time", "problems_diagnosed_on_time"}
    assert "problems_resolved" not in {i.id for i in only_ris.indicators}
    with pytest.raises(NotFound):
        _report(wiring, clock, definition="NO_SUCH_PROCESS")


def test_problems_initiatives_and_changes(wiring: Wiring, clock: ManualClock, run: Runner) -> None:
    kpi_data.deploy_with_callees(wiring.service, kpi_data.PROBLEM_KEY, kpi_data.INITIATIVE_KEY, kpi_data.CHANGE_KEY)
    kpi_data.problems(run)
    kpi_data.initiatives(run)
    kpi_data.changes(run)
    report = _report(wiring, clock)
    assert value(report, "problems_resolved", "instances") == 3
    assert value(report, "problems_resolved", "count") == 1
    assert value(report, "problems_resolved", "percent") == 33.333
    assert value(report, "problems_resolved", "count", problem_resolution="Cerrado sin solución") == 1
    assert value(report, "problems_resolved", "count", problem_resolution=MISSING) == 1
    for status in ("Evaluación", "Cancelado", "En curso (sin estatus)"):
        assert value(report, "initiatives_by_status", "count", initiative_status=status) == 1, status
    for stage in ("Registro y asignación", "Transferido a solicitud de servicio", "Construcción y pruebas"):
        assert value(report, "changes_by_stage", "percent", change_stage=stage) == 33.333, stage
    # No ticket ran: the ticket indicators count nothing rather than inventing numbers.
    assert value(report, "tickets_by_type", "instances") == 0
    assert value(report, "response_time", "count", level="1er. Nivel") == 0


def test_sla_compliance_from_the_sla_clocks(wiring: Wiring, clock: ManualClock, run: Runner) -> None:
    """gob.mx protocol (the SLOs of bpmn/slas.yaml): a critical incident handled in time, one
    reported late, a high one confirmed late, and one just reported. Late steps are completed
    before any scheduler ran, so the clocks are stopped as breached by the step itself."""
    kpi_data.deploy_with_callees(wiring.service, "FED_GOBMX_INC")
    report_data = {"tramite": "Acta de nacimiento", "tipo_falla": "No disponible", "descripcion_falla": "Error 500",
                   "medio_comunicacion": "Correo electrónico", "correo_responsable": "resp@example.org"}
    in_time = run.start("FED_GOBMX_INC", T0)
    run.do(in_time, "Activity_1", report_data, after=20 * M)  # informe: met (PT1H)
    run.do(in_time, "Activity_2", {"severidad": "Crítica"}, after=5 * M)
    run.do(in_time, "Activity_2_1", {"confirmacion_enterado": "Enterado"}, after=10 * M)  # met (PT15M)
    for element, data in (("Activity_2_2", {"acciones_iniciadas": "Reinicio"}),
                          ("Activity_2_3", {"cortinilla_desplegada": True}),
                          ("Activity_2_4", {"boton_deshabilitado": True})):
        run.do(in_time, element, data, after=M)
    run.do(in_time, "Activity_3", {"descripcion_correccion": "Corregido"}, after=H)  # resolucion: met (PT1H30M)
    # validacion (Activity_4) now runs: open.
    reported_late = run.start("FED_GOBMX_INC", T0 + 3 * H)
    run.do(reported_late, "Activity_1", report_data, after=2 * H)  # informe: breached
    confirmed_late = run.start("FED_GOBMX_INC", T0 + 6 * H)
    run.do(confirmed_late, "Activity_1", report_data, after=10 * M)  # informe: met
    run.do(confirmed_late, "Activity_2", {"severidad": "Alta"}, after=5 * M)
    run.do(confirmed_late, "Activity_2_1", {"confirmacion_enterado": "Enterado"}, after=45 * M)  # breached (PT30M)
    run.start("FED_GOBMX_INC", T0 + 8 * H)  # its informe clock runs: open

    report = _report(wiring, clock, definition="FED_GOBMX_INC")
    sla = indicator(report, "sla_compliance")
    assert sla.available, sla.reason
    assert value(report, "sla_compliance", "met", metric="response") == 3
    assert value(report, "sla_compliance", "breached", metric="response") == 2
    assert value(report, "sla_compliance", "percent_met", metric="response") == 60.0
    assert value(report, "sla_compliance", "met", metric="response", level="Crítica") == 1
    assert value(report, "sla_compliance", "breached", metric="response", level="Alta") == 1
    assert value(report, "sla_compliance", "percent_met", metric="response", sla="FED_GOBMX_INC/informe") == 66.667
    assert value(report, "sla_compliance", "percent_met", metric="resolution", level="Crítica") == 100.0
    assert value(report, "sla_compliance", "open", metric="validation", level="Crítica") == 1
    assert value(report, "sla_compliance", "percent_met", metric="validation") is None  # nothing stopped yet
    assert value(report, "sla_compliance", "open", metric="response") == 1
    # A period with none of these instances: no clock is counted.
    empty = _report(wiring, clock, started_from=datetime.fromisoformat("2027-01-01T00:00:00+00:00"))
    assert indicator(empty, "sla_compliance").rows == []


def test_sla_compliance_is_unavailable_without_the_sla_clocks(wiring: Wiring, clock: ManualClock,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation without the SLA tables says so rather than reporting 0 %."""
    from engine.reports import kpis

    monkeypatch.setattr(kpis, "Base", SimpleNamespace(metadata=SimpleNamespace(tables={})))
    sla = indicator(_report(wiring, clock), "sla_compliance")
    assert sla.available is False and "sla_clocks" in (sla.reason or "") and sla.rows == []
