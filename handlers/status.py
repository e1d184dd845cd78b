"""Business status of an instance: the label the manual gives the request at this step.

Procedures name the states a request goes through (Nuevo, Evaluación, Aprobada, Cancelado…);
a diagram marks them with a ``set_status`` service task and the engine stores the returned label
as the instance's status label, which is what requesters and reports see. The handler only
validates and returns the label: storing it is the engine's job, so this stays a pure function.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

__all__ = ["MAX_LABEL_LENGTH", "Input", "Output", "set_status"]

#: The engine's ``status_label`` column holds up to 100 characters.
MAX_LABEL_LENGTH = 100


def set_status(label: str) -> dict[str, str]:
    """Return ``{"label": label}`` with surrounding whitespace removed.

    Raises ``ValueError`` when the label is not text, is blank, or is longer than
    :data:`MAX_LABEL_LENGTH` (it would not fit where the engine stores it).
    """
    if not isinstance(label, str):
        raise ValueError(f"La etiqueta de estado debe ser texto, no {type(label).__name__}.")
    text = label.strip()
    if not text:
        raise ValueError("La etiqueta de estado está vacía.")
    if len(text) > MAX_LABEL_LENGTH:
        raise ValueError(f"La etiqueta de estado excede {MAX_LABEL_LENGTH} caracteres.")
    return {"label": text}


def _valid_label(value: str) -> None:
    """The schema applies the function's own rules, so both give the same Spanish message."""
    try:
        set_status(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class Input(Schema):
    """Parameters of ``set_status``: non-blank text that fits the engine's status column."""

    label = fields.String(required=True, validate=_valid_label)


class Output(Schema):
    """Result of ``set_status``."""

    label = fields.String(required=True)
