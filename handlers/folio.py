"""Folio numbers: the ticket / request numbers the procedures issue (``INC-2026-000123``).

A folio is ``SERIES-YYYY-NNNNNN``: the number restarts at 1 each year and never skips or repeats
within a series and year, because the manual's reports count tickets by folio and an auditor
reads a gap as a lost request. Handing out the number needs a counter that lives in the database
and moves in the same transaction as the step that takes it (a rolled-back step must give its
number back), so this module only formats and validates: the counter is a dependency, bound by
the composition root with :func:`make_folio`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from marshmallow import Schema, ValidationError, fields

__all__ = ["DIGITS", "NextNumber", "Input", "format_folio", "make_folio", "parse_folio", "validate_series"]

#: Six digits: a series issues far fewer than a million folios a year.
DIGITS = 6
_SERIES = re.compile(r"[A-Z][A-Z0-9]{0,19}")
_FOLIO = re.compile(r"(?P<series>[A-Z][A-Z0-9]{0,19})-(?P<year>\d{4})-(?P<number>\d{6,})")

#: ``next_number(series) -> (year, number)``: takes the next number of the series for the year
#: of the step's clock, inside the step's transaction.
NextNumber = Callable[[str], tuple[int, int]]


def validate_series(series: str) -> str:
    """The series as stored: upper-case ASCII letters and digits, starting with a letter, at most
    20 characters (``INC``, ``SOL``, ``TKT``). A lower-case series is upper-cased so that ``inc``
    and ``INC`` do not become two counters; anything else is a modelling mistake (``ValueError``)."""
    if not isinstance(series, str):
        raise ValueError(f"La serie del folio debe ser texto, no {type(series).__name__}.")
    normalized = series.strip().upper()
    if not _SERIES.fullmatch(normalized):
        raise ValueError(
            f"Serie de folio no válida: {series!r} (letras y dígitos ASCII, empieza con letra, máx. 20).")
    return normalized


def format_folio(series: str, year: int, number: int) -> str:
    """``INC``, 2026, 123 → ``INC-2026-000123`` (numbers past 999999 simply get longer)."""
    if number < 1:
        raise ValueError(f"El número de folio debe ser positivo, no {number}.")
    return f"{validate_series(series)}-{year:04d}-{number:0{DIGITS}d}"


def parse_folio(folio: str) -> tuple[str, int, int]:
    """``INC-2026-000123`` → ``("INC", 2026, 123)``; ``ValueError`` when it is not a folio."""
    match = _FOLIO.fullmatch(folio)
    if match is None:
        raise ValueError(f"No es un folio: {folio!r}")
    return match["series"], int(match["year"]), int(match["number"])


def make_folio(next_number: NextNumber) -> Callable[..., str]:
    """The ``folio`` handler bound to a counter (see :data:`NextNumber`)."""

    def folio(series: str) -> str:
        """Take the next folio of ``series`` for the current year: ``SERIES-YYYY-NNNNNN``."""
        normalized = validate_series(series)
        year, number = next_number(normalized)
        return format_folio(normalized, year, number)

    return folio


def _valid_series(value: str) -> None:
    try:
        validate_series(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class Input(Schema):
    """Parameters of ``folio``. (No output schema: the result is the folio string itself, stored
    as is in the diagram's result variable.)"""

    series = fields.String(required=True, validate=_valid_series)
