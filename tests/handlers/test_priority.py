"""ITIL priority matrix: the shipped policy, custom files, bad files and the schemas."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from handlers.priority import (
    DEFAULT_MATRIX_PATH,
    PRIORITIES,
    Input,
    Output,
    PriorityMatrix,
    load_matrix,
    make_priority,
    priority,
)

SHIPPED = {
    ("alta", "alta"): "critical", ("alta", "media"): "high", ("alta", "baja"): "medium",
    ("media", "alta"): "high", ("media", "media"): "medium", ("media", "baja"): "low",
    ("baja", "alta"): "medium", ("baja", "media"): "low", ("baja", "baja"): "low",
}


@pytest.mark.parametrize(("cell", "expected"), SHIPPED.items())
def test_shipped_matrix(cell, expected):
    assert priority(*cell) == expected


def test_levels_ignore_case_accents_and_spaces():
    assert priority(" ALTA ", "Média") == "high"


@pytest.mark.parametrize(("impact", "urgency"), [("urgente", "alta"), ("alta", ""), ("high", "low")])
def test_unknown_level(impact, urgency):
    with pytest.raises(ValueError, match="use alta, media o baja"):
        priority(impact, urgency)


def test_custom_matrix_file(tmp_path):
    path = tmp_path / "matrix.yaml"
    rows = {"Alta": "critical", "Media": "critical", "Baja": "High"}
    path.write_text("".join(f"{i}:\n" + "".join(f"  {u}: {v}\n" for u, v in rows.items())
                            for i in ("ALTA", "media", "baja")), encoding="utf-8")
    handler = make_priority(path)
    assert handler("baja", "baja") == "high"
    assert handler(impact="alta", urgency="media") == "critical"
    assert load_matrix(path).as_dict()["media"] == {"alta": "critical", "media": "critical", "baja": "high"}
    assert priority("baja", "baja", load_matrix(path)) == "high"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("alta:\n  alta: critical\n", "falta la fila de impacto 'media'"),
        ("alta: {alta: urgent, media: high, baja: medium}\n"
         "media: {alta: high, media: medium, baja: low}\n"
         "baja: {alta: medium, media: low, baja: low}\n", "celda alta/alta: 'urgent'"),
        ("alta: {alta: critical, media: high, baja: medium}\n"
         "media: {alta: high, media: medium, baja: low}\n"
         "baja: {alta: medium, media: low}\n", "celda baja/baja: None"),
        ("alta: {alta: critical, media: high, baja: medium, urgente: critical}\n"
         "media: {alta: high, media: medium, baja: low}\n"
         "baja: {alta: medium, media: low, baja: low}\n"
         "critica: {alta: critical}\n", "impacto desconocido 'critica'"),
        ("- not a mapping\n", "se esperaba un mapa"),
        ("", "falta la fila"),
    ],
)
def test_bad_matrix_is_rejected_at_load(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        make_priority(path)
    assert fragment in str(caught.value)


def test_missing_matrix_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        make_priority(tmp_path / "missing.yaml")


def test_shipped_file_is_complete():
    matrix = PriorityMatrix.from_yaml(DEFAULT_MATRIX_PATH)
    values = {v for row in matrix.as_dict().values() for v in row.values()}
    assert values <= set(PRIORITIES) and len(matrix.as_dict()) == 3


def test_input_schema_normalises_and_rejects():
    assert Input().load({"impact": "Alta", "urgency": "BAJA"}) == {"impact": "alta", "urgency": "baja"}
    with pytest.raises(ValidationError) as caught:
        Input().load({"impact": "crítica"})
    assert set(caught.value.messages) == {"impact", "urgency"}


def test_output_schema_dumps_the_bare_string():
    assert Output().dump("critical") == "critical"
    with pytest.raises(ValueError):
        Output().dump("urgent")
