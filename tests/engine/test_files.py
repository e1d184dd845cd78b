"""Type sniffing of stored files: by content, for the kinds the procedures exchange."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.errors import InvalidInput
from engine.files import file_id_of, sniff


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["CURP"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cert(encoding: serialization.Encoding) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "curp.gob.mx")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(encoding)


@pytest.mark.parametrize(("data", "expected"), [
    (b"CURP,Nombre\nHEGG560427MVZRRL04,Gloria\n", "text/csv"),
    ("CURP;Nombre\r\nHEGG560427MVZRRL04;Peña\r\n".encode("cp1252"), "text/csv"),  # Excel es-MX
    (b"Oficio de solicitud del servicio de confrontas.", "text/plain"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf"),
    (b"\x00\x01\x02\x03" * 10, None),
    (b"   \n", None),
])
def test_sniff(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def test_sniff_workbooks_and_certificates() -> None:
    assert sniff(_xlsx()) == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert sniff(_cert(serialization.Encoding.PEM)) == "application/x-pem-file"
    assert sniff(_cert(serialization.Encoding.DER)) == "application/pkix-cert"


def test_file_id_of_accepts_a_reference_or_its_id() -> None:
    digest = "AB" * 32
    assert file_id_of(digest) == file_id_of({"id": digest, "name": "x"}) == digest.lower()
    for bad in ("/etc/passwd", {"name": "x"}, 5, "ab" * 31):
        with pytest.raises(InvalidInput):
            file_id_of(bad)
