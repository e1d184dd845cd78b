"""User-task forms: read `camunda:formData` from BPMN, validate submissions, describe them as JSON Schema.

The diagrams keep their forms in Camunda's `camunda:formData` because process owners edit them in
Camunda Modeler's properties panel; SpiffWorkflow ignores that namespace, so cauce reads it here.
Field ids become process variables and gateway conditions read them, which is why a submission is
checked before it reaches the workflow: a misspelt enum value would otherwise silently send the
instance down no branch (or the wrong one) far from where the mistake was made.

This module only depends on lxml so the engine, the API and the diagram test harness share one
reading of a form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

FieldType = Literal["string", "long", "boolean", "date", "enum", "file"]
FIELD_TYPES: frozenset[str] = frozenset({"string", "long", "boolean", "date", "enum", "file"})

# Messages are shown to the people working the inbox, hence Spanish.
MSG_REQUIRED = "Este campo es obligatorio."
MSG_TYPE = {
    "string": "Debe ser texto.",
    "long": "Debe ser un número entero.",
    "boolean": "Debe ser verdadero o falso.",
    "date": "Debe ser una fecha con formato AAAA-MM-DD.",
    "enum": "Debe ser texto.",
    "file": "Debe ser la referencia de un archivo cargado.",
}


class FormDefinitionError(ValueError):
    """A `camunda:formData` block cannot be understood (unknown type, enum without values, ...)."""


@dataclass(frozen=True)
class Choice:
    """One allowed value of an enum field: `id` is what is stored, `name` what is displayed."""

    id: str
    name: str


@dataclass(frozen=True)
class Field:
    """One form field; its `id` is the process variable the submission writes."""

    id: str
    label: str
    type: FieldType
    required: bool = False
    choices: tuple[Choice, ...] = ()
    default: str | None = None

    def check(self, value: Any) -> list[str]:
        """Errors for one submitted value (already known to be present and not empty)."""
        if self.type in ("string", "enum"):
            if not isinstance(value, str):
                return [MSG_TYPE[self.type]]
            if self.type == "enum" and value not in {c.id for c in self.choices}:
                allowed = ", ".join(c.id for c in self.choices)
                return [f"Valor no permitido: {value!r}. Opciones: {allowed}."]
            return []
        if self.type == "long":
            # bool is an int subclass; True is not a number a person typed
            ok = isinstance(value, int) and not isinstance(value, bool)
            return [] if ok else [MSG_TYPE["long"]]
        if self.type == "boolean":
            return [] if isinstance(value, bool) else [MSG_TYPE["boolean"]]
        if self.type == "date":
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return []
            if isinstance(value, str):
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    return [MSG_TYPE["date"]]
                return []
            return [MSG_TYPE["date"]]
        # file: a reference to an upload (its id/path) or the upload record holding that reference
        if isinstance(value, str) and value.strip():
            return []
        if isinstance(value, Mapping) and isinstance(value.get("id"), str) and value["id"]:
            return []
        return [MSG_TYPE["file"]]

    def to_json_schema(self) -> dict[str, Any]:
        """JSON Schema of this field, titled with the Spanish label the modeler gave it."""
        schema: dict[str, Any] = {"title": self.label}
        if self.type == "long":
            schema["type"] = "integer"
        elif self.type == "boolean":
            schema["type"] = "boolean"
        elif self.type == "date":
            schema.update(type="string", format="date")
        elif self.type == "file":
            schema.update(type="string", format="file-reference",
                          description="Referencia a un archivo cargado")
        else:
            schema["type"] = "string"
        if self.type == "enum":
            schema["enum"] = [c.id for c in self.choices]
            if any(c.id != c.name for c in self.choices):
                schema["oneOf"] = [{"const": c.id, "title": c.name} for c in self.choices]
        if self.default is not None:
            schema["default"] = _typed_default(self)
        return schema


@dataclass(frozen=True)
class Form:
    """The form of one user task, in field order."""

    fields: tuple[Field, ...] = ()
    title: str | None = None

    def field(self, field_id: str) -> Field | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def validate(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """Errors by field id; empty when `data` may complete the task.

        Keys of `data` that are not fields are ignored: a submission may carry other process
        variables. `None` and blank strings count as missing, because a form posts an emptied
        input that way and a gateway must not branch on it.
        """
        errors: dict[str, list[str]] = {}
        for f in self.fields:
            value = data.get(f.id)
            if value is None or (isinstance(value, str) and not value.strip() and f.type != "string"):
                if f.required:
                    errors[f.id] = [MSG_REQUIRED]
                continue
            if f.required and isinstance(value, str) and not value.strip():
                errors[f.id] = [MSG_REQUIRED]
                continue
            problems = f.check(value)
            if problems:
                errors[f.id] = problems
        return errors

    def to_json_schema(self) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) object for UIs and API clients."""
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {f.id: f.to_json_schema() for f in self.fields},
        }
        if self.title:
            schema["title"] = self.title
        required = [f.id for f in self.fields if f.required]
        if required:
            schema["required"] = required
        return schema


def _typed_default(f: Field) -> Any:
    value = f.default
    if value is None:
        return None
    if f.type == "long":
        try:
            return int(value)
        except ValueError:
            return value
    if f.type == "boolean":
        return value.strip().lower() in ("true", "1", "sí", "si")
    return value


def parse_form(element: etree._Element) -> Form | None:
    """The form of a task element, or None when it has no `camunda:formData`."""
    form_data = element.find("bpmn:extensionElements/camunda:formData", NS)
    if form_data is None:
        return None
    fields: list[Field] = []
    seen: set[str] = set()
    where = element.get("id", "?")
    for node in form_data.findall("camunda:formField", NS):
        fid = node.get("id")
        if not fid:
            raise FormDefinitionError(f"{where}: a camunda:formField has no id")
        if fid in seen:
            raise FormDefinitionError(f"{where}: field {fid!r} is defined twice")
        seen.add(fid)
        ftype = node.get("type") or "string"
        if ftype not in FIELD_TYPES:
            raise FormDefinitionError(
                f"{where}: field {fid!r} has type {ftype!r}; expected one of {', '.join(sorted(FIELD_TYPES))}"
            )
        required = any(
            c.get("name") == "required" and (c.get("config") or "true").lower() != "false"
            for c in node.findall("camunda:validation/camunda:constraint", NS)
        )
        choices = tuple(
            Choice(id=v.get("id") or "", name=v.get("name") or v.get("id") or "")
            for v in node.findall("camunda:value", NS)
        )
        if ftype == "enum" and not choices:
            raise FormDefinitionError(f"{where}: enum field {fid!r} has no camunda:value")
        fields.append(Field(
            id=fid,
            label=node.get("label") or fid,
            type=cast(FieldType, ftype),
            required=required,
            choices=choices,
            default=node.get("defaultValue"),
        ))
    return Form(fields=tuple(fields), title=element.get("name"))


def read_forms(document: etree._Element | etree._ElementTree | bytes | str | Path) -> dict[tuple[str, str], Form]:
    """All forms of a BPMN document keyed by (process id, element id).

    Elements inside embedded sub-processes are keyed by their enclosing executable process, the
    unit the engine deploys. `document` is a parsed tree, XML bytes/text, or a file path.
    """
    root = _root(document)
    forms: dict[tuple[str, str], Form] = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        pid = process.get("id") or ""
        for el in _flow_elements(process):
            form = parse_form(el)
            if form is not None:
                forms[(pid, el.get("id") or "")] = form
    return forms


def _flow_elements(process: etree._Element) -> Iterable[etree._Element]:
    for el in process.iter():
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN_NS}}}") and el.get("id"):
            yield el


def _root(document: etree._Element | etree._ElementTree | bytes | str | Path) -> etree._Element:
    if isinstance(document, etree._ElementTree):
        return document.getroot()
    if isinstance(document, etree._Element):
        return document
    if isinstance(document, Path):
        return etree.parse(str(document)).getroot()
    if isinstance(document, str) and not document.lstrip().startswith("<"):
        return etree.parse(document).getroot()
    data = document.encode("utf-8") if isinstance(document, str) else document
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
