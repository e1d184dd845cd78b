"""Conformance: the executed path of real instances against their diagrams, by token replay."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import text

from engine.bootstrap import Wiring
from engine.clock import ManualClock
from engine.conformance import ConformanceReport, check_instance, read_diagram
from engine.handler_registry import HandlerRegistry
from tests.engine import documents

REPO = Path(__file__).resolve().parents[2]


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def _check(wiring: Wiring, instance_id: str) -> ConformanceReport:
    with wiring.service.uow.read() as session:
        return check_instance(session, instance_id)


def _taken(report: ConformanceReport) -> dict[tuple[str, str], int]:
    return {(f["source"], f["target"]): f["taken"] for f in report.flows}


def _sql(wiring: Wiring, statement: str, **params: object) -> None:
    with wiring.db.begin() as conn:
        conn.execute(text(statement), params)


def test_a_path_the_diagram_allows_conforms(wiring: Wiring) -> None:
    service = wiring.service
    service.deploy(documents.approval().encode())
    instance = service.start("approval", {"solicitante": "ana"})
    waiting = _check(wiring, instance.id)
    assert waiting.conforms and waiting.fitness == 1.0 and waiting.waiting_at == ["Task_review"]
    assert waiting.remaining == 0 and waiting.actions_performed == 0 and waiting.protocol_compliance is None
    service.complete_task(_ready(wiring, instance.id)["Task_review"], {"aprobada": "No"}, actor="luis")
    report = _check(wiring, instance.id)
    assert report.conforms and report.deviations == [] and report.status == "completed"
    assert (report.fitness, report.protocol_compliance, report.coverage) == (1.0, 1.0, 1.0)
    assert (report.actions_performed, report.actions_in_protocol) == (1, 1)
    assert report.produced == report.consumed and report.missing == report.remaining == 0
    assert _taken(report) == {("start", "Task_review"): 1, ("Task_review", "gw"): 1, ("gw", "end_ok"): 0,
                              ("gw", "end_no"): 1}
    assert report.waiting_at == [] and report.not_performed == []


def test_parallel_branches_timers_and_activities_never_performed(wiring: Wiring, clock: ManualClock) -> None:
    service = wiring.service
    service.deploy(documents.parallel_pair().encode())
    service.deploy(documents.timer_escalation().encode())
    pair = service.start("pair")
    tasks = _ready(wiring, pair.id)
    service.complete_task(tasks["Task_b"], {"b": 2}, actor="raul")
    service.complete_task(tasks["Task_a"], {"a": 40}, actor="eva")
    report = _check(wiring, pair.id)
    assert report.conforms and report.fitness == 1.0 and report.coverage == 1.0
    assert report.actions_performed == 3  # two user tasks and the script
    escalated = service.start("escalation")
    clock.advance(hours=2)
    assert service.fire_due_timers() == 1
    service.complete_task(_ready(wiring, escalated.id)["Task_second"], {}, actor="luis")
    report = _check(wiring, escalated.id)
    assert report.conforms and report.fitness == 1.0, report.deviations
    assert [a["element_id"] for a in report.not_performed] == ["Task_first"]  # interrupted by the timer
    assert report.coverage == 0.5 and report.protocol_compliance == 1.0


def test_an_element_the_diagram_does_not_allow_is_a_deviation(wiring: Wiring) -> None:
    service = wiring.service
    service.deploy(documents.approval().encode())
    instance = service.start("approval", {"solicitante": "ana"})
    service.complete_task(_ready(wiring, instance.id)["Task_review"], {"aprobada": "Sí"}, actor="luis")
    _sql(wiring, "UPDATE events SET element_id = 'Task_ghost' WHERE instance_id = :i AND type = 'element_completed' "
         "AND element_id = 'Task_review'", i=instance.id)
    report = _check(wiring, instance.id)
    assert not report.conforms
    kinds = [(d.kind, d.element_id) for d in report.deviations]
    assert kinds == [("unknown_element", "Task_ghost"), ("not_enabled", "gw")]
    assert report.deviations[1].allowed_after == ["Task_review"]
    assert (report.actions_performed, report.actions_in_protocol, report.protocol_compliance) == (1, 0, 0.0)
    assert report.missing == 1 and report.remaining == 1 and report.fitness < 1.0
    assert report.waiting_at == ["Task_review"]


def test_a_join_without_all_its_branches_is_a_deviation(wiring: Wiring) -> None:
    service = wiring.service
    service.deploy(documents.parallel_pair().encode())
    pair = service.start("pair")
    tasks = _ready(wiring, pair.id)
    service.complete_task(tasks["Task_a"], {"a": 1}, actor="eva")
    service.complete_task(tasks["Task_b"], {"b": 2}, actor="raul")
    _sql(wiring, "DELETE FROM events WHERE instance_id = :i AND type = 'element_completed' AND element_id = 'Task_b'",
         i=pair.id)
    report = _check(wiring, pair.id)
    assert [(d.kind, d.element_id) for d in report.deviations] == [("incomplete_join", "join")]
    assert report.remaining == 1  # the token that waited in front of Task_b was never taken
    assert [a["element_id"] for a in report.not_performed] == ["Task_b"]


def test_the_real_monitoring_procedure_with_its_called_maintenance(wiring: Wiring, handlers: HandlerRegistry,
                                                                   clock: ManualClock) -> None:
    handlers.register("probe", lambda **_: {"down": [], "all_up": True})
    handlers.register("notify", lambda **_: {"status": "sent"})
    service = wiring.service
    for name in ("MP-DGTIT-DOSI-SAD-MCD-2.2.bpmn", "MP-DGTIT-DOSI-SAD-MCD-2.1.bpmn"):
        service.deploy((REPO / "bpmn" / "dosi" / name).read_bytes(), source_name=name)
    instance = service.start("MP_DGTIT_DOSI_SAD_MCD_2_1", {"destinos_monitoreo": ["10.10.20.15:443"]})
    service.complete_task(_ready(wiring, instance.id)["Activity_1_revision"], {
        "funcionamiento_correcto": "Sí", "observaciones_monitoreo": "todo en verde"}, actor="op")
    clock.advance(hours=1, seconds=1)
    assert service.fire_due_timers() == 1
    service.complete_task(_ready(wiring, instance.id)["Activity_1_revision"], {
        "funcionamiento_correcto": "No", "observaciones_monitoreo": "Datastore al 97 %"}, actor="op")
    service.complete_task(_ready(wiring, instance.id)["Activity_3"], {
        "descripcion_problema": "sin espacio", "problema_se_soluciona": "No"}, actor="op")
    scenario = yaml.safe_load((REPO / "tests" / "diagrams" / "scenarios" / "MP-DGTIT-DOSI-SAD-MCD-2.2.yaml")
                              .read_text())["scenarios"][0]
    for step in scenario["steps"]:
        service.complete_task(_ready(wiring, instance.id)[step["task"]], step["data"], actor="op")
    report = _check(wiring, instance.id)
    assert report.conforms and report.fitness == 1.0, report.deviations
    processes = {a["process_key"] for a in report.activities}
    assert processes == {"MP_DGTIT_DOSI_SAD_MCD_2_1", "MP_DGTIT_DOSI_SAD_MCD_2_2"}
    performed = {(a["process_key"], a["element_id"]): a["performed"] for a in report.activities}
    assert performed[("MP_DGTIT_DOSI_SAD_MCD_2_1", "Activity_1")] == 3  # probed at every turn
    assert performed[("MP_DGTIT_DOSI_SAD_MCD_2_1", "Activity_4")] == 1  # the call activity
    assert report.waiting_at == ["Activity_1_revision"]


def test_every_diagram_of_the_repository_reads_as_a_graph() -> None:
    for path in sorted((REPO / "bpmn").rglob("*.bpmn")):
        diagram = read_diagram(path.read_bytes())
        assert diagram.activities, path
        for flow in diagram.flows.values():
            assert flow.source in diagram.nodes and flow.target in diagram.nodes, (path, flow)


def test_recorded_gateway_flows_decide_which_branch_was_allowed(wiring: Wiring) -> None:
    from tests.engine.test_history_coverage import _inclusive

    service = wiring.service
    service.deploy(documents.approval().encode())
    service.deploy(_inclusive().encode())
    both = service.start("inclusive", {"a": 1, "b": 1})
    tasks = _ready(wiring, both.id)
    service.complete_task(tasks["Task_a"], {}, actor="eva")
    service.complete_task(tasks["Task_b"], {}, actor="eva")
    report = _check(wiring, both.id)
    assert report.conforms and report.fitness == 1.0, report.deviations
    assert _taken(report)[("split", "Task_a")] == _taken(report)[("split", "Task_b")] == 1

    instance = service.start("approval", {"solicitante": "ana"})
    service.complete_task(_ready(wiring, instance.id)["Task_review"], {"aprobada": "Sí"}, actor="luis")
    assert _check(wiring, instance.id).conforms
    # The record says the gateway went to end_no, but end_ok completed: with the flow recorded this is
    # a deviation (without it, either end would have been allowed).
    cast = "CAST(:p AS jsonb)" if wiring.db.dialect.name == "postgresql" else ":p"
    with wiring.db.connect() as conn:
        seq, payload = conn.execute(text("SELECT seq, payload FROM events WHERE instance_id = :i AND "
                                         "type = 'gateway_flow_taken'"), {"i": instance.id}).one()
    payload = json.loads(payload) if isinstance(payload, str) else payload
    payload.update(flow="f_gw_end_no", target="end_no")
    _sql(wiring, f"UPDATE events SET payload = {cast} WHERE instance_id = :i AND seq = :s", p=json.dumps(payload),
         i=instance.id, s=seq)
    report = _check(wiring, instance.id)
    assert [(d.kind, d.element_id) for d in report.deviations] == [("not_enabled", "end_ok")]
    assert report.remaining == 1 and report.waiting_at == ["end_no"]
    payload.update(flow="f_made_up")
    _sql(wiring, f"UPDATE events SET payload = {cast} WHERE instance_id = :i AND seq = :s", p=json.dumps(payload),
         i=instance.id, s=seq)
    assert [d.kind for d in _check(wiring, instance.id).deviations] == ["unknown_flow"]
