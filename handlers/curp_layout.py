"""Confrontas (DGTIC/DSSD/003): validate a requester's CURP layout, then reconcile it.

The service card checks a "layout de CURP" against the producers' register, reconciles it with
RENAPO (proof of life, data updates) or SAT (tax compliance opinion) and reports the metrics and
KPIs (% de inconsistencias, % de bajas) that these two handlers compute.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from marshmallow import Schema, fields, validate

from handlers.curp import Register, field_key, normalize_curp, plain_text, validate_curp
from handlers.errors import BusinessError, PermanentError
from handlers.files import FileRef, Files

FileArg = bytes | str | os.PathLike[str]  # the file's content, or a path to it

_REPORT_COLUMNS = {  # report header → row key, in the report's column order
    "fila": "row", "curp": "curp", "formato_ok": "format_ok",
    "fecha_nacimiento_ok": "birth_date_ok", "fecha_nacimiento": "birth_date",
    "digito_verificador_ok": "check_digit_ok", "digito_esperado": "expected_check_digit",
    "en_padron": "in_register", "valida": "valid", "actualizable": "updatable",
    "observaciones": "errors",
}
_DEATH_STATUSES = {"BAJA POR DEFUNCION", "BD"}  # RENAPO's text and its statusCurp code
_OPINIONS = {"POSITIVA": "positiva", "POSITIVO": "positiva", "NEGATIVA": "negativa",
             "NEGATIVO": "negativa"}  # SAT's opinión de cumplimiento
_NAME_FIELDS = {
    "nombre": ("nombre", "nombres", "nombre_s"),
    "primer_apellido": ("primer_apellido", "apellido_paterno", "apellido1", "paterno",
                        "primerapellido"),
    "segundo_apellido": ("segundo_apellido", "apellido_materno", "apellido2", "materno",
                         "segundoapellido"),
}
# field_key() upper-cases before splitting, so RENAPO's camelCase names (``statusCurp``,
# ``primerApellido``) arrive as one word; they are listed in that form too.
_STATUS_FIELDS = ("status", "estatus", "status_curp", "statuscurp", "estatus_curp")


class LayoutError(BusinessError):
    """The layout is unusable (unreadable, no CURP column, no records): the procedure's answer
    is to ask the requester for a corrected one, so it is routable, not a failure."""

    code = "layout_invalido"


def _cell(value: Any) -> str:
    """Cell value as text; spreadsheets turn typed numbers into floats (``12.0``), undo that."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _header_index(rows: Sequence[Sequence[str]]) -> int | None:
    """The first of the first 10 rows with a CURP cell: layouts often carry a title above."""
    return next((i for i, row in enumerate(rows[:10])
                 if any(field_key(cell) == "curp" for cell in row)), None)


def _xlsx_rows(data: bytes) -> list[list[str]]:
    """Rows of the first worksheet that has a CURP header (layouts may carry instruction sheets)."""
    import openpyxl  # imported lazily: only XLSX layouts need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for corrupt files
        raise LayoutError(f"El archivo XLSX está dañado o no es válido: {exc}") from exc
    try:
        for sheet in book.worksheets:
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            if _header_index(rows) is not None:
                return rows
        return []
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[str]]:
    """Rows of a CSV in UTF-8 or, failing that, cp1252 (Excel's CSV on Windows in es-MX).

    The delimiter is the one of ``, ; tab |`` that splits the CURP header row into the most
    columns. ``csv.Sniffer`` is not used: it gives up on the common layout whose first line is a
    title without delimiters ("Layout de CURP"), and Excel in es-MX writes ``;``.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    best: list[list[str]] | None = None
    best_width = 0
    for delimiter in ",;\t|":
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
        header_at = _header_index(rows)
        if header_at is not None and len(rows[header_at]) > best_width:
            best, best_width = rows, len(rows[header_at])
    if best is not None:
        return best
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def read_layout(file: FileArg) -> list[tuple[int, str, dict[str, str]]]:
    """Read a CSV or XLSX layout into ``(row number, CURP cell, other columns)`` tuples.

    Row numbers are the spreadsheet's (1-based, header included) so the report points at the
    line the requester sees. Blank rows are skipped. A ``str`` is a path, never content.
    """
    try:
        data = bytes(file) if isinstance(file, (bytes, bytearray)) else Path(file).read_bytes()
    except OSError as exc:
        raise LayoutError(f"No se pudo leer el layout: {exc}") from exc
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LayoutError("El formato .xls no es compatible; guarde el layout como XLSX o CSV.")
    rows = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(data)
    header_at = _header_index(rows)
    if header_at is None:
        raise LayoutError("El layout no tiene una columna CURP en sus primeras filas.")
    header = [name.strip() for name in rows[header_at]]
    curp_col = next(i for i, name in enumerate(header) if field_key(name) == "curp")
    records = []
    for number, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if any(row):
            cells = {header[i]: v for i, v in enumerate(row)
                     if i < len(header) and header[i] and i != curp_col}
            records.append((number, row[curp_col] if curp_col < len(row) else "", cells))
    if not records:
        raise LayoutError("El layout no contiene registros.")
    return records


def _report_value(value: Any) -> Any:
    if isinstance(value, bool):  # people read the report in Excel: sí/no, not True/False
        return "sí" if value else "no"
    return "; ".join(value) if isinstance(value, list) else ("" if value is None else value)


def _report_csv(rows: list[dict[str, Any]]) -> bytes:
    """Per-row report; UTF-8 with BOM so that Excel shows accents correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_REPORT_COLUMNS)
    writer.writerows([_report_value(r[k]) for k in _REPORT_COLUMNS.values()] for r in rows)
    return out.getvalue().encode("utf-8-sig")


def validate_curp_layout(
    file: FileArg, register: Register, today: date | None = None
) -> dict[str, Any]:
    """Validate every CURP of a layout against RENAPO's rules and the producers' register.

    Counts are of layout rows, repeated CURPs included (``duplicates`` counts the repeats):
    ``total`` rows with data ("registros a procesar"); ``valid``/``invalid`` (format, real birth
    date and check digit all right, or not); ``to_update``: valid and in the register, the rows
    sent to the authority; ``not_updatable``: invalid or not in the register ("sin posibilidad
    de actualizar"), so ``to_update + not_updatable == total``. ``report_file`` is the per-row
    report as CSV bytes (the engine stores it as a file); ``rows`` is the same report as data,
    the input of :func:`reconcile_curp`.
    """
    # Each distinct CURP is looked up once, even when repeated (the register may be a query).
    lookup = functools.cache(register if callable(register) else register.__contains__)
    rows: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    for number, raw, data in read_layout(file):
        result = validate_curp(raw, lookup, today)
        curp = result["curp"]
        if result["in_register"] is False:
            result["errors"].append("no está en el padrón de productores")
        duplicate = bool(curp) and curp in first_seen
        if duplicate:
            result["errors"].append(f"duplicada (fila {first_seen[curp]})")
        first_seen.setdefault(curp, number)
        rows.append({"row": number, **result, "duplicate": duplicate, "data": data,
                     "updatable": result["valid"] and bool(result["in_register"])})
    valid = sum(r["valid"] for r in rows)
    to_update = sum(r["updatable"] for r in rows)
    return {"total": len(rows), "valid": valid, "invalid": len(rows) - valid,
            "to_update": to_update, "not_updatable": len(rows) - to_update,
            "duplicates": sum(r["duplicate"] for r in rows),
            "report_file": _report_csv(rows), "rows": rows}


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _field(record: Mapping[str, Any], keys: Sequence[str]) -> str:
    """First non-empty of ``keys`` in the record (names compared as snake_case), as plain text."""
    by_key = {field_key(k): plain_text(v) for k, v in record.items()}
    return next((by_key[k] for k in keys if by_key.get(k)), "")


def _reconcile_row(
    row: Mapping[str, Any], record: Any, source: str
) -> tuple[str, list[str], bool, str | None]:
    """One row's outcome, its notes, whether it is inconsistent, and the SAT opinion if any."""
    if not row.get("updatable", bool(row.get("valid") and row.get("in_register"))):
        return "not_updatable", ["CURP inválida o fuera del padrón"], True, None
    if record is None:
        return "not_updated", [f"sin registro en {source}"], True, None
    fields_ = record if isinstance(record, Mapping) else {"opinion": record}
    if source == "SAT":
        opinion = _OPINIONS.get(_field(fields_, ("opinion", "opinion_de_cumplimiento")))
        return "updated", [f"opinión {opinion or 'no reconocida'}"], False, opinion
    pairs = {name: (_field(row.get("data") or {}, keys), _field(fields_, keys))
             for name, keys in _NAME_FIELDS.items()}
    notes = [f"{name} distinto en RENAPO" for name, (ours, theirs) in pairs.items()
             if ours and theirs and ours != theirs]
    inconsistent = bool(notes)
    if _field(fields_, _STATUS_FIELDS) in _DEATH_STATUSES:
        notes.append("baja por defunción")
    return "updated", notes, inconsistent, None


def reconcile_curp(
    rows: Sequence[Mapping[str, Any]], source_records: Mapping[str, Any], source: str = "RENAPO"
) -> dict[str, Any]:
    """Reconcile validated layout rows with the authority's answer and compute the card's KPIs.

    ``rows`` come from :func:`validate_curp_layout`. ``source_records`` maps CURP → record:
    for RENAPO ``{"status": "vigente" | "baja por defunción" (or RENAPO's code "BD"), name
    fields}``; for SAT ``{"opinion": "positiva" | "negativa"}`` or just the opinion string.

    - ``processed`` = ``updated`` + ``not_updated`` + ``not_updatable``: all rows received;
    - ``updated``: updatable rows for which the authority returned a record;
    - ``not_updated``: updatable rows the authority did not return ("sin actualización");
    - ``not_updatable``: rows invalid or not in the register ("sin posibilidad de actualizar");
    - ``inconsistencies``: rows not updatable, not returned, or (RENAPO) whose name, first or
      second surname in the layout differs from RENAPO's, ignoring case, accents and spacing;
      ``pct_inconsistencies = 100 × inconsistencies / processed``;
    - ``deaths``: updated rows whose RENAPO status is "baja por defunción";
      ``pct_deaths = 100 × deaths / updated`` (only answered records can be known to be
      deaths); both None for SAT, which says nothing about deaths;
    - ``pct_updated = 100 × updated / processed`` ("% de población actualizada");
    - ``compliance_positive`` / ``compliance_negative``: SAT opinions (None for RENAPO).

    Percentages are rounded to 2 decimals and are 0.0 when their denominator is 0.
    """
    source = source.strip().upper()
    if source not in ("RENAPO", "SAT"):
        raise PermanentError(f"Fuente desconocida {source!r}: use 'RENAPO' o 'SAT'.")
    records = {normalize_curp(k): v for k, v in source_records.items()}
    outcomes: list[dict[str, Any]] = []
    tally: Counter[str] = Counter()
    for row in rows:
        curp = normalize_curp(row.get("curp"))
        outcome, notes, inconsistent, opinion = _reconcile_row(row, records.get(curp), source)
        tally[outcome] += 1
        tally["inconsistencies"] += inconsistent
        tally["deaths"] += "baja por defunción" in notes
        tally[opinion or ""] += 1
        outcomes.append({"row": row.get("row"), "curp": curp, "outcome": outcome, "notes": notes})
    processed, renapo = len(outcomes), source == "RENAPO"
    counts = ("updated", "not_updated", "not_updatable", "inconsistencies")
    return {
        "source": source, "processed": processed, **{k: tally[k] for k in counts},
        "pct_inconsistencies": _pct(tally["inconsistencies"], processed),
        "deaths": tally["deaths"] if renapo else None,
        "pct_deaths": _pct(tally["deaths"], tally["updated"]) if renapo else None,
        "pct_updated": _pct(tally["updated"], processed),
        "compliance_positive": None if renapo else tally["positiva"],
        "compliance_negative": None if renapo else tally["negativa"],
        "rows": outcomes,
    }


def read_answer(file: FileArg) -> dict[str, dict[str, str]]:
    """The authority's answer (CSV/XLSX with a CURP column) as ``{CURP: other columns}``, the
    ``source_records`` of :func:`reconcile_curp`; RENAPO's status and names and SAT's opinion are
    found by column name, as :func:`reconcile_curp` documents."""
    return {normalize_curp(curp): data for _, curp, data in read_layout(file) if normalize_curp(curp)}


class BulkRegister(Protocol):
    """A register that answers for many CURPs in one query (the database-backed one does)."""

    def present(self, curps: Iterable[str]) -> set[str]:
        ...


def _bound_register(register: Register | BulkRegister, content: bytes) -> Register:
    """A bulk register asked once for every CURP of the layout, then used as a set."""
    present = getattr(register, "present", None)
    if present is None:
        return register  # type: ignore[return-value]
    return present({normalize_curp(curp) for _, curp, _ in read_layout(content)})


def make_validate_curp_layout(files: Files, register: Register | BulkRegister) -> Callable[..., dict[str, Any]]:
    """The diagram-facing handler: reads the uploaded layout, checks it against ``register``
    and stores the per-row report as a file whose reference is ``report_file``."""

    def run(file: str) -> dict[str, Any]:
        content = files.read(file)
        result = validate_curp_layout(content, _bound_register(register, content))
        result["report_file"] = files.save(result["report_file"], name="reporte_validacion_layout.csv")
        return result

    return run


def make_reconcile_curp(files: Files, register: Register | BulkRegister) -> Callable[..., dict[str, Any]]:
    """The diagram-facing handler: validates the layout again (the register may have changed
    since step 6) and reconciles it with the authority's uploaded answer."""

    def run(file: str, response: str, source: str = "RENAPO") -> dict[str, Any]:
        content = files.read(file)
        rows = validate_curp_layout(content, _bound_register(register, content))["rows"]
        try:
            records = read_answer(files.read(response))
        except LayoutError as exc:  # the requester's layout was fine; the answer is the problem
            raise PermanentError(f"La respuesta de {source} no se pudo leer: {exc}") from exc
        return reconcile_curp(rows, records, source)

    return run


class Input(Schema):
    """Diagram input of ``validate_curp_layout``: the uploaded layout (the register is injected)."""

    file = FileRef(required=True)


def _many(kind: type[fields.Field], *names: str, **kwargs: Any) -> dict[str, fields.Field]:
    """Several output fields of the same kind (keeps the schemas below readable)."""
    return {name: kind(**kwargs) for name in names}


#: Result of ``validate_curp_layout`` as stored in process data: the manual's metrics and the
#: reference of the per-row report (a CSV file, downloadable with ``GET /api/v1/files/{id}/content``).
#: The per-row data stays in the report, not in the instance, whose data every step saves.
Output = Schema.from_dict({
    **_many(fields.Integer, "total", "valid", "invalid", "to_update", "not_updatable",
            "duplicates", required=True),
    "report_file": fields.Dict(required=True),
}, name="Output")


class ReconcileInput(Schema):
    """Diagram input of ``reconcile_curp``: the layout, the authority's answer (both uploaded
    files with a CURP column) and which authority answered."""

    file = FileRef(required=True)
    response = FileRef(required=True)
    source = fields.String(load_default="RENAPO", validate=validate.OneOf(["RENAPO", "SAT"]))


#: Result of :func:`reconcile_curp` (``rows``: ``{row, curp, outcome, notes}``).
ReconcileOutput = Schema.from_dict({
    "source": fields.String(required=True),
    **_many(fields.Integer, "processed", "updated", "not_updated", "not_updatable",
            "inconsistencies", required=True),
    **_many(fields.Integer, "deaths", "compliance_positive", "compliance_negative",
            allow_none=True),
    **_many(fields.Float, "pct_inconsistencies", "pct_updated", required=True),
    "pct_deaths": fields.Float(allow_none=True),
    "rows": fields.List(fields.Dict(), required=True),
}, name="ReconcileOutput")
