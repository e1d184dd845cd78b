"""CURP validation following RENAPO's published construction rules.

The Confrontas service (DGTIC/DSSD/003) only sends to RENAPO and SAT the CURPs of a requester's
layout that are well formed and belong to the producers' register; everything else is reported
back as "sin posibilidad de actualizar". This module decides, per CURP, why a key is or is not
usable, so the report can tell the requester exactly what to fix.

A CURP has 18 characters:

====== ==================================================================================
1-4    letters from the surnames and given name
5-10   birth date ``YYMMDD``
11     sex: ``H``, ``M``, or ``X`` (non-binary, issued since 2023; many libraries reject it)
12-13  state of birth: one of the 32 entities, or ``NE`` (nacido en el extranjero)
14-16  first internal consonants of the surnames and given name (``X`` when there is none)
17     homoclave: a digit for births before 2000, a letter from 2000 on (it gives the century)
18     check digit over positions 1-17
====== ==================================================================================
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from marshmallow import Schema, fields

__all__ = [
    "DICTIONARY",
    "STATE_CODES",
    "Input",
    "Output",
    "Register",
    "birth_date",
    "check_digit",
    "field_key",
    "in_register",
    "normalize_curp",
    "plain_text",
    "validate_curp",
]

#: RENAPO's check-digit dictionary: a character's value is its index (Ñ sits between N and O).
DICTIONARY = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"

#: State codes of RENAPO's catalogue (CDMX keeps its historical code ``DF``).
STATE_CODES: dict[str, str] = {
    "AS": "Aguascalientes", "BC": "Baja California", "BS": "Baja California Sur",
    "CC": "Campeche", "CL": "Coahuila", "CM": "Colima", "CS": "Chiapas", "CH": "Chihuahua",
    "DF": "Ciudad de México", "DG": "Durango", "GT": "Guanajuato", "GR": "Guerrero",
    "HG": "Hidalgo", "JC": "Jalisco", "MC": "Estado de México", "MN": "Michoacán",
    "MS": "Morelos", "NT": "Nayarit", "NL": "Nuevo León", "OC": "Oaxaca", "PL": "Puebla",
    "QT": "Querétaro", "QR": "Quintana Roo", "SP": "San Luis Potosí", "SL": "Sinaloa",
    "SR": "Sonora", "TC": "Tabasco", "TS": "Tamaulipas", "TL": "Tlaxcala", "VZ": "Veracruz",
    "YN": "Yucatán", "ZS": "Zacatecas", "NE": "Nacido en el extranjero",
}

_CONSONANT = "[B-DF-HJ-NP-TV-Z]"
_FORMAT = re.compile(
    rf"^[A-Z]{{4}}\d{{6}}[HMX](?:{'|'.join(STATE_CODES)}){_CONSONANT}{{3}}[A-Z0-9]\d$"
)

#: The producers' register: a set of CURPs, or a callable answering "is this CURP registered?"
#: (so a large register can be queried instead of loaded).
Register = Collection[str] | Callable[[str], bool]


def normalize_curp(value: Any) -> str:
    """Upper-case the value and drop all whitespace, the usual noise of hand-filled layouts."""
    return "".join(str(value if value is not None else "").split()).upper()


def plain_text(text: Any) -> str:
    """Upper-case, accent-free, single-spaced text: how names compare across registers that
    disagree on accents and spacing (RENAPO writes names without accents; Ñ compares as N)."""
    decomposed = unicodedata.normalize("NFKD", "" if text is None else str(text))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split()).upper()


def field_key(text: Any) -> str:
    """A column or field name as snake_case (``"Apellido Paterno"`` → ``apellido_paterno``)."""
    return "_".join("".join(c if c.isalnum() else " " for c in plain_text(text)).lower().split())


def check_digit(curp17: str) -> int | None:
    """Return RENAPO's check digit for the first 17 characters, or None if it can't be computed.

    Each character's dictionary value is weighted 18 down to 2; the digit is
    ``(10 - sum % 10) % 10``. None when there are fewer than 17 characters or one of them is
    outside the dictionary, since then no digit could ever match.
    """
    head = curp17[:17]
    if len(head) < 17 or any(ch not in DICTIONARY for ch in head):
        return None
    total = sum(DICTIONARY.index(ch) * (18 - i) for i, ch in enumerate(head))
    return (10 - total % 10) % 10


def birth_date(curp: str) -> date | None:
    """Return the birth date encoded in a CURP, or None if it is not a real calendar date.

    The key only holds two year digits; the century comes from the homoclave (position 17):
    a digit means 19YY, a letter 20YY. This matters for 29 February: ``000229`` is a real date
    for a letter homoclave (2000 was a leap year) and not for a digit one (1900 was not).
    """
    if len(curp) < 17 or not (curp[4:10].isascii() and curp[4:10].isdigit()):
        return None
    homoclave = curp[16]
    if "0" <= homoclave <= "9":
        century = 1900
    elif "A" <= homoclave <= "Z":
        century = 2000
    else:
        return None
    try:
        return date(century + int(curp[4:6]), int(curp[6:8]), int(curp[8:10]))
    except ValueError:
        return None


def in_register(curp: str, register: Register) -> bool:
    """Look a normalised CURP up in the register, whichever form the register takes."""
    if callable(register):
        return bool(register(curp))
    return curp in register


def _format_problem(curp: str) -> str:
    """Explain in Spanish the first structural defect, so the requester knows what to fix."""
    if len(curp) != 18:
        return f"debe tener 18 caracteres (tiene {len(curp)})"
    checks = [
        (re.fullmatch("[A-Z]{4}", curp[0:4]), "las posiciones 1-4 deben ser letras"),
        (curp[4:10].isdigit() and curp[4:10].isascii(),
         "las posiciones 5-10 deben ser la fecha AAMMDD"),
        (curp[10] in "HMX", f"sexo '{curp[10]}' no válido (H, M o X)"),
        (curp[11:13] in STATE_CODES, f"entidad de nacimiento '{curp[11:13]}' no válida"),
        (re.fullmatch(f"{_CONSONANT}{{3}}", curp[13:16]),
         "las posiciones 14-16 deben ser consonantes"),
        (re.fullmatch("[A-Z0-9]", curp[16]), "la posición 17 debe ser letra o dígito"),
        (re.fullmatch("[0-9]", curp[17]), "la posición 18 debe ser un dígito"),
    ]
    return next((message for ok, message in checks if not ok), "formato no válido")


def validate_curp(
    curp: str, register: Register | None = None, today: date | None = None
) -> dict[str, Any]:
    """Validate one CURP and say why it is (not) usable.

    ``valid`` requires the format, a real birth date not in the future, and the check digit.
    Presence in the register is reported separately (``in_register``, None when no register
    is given) because the manual's metrics count "invalid" and "not in the register" apart.
    ``errors`` holds Spanish explanations for the per-row report.
    """
    value = normalize_curp(curp)
    today = today or date.today()
    errors: list[str] = []

    format_ok = bool(_FORMAT.match(value))
    if not format_ok:
        errors.append(_format_problem(value) if value else "CURP vacía")

    # A 17-character key is one that lost its check digit: still say which digit it needs.
    complete = len(value) in (17, 18)
    born = birth_date(value) if complete else None
    birth_date_ok = born is not None and born <= today
    if complete and not birth_date_ok:
        if born is None:
            errors.append(f"fecha de nacimiento '{value[4:10]}' inexistente")
        else:
            errors.append(f"fecha de nacimiento {born.isoformat()} posterior a hoy")

    expected = check_digit(value) if complete else None
    check_digit_ok = len(value) == 18 and expected is not None and value[17] == str(expected)
    if len(value) == 18 and expected is not None and not check_digit_ok:
        errors.append(f"dígito verificador '{value[17]}' incorrecto (se esperaba {expected})")

    return {
        "curp": value,
        "format_ok": format_ok,
        "birth_date_ok": birth_date_ok,
        "birth_date": born.isoformat() if born else None,
        "check_digit_ok": check_digit_ok,
        "expected_check_digit": str(expected) if expected is not None else None,
        "in_register": None if register is None or not value else in_register(value, register),
        "valid": format_ok and birth_date_ok and check_digit_ok,
        "errors": errors,
    }


class Input(Schema):
    """Input of :func:`validate_curp` as a diagram calls it (the register is injected)."""

    curp = fields.String(required=True)


class Output(Schema):
    """Result of :func:`validate_curp`."""

    curp = fields.String(required=True)
    format_ok = fields.Boolean(required=True)
    birth_date_ok = fields.Boolean(required=True)
    birth_date = fields.String(allow_none=True)  # ISO 8601 date
    check_digit_ok = fields.Boolean(required=True)
    expected_check_digit = fields.String(allow_none=True)
    in_register = fields.Boolean(allow_none=True)
    valid = fields.Boolean(required=True)
    errors = fields.List(fields.String())
