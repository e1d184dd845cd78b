"""Certificate checks against real certificates generated here with ``cryptography``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from marshmallow import ValidationError

from handlers.certificate import (
    CertificateError,
    Input,
    Output,
    check_certificate,
    hostname_matches,
    load_certificate,
    make_check_certificate,
)
from handlers.errors import BusinessError
from tests.handlers.memory_files import MemoryFiles

NOW = datetime.now(UTC)
_KEY = ec.generate_private_key(ec.SECP256R1())  # one key for all: generation is the slow part


def make_cert(
    cn: str = "curp.gob.mx",
    sans: list[str] | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    issuer: x509.Certificate | None = None,
    serial: int = 0x0ABC,
) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "RENAPO"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(not_before or NOW - timedelta(days=30))
        .not_valid_after(not_after or NOW + timedelta(days=365))
    )
    if sans is None:
        sans = [cn]
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False
        )
    return builder.sign(_KEY, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("encode", [pem, der], ids=["PEM", "DER"])
def test_valid_certificate(encode):
    cert = make_cert(sans=["curp.gob.mx", "www.curp.gob.mx"])
    result = check_certificate(encode(cert), "curp.gob.mx")
    assert result["valid_now"] and result["matches_domain"]
    assert result["days_left"] in (364, 365)
    assert result["subject"] == "CN=curp.gob.mx,O=RENAPO,C=MX"
    assert result["issuer"] == result["subject"]  # self-signed
    assert result["serial"] == "0ABC"
    assert result["dns_names"] == ["curp.gob.mx", "www.curp.gob.mx"]
    assert datetime.fromisoformat(result["not_after"]) == cert.not_valid_after_utc
    json.dumps(Output().dump(result))


def test_pem_text_and_path(tmp_path):
    cert = make_cert()
    assert check_certificate(pem(cert).decode())["matches_domain"]  # PEM as text
    path = tmp_path / "renapo.cer"
    path.write_bytes(der(cert))
    assert check_certificate(path)["valid_now"]
    assert check_certificate(str(path))["valid_now"]  # a diagram's file reference is a path


@pytest.mark.parametrize("encode", [pem, der], ids=["PEM", "DER"])
def test_expired_certificate_is_a_business_error(encode):
    cert = make_cert(not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=10))
    with pytest.raises(CertificateError) as caught:
        check_certificate(encode(cert), "curp.gob.mx")
    error = caught.value
    assert isinstance(error, BusinessError)
    assert error.code == "certificado_invalido"
    assert "venció" in error.message
    assert error.details["valid_now"] is False and error.details["matches_domain"] is True
    assert error.details["days_left"] in (-10, -11)


@pytest.mark.parametrize("encode", [pem, der], ids=["PEM", "DER"])
def test_wrong_domain_is_a_business_error(encode):
    cert = make_cert(cn="www.sat.gob.mx")
    with pytest.raises(CertificateError) as caught:
        check_certificate(encode(cert), "curp.gob.mx")
    assert caught.value.code == "certificado_invalido"
    assert "no corresponde al dominio curp.gob.mx (es para www.sat.gob.mx)" in caught.value.message
    assert caught.value.details["valid_now"] is True


def test_expired_and_wrong_domain_reports_both():
    cert = make_cert(cn="example.com", not_after=NOW - timedelta(days=1))
    with pytest.raises(CertificateError) as caught:
        check_certificate(pem(cert), "curp.gob.mx")
    assert "venció" in caught.value.message and "no corresponde" in caught.value.message


def test_not_yet_valid_is_a_business_error():
    cert = make_cert(not_before=NOW + timedelta(days=5), not_after=NOW + timedelta(days=400))
    with pytest.raises(CertificateError, match="aún no es válido"):
        check_certificate(pem(cert))


def test_now_makes_the_check_reproducible():
    cert = make_cert(not_before=NOW - timedelta(days=30), not_after=NOW + timedelta(days=30))
    later = (NOW + timedelta(days=31)).replace(tzinfo=None)  # naive is taken as UTC
    with pytest.raises(CertificateError):
        check_certificate(pem(cert), now=later)


def test_common_name_is_used_without_san():
    result = check_certificate(pem(make_cert(sans=[])), "CURP.gob.mx.")
    assert result["dns_names"] == ["curp.gob.mx"] and result["matches_domain"]


def test_wildcard_certificate():
    cert = make_cert(cn="*.curp.gob.mx")
    assert check_certificate(pem(cert), "ws.curp.gob.mx")["matches_domain"]
    with pytest.raises(CertificateError):
        check_certificate(pem(cert), "curp.gob.mx")


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("curp.gob.mx", "CURP.GOB.MX", True),
        ("*.curp.gob.mx", "ws.curp.gob.mx", True),
        ("*.curp.gob.mx", "a.ws.curp.gob.mx", False),
        ("*.curp.gob.mx", "curp.gob.mx", False),
        ("*.mx", "gob.mx", False),
        ("ws*.curp.gob.mx", "ws1.curp.gob.mx", False),
        ("*.curp.gob.mx", "*.curp.gob.mx", True),
        ("", "curp.gob.mx", False),
    ],
)
def test_hostname_matches(pattern, host, expected):
    assert hostname_matches(pattern, host) is expected


def test_chain_takes_the_leaf_whatever_the_order():
    ca = make_cert(cn="AC RENAPO", sans=[], serial=1)
    leaf = make_cert(issuer=ca, serial=2)
    bundle = pem(ca) + pem(leaf)  # CA first: position can't be trusted
    assert load_certificate(bundle).serial_number == 2
    assert check_certificate(bundle)["issuer"] == "CN=AC RENAPO,O=RENAPO,C=MX"


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_pkcs7_bundle(encoding):
    ca = make_cert(cn="AC RENAPO", sans=[], serial=1)
    leaf = make_cert(issuer=ca, serial=2)
    bundle = pkcs7.serialize_certificates([ca, leaf], encoding)
    assert load_certificate(bundle).serial_number == 2


@pytest.mark.parametrize(
    "data", [b"not a certificate", b"-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"]
)
def test_garbage_is_not_a_business_error(data):
    with pytest.raises(ValueError) as caught:
        check_certificate(data)
    assert not isinstance(caught.value, BusinessError)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="No se pudo leer"):
        check_certificate(str(tmp_path / "missing.cer"))


def test_diagram_handler_reads_the_uploaded_certificate():
    files = MemoryFiles()
    good = files.add(make_cert().public_bytes(serialization.Encoding.DER), "renapo.cer")
    loaded = Input().load({"file": good})
    assert loaded == {"file": good["id"], "expected_domain": "curp.gob.mx"}
    result = make_check_certificate(files)(**loaded)
    assert result["valid_now"] and result["matches_domain"]
    json.dumps(Output().dump(result))
    with pytest.raises(ValidationError):
        Input().load({"file": "/tmp/renapo.cer"})  # a path is not a file reference
