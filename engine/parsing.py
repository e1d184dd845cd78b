"""Turn BPMN XML into SpiffWorkflow specs, and say clearly why a document is refused.

One deployed definition holds one executable process (plus its embedded sub-processes). Call
activities may name processes of other definitions; those are resolved when an instance starts
and pinned to the versions current at that moment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from .errors import InvalidDefinition
from .forms import Form, FormDefinitionError, read_forms
from .handler_registry import HandlerRegistry

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_BPMN_BYTES = 5 * 1024 * 1024


@dataclass
class ParsedDefinition:
    """What the engine needs from one BPMN document."""

    key: str
    name: str | None
    manual_key: str | None
    checksum: str
    spec: WorkflowSpec
    # Embedded sub-processes of this document, by name.
    local_specs: dict[str, WorkflowSpec] = field(default_factory=dict)
    # Process keys of call activities that live in other definitions.
    called_keys: list[str] = field(default_factory=list)
    xml: bytes = b""
    # The camunda:formData form of each user task, by element id.
    forms: dict[str, Form] = field(default_factory=dict)


def checksum(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


def parse_definition(xml: bytes | str, *, source_name: str = "upload.bpmn") -> ParsedDefinition:
    """Parse and validate one BPMN document; raise :class:`InvalidDefinition` with a reason."""
    data = xml.encode() if isinstance(xml, str) else xml
    if not data.strip():
        raise InvalidDefinition("The BPMN document is empty.")
    if len(data) > MAX_BPMN_BYTES:
        raise InvalidDefinition(
            f"The BPMN document is larger than {MAX_BPMN_BYTES // (1024 * 1024)} MiB."
        )
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidDefinition(f"The file is not well-formed XML: {exc}", line=exc.lineno) from exc
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise InvalidDefinition(
            "The document is not BPMN 2.0: its root element must be bpmn:definitions "
            f"in namespace {BPMN_NS}."
        )
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    if len(executable) != 1:
        raise InvalidDefinition(
            "A deployable document has exactly one process with isExecutable=\"true\"; "
            f"this one has {len(executable)} (of {len(processes)} processes). In Camunda Modeler "
            "tick 'Executable' on the process."
        )
    process = executable[0]
    key = process.get("id")
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root, filename=source_name)
        spec = parser.get_spec(key)
        sub_specs = parser.get_subprocess_specs(key, require_call_activity_specs=False)
    except ValidationException as exc:
        raise InvalidDefinition(
            f"The diagram is not valid: {exc}", element_id=getattr(exc, "id", None),
            line=getattr(exc, "line_number", None),
        ) from exc
    except Exception as exc:  # the parser raises many kinds; none may become a 500
        raise InvalidDefinition(f"The diagram cannot be parsed: {exc.__class__.__name__}: {exc}") from exc
    try:
        forms = {element_id: form for (_, element_id), form in read_forms(root).items()}
    except FormDefinitionError as exc:
        raise InvalidDefinition(f"A form is not valid: {exc}") from exc
    local = {name: s for name, s in sub_specs.items() if s is not None}
    called = sorted(name for name, s in sub_specs.items() if s is None)
    return ParsedDefinition(
        key=key,
        name=process.get("name"),
        manual_key=_process_property(process, "manualKey"),
        checksum=checksum(data),
        spec=spec,
        local_specs=local,
        called_keys=called,
        xml=data,
        forms=forms,
    )


def _process_property(process: Any, name: str) -> str | None:
    found = process.xpath(
        f"./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='{name}']/@value",
        namespaces=NS,
    )
    return found[0] if found else None


def called_process_names(spec: WorkflowSpec) -> set[str]:
    """Names of processes a spec calls (embedded or external)."""
    return {ts.spec for ts in spec.task_specs.values() if isinstance(ts, SubWorkflowTask)}


def check_service_tasks(xml: bytes, handlers: HandlerRegistry) -> None:
    """Refuse a document whose service tasks cannot run on ``handlers``: a task naming no
    handler or an unknown one, a parameter the handler does not take, a required one missing,
    or a parameter expression that is not valid Python. The error names the element, so the
    process owner finds it in the modeler; it is raised at deploy rather than when an instance
    reaches the step weeks later."""
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    for task in root.iter(f"{{{BPMN_NS}}}serviceTask"):
        element_id = task.get("id")
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        name = (operator.get("id") or "").strip() if operator is not None else ""
        if not name:
            raise InvalidDefinition(
                f"Service task {element_id!r} names no handler: add <spiffworkflow:serviceTaskOperator "
                f"id=\"HANDLER\"> (known handlers: {', '.join(handlers.names()) or 'none'}).",
                element_id=element_id)
        if name not in handlers:
            raise InvalidDefinition(
                f"Service task {element_id!r} names the handler {name!r}, which is not registered. Known "
                f"handlers: {', '.join(handlers.names()) or 'none'}.", element_id=element_id, handler=name)
        params = {p.get("id"): p.get("value") or "" for p in operator.iterfind(
            "spiffworkflow:parameters/spiffworkflow:parameter", NS)}
        for param, expression in params.items():
            try:
                compile(expression, f"<{element_id}.{param}>", "eval")
            except SyntaxError as exc:
                raise InvalidDefinition(
                    f"Service task {element_id!r}: the value of parameter {param!r} is not a valid Python "
                    f"expression ({exc.msg}); quote a literal string: value=\"'text'\".",
                    element_id=element_id, handler=name, parameter=param) from exc
        schema = handlers.get(name).input_schema
        if schema is None:
            continue
        accepted = {f.data_key or key: f for key, f in schema.fields.items() if not f.dump_only}
        unknown = sorted(p for p in params if p not in accepted)
        missing = sorted(k for k, f in accepted.items() if f.required and k not in params)
        if unknown or missing:
            problems = ([f"does not take {', '.join(unknown)}"] if unknown else []) + (
                [f"requires {', '.join(missing)}"] if missing else [])
            raise InvalidDefinition(
                f"Service task {element_id!r}: handler {name!r} {' and '.join(problems)}; it takes "
                f"{', '.join(sorted(accepted)) or 'no parameters'}.", element_id=element_id, handler=name,
                unknown=unknown, missing=missing, accepted=sorted(accepted))
