"""SLA definitions: the shipped bpmn/slas.yaml is consistent with the diagrams, templates, roles and
calendars; bad configurations and unknown calendars are refused with a message naming the place."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.bootstrap import Wiring
from engine.calendars import load_calendars
from engine.errors import InvalidDefinition
from engine.parsing import parse_definition
from engine.roles import RoleCatalog
from engine.sla_config import SlaCatalog, SlaConfigError, check_document
from handlers.notify import template_names
from tests.engine.test_timers import boundary

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def _diagrams() -> dict[str, bytes]:
    found = {}
    for path in BPMN.rglob("*.bpmn"):
        xml = path.read_bytes()
        root = etree.fromstring(xml)
        process = root.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
        found[process.get("id")] = xml
    return found


def _minimal(**overrides: object) -> dict[str, object]:
    sla: dict[str, object] = {"name": "atencion", "metric": "resolution", "element": "Task_first",
                              "target": "P5D", "calendar": "habil", "thresholds": {50: [], 100: []}}
    sla.update(overrides)
    return {"version": 1, "slas": {"plazo": [sla]}}


def test_the_shipped_configuration_matches_diagrams_templates_roles_and_calendars() -> None:
    catalog = SlaCatalog.load()
    diagrams = _diagrams()
    calendars = load_calendars()
    catalog.check_calendars(calendars)
    roles = RoleCatalog.load()
    templates = set(template_names())
    assert {"FED_GOBMX_INC", "FED_RENAPO_CERT", "FED_DGTIC_DSSD_003", "MP_DGTIT_DOSI_GIS_STS_3_7",
            "MP_DGTIT_DOSI_GIS_AIM_3_5"} <= catalog.process_keys()
    for definition in catalog.all():
        assert definition.process_key in diagrams, definition
        check_document(etree.fromstring(diagrams[definition.process_key]), definition.process_key)
        for threshold in definition.thresholds:
            for action in threshold.actions:
                if action.kind == "notify":
                    assert action.params["template"] in templates, (definition.name, action)
                    to = action.params["to"]
                    if to.startswith("role:"):
                        roles.resolve(to.removeprefix("role:"))
                else:
                    roles.resolve(action.params["role"])


def test_the_gob_mx_targets_are_the_protocols_slos_by_severity() -> None:
    gobmx = {d.name: d for d in SlaCatalog.load().for_process("FED_GOBMX_INC")}
    assert gobmx["confirmacion"].target_for({"severidad": "Crítica"}) == ("Crítica", "PT15M")
    assert gobmx["confirmacion"].target_for({"severidad": "Baja"}) == ("Baja", "PT1H")
    assert gobmx["resolucion"].target_for({"severidad": "Crítica"}) == ("Crítica", "PT1H30M")
    assert gobmx["validacion"].target_for({"severidad": "Alta"}) == ("Alta", "PT1H")
    assert gobmx["confirmacion"].target_for({}) is None  # severity not known yet: no clock
    assert [t.percent for t in gobmx["confirmacion"].thresholds] == [50, 75, 100]
    federal = {d.name: d.targets["*"] for d in SlaCatalog.load().for_process("FED_DGTIC_DSSD_003")}
    assert federal == {"primer_contacto": "P5D", "atencion_renapo": "P10D", "atencion_sat": "P27D"}


def test_targets_from_an_hours_variable_and_conditions() -> None:
    sts = {d.name: d for d in SlaCatalog.load().for_process("MP_DGTIT_DOSI_GIS_STS_3_7")}
    vip = sts["seguimiento_usuario_vip"]
    data = {"tipo_ticket": "Usuario VIP", "prioridad_ticket": "Alta", "tiempo_sla_horas": 6}
    assert vip.applies(data) and not sts["seguimiento_ticket"].applies(data)
    assert vip.target_for(data) == ("Alta", "PT6H")
    assert vip.target_for({**data, "tiempo_sla_horas": 0}) is None


@pytest.mark.parametrize("overrides, message", [
    ({"metric": "speed"}, "metric must be one of"),
    ({"target": "P1X"}, "not an ISO 8601 duration"),
    ({"target": {"Alta": "PT4H"}}, "need 'level'"),
    ({"thresholds": {150: []}}, "not a percent"),
    ({"thresholds": {50: [{"notify": {"template": "x"}}]}}, "notify takes exactly"),
    ({"thresholds": {50: [{"shout": {}}]}}, "unknown action"),
    ({"start_after": "Task_first"}, "task SLA runs while its task is ready"),
    ({"colour": "red"}, "unknown keys"),
])
def test_bad_configurations_are_refused_with_the_place(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SlaConfigError, match=message) as info:
        SlaCatalog.from_mapping(_minimal(**overrides))
    assert "slas.plazo[0]" in str(info.value)


def test_a_business_target_in_months_is_refused() -> None:
    catalog = SlaCatalog.from_mapping(_minimal(target="P1M"))
    with pytest.raises(SlaConfigError, match="months and years"):
        catalog.check_calendars(load_calendars())


def test_deploying_a_diagram_with_an_unknown_calendar_fails_with_the_element_id(wiring: Wiring) -> None:
    with pytest.raises(InvalidDefinition) as info:
        wiring.service.deploy(boundary(calendar="lunar", pid="lunar").encode())
    assert info.value.details["element_id"] == "Timer_plazo"
    assert "lunar" in info.value.message and "habil" in info.value.message
    assert wiring.service.list_definitions() == []
    # A stored definition is parsed again without the check: a later configuration change must not
    # make running instances unloadable.
    assert parse_definition(boundary(calendar="lunar", pid="lunar").encode()).key == "lunar"


def test_an_sla_naming_an_unknown_calendar_or_element_refuses_the_diagram() -> None:
    root = etree.fromstring(boundary(pid="plazo").encode())
    with pytest.raises(InvalidDefinition) as info:
        check_document(root, "plazo", catalog=SlaCatalog.from_mapping(_minimal(calendar="lunar")))
    assert info.value.details == {"element_id": "Task_first", "sla": "atencion", "calendar": "lunar"}
    with pytest.raises(InvalidDefinition) as info:
        check_document(root, "plazo", catalog=SlaCatalog.from_mapping(_minimal(element="Task_none")))
    assert info.value.details["element_id"] == "Task_none"
    check_document(root, "plazo", catalog=SlaCatalog.from_mapping(_minimal()))  # a valid one passes
