"""FED-RENAPO-CERT checks the certificate uploaded as a file: a valid one lets the deployment
continue, an expired one follows the diagram's ``certificado_invalido`` boundary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import default_handlers
from engine.bootstrap import Wiring, build
from engine.clock import ManualClock
from engine.settings import Settings

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "federal"


# The engine's clock, years away from the wall clock: the step judges validity by the engine's time.
ENGINE_NOW = datetime(2040, 3, 1, 10, 0, tzinfo=UTC)


def _der(days_left: int) -> bytes:
    """A certificate for curp.gob.mx issued 400 days before ENGINE_NOW (not yet valid by the wall
    clock, so a handler reading the wall clock would refuse even the good one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "curp.gob.mx")])
    now = ENGINE_NOW
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=400))
            .not_valid_after(now + timedelta(days=days_left)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def renapo(settings: Settings, clock: ManualClock) -> Iterator[Wiring]:
    clock.set(ENGINE_NOW)
    wiring = build(settings, handlers=default_handlers(settings), clock=clock, check_handlers=True)
    wiring.service.deploy((BPMN / "FED-RENAPO-CERT.bpmn").read_bytes(), source_name="FED-RENAPO-CERT.bpmn")
    yield wiring
    wiring.db.dispose()


def _to_certificate_check(wiring: Wiring, certificate: dict) -> str:
    service = wiring.service
    instance = service.start("FED_RENAPO_CERT", requester="laura")
    for element, data in (
        ("Activity_1_2", {"unidad_administrativa": "DGSIA", "solicitante": "Laura Méndez",
                          "correo_solicitante": "laura@example.org", "director_que_turna": "Ing. Ricardo Salas",
                          "descripcion": "Renovación del certificado"}),
        ("Activity_2_1", {"existen_observaciones": "No"}),
        ("Activity_3_1", {"es_personal_secretaria": "Sí"}),
        ("Activity_3_2", {"certificado": certificate}),
    ):
        task = next(t for t in service.ready_tasks(instance.id) if t.element_id == element)
        service.complete_task(task.id, data)
    assert wiring.invocations is not None
    wiring.invocations.run_due()
    return instance.id


def test_valid_certificate_continues_expired_one_is_routed(renapo: Wiring) -> None:
    good, _ = renapo.files.upload(_der(300), name="curp_gob_mx_2027.cer", uploaded_by="laura")
    assert good.media_type == "application/pkix-cert"
    first = _to_certificate_check(renapo, {"id": good.id, "name": good.original_name})
    instance, tasks = renapo.service.get_instance(first)
    assert instance.status == "running", instance.error
    assert instance.data["datos_certificado"]["valid_now"] is True
    assert instance.data["datos_certificado"]["days_left"] == 300
    assert [t.element_id for t in tasks] == ["Activity_4_1"]

    expired, _ = renapo.files.upload(_der(-2), name="viejo.cer", uploaded_by="laura")
    second = _to_certificate_check(renapo, {"id": expired.id})
    instance, tasks = renapo.service.get_instance(second)
    assert instance.status == "running", instance.error
    assert [t.element_id for t in tasks] == ["Activity_solicitar_certificado"]
