"""Conformance: does an instance's recorded path follow its diagram?

Replay proves that the record is what the engine would do again; conformance says how the path
relates to the *procedure as drawn*, in the terms auditors and the federal pilot indicator
"acciones dentro del protocolo vs acciones efectivamente realizadas" use. The path is the
``element_completed`` events of the history, in order; the diagram is the BPMN XML of the
definition version the instance ran under (and of the pinned versions of the processes it calls).

The comparison is token replay (van der Aalst's conformance checking) over the sequence flows:

* a completed element consumes a token from one incoming flow (all incoming flows for a parallel
  join, every flow holding one for an inclusive join), and produces one on each outgoing flow;
  an exclusive or event-based gateway produces *one* token that any one of its outgoing flows may
  take, an inclusive gateway one that any of them may take;
* a start event needs no token; a boundary event needs its activity to hold one (to be active),
  and an interrupting one takes it away;
* an element that completes without a token it needs is a **deviation**: the diagram has no flow
  from anything executed so far to it. The token it lacked is counted as *missing*;
* when the instance has ended, tokens nobody took are *remaining* (work the diagram required that
  never happened). While it runs they are simply where it stands.

The numbers (documented in ``docs/audit.md``):

* ``fitness`` = ½ (1 − missing / consumed) + ½ (1 − remaining / produced), 1.0 for a path the
  diagram allows from start to end;
* ``protocol_compliance`` = actions (activity completions) the diagram allowed when they happened
  / actions performed: the pilot indicator;
* ``coverage`` = activities of the diagram performed at least once / activities of the diagram:
  how much of the procedure this case exercised (branches not taken lower it; it is no fault).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import Definition, Event, Instance

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ACTIVITY_KINDS = frozenset({"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask",
                            "receiveTask", "businessRuleTask", "callActivity", "subProcess", "transaction"})
_NON_NODES = frozenset({"sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference",
                        "textAnnotation", "association", "extensionElements", "documentation", "ioSpecification",
                        "property", "group", "category"})
_ONE_OF = frozenset({"exclusiveGateway", "eventBasedGateway"})


@dataclass(frozen=True)
class Node:
    id: str
    name: str | None
    kind: str  # the BPMN element's local name: userTask, exclusiveGateway, boundaryEvent, …
    process_key: str  # the process (or embedded sub-process) that holds it
    incoming: tuple[str, ...]
    outgoing: tuple[str, ...]
    attached_to: str | None = None
    interrupting: bool = True
    terminate: bool = False


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    name: str | None
    process_key: str


@dataclass
class Diagram:
    """The graph of one BPMN document's executable process; element ids are unique per document."""

    key: str
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)

    @property
    def activities(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind in ACTIVITY_KINDS]


_DIAGRAMS: dict[str, Diagram] = {}  # by the document's checksum: a deployed version never changes
_LOCK = Lock()


def read_diagram(xml: bytes, checksum: str | None = None) -> Diagram:
    """The flow graph of the executable process of a BPMN document (cached by ``checksum``)."""
    if checksum is not None and checksum in _DIAGRAMS:
        return _DIAGRAMS[checksum]
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    process = next(p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true")
    diagram = Diagram(key=process.get("id"))
    _read_scope(process, process.get("id"), diagram)
    if checksum is not None:
        with _LOCK:
            _DIAGRAMS[checksum] = diagram
    return diagram


def _read_scope(scope: Any, process_key: str, diagram: Diagram) -> None:
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for child in scope:
        if not isinstance(child.tag, str) or etree.QName(child).localname != "sequenceFlow":
            continue
        flow = Flow(child.get("id"), child.get("sourceRef"), child.get("targetRef"), child.get("name"), process_key)
        diagram.flows[flow.id] = flow
        outgoing.setdefault(flow.source, []).append(flow.id)
        incoming.setdefault(flow.target, []).append(flow.id)
    for child in scope:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
            continue
        kind = etree.QName(child).localname
        if kind in _NON_NODES or child.get("id") is None:
            continue
        element_id = child.get("id")
        diagram.nodes[element_id] = Node(
            id=element_id, name=child.get("name"), kind=kind, process_key=process_key,
            incoming=tuple(incoming.get(element_id, ())), outgoing=tuple(outgoing.get(element_id, ())),
            attached_to=child.get("attachedToRef"), interrupting=child.get("cancelActivity", "true") != "false",
            terminate=child.find(f"{{{BPMN_NS}}}terminateEventDefinition") is not None)
        if kind in ("subProcess", "transaction"):
            _read_scope(child, element_id, diagram)


@dataclass
class Deviation:
    seq: int
    element_id: str
    process_key: str | None
    kind: str  # not_enabled | incomplete_join | inactive_boundary | unknown_element | unknown_flow
    message: str
    allowed_after: list[str] = field(default_factory=list)


@dataclass
class ConformanceReport:
    instance_id: str
    definition_key: str
    definition_version: int
    status: str
    produced: int = 0
    consumed: int = 0
    missing: int = 0
    remaining: int = 0
    actions_performed: int = 0
    actions_in_protocol: int = 0
    activities: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    waiting_at: list[str] = field(default_factory=list)

    @property
    def fitness(self) -> float:
        missing = self.missing / self.consumed if self.consumed else 0.0
        remaining = self.remaining / self.produced if self.produced else 0.0
        return round(0.5 * (1 - missing) + 0.5 * (1 - remaining), 4)

    @property
    def protocol_compliance(self) -> float | None:
        return round(self.actions_in_protocol / self.actions_performed, 4) if self.actions_performed else None

    @property
    def coverage(self) -> float | None:
        total = len(self.activities)
        return round(sum(1 for a in self.activities if a["performed"]) / total, 4) if total else None

    @property
    def not_performed(self) -> list[dict[str, Any]]:
        return [a for a in self.activities if not a["performed"]]

    @property
    def conforms(self) -> bool:
        return not self.deviations and self.remaining == 0


def check_instance(session: Session, instance_id: str) -> ConformanceReport:
    """Compare the executed path of ``instance_id`` with its diagram (see the module docstring)."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.", instance_id=instance_id)
    ids = [instance.definition_id, *dict(instance.called_definitions or {}).values()]
    rows = {d.id: d for d in session.scalars(select(Definition).where(Definition.id.in_(ids)))}
    top = rows[instance.definition_id]
    diagrams = [read_diagram(top.bpmn_xml.encode(), top.checksum)]
    diagrams += [read_diagram(rows[i].bpmn_xml.encode(), rows[i].checksum)
                 for i in dict.fromkeys(ids[1:]) if i in rows and i != top.id]
    events = session.execute(select(Event.seq, Event.type, Event.element_id, Event.payload)
                             .where(Event.instance_id == instance_id,
                                    Event.type.in_(["element_completed", "gateway_flow_taken"]))
                             .order_by(Event.seq))
    report = ConformanceReport(instance_id=instance.id, definition_key=instance.definition_key,
                               definition_version=instance.definition_version, status=instance.status)
    _TokenReplay(diagrams, report).run(events, ended=instance.status == "completed")
    return report


class _TokenReplay:
    def __init__(self, diagrams: list[Diagram], report: ConformanceReport) -> None:
        self.diagrams = diagrams
        self.by_process = {d.key: d for d in diagrams}
        self.report = report
        self.tokens: Counter[tuple[str, str]] = Counter()  # (document key, flow id) -> tokens
        self.choices: list[dict[str, Any]] = []  # {"doc", "flows", "any", "taken"}
        self.taken: Counter[tuple[str, str]] = Counter()
        self.performed: Counter[tuple[str, str]] = Counter()
        self.entered: set[str] = {diagrams[0].key}
        self.last_choice: dict[str, Any] | None = None  # the choice of the gateway that completed last

    def run(self, events: Iterable[Any], *, ended: bool) -> None:
        for event in events:
            if event.type == "gateway_flow_taken":
                self._flow_taken(event)
            else:
                self._complete(event)
        report = self.report
        open_choices = [c for c in self.choices if not c["taken"]]
        if ended:
            report.remaining = sum(self.tokens.values()) + len(open_choices)
        report.waiting_at = sorted({self._doc(doc).flows[f].target for (doc, f), n in self.tokens.items() if n}
                                   | {self._doc(c["doc"]).flows[f].target for c in open_choices for f in c["flows"]})
        for diagram in self.diagrams:
            if diagram.key not in self.entered:
                continue  # a called process never reached: its activities were not due
            for node in diagram.activities:
                report.activities.append({"element_id": node.id, "name": node.name, "type": node.kind,
                                          "process_key": node.process_key,
                                          "performed": self.performed[(diagram.key, node.id)]})
            for flow in diagram.flows.values():
                report.flows.append({"flow_id": flow.id, "source": flow.source, "target": flow.target,
                                     "name": flow.name, "process_key": flow.process_key,
                                     "taken": self.taken[(diagram.key, flow.id)]})

    def _doc(self, key: str) -> Diagram:
        return self.by_process[key]

    def _find(self, process_key: str | None, element_id: str) -> tuple[Diagram, Node] | None:
        diagram = self.by_process.get(process_key or "")
        if diagram is not None and element_id in diagram.nodes:
            return diagram, diagram.nodes[element_id]
        # An embedded sub-process runs under its own name: look the element up in every document.
        for diagram in self.diagrams:
            if element_id in diagram.nodes:
                return diagram, diagram.nodes[element_id]
        return None

    def _complete(self, event: Any) -> None:
        payload = event.payload or {}
        element_id = event.element_id or ""
        found = self._find(payload.get("process"), element_id)
        report = self.report
        is_activity = str(payload.get("type", "")).endswith(("Task", "Activity", "SubProcess", "Subprocess"))
        if found is None:
            report.actions_performed += is_activity
            report.deviations.append(Deviation(event.seq, element_id, payload.get("process"), "unknown_element",
                                               f"{element_id} is no element of the diagram."))
            return
        diagram, node = found
        self.entered.add(diagram.key)
        ok = self._consume(diagram, node, event.seq)
        if node.kind in ACTIVITY_KINDS:
            report.actions_performed += 1
            report.actions_in_protocol += ok
            self.performed[(diagram.key, node.id)] += 1
        self.last_choice = None
        self._produce(diagram, node)
        if self.last_choice is not None:
            self.last_choice["task_id"] = payload.get("task_id")

    def _flow_taken(self, event: Any) -> None:
        """A recorded ``gateway_flow_taken``: the gateway's choice becomes a token on that very flow."""
        payload = event.payload or {}
        choice = self.last_choice
        if choice is None or choice.get("task_id") != payload.get("task_id"):
            return  # not the gateway that just completed (a history written before flows were recorded)
        flow = payload.get("flow")
        if flow not in choice["offered"]:
            self.report.deviations.append(Deviation(
                event.seq, event.element_id or "", payload.get("process"), "unknown_flow",
                f"{event.element_id} sent the instance to {payload.get('target')}, along no sequence flow of the "
                "diagram."))
            return
        if not choice.get("recorded"):
            choice["recorded"] = True
            if choice in self.choices and not choice["taken"]:
                self.choices.remove(choice)
                self.report.produced -= 1  # the open choice is replaced by the flows actually taken
        self.tokens[(choice["doc"], flow)] += 1
        self.report.produced += 1

    # -- tokens ------------------------------------------------------------------------------

    def _take(self, diagram: Diagram, flow_id: str) -> bool:
        """Take a token from ``flow_id`` (a plain one, else an open choice that offers it)."""
        key = (diagram.key, flow_id)
        if self.tokens[key]:
            self.tokens[key] -= 1
        else:
            choice = next((c for c in self.choices if c["doc"] == diagram.key and flow_id in c["flows"]
                           and (not c["taken"] or c["any"])), None)
            if choice is None:
                return False
            if choice["any"]:
                choice["flows"] = [f for f in choice["flows"] if f != flow_id]
                self.report.produced += choice["taken"] > 0  # each further branch of an inclusive split
            choice["taken"] += 1
            if not choice["flows"] or not choice["any"]:
                self.choices.remove(choice)
        self.taken[key] += 1
        self.report.consumed += 1
        return True

    def _holds(self, diagram: Diagram, flow_id: str) -> bool:
        return bool(self.tokens[(diagram.key, flow_id)]) or any(
            c["doc"] == diagram.key and flow_id in c["flows"] for c in self.choices)

    def _consume(self, diagram: Diagram, node: Node, seq: int) -> bool:
        report = self.report
        if node.kind == "boundaryEvent":
            host = diagram.nodes.get(node.attached_to or "")
            active = host is not None and (any(self._holds(diagram, f) for f in host.incoming) or not host.incoming)
            if not active:
                report.deviations.append(Deviation(seq, node.id, node.process_key, "inactive_boundary",
                                                   f"{node.id} fired while {node.attached_to} was not active."))
                return False
            if node.interrupting and host is not None:
                flow = next((f for f in host.incoming if self._holds(diagram, f)), None)
                if flow is not None:
                    self._take(diagram, flow)
                    self.taken[(diagram.key, flow)] -= 1  # interrupted: the activity was entered, not left
            report.produced += 1  # the event itself starts a path
            return True
        if not node.incoming:
            report.produced += 1
            report.consumed += 1  # start events take the initial token
            return True
        if node.kind == "parallelGateway" and len(node.incoming) > 1:
            lacking = [f for f in node.incoming if not self._take(diagram, f)]
            if lacking:
                self._missing(seq, diagram, node, len(lacking), "incomplete_join",
                              f"{node.id} joined without the branches of {', '.join(lacking)}.")
                return False
            return True
        if node.kind == "inclusiveGateway" and len(node.incoming) > 1:
            arrived = [f for f in node.incoming if self._take(diagram, f)]
            while any(self._take(diagram, f) for f in node.incoming):
                pass
            if arrived:
                return True
        elif any(self._take(diagram, f) for f in node.incoming):
            return True
        sources = [diagram.flows[f].source for f in node.incoming if f in diagram.flows]
        self._missing(seq, diagram, node, 1, "not_enabled",
                      f"{node.id} was executed without a flow from an executed element leading to it; the diagram "
                      f"allows it only after {', '.join(sources)}.", sources)
        return False

    def _missing(self, seq: int, diagram: Diagram, node: Node, count: int, kind: str, message: str,
                 sources: list[str] | None = None) -> None:
        self.report.missing += count
        self.report.consumed += count
        self.report.deviations.append(Deviation(seq, node.id, node.process_key, kind, message, sources or []))

    def _produce(self, diagram: Diagram, node: Node) -> None:
        if node.terminate:  # a terminate end event ends every path of its process
            for key in [k for k in self.tokens if k[0] == diagram.key]:
                del self.tokens[key]
            self.choices = [c for c in self.choices if c["doc"] != diagram.key]
            return
        if not node.outgoing:
            return
        if len(node.outgoing) > 1 and (node.kind in _ONE_OF or node.kind == "inclusiveGateway"):
            self.last_choice = {"doc": diagram.key, "flows": list(node.outgoing), "offered": set(node.outgoing),
                                "any": node.kind == "inclusiveGateway", "taken": 0}
            self.choices.append(self.last_choice)
            self.report.produced += 1
            return
        for flow in node.outgoing:
            self.tokens[(diagram.key, flow)] += 1
        self.report.produced += len(node.outgoing)
