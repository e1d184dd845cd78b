"""ITIL priority: impact × urgency → ``critical``/``high``/``medium``/``low``.

The service desk procedures ask "¿Qué impacto y urgencia tiene?" and route on the resulting
priority. The matrix is policy, not code, so it lives in ``priority_matrix.yaml`` next to this
module (or any file given to :func:`load_matrix`), which the process owners can edit. A matrix
with a missing or unknown cell is rejected when it is loaded, i.e. at start-up, instead of
surfacing as a stuck instance the first time that combination comes up.

The result is the bare level string, as the conventions' handler table promises, so a gateway
condition reads ``prioridad == "critical"``.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, post_dump, pre_dump

__all__ = [
    "DEFAULT_MATRIX_PATH",
    "LEVELS",
    "PRIORITIES",
    "Input",
    "Output",
    "PriorityMatrix",
    "load_matrix",
    "make_priority",
    "normalize_level",
    "priority",
]

#: The matrix shipped with cauce.
DEFAULT_MATRIX_PATH = Path(__file__).with_name("priority_matrix.yaml")
#: Impact and urgency levels, as the diagrams' enum fields store them.
LEVELS = ("alta", "media", "baja")
#: The priorities, most urgent first.
PRIORITIES = ("critical", "high", "medium", "low")


def normalize_level(value: Any) -> str:
    """Lower-case, accent-free, trimmed: forms and spreadsheets write "Alta", "ALTA ", "Média"."""
    decomposed = unicodedata.normalize("NFKD", "" if value is None else str(value))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


class PriorityMatrix:
    """A complete, validated impact → urgency → priority table."""

    def __init__(self, cells: Mapping[Any, Any], source: str = "matriz de prioridad") -> None:
        """Validate ``cells`` and keep them normalised; ``source`` names the file in errors.

        Every one of the 9 cells must be present and hold one of :data:`PRIORITIES`; unknown
        rows or columns are errors too, since they are most likely a typo of a real level.
        """
        problems: list[str] = []
        table: dict[str, dict[str, str]] = {}
        if not isinstance(cells, Mapping):
            raise ValueError(f"{source}: se esperaba un mapa impacto → urgencia → prioridad.")
        rows = {normalize_level(k): v for k, v in cells.items()}
        problems += [f"impacto desconocido {k!r}" for k in rows if k not in LEVELS]
        for impact in LEVELS:
            row = rows.get(impact)
            if not isinstance(row, Mapping):
                problems.append(f"falta la fila de impacto {impact!r}")
                continue
            columns = {normalize_level(k): v for k, v in row.items()}
            problems += [f"urgencia desconocida {impact}/{k!r}" for k in columns if k not in LEVELS]
            for urgency in LEVELS:
                value = normalize_level(columns.get(urgency))
                if value not in PRIORITIES:
                    problems.append(
                        f"celda {impact}/{urgency}: {columns.get(urgency)!r} no es una de "
                        + ", ".join(PRIORITIES)
                    )
                table.setdefault(impact, {})[urgency] = value
        if problems:
            raise ValueError(f"{source} no es válida: " + "; ".join(problems) + ".")
        self._table = table
        self.source = source

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str] = DEFAULT_MATRIX_PATH) -> PriorityMatrix:
        """Read and validate a YAML matrix file."""
        with open(path, encoding="utf-8") as stream:
            return cls(yaml.safe_load(stream) or {}, source=str(path))

    def lookup(self, impact: Any, urgency: Any) -> str:
        """The priority for an impact and an urgency (any case, with or without accents)."""
        i, u = normalize_level(impact), normalize_level(urgency)
        bad = [f"{name} {value!r}" for name, value, norm in (("impacto", impact, i), ("urgencia", urgency, u))
               if norm not in LEVELS]
        if bad:
            raise ValueError(" y ".join(bad) + " no válido: use alta, media o baja.")
        return self._table[i][u]

    def as_dict(self) -> dict[str, dict[str, str]]:
        """A copy of the table, e.g. to show the policy in a form."""
        return {impact: dict(row) for impact, row in self._table.items()}


@functools.cache
def _default_matrix() -> PriorityMatrix:
    return PriorityMatrix.from_yaml(DEFAULT_MATRIX_PATH)


def load_matrix(path: str | os.PathLike[str] | None = None) -> PriorityMatrix:
    """The matrix in ``path``, or the shipped one (read once) when ``path`` is None."""
    return _default_matrix() if path is None else PriorityMatrix.from_yaml(path)


def priority(impact: str, urgency: str, matrix: PriorityMatrix | None = None) -> str:
    """ITIL priority of an impact and an urgency (``alta``/``media``/``baja``).

    ``matrix`` defaults to the shipped ``priority_matrix.yaml``; the registry binds a
    configured one with :func:`make_priority`. Raises ``ValueError`` for an unknown level.
    """
    return (matrix or load_matrix()).lookup(impact, urgency)


def make_priority(path: str | os.PathLike[str] | None = None) -> Callable[..., str]:
    """The ``priority`` handler bound to the matrix in ``path``, loaded (and checked) now."""
    matrix = load_matrix(path)

    def priority_handler(impact: str, urgency: str) -> str:
        """ITIL priority from the configured matrix (see :func:`priority`)."""
        return matrix.lookup(impact, urgency)

    return priority_handler


class Level(fields.String):
    """``alta``/``media``/``baja`` in any case or accenting, loaded in its normal form."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        level = normalize_level(super()._deserialize(value, attr, data, **kwargs))
        if level not in LEVELS:
            raise ValidationError("Use alta, media o baja.")
        return level


class Input(Schema):
    """Parameters of the ``priority`` handler."""

    impact = Level(required=True)
    urgency = Level(required=True)


class Output(Schema):
    """The handler's result: the bare priority string.

    A schema dumps mappings, so the string is wrapped before and unwrapped after; the unwrap
    also checks the value, the one place a wrong matrix value could still slip through.
    """

    priority = fields.String(required=True)

    @pre_dump
    def _wrap(self, data: Any, **kwargs: Any) -> Any:
        return {"priority": data} if isinstance(data, str) else data

    @post_dump
    def _unwrap(self, data: dict[str, Any], **kwargs: Any) -> str:
        value = data.get("priority")
        if value not in PRIORITIES:
            raise ValueError(f"Prioridad {value!r} fuera de {', '.join(PRIORITIES)}.")
        return value
