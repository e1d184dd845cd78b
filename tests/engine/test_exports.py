"""Event-log exports from real histories: the CSV columns, and XES that validates against the
IEEE 1849-2016 XML Schema (tests/fixtures/xes.xsd) and carries the same entries."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from engine import exports
from engine.bootstrap import Wiring
from engine.clock import ManualClock
from tests.engine import documents

XSD = Path(__file__).resolve().parent.parent / "fixtures" / "xes.xsd"


@pytest.fixture(scope="module")
def xes_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def _ready(wiring: Wiring, instance_id: str) -> dict[str, str]:
    _, tasks = wiring.service.get_instance(instance_id)
    return {t.element_id: t.id for t in tasks}


def _cases(wiring: Wiring, clock: ManualClock) -> dict[str, str]:
    service = wiring.service
    for xml in (documents.approval(), documents.parallel_pair(), documents.timer_escalation()):
        service.deploy(xml.encode())
    approved = service.start("approval", {"solicitante": 'ana "<&>"'}, requester="ana")
    clock.advance(minutes=10)
    service.complete_task(_ready(wiring, approved.id)["Task_review"], {"aprobada": "Sí"}, actor="luis")
    clock.advance(days=1)
    pair = service.start("pair", requester="eva")
    tasks = _ready(wiring, pair.id)
    service.complete_task(tasks["Task_a"], {"a": 1}, actor="eva")
    clock.advance(minutes=1)
    service.complete_task(tasks["Task_b"], {"b": 2}, actor="raul")
    clock.advance(days=1)
    escalated = service.start("escalation", requester="ana")
    clock.advance(hours=2)
    assert service.fire_due_timers() == 1
    return {"approved": approved.id, "pair": pair.id, "escalated": escalated.id}


def _entries(wiring: Wiring, **filters: object) -> list[exports.LogEntry]:
    with wiring.service.uow.read() as session:
        return list(exports.event_log(session, **filters))  # type: ignore[arg-type]


def test_entries_map_the_history_to_activity_starts_and_completions(wiring: Wiring, clock: ManualClock) -> None:
    ids = _cases(wiring, clock)
    entries = [e for e in _entries(wiring) if e.case_id == ids["approved"]]
    assert [(e.activity, e.lifecycle, e.resource) for e in entries] == [
        ("start", "complete", "ana"),
        ("1. Revisar la solicitud", "start", None),
        ("1. Revisar la solicitud", "complete", "luis"),
        ("end_ok", "complete", "luis"),
    ]
    ready, done = entries[1], entries[2]
    assert done.timestamp - ready.timestamp == timedelta(minutes=10)
    assert done.timestamp.utcoffset() == timedelta(0) and done.definition_key == "approval"
    assert done.definition_version == 1 and done.element_id == "Task_review"
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    assert not any(e.element_id in ("gw", "split", "join") for e in _entries(wiring)), "gateways are not activities"
    timer = [e for e in _entries(wiring) if e.case_id == ids["escalated"] and e.element_id == "Timer_1h"]
    assert [(e.lifecycle, e.resource) for e in timer] == [("complete", "scheduler")]


def test_filters_select_whole_cases_by_definition_and_start_time(wiring: Wiring, clock: ManualClock) -> None:
    ids = _cases(wiring, clock)
    assert {e.case_id for e in _entries(wiring, definition="pair")} == {ids["pair"]}
    day_two = ManualClock().now + timedelta(days=1)
    since = {e.case_id for e in _entries(wiring, started_from=day_two)}
    assert since == {ids["pair"], ids["escalated"]}
    window = _entries(wiring, started_from=day_two, started_to=day_two + timedelta(hours=12))
    assert {e.case_id for e in window} == {ids["pair"]}
    # The case is whole even though it continued after the window's end.
    assert len(window) == len(_entries(wiring, definition="pair"))
    assert _entries(wiring, definition="nothing") == []


def test_csv_has_the_columns_process_mining_tools_ask_for(wiring: Wiring, clock: ManualClock) -> None:
    ids = _cases(wiring, clock)
    with wiring.service.uow.read() as session:
        text = "".join(exports.to_csv(exports.event_log(session)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == exports.CSV_COLUMNS
    assert len(rows) == len(_entries(wiring))
    review = next(r for r in rows if r["case_id"] == ids["approved"] and r["lifecycle_transition"] == "complete"
                  and r["element_id"] == "Task_review")
    assert review["activity"] == "1. Revisar la solicitud" and review["resource"] == "luis"
    assert datetime.fromisoformat(review["timestamp"]).utcoffset() == timedelta(0)
    assert review["timestamp"].endswith("+00:00") and review["definition_version"] == "1"


def test_xes_validates_against_the_ieee_1849_schema(wiring: Wiring, clock: ManualClock,
                                                     xes_schema: etree.XMLSchema) -> None:
    ids = _cases(wiring, clock)
    with wiring.service.uow.read() as session:
        document = "".join(exports.to_xes(exports.event_log(session)))
    root = etree.fromstring(document.encode())
    xes_schema.assertValid(root)
    assert root.tag == "log" and root.get("xes.version") == "2.0"
    assert {e.get("prefix") for e in root.findall("extension")} == {"concept", "time", "org", "lifecycle"}
    traces = root.findall("trace")
    assert [t.find("string[@key='concept:name']").get("value") for t in traces] == [
        ids["approved"], ids["pair"], ids["escalated"]]
    events = traces[0].findall("event")
    assert len(events) == 4

    def attrs(event: etree._Element) -> dict[str, str]:
        return {a.get("key"): a.get("value") for a in event}

    review = attrs(events[2])
    assert review["concept:name"] == "1. Revisar la solicitud" and review["lifecycle:transition"] == "complete"
    assert review["org:resource"] == "luis" and review["time:timestamp"].endswith("+00:00")
    assert "org:resource" not in attrs(events[1])
    # Every classifier key is declared as a global event attribute, as the standard requires.
    declared = {a.get("key") for a in root.find("global[@scope='event']")}
    for classifier in root.findall("classifier"):
        assert set(classifier.get("keys").split()) <= declared


def test_empty_and_awkward_logs_still_validate(wiring: Wiring, xes_schema: etree.XMLSchema) -> None:
    empty = "".join(exports.to_xes(iter([])))
    xes_schema.assertValid(etree.fromstring(empty.encode()))
    at = ManualClock().now
    odd = exports.LogEntry(case_id="c1", activity='a "quoted" <b> & \x01 name', timestamp=at, resource="x\ny",
                           lifecycle="complete", element_id="e", definition_key="k", definition_version=1, seq=1)
    root = etree.fromstring("".join(exports.to_xes(iter([odd]))).encode())
    xes_schema.assertValid(root)
    assert root.find("trace/event/string[@key='concept:name']").get("value") == 'a "quoted" <b> &  name'
    assert root.find("trace/event/string[@key='org:resource']").get("value") == "x\ny"
    with pytest.raises(etree.DocumentInvalid):
        xes_schema.assertValid(etree.fromstring(b'<log xmlns="http://www.xes-standard.org/" xes.version="2.0"/>'))
