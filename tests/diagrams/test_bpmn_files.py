"""Static checks of every bpmn/**/*.bpmn against bpmn/CONVENTIONS.md.

These are the promises the diagrams make to their three audiences: the engine (valid BPMN that
parses, handler names it knows, callees that exist, forms it can read), the process owners who
edit them in Camunda Modeler (every element drawn, nothing hidden under something else, every
activity in its role's lane) and the API (the process id is the definition key, ``manualKey``
ties it back to the manual). One test per (check, file), so a failure names both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR

from engine.forms import read_forms
from engine.parsing import parse_definition
from tests.diagrams.driver import (
    BPMN_NS,
    HANDLERS,
    REPO,
    diagram_files,
    process_id_for,
    process_index,
    xml_root,
)

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "spiffworkflow": SPIFF_NS}

FLOW_NODE_TAGS = frozenset({
    "task", "userTask", "serviceTask", "scriptTask", "manualTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
SUBPROCESS_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})

FILES = diagram_files()
FILE_PARAMS = [pytest.param(path, id=key) for key, path in FILES.items()]


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        """A positive-area intersection (touching edges is fine)."""
        return (self.x < other.x + other.w and other.x < self.x + self.w
                and self.y < other.y + other.h and other.y < self.y + self.h)

    def contains_point(self, x: float, y: float) -> bool:
        return self.x <= x <= self.x + self.w and self.y <= y <= self.y + self.h


def _local(el: etree._Element) -> str:
    if not isinstance(el.tag, str):
        return ""
    q = etree.QName(el)
    return q.localname if q.namespace == BPMN_NS else ""


def _processes(path: Path) -> list[etree._Element]:
    return xml_root(path).findall("bpmn:process", NS)


def _executable(path: Path) -> etree._Element:
    found = [p for p in _processes(path) if p.get("isExecutable") == "true"]
    assert len(found) == 1, f"{path.name}: expected one executable process, found {len(found)}"
    return found[0]


def _flow_nodes(scope: etree._Element) -> Iterator[etree._Element]:
    """Every flow node below ``scope``, embedded sub-processes included."""
    for el in scope.iter():
        if _local(el) in FLOW_NODE_TAGS and el.get("id"):
            yield el


def _shapes(path: Path) -> dict[str, Box]:
    shapes = {}
    for shape in xml_root(path).iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        bounds = shape.find("dc:Bounds", NS)
        if bounds is not None and shape.get("bpmnElement"):
            values = (float(bounds.get(a) or 0) for a in ("x", "y", "width", "height"))
            shapes[shape.get("bpmnElement") or ""] = Box(*values)
    return shapes


def _inside_subprocess(el: etree._Element) -> bool:
    parent = el.getparent()
    while parent is not None:
        if _local(parent) in SUBPROCESS_TAGS:
            return True
        parent = parent.getparent()
    return False


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_valid_against_bpmn_xsd(path: Path) -> None:
    """SpiffWorkflow's validator: the BPMN 2.0 XSD plus the spiffworkflow extension schema."""
    root = etree.parse(str(path)).getroot()  # a private copy: the validator rewrites some tags
    VALIDATOR.validate(root, filename=path.name)
    assert VALIDATOR.validator.validate(root), str(VALIDATOR.validator.error_log.last_error)


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_parses_with_the_engine(path: Path) -> None:
    parsed = parse_definition(path.read_bytes(), source_name=str(path.relative_to(REPO)))
    assert parsed.spec is not None


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_ids_match_the_file_name(path: Path) -> None:
    key = path.name[: -len(".bpmn")]
    process = _executable(path)
    assert process.get("id") == process_id_for(key), f"process id {process.get('id')!r} for file {path.name}"
    manual_key = process.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='manualKey']/@value",
        namespaces=NS,
    )
    assert manual_key == [key], f"manualKey property is {manual_key!r}, expected [{key!r}]"
    assert path.parent.name in {"cfnp", "daid", "dosi", "dpti", "dids", "federal"}, f"unknown area {path.parent.name}"


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_every_element_is_drawn(path: Path) -> None:
    """Camunda Modeler silently hides elements without DI; a process owner could not see them."""
    root = xml_root(path)
    shapes = _shapes(path)
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")}
    no_shape = sorted(el.get("id") or "" for p in _processes(path) for el in _flow_nodes(p)
                      if el.get("id") not in shapes)
    no_edge = sorted(f.get("id") or "" for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("id") not in edges)
    assert not no_shape and not no_edge, (
        f"flow nodes without BPMNShape: {no_shape}; sequence flows without BPMNEdge: {no_edge}"
    )


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_no_shapes_overlap(path: Path) -> None:
    """Overlapping shapes hide each other in the modeler. A boundary event sits on its host's
    border by design, and an expanded sub-process contains its children: both are allowed."""
    shapes = _shapes(path)
    nodes = [el for p in _processes(path) for el in _flow_nodes(p) if el.get("id") in shapes]
    allowed: set[frozenset[str]] = set()
    for el in nodes:
        if _local(el) == "boundaryEvent":
            allowed.add(frozenset({el.get("id") or "", el.get("attachedToRef") or ""}))
        if _local(el) in SUBPROCESS_TAGS:
            for child in _flow_nodes(el):
                if child is not el:
                    allowed.add(frozenset({el.get("id") or "", child.get("id") or ""}))
    overlapping = []
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            ida, idb = a.get("id") or "", b.get("id") or ""
            if frozenset({ida, idb}) not in allowed and shapes[ida].overlaps(shapes[idb]):
                overlapping.append((ida, idb))
    assert not overlapping, f"overlapping shapes: {overlapping}"


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_every_node_in_one_lane(path: Path) -> None:
    """Lanes are the manual's roles: a node outside any lane has no responsible. Checked both in
    the model (``flowNodeRef`` in exactly one lane) and in the drawing (its centre in that lane)."""
    shapes = _shapes(path)
    problems = []
    for process in _processes(path):
        lanes = list(process.iter(f"{{{BPMN_NS}}}lane"))
        if not lanes:
            continue
        owner: dict[str, list[str]] = {}
        for lane in lanes:
            for ref in lane.findall("bpmn:flowNodeRef", NS):
                owner.setdefault((ref.text or "").strip(), []).append(lane.get("id") or "")
        for el in _flow_nodes(process):
            nid = el.get("id") or ""
            if _inside_subprocess(el):
                continue  # the lanes of the enclosing process do not list a sub-process's children
            in_lanes = owner.get(nid, [])
            if len(in_lanes) != 1:
                problems.append(f"{nid} is listed in {len(in_lanes)} lanes")
                continue
            box, lane_box = shapes.get(nid), shapes.get(in_lanes[0])
            centre = (box.x + box.w / 2, box.y + box.h / 2) if box is not None else None
            if centre is not None and lane_box is not None and not lane_box.contains_point(*centre):
                problems.append(f"{nid} is drawn outside its lane {in_lanes[0]}")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_service_tasks_name_known_handlers(path: Path) -> None:
    bad = []
    for task in xml_root(path).iter(f"{{{BPMN_NS}}}serviceTask"):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        handler = operator.get("id") if operator is not None else None
        if handler not in HANDLERS:
            bad.append(f"{task.get('id')}: {handler!r}")
    assert not bad, f"service tasks naming no handler of the CONVENTIONS.md table: {bad}"


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_exclusive_gateway_flows_have_conditions(path: Path) -> None:
    """An unconditioned, non-default flow of an exclusive gateway is taken or not by accident."""
    root = xml_root(path)
    flows = {f.get("id"): f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    bad = []
    for gateway in root.iter(f"{{{BPMN_NS}}}exclusiveGateway"):
        outgoing = [f for f in flows.values() if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            continue
        for flow in outgoing:
            condition = flow.find("bpmn:conditionExpression", NS)
            has_condition = condition is not None and (condition.text or "").strip()
            if not has_condition and flow.get("id") != gateway.get("default"):
                bad.append(f"{gateway.get('id')} -> {flow.get('id')}")
    assert not bad, f"exclusive gateway flows without condition that are not the default: {bad}"


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_call_activities_call_existing_processes(path: Path) -> None:
    known = process_index()
    bad = [f"{c.get('id')} -> {c.get('calledElement')!r}" for c in xml_root(path).iter(f"{{{BPMN_NS}}}callActivity")
           if c.get("calledElement") not in known]
    assert not bad, f"call activities whose calledElement is no process of bpmn/: {bad}"


@pytest.mark.parametrize("path", FILE_PARAMS)
def test_user_tasks_have_forms(path: Path) -> None:
    forms = read_forms(xml_root(path))  # raises FormDefinitionError on an unreadable form
    process_id = _executable(path).get("id") or ""
    missing = [t.get("id") for t in xml_root(path).iter(f"{{{BPMN_NS}}}userTask")
               if (process_id, t.get("id") or "") not in forms]
    empty = [eid for (pid, eid), form in forms.items() if not form.fields]
    assert not missing and not empty, f"user tasks without camunda:formData: {missing}; with an empty form: {empty}"
