"""register_builtin: every conventions name once, input validated through HandlerRegistry.call."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.errors import InvalidInput
from engine.handler_registry import HandlerRegistry
from handlers.certificate import CertificateError
from handlers.registry import BUILTIN, register_builtin
from handlers.workload import Member
from tests.handlers.memory_files import MemoryFiles

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {"check_certificate", "validate_curp_layout", "reconcile_curp", "priority", "probe", "set_status", "folio",
            "notify", "assign_by_workload"}
#: Handlers whose result is not a record: ``folio`` returns the folio string itself,
#: ``assign_by_workload`` the chosen user's name (what ``assigneeVariable`` reads).
NO_OUTPUT_SCHEMA = {"folio", "assign_by_workload"}
GLORIA = "HEGG560427MVZRRL04"


class Roster:
    def members(self, role):
        return [Member("ana", "Oficina Recaudadora de León", 2), Member("beto", "oficina recaudadora de leon", 1),
                Member("carla", "Catastro", 0)] if role == "operador" else []


@pytest.fixture
def files() -> MemoryFiles:
    return MemoryFiles()


@pytest.fixture
def registry(files: MemoryFiles) -> HandlerRegistry:
    registry = HandlerRegistry()
    register_builtin(registry, curp_register={GLORIA}, files=files, staff=Roster())
    return registry


def test_every_name_registers_once():
    registry = HandlerRegistry()
    names = register_builtin(registry, curp_register=set())
    assert sorted(names) == sorted(EXPECTED) == registry.names()
    assert len(names) == len(set(names)) == len(BUILTIN)
    with pytest.raises(ValueError, match="already registered"):
        register_builtin(registry)


def test_every_handler_has_schemas(registry):
    for name in EXPECTED:
        handler = registry.get(name)
        assert handler.input_schema is not None, name
        assert (handler.output_schema is None) == (name in NO_OUTPUT_SCHEMA), name


def test_conventions_table_names_are_registered_or_pending(registry):
    text = (ROOT / "bpmn" / "CONVENTIONS.md").read_text(encoding="utf-8")
    table = text.split("## Handlers a diagram may name", 1)[1]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert set(registry.names()) == documented


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("priority", {"impact": "altísima", "urgency": "alta"}),
        ("priority", {"impact": "alta"}),
        ("set_status", {"label": "  "}),
        ("set_status", {}),
        ("probe", {"targets": []}),
        ("probe", {"targets": ["no-port"]}),
        ("probe", {"targets": "127.0.0.1:80"}),
        ("check_certificate", {"expected_domain": "curp.gob.mx"}),
        ("validate_curp_layout", {}),
        ("validate_curp_layout", {"file": "x.csv", "register": ["injected only by the app"]}),
        ("reconcile_curp", {"rows": [], "source_records": {}, "source": "IMSS"}),
    ],
)
def test_bad_input_is_invalid_input(registry, name, params):
    with pytest.raises(InvalidInput) as caught:
        registry.call(name, params)
    assert caught.value.details["fields"]


def test_priority_through_the_registry(registry):
    assert registry.call("priority", {"impact": "Alta", "urgency": "Alta"}) == "critical"
    assert registry.call("priority", {"impact": "baja", "urgency": "media"}) == "low"


def test_priority_matrix_is_configurable(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("\n".join(f"{i}: {{alta: low, media: low, baja: low}}" for i in ("alta", "media", "baja")))
    registry = HandlerRegistry()
    register_builtin(registry, priority_matrix=path)
    assert registry.call("priority", {"impact": "alta", "urgency": "alta"}) == "low"
    path.write_text("alta: {}\n")
    with pytest.raises(ValueError):
        register_builtin(HandlerRegistry(), priority_matrix=path)


def test_set_status_through_the_registry(registry):
    assert registry.call("set_status", {"label": " Aprobada "}) == {"label": "Aprobada"}


def test_probe_through_the_registry(registry):
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        target = f"127.0.0.1:{listener.getsockname()[1]}"
        result = registry.call("probe", {"targets": [target], "timeout_s": 2})
    assert result["all_up"] is True and result["down"] == []
    json.dumps(result)


def test_layout_through_the_registry(registry, files):
    layout = files.add(f"CURP\n{GLORIA}\nBEML920313HMCLNS09\n".encode(), "layout.csv")
    result = registry.call("validate_curp_layout", {"file": layout})
    assert (result["total"], result["valid"], result["to_update"], result["not_updatable"]) == (2, 2, 1, 1)
    assert files.read(result["report_file"]).decode("utf-8-sig").startswith("fila,curp,")
    json.dumps(result)  # what the engine does with a result
    answer = files.add(f"CURP,status\n{GLORIA},AN\n".encode(), "renapo.csv")
    reconciled = registry.call("reconcile_curp", {"file": layout, "response": answer["id"], "source": "RENAPO"})
    assert reconciled["updated"] == 1 and reconciled["not_updatable"] == 1
    json.dumps(reconciled)


def test_file_handlers_without_their_store_or_register_fail_loudly(files):
    registry = HandlerRegistry()
    register_builtin(registry, files=files)
    assert {"validate_curp_layout", "reconcile_curp", "check_certificate"} <= set(registry.names())
    with pytest.raises(RuntimeError, match="curp_register"):
        registry.call("validate_curp_layout", {"file": "a" * 64})
    other = HandlerRegistry()
    register_builtin(other)
    with pytest.raises(RuntimeError, match="files"):
        other.call("check_certificate", {"file": "a" * 64})
    with pytest.raises(RuntimeError, match="staff"):
        registry.call("assign_by_workload", {"role": "operador", "location": "León"})


def test_assign_by_workload_through_the_registry(registry):
    leon = "Oficina Recaudadora de LEÓN"
    assert registry.call("assign_by_workload", {"role": "operador", "location": leon}) == "beto"
    assert registry.call("assign_by_workload", {"role": "operador", "location": "catastro"}) == "carla"
    with pytest.raises(LookupError, match="Nadie con el rol"):
        registry.call("assign_by_workload", {"role": "operador", "location": "Irapuato"})


def _cert(path: Path, cn: str, days_left: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days_left))
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_certificate_through_the_registry(registry, files, tmp_path):
    good, bad = tmp_path / "good.pem", tmp_path / "bad.pem"
    _cert(good, "curp.gob.mx", 90)
    _cert(bad, "curp.gob.mx", -1)
    good_ref, bad_ref = files.add(good.read_bytes()), files.add(bad.read_bytes())
    result = registry.call("check_certificate", {"file": good_ref, "expected_domain": "curp.gob.mx"})
    assert result["valid_now"] and result["matches_domain"]
    json.dumps(result)
    with pytest.raises(CertificateError) as caught:
        registry.call("check_certificate", {"file": bad_ref["id"]})
    assert caught.value.code == "certificado_invalido"


def test_unknown_name_lists_the_known_ones(registry):
    from engine.errors import HandlerError

    with pytest.raises(HandlerError, match="set_status"):
        registry.call("asignar_por_carga", {"role": "x", "location": "y"})


def test_folio_and_notify_without_their_database_side_fail_loudly(registry):
    with pytest.raises(RuntimeError, match="contador"):
        registry.call("folio", {"series": "INC"})
    with pytest.raises(RuntimeError, match="mailroom"):
        registry.call("notify", {"template": "ticket_cerrado", "to": "requester"})


def test_handlers_import_nothing_from_flask_api_or_engine():
    code = (
        "import sys, handlers.registry, handlers.curp, handlers.curp_layout, handlers.certificate, "
        "handlers.priority, handlers.probe, handlers.status, handlers.errors, handlers.folio, handlers.notify, "
        "handlers.files, handlers.workload\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_smorest', 'api', 'engine'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
