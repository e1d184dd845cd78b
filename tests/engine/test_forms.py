"""engine.forms: reading camunda:formData, validating submissions, describing forms as JSON Schema.

A submission that passes validation becomes process data that gateways branch on, so these tests
pin the cases that would otherwise send an instance down no branch: a missing required field,
an enum value outside its choices, a value of the wrong type.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from engine.forms import (
    MSG_REQUIRED,
    MSG_TYPE,
    Choice,
    Field,
    Form,
    FormDefinitionError,
    parse_form,
    read_forms,
)

DOC = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="Proc" isExecutable="true">
    <bpmn:userTask id="Activity_2" name="2. Registrar el incidente">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="descripcion" label="Descripción" type="string">
            <camunda:validation><camunda:constraint name="required"/></camunda:validation>
          </camunda:formField>
          <camunda:formField id="es_incidente" label="¿Es incidente?" type="enum">
            <camunda:validation><camunda:constraint name="required"/></camunda:validation>
            <camunda:value id="Sí" name="Sí"/>
            <camunda:value id="No" name="No"/>
          </camunda:formField>
          <camunda:formField id="equipos" label="Equipos afectados" type="long" defaultValue="1"/>
          <camunda:formField id="urgente" label="¿Urgente?" type="boolean" defaultValue="false"/>
          <camunda:formField id="fecha" label="Fecha del evento" type="date"/>
          <camunda:formField id="evidencia" label="Evidencia" type="file"/>
          <camunda:formField id="nivel" label="Nivel" type="enum">
            <camunda:value id="n1" name="1er. Nivel"/>
            <camunda:value id="n2" name="2do. Nivel"/>
          </camunda:formField>
          <camunda:formField id="nota" label="Nota">
            <camunda:validation><camunda:constraint name="required" config="false"/></camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:subProcess id="Sub">
      <bpmn:userTask id="Inner">
        <bpmn:extensionElements>
          <camunda:formData><camunda:formField id="x" label="X" type="string"/></camunda:formData>
        </bpmn:extensionElements>
      </bpmn:userTask>
    </bpmn:subProcess>
    <bpmn:userTask id="No_form"/>
  </bpmn:process>
</bpmn:definitions>
"""

VALID = {"descripcion": "No enciende", "es_incidente": "Sí"}


@pytest.fixture(scope="module")
def form() -> Form:
    return read_forms(DOC.encode())[("Proc", "Activity_2")]


def _task(fields_xml: str) -> etree._Element:
    return etree.fromstring(
        '<bpmn:userTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="T"><bpmn:extensionElements>'
        f"<camunda:formData>{fields_xml}</camunda:formData></bpmn:extensionElements></bpmn:userTask>"
    )


# -- parsing --------------------------------------------------------------------------------


def test_fields_are_read_in_order_with_types_and_flags(form: Form) -> None:
    assert form.title == "2. Registrar el incidente"
    assert [f.id for f in form.fields] == [
        "descripcion", "es_incidente", "equipos", "urgente", "fecha", "evidencia", "nivel", "nota",
    ]
    assert [f.type for f in form.fields] == ["string", "enum", "long", "boolean", "date", "file", "enum", "string"]
    assert [f.id for f in form.fields if f.required] == ["descripcion", "es_incidente"]
    assert form.field("es_incidente") == Field(
        id="es_incidente", label="¿Es incidente?", type="enum", required=True,
        choices=(Choice("Sí", "Sí"), Choice("No", "No")),
    )
    assert form.field("equipos") is not None and form.field("equipos").default == "1"  # type: ignore[union-attr]
    assert form.field("missing") is None


def test_required_config_false_is_optional_and_type_defaults_to_string(form: Form) -> None:
    nota = form.field("nota")
    assert nota is not None and nota.type == "string" and not nota.required


def test_read_forms_keys_by_process_including_sub_processes_and_skips_formless_tasks() -> None:
    forms = read_forms(DOC.encode())
    assert set(forms) == {("Proc", "Activity_2"), ("Proc", "Inner")}


def test_read_forms_accepts_text_tree_and_path(tmp_path: Path) -> None:
    path = tmp_path / "doc.bpmn"
    path.write_text(DOC, encoding="utf-8")
    expected = read_forms(DOC.encode())
    assert read_forms(path) == expected
    assert read_forms(str(path)) == expected
    assert read_forms(DOC) == expected
    assert read_forms(etree.ElementTree(etree.fromstring(DOC.encode()))) == expected


def test_a_task_without_form_data_has_no_form() -> None:
    element = etree.fromstring('<bpmn:userTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="T"/>')
    assert parse_form(element) is None


@pytest.mark.parametrize(
    ("fields_xml", "message"),
    [
        ('<camunda:formField label="x" type="string"/>', "has no id"),
        ('<camunda:formField id="a" type="string"/><camunda:formField id="a" type="long"/>', "defined twice"),
        ('<camunda:formField id="a" type="number"/>', "has type 'number'"),
        ('<camunda:formField id="a" type="enum"/>', "has no camunda:value"),
    ],
)
def test_unreadable_forms_are_refused_with_the_reason(fields_xml: str, message: str) -> None:
    with pytest.raises(FormDefinitionError, match=message):
        parse_form(_task(fields_xml))


# -- validation -----------------------------------------------------------------------------


def test_a_complete_submission_is_valid_and_extra_keys_are_ignored(form: Form) -> None:
    assert form.validate(VALID) == {}
    assert form.validate({**VALID, "otra_variable": 3}) == {}


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_required_fields_must_be_present_and_not_blank(form: Form, missing: str | None) -> None:
    data = {"descripcion": missing, "es_incidente": missing}
    if missing is None:
        data = {}
    assert form.validate(data) == {"descripcion": [MSG_REQUIRED], "es_incidente": [MSG_REQUIRED]}


def test_enum_values_must_be_among_the_choice_ids(form: Form) -> None:
    errors = form.validate({**VALID, "es_incidente": "Si"})  # no accent: not the stored id
    assert list(errors) == ["es_incidente"]
    assert "'Si'" in errors["es_incidente"][0] and "Sí, No" in errors["es_incidente"][0]
    # the id is stored, not the displayed name
    assert form.validate({**VALID, "nivel": "n2"}) == {}
    assert "nivel" in form.validate({**VALID, "nivel": "2do. Nivel"})


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("descripcion", "texto", 5),
        ("equipos", 3, "3"),
        ("equipos", 0, True),  # a bool is not a number a person typed
        ("equipos", -2, 2.5),
        ("urgente", False, "false"),
        ("fecha", "2026-01-05", "05/01/2026"),
        ("fecha", dt.date(2026, 1, 5), dt.datetime(2026, 1, 5, 9, 0)),
        ("evidencia", "uploads/abc.pdf", 42),
        ("evidencia", {"id": "abc"}, {"name": "abc.pdf"}),
    ],
)
def test_values_are_checked_against_the_field_type(form: Form, field: str, good: object, bad: object) -> None:
    assert form.validate({**VALID, field: good}) == {}
    errors = form.validate({**VALID, field: bad})
    assert list(errors) == [field]
    expected_type = form.field(field).type  # type: ignore[union-attr]
    assert errors[field] == [MSG_TYPE[expected_type]]


def test_optional_fields_may_be_absent_or_none(form: Form) -> None:
    assert form.validate({**VALID, "equipos": None, "fecha": None, "nivel": ""}) == {}


# -- JSON Schema ----------------------------------------------------------------------------


def test_json_schema_describes_every_field(form: Form) -> None:
    schema = form.to_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["title"] == "2. Registrar el incidente"
    assert schema["required"] == ["descripcion", "es_incidente"]
    props = schema["properties"]
    assert props["descripcion"] == {"title": "Descripción", "type": "string"}
    assert props["es_incidente"] == {"title": "¿Es incidente?", "type": "string", "enum": ["Sí", "No"]}
    assert props["equipos"] == {"title": "Equipos afectados", "type": "integer", "default": 1}
    assert props["urgente"] == {"title": "¿Urgente?", "type": "boolean", "default": False}
    assert props["fecha"] == {"title": "Fecha del evento", "type": "string", "format": "date"}
    assert props["evidencia"]["format"] == "file-reference"
    # ids differing from names are shown with their labels
    assert props["nivel"]["enum"] == ["n1", "n2"]
    assert props["nivel"]["oneOf"] == [{"const": "n1", "title": "1er. Nivel"}, {"const": "n2", "title": "2do. Nivel"}]


def test_json_schema_of_an_empty_form_has_no_required_list() -> None:
    schema = Form().to_json_schema()
    assert schema["properties"] == {} and "required" not in schema and "title" not in schema
