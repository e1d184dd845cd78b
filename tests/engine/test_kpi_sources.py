"""engine/reports/kpi_sources.yaml names only what the diagrams record; malformed tables are refused.

When a process owner renames a form field or a service task in a diagram, this test says which
indicator entry must follow, instead of the indicator quietly turning into "(sin dato)".
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml
from lxml import etree

from engine.reports import SourceTableError, load_table
from engine.reports.sources import DEFAULT_PATH

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


@functools.cache
def processes() -> dict[str, etree._Element]:
    found = {}
    for path in BPMN.rglob("*.bpmn"):
        for process in etree.parse(str(path)).getroot().iter(f"{{{BPMN_NS}}}process"):
            if process.get("isExecutable") == "true":
                found[process.get("id") or ""] = process
    return found


def element(process: str, element_id: str) -> etree._Element:
    assert process in processes(), f"no executable process {process!r} in bpmn/"
    found = [e for e in processes()[process].iter() if isinstance(e.tag, str) and e.get("id") == element_id]
    assert found, f"process {process} has no element {element_id!r}"
    return found[0]


def form_fields(node: etree._Element) -> set[str]:
    return {f.get("id") or "" for f in node.iter(f"{{{CAMUNDA_NS}}}formField")}


def set_status_labels() -> set[str]:
    labels = set()
    for process in processes().values():
        for operator in process.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
            if operator.get("id") == "set_status":
                for parameter in operator.iter(f"{{{SPIFF_NS}}}parameter"):
                    labels.add((parameter.get("value") or "").strip("'\""))
    return labels


def test_every_source_names_what_a_diagram_records() -> None:
    table = load_table()
    labels = set_status_labels()
    for name, sources in table.dimensions.items():
        for source in sources:
            where = f"dimension {name}: {source}"
            if source.kind == "field":
                assert source.process, where
                node = element(source.process, source.element) if source.element else processes()[source.process]
                assert source.name in form_fields(node), f"{where}: no form field {source.name!r}"
            elif source.kind == "result":
                assert source.process, where
                assert etree.QName(element(source.process, source.name)).localname == "serviceTask", where
            elif source.kind == "reached":
                assert source.process, where
                for element_id in source.name:
                    element(source.process, element_id)
            elif source.kind == "open_in_process":
                assert set(source.name) <= set(processes()), where
            elif source.kind == "status_label":
                assert set(source.only) <= labels, f"{where}: no set_status step sets {set(source.only) - labels}"


def test_levels_and_indicators_name_existing_roles_steps_and_definitions() -> None:
    table = load_table()
    roles = {r["name"] for r in yaml.safe_load((BPMN / "roles.yaml").read_text(encoding="utf-8"))["staff"]}
    for level in table.levels:
        assert level.roles <= roles, f"{level.level}: unknown roles {level.roles - roles}"
        for closing in level.closes:
            node = element(closing.process, closing.element)
            operator = node.find(f".//{{{SPIFF_NS}}}serviceTaskOperator")
            assert operator is not None and operator.get("id") == "set_status", closing
    for indicator in table.indicators:
        assert set(indicator.definitions) <= set(processes()), indicator.id
    kinds = {i.kind for i in table.indicators}
    assert {"share", "ratio", "response_time", "resolution_time", "response_target", "sla_compliance",
            "unavailable"} <= kinds


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["dimensions"]["priority"].append({"field": "x", "result": "y"}), "exactly one of"),
    (lambda d: d["dimensions"]["priority"].append({"fild": "x"}), "exactly one of"),
    (lambda d: d["dimensions"]["priority"].append({"field": "x", "proces": "P"}), "unknown keys"),
    (lambda d: d["indicators"][1].update(by=["no_such_dimension"]), "unknown dimensions"),
    (lambda d: d["indicators"].append(dict(d["indicators"][0])), "unique"),
    (lambda d: d["indicators"][-1].pop("reason"), "reason"),
    (lambda d: d["support_levels"][0].update(target="10 minutos"), "ISO 8601"),
    (lambda d: d["indicators"][0].update(kind="median"), "kind must be one of"),
])
def test_a_malformed_table_is_refused_naming_the_entry(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "kpi_sources.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceTableError, match=message):
        load_table(path)
