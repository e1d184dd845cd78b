"""``cauce register import`` loads the producers' register, and the Confrontas procedure
(FED-DGTIC-DSSD-003) validates an uploaded layout against it, keeps the per-row report as a file
and reconciles the layout with RENAPO's uploaded answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api import default_handlers
from api.cli import main
from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.models.files import Producer
from engine.settings import Settings

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
GLORIA = "HEGG560427MVZRRL04"
LUIS = "BEML920313HMCLNS09"
LETICIA = "PEGL890909MJCRMS08"


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CAUCE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CAUCE_FILES_DIR", str(settings.files_dir))
    return settings


def _register(wiring: Wiring) -> dict[str, str | None]:
    with wiring.service.uow.read() as session:
        return {p.curp: p.name for p in session.scalars(select(Producer))}


def test_import_adds_updates_and_replaces(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "padron.csv"
    first.write_text("Padrón de productores 2026\n\nCURP;Nombre;Primer Apellido\n"
                     f"{GLORIA};Gloria;Hernández\n {LETICIA.lower()} ;Leticia;Pérez\nXX123;Mal;Formato\n"
                     f"{GLORIA};Gloria;Hernández\n", encoding="cp1252")
    assert main(["register", "import", str(first)]) == 0
    out = capsys.readouterr()
    assert ("2 added, 0 updated, 0 unchanged, 0 removed, 1 rejected, 1 repeated rows; "
            "the register has 2 CURPs") in out.out
    assert "row 6: XX123" in out.err

    second = tmp_path / "padron2.csv"
    second.write_text(f"curp,nombre\n{LETICIA},Leticia Pérez Gómez\n{LUIS},Luis Bello\n", encoding="utf-8")
    assert main(["register", "import", str(second)]) == 0
    assert "1 added, 1 updated, 0 unchanged, 0 removed" in capsys.readouterr().out
    wiring = build(env)
    try:
        assert _register(wiring) == {GLORIA: "Gloria Hernández", LETICIA: "Leticia Pérez Gómez", LUIS: "Luis Bello"}
        assert main(["register", "import", "--replace", str(second)]) == 0
        assert "0 added, 0 updated, 2 unchanged, 1 removed" in capsys.readouterr().out
        assert set(_register(wiring)) == {LETICIA, LUIS}
    finally:
        wiring.db.dispose()


def test_unreadable_register_changes_nothing(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sin_curp.csv"
    path.write_text("nombre\nGloria\n", encoding="utf-8")
    assert main(["register", "import", str(path)]) == 1
    assert "CURP" in capsys.readouterr().err


@pytest.fixture
def confrontas(env: Settings, clock: ManualClock, tmp_path: Path) -> Iterator[Wiring]:
    register = tmp_path / "padron.csv"
    register.write_text(f"CURP\n{GLORIA}\n{LETICIA}\n", encoding="utf-8")
    assert main(["register", "import", str(register)]) == 0
    wiring = build(env, handlers=default_handlers(env), clock=clock, check_handlers=True)
    wiring.service.deploy_directory(BPMN)
    yield wiring
    wiring.db.dispose()


def _complete(wiring: Wiring, instance_id: str, element: str, data: dict) -> dict:
    task = next(t for t in wiring.service.ready_tasks(instance_id) if t.element_id == element)
    wiring.service.complete_task(task.id, data)
    assert wiring.invocations is not None
    wiring.invocations.run_due()  # the file handlers run in the worker, outside the request
    instance, _ = wiring.service.get_instance(instance_id)
    assert instance.status == "running", instance.error
    return instance.data


def test_confrontas_validates_the_uploaded_layout_against_the_register(confrontas: Wiring) -> None:
    files, service = confrontas.files, confrontas.service
    oficio, _ = files.upload(b"%PDF-1.4\n%oficio\n", name="oficio.pdf", uploaded_by="ua")
    layout, _ = files.upload(f"Nombre,Primer Apellido,CURP\nGloria,Hernández,{GLORIA}\nLuis,Bello,{LUIS}\n"
                             f"Leticia,Pérez,{LETICIA}\n".encode(), name="layout.csv", uploaded_by="ua")
    instance = service.start("FED_DGTIC_DSSD_003", requester="ua")
    _complete(confrontas, instance.id, "Activity_1", {
        "unidad_administrativa": "SADER Jalisco", "titular_firmante": "Lic. Ana Torres", "oficio": oficio.id,
        "tipo_confronta": "RENAPO", "correo_contacto": "ua@example.org"})
    _complete(confrontas, instance.id, "Activity_2", {"layout_curp": {"id": layout.id, "name": "layout.csv"}})
    data = _complete(confrontas, instance.id, "Activity_3", {"subdirector_asignado": "Subdirector de área"})

    metrics = data["validacion_layout"]
    assert {k: metrics[k] for k in ("total", "valid", "invalid", "to_update", "not_updatable")} == {
        "total": 3, "valid": 3, "invalid": 0, "to_update": 2, "not_updatable": 1}
    report_row, report = files.content(metrics["report_file"]["id"])
    assert report_row.media_type == "text/csv" and metrics["report_file"]["name"] == "reporte_validacion_layout.csv"
    lines = report.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("fila,curp,") and len(lines) == 4
    assert LUIS in lines[2] and "no está en el padrón de productores" in lines[2]

    # The layout was valid: RENAPO's answer is uploaded and reconciled (activity 10).
    answer, _ = files.upload(f"CURP,statusCurp,Primer Apellido\n{GLORIA},AN,Hernández\n{LETICIA},BD,Gómez\n".encode(),
                             name="respuesta_renapo.csv", uploaded_by="sub")
    data = _complete(confrontas, instance.id, "Activity_9_renapo", {"respuesta_confronta": answer.id})
    result = data["resultado_confronta"]
    assert (result["processed"], result["updated"], result["not_updatable"], result["deaths"]) == (3, 2, 1, 1)
    assert result["pct_deaths"] == 50.0
