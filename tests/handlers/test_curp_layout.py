"""Confrontas layouts: CSV and XLSX reading, the per-row report, the metrics and reconciliation."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import openpyxl
import pytest
from marshmallow import ValidationError

from handlers.curp_layout import (
    Input,
    LayoutError,
    Output,
    ReconcileInput,
    ReconcileOutput,
    make_reconcile_curp,
    make_validate_curp_layout,
    read_layout,
    reconcile_curp,
    validate_curp_layout,
)
from handlers.errors import PermanentError
from tests.handlers.memory_files import MemoryFiles

TODAY = date(2026, 1, 15)
GLORIA = "HEGG560427MVZRRL04"  # valid, in the register
LUIS = "BEML920313HMCLNS09"  # valid, not in the register
BAD_DIGIT = "HEGG560427MVZRRL09"  # wrong check digit, in the register
BAD_DATE = "PEGL891313MJCRMS06"  # 13th month
LETICIA = "PEGL890909MJCRMS08"  # valid, in the register
REGISTER = {GLORIA, BAD_DIGIT, LETICIA}

ROWS = [
    ("Gloria", "Hernández", GLORIA),
    ("Luis", "Bello", LUIS),
    ("X", "Y", BAD_DIGIT),
    ("Z", "Z", BAD_DATE),
    ("Leticia", "Pérez", " pegl890909mjcrms08 "),  # noise is normalised
]


def make_csv(rows=ROWS, delimiter=",", encoding="utf-8", title=None) -> bytes:
    out = io.StringIO()
    if title:
        out.write(title + "\n\n")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["Nombre", "Primer Apellido", "CURP"])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def make_xlsx(rows=ROWS, instructions_sheet=True) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if instructions_sheet:
        sheet.title = "Instrucciones"
        sheet.append(["Llene la hoja Layout con una CURP por fila."])
        sheet = book.create_sheet("Layout")
    sheet.append(["Layout de CURP para Confrontas"])
    sheet.append(["No.", "Nombre", "Primer Apellido", "CURP"])
    for number, row in enumerate(rows, start=1):
        sheet.append([float(number), *row])  # typed numbers come back as floats
    sheet.append([None, None, None, None])  # blank row: skipped
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_rows(result) -> list[dict[str, str]]:
    text = result["report_file"].decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def check_metrics(result):
    assert result["total"] == 5
    assert result["valid"] == 3  # Gloria, Luis, Leticia
    assert result["invalid"] == 2
    assert result["to_update"] == 2  # Gloria, Leticia: valid and in the register
    assert result["not_updatable"] == 3
    assert result["to_update"] + result["not_updatable"] == result["total"]
    assert result["duplicates"] == 0


def test_csv_layout_metrics_and_rows():
    result = validate_curp_layout(make_csv(), REGISTER, TODAY)
    check_metrics(result)
    by_row = {r["row"]: r for r in result["rows"]}
    assert sorted(by_row) == [2, 3, 4, 5, 6]  # spreadsheet rows, header is row 1
    assert by_row[2]["updatable"] and by_row[2]["data"] == {"Nombre": "Gloria", "Primer Apellido": "Hernández"}
    assert by_row[3]["valid"] and by_row[3]["in_register"] is False and not by_row[3]["updatable"]
    assert "no está en el padrón de productores" in by_row[3]["errors"]
    assert not by_row[4]["check_digit_ok"] and by_row[4]["in_register"] is True
    assert not by_row[5]["birth_date_ok"]
    assert by_row[6]["curp"] == LETICIA and by_row[6]["updatable"]


def test_per_row_report_csv():
    result = validate_curp_layout(make_csv(), REGISTER, TODAY)
    assert result["report_file"].startswith(b"\xef\xbb\xbf")  # BOM: Excel shows accents
    rows = report_rows(result)
    assert list(rows[0]) == [
        "fila", "curp", "formato_ok", "fecha_nacimiento_ok", "fecha_nacimiento",
        "digito_verificador_ok", "digito_esperado", "en_padron", "valida", "actualizable",
        "observaciones",
    ]
    assert [r["fila"] for r in rows] == ["2", "3", "4", "5", "6"]
    assert rows[0]["valida"] == "sí" and rows[0]["actualizable"] == "sí" and rows[0]["observaciones"] == ""
    assert rows[1]["en_padron"] == "no" and rows[1]["actualizable"] == "no"
    assert rows[2]["digito_esperado"] == "4" and "se esperaba 4" in rows[2]["observaciones"]
    assert "inexistente" in rows[3]["observaciones"] and rows[3]["fecha_nacimiento"] == ""


def test_semicolon_cp1252_csv_with_a_title_line():
    # Excel in es-MX saves ";"-separated cp1252; a title line above the header has no delimiter.
    data = make_csv(delimiter=";", encoding="cp1252", title="Layout de CURP")
    result = validate_curp_layout(data, REGISTER, TODAY)
    check_metrics(result)
    assert result["rows"][0]["row"] == 4
    assert result["rows"][0]["data"]["Primer Apellido"] == "Hernández"


def test_single_column_csv():
    result = validate_curp_layout(f"CURP\n{GLORIA}\n\n{LUIS}\n".encode(), REGISTER, TODAY)
    assert (result["total"], result["to_update"]) == (2, 1)
    assert [r["row"] for r in result["rows"]] == [2, 4]


def test_xlsx_layout_with_instructions_sheet_and_title(tmp_path):
    path = tmp_path / "layout.xlsx"
    path.write_bytes(make_xlsx())
    result = validate_curp_layout(path, REGISTER, TODAY)  # a path works as well as bytes
    check_metrics(result)
    assert result["rows"][0]["row"] == 3  # title, header, then data
    assert result["rows"][0]["data"] == {"No.": "1", "Nombre": "Gloria", "Primer Apellido": "Hernández"}
    assert validate_curp_layout(str(path), REGISTER, TODAY)["total"] == 5


def test_duplicates_are_flagged_and_still_counted():
    rows = [*ROWS, ("G", "H", GLORIA.lower())]
    result = validate_curp_layout(make_csv(rows), REGISTER, TODAY)
    assert result["total"] == 6 and result["duplicates"] == 1
    last = result["rows"][-1]
    assert last["duplicate"] and "duplicada (fila 2)" in last["errors"]


def test_register_as_callable_is_asked_once_per_curp():
    asked: list[str] = []

    def register(curp: str) -> bool:
        asked.append(curp)
        return curp in REGISTER

    rows = [*ROWS, ("G", "H", GLORIA)]
    result = validate_curp_layout(make_csv(rows), register, TODAY)
    assert result["to_update"] == 3
    assert sorted(asked) == sorted({GLORIA, LUIS, BAD_DIGIT, BAD_DATE, LETICIA})


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"Nombre,Apellido\nGloria,H\n", "columna CURP"),
        (b"CURP\n\n,\n", "no contiene registros"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", ".xls no es compatible"),
        (b"PK\x03\x04not really a zip", "XLSX"),
    ],
)
def test_unusable_layouts_are_business_errors(data, fragment):
    with pytest.raises(LayoutError) as caught:
        validate_curp_layout(data, REGISTER, TODAY)
    assert caught.value.code == "layout_invalido"
    assert fragment in caught.value.message


def test_missing_file_is_a_business_error(tmp_path):
    with pytest.raises(LayoutError):
        read_layout(tmp_path / "missing.csv")


def test_diagram_handler_reads_a_reference_and_stores_the_report():
    files = MemoryFiles()
    layout = files.add(make_csv(), "layout.csv")
    result = make_validate_curp_layout(files, REGISTER)(file=layout["id"])
    dumped = Output().dump(result)
    json.dumps(dumped)  # the engine stores results as JSON
    assert "rows" not in dumped  # the per-row data is in the report file, not in the instance
    report = files.read(dumped["report_file"])
    assert report.startswith(b"\xef\xbb\xbf") and files.names[dumped["report_file"]["id"]].endswith(".csv")
    assert (dumped["total"], dumped["to_update"]) == (5, 2)
    assert Input().load({"file": layout}) == {"file": layout["id"]}
    with pytest.raises(ValidationError):
        Input().load({"file": "/etc/passwd"})  # a path is not a reference: handlers never open paths


def test_diagram_handler_asks_a_bulk_register_once():
    class Bulk:
        def __init__(self) -> None:
            self.calls: list[set[str]] = []

        def present(self, curps):
            self.calls.append(set(curps))
            return set(curps) & REGISTER

    files, bulk = MemoryFiles(), Bulk()
    result = make_validate_curp_layout(files, bulk)(file=files.add(make_csv())["id"])
    assert result["to_update"] == 2 and len(bulk.calls) == 1 and GLORIA in bulk.calls[0]


def test_reconcile_handler_reads_the_authority_answer_file():
    files = MemoryFiles()
    layout = files.add(make_csv())["id"]
    answer = files.add(f"CURP;statusCurp;Primer Apellido\n{GLORIA};AN;Hernández\n{LETICIA};BD;Gómez\n"
                       .encode("cp1252"))["id"]
    result = make_reconcile_curp(files, REGISTER)(file=layout, response=answer, source="RENAPO")
    assert (result["processed"], result["updated"], result["deaths"]) == (5, 2, 1)
    json.dumps(ReconcileOutput().dump(result))
    garbage = files.add(b"no hay columna\n1\n")["id"]
    with pytest.raises(PermanentError, match="respuesta de SAT"):  # no retry can read it
        make_reconcile_curp(files, REGISTER)(file=layout, response=garbage, source="SAT")


def renapo_answer():
    return {
        GLORIA: {"status": "AN", "nombre": "GLORIA", "primer_apellido": "HERNANDEZ"},
        # Leticia's first surname differs; she is also deceased.
        LETICIA: {"statusCurp": "BD", "Nombre": "Leticia", "Primer Apellido": "Gómez"},
    }


def test_reconcile_with_renapo():
    rows = validate_curp_layout(make_csv(), REGISTER, TODAY)["rows"]
    result = reconcile_curp(rows, renapo_answer(), "renapo")
    assert result["source"] == "RENAPO"
    assert (result["processed"], result["updated"], result["not_updated"], result["not_updatable"]) == (5, 2, 0, 3)
    assert result["inconsistencies"] == 4  # 3 not updatable + Leticia's surname
    assert result["pct_inconsistencies"] == 80.0
    assert result["deaths"] == 1 and result["pct_deaths"] == 50.0
    assert result["pct_updated"] == 40.0
    leticia = next(r for r in result["rows"] if r["curp"] == LETICIA)
    assert leticia["notes"] == ["primer_apellido distinto en RENAPO", "baja por defunción"]
    json.dumps(ReconcileOutput().dump(result))


def test_reconcile_with_sat_and_missing_answers():
    rows = validate_curp_layout(make_csv(), REGISTER, TODAY)["rows"]
    result = reconcile_curp(rows, {GLORIA: "Positiva"}, "SAT")
    assert (result["updated"], result["not_updated"], result["not_updatable"]) == (1, 1, 3)
    assert result["compliance_positive"] == 1 and result["compliance_negative"] == 0
    assert result["deaths"] is None and result["pct_deaths"] is None


def test_reconcile_rejects_unknown_source():
    with pytest.raises(PermanentError):
        reconcile_curp([], {}, "IMSS")
    assert reconcile_curp([], {}, "RENAPO")["pct_inconsistencies"] == 0.0
    ref = "a" * 64
    assert ReconcileInput().load({"file": ref, "response": ref}) == {"file": ref, "response": ref, "source": "RENAPO"}
    with pytest.raises(ValidationError):
        ReconcileInput().load({"rows": [], "source_records": {}})


def test_reconcile_reads_renapo_camel_case_fields():
    rows = validate_curp_layout(make_csv(), REGISTER, TODAY)["rows"]
    answer = {GLORIA: {"statusCurp": "BAJA POR DEFUNCIÓN", "nombres": "Gloria", "primerApellido": "García"}}
    result = reconcile_curp(rows, answer)
    gloria = next(r for r in result["rows"] if r["curp"] == GLORIA)
    assert gloria["notes"] == ["primer_apellido distinto en RENAPO", "baja por defunción"]
