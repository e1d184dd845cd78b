"""set_status: returns the label the engine stores as the instance's business status."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from handlers.status import MAX_LABEL_LENGTH, Input, Output, set_status


@pytest.mark.parametrize("label", ["Nuevo", "Evaluación", "Construcción", "Cerrado"])
def test_returns_the_label(label):
    assert set_status(label) == {"label": label}
    assert Output().dump(set_status(label)) == {"label": label}


def test_surrounding_whitespace_is_dropped():
    assert set_status("  Suspendido\n") == {"label": "Suspendido"}


@pytest.mark.parametrize("label", ["", "   ", None, 3, "x" * (MAX_LABEL_LENGTH + 1)])
def test_rejects_blank_non_text_and_too_long(label):
    with pytest.raises(ValueError):
        set_status(label)


def test_longest_label_fits():
    assert set_status("x" * MAX_LABEL_LENGTH)["label"] == "x" * MAX_LABEL_LENGTH


@pytest.mark.parametrize("params", [{}, {"label": ""}, {"label": " \t"}, {"label": 7}, {"label": None},
                                    {"label": "y" * 101}, {"label": "Nuevo", "extra": 1}])
def test_input_schema_rejects(params):
    with pytest.raises(ValidationError):
        Input().load(params)


def test_input_schema_accepts():
    assert Input().load({"label": "Aprobada"}) == {"label": "Aprobada"}
