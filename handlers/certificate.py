"""Check the X.509 certificate RENAPO delivers for the CURP query web service (FED-RENAPO-CERT).

Before deploying a renewed certificate, the procedure must know that it is the right one: that
it is in force today and issued for the expected domain (``curp.gob.mx``). A certificate that
fails is not a bug but a routable outcome (ask RENAPO for a correct one), so it raises
:class:`CertificateError`, a business error with code ``certificado_invalido``; a file that is
not a certificate at all is a plain ``ValueError``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from marshmallow import Schema, fields

from handlers.errors import BusinessError
from handlers.files import FileRef, Files

__all__ = ["CertArg", "CertificateError", "Input", "Output", "check_certificate", "hostname_matches",
           "load_certificate",
           "make_check_certificate"]


#: The certificate's content (bytes or PEM text) or a path to it.
CertArg = bytes | str | os.PathLike[str]


class CertificateError(BusinessError):
    """The certificate is expired, not yet valid or for another domain; ``details`` holds the
    full check result so the process can still show what was received."""

    code = "certificado_invalido"


def _pick_leaf(certs: list[x509.Certificate]) -> x509.Certificate:
    """In a chain or PKCS#7 bundle, the server certificate is the one that issued no other
    (bundles come in any order, so position alone can't be trusted)."""
    leaves = [c for c in certs if not any(o is not c and o.issuer == c.subject for o in certs)]
    return (leaves or certs)[0]


def _read(data: CertArg) -> bytes:
    """The certificate's bytes. A ``str`` holding PEM text is content; any other ``str`` (or a
    path object) is a path, which is what a diagram's uploaded-file reference resolves to."""
    if isinstance(data, str) and "-----BEGIN" in data:
        return data.encode("ascii", errors="replace")
    if isinstance(data, (str, os.PathLike)):
        try:
            return Path(data).read_bytes()
        except OSError as exc:
            raise ValueError(f"No se pudo leer el archivo del certificado: {exc}") from exc
    return bytes(data)


def load_certificate(data: CertArg) -> x509.Certificate:
    """Read a PEM or DER certificate (also a PEM chain or a PKCS#7 ``.p7b``, taking the leaf).

    RENAPO's file arrives by e-mail as ``.cer``/``.crt``/``.pem`` in either encoding, so the
    content is sniffed rather than trusted to the extension. ``data`` is the content (bytes, or
    PEM text) or a path to the file.
    """
    raw = _read(data)
    try:
        if b"-----BEGIN CERTIFICATE-----" in raw:
            return _pick_leaf(x509.load_pem_x509_certificates(raw))
        if b"-----BEGIN PKCS7-----" in raw:
            return _pick_leaf(pkcs7.load_pem_pkcs7_certificates(raw))
        try:
            return x509.load_der_x509_certificate(raw)
        except ValueError:
            return _pick_leaf(pkcs7.load_der_pkcs7_certificates(raw))
    except ValueError as exc:
        raise ValueError(
            "El archivo no es un certificado X.509 legible (se esperaba PEM o DER)."
        ) from exc


def hostname_matches(pattern: str, hostname: str) -> bool:
    """Match a certificate name against a host name, the way TLS clients do (RFC 6125).

    Case-insensitive; a wildcard is only honoured as the whole left-most label and stands for
    exactly one label: ``*.curp.gob.mx`` matches ``ws.curp.gob.mx`` but neither ``curp.gob.mx``
    nor ``a.ws.curp.gob.mx``. If ``hostname`` itself is a wildcard it only matches the same
    wildcard, so a diagram can require a wildcard certificate explicitly.
    """
    pattern = pattern.strip().rstrip(".").lower()
    hostname = hostname.strip().rstrip(".").lower()
    if not pattern or not hostname:
        return False
    if pattern == hostname:
        return True
    head, _, rest = pattern.partition(".")
    if head != "*" or not rest or rest.count(".") < 1 or hostname.startswith("*"):
        return False  # no wildcard, or one too broad to honour (``*.mx``)
    label, _, host_rest = hostname.partition(".")
    return bool(label) and host_rest == rest


def _dns_names(cert: x509.Certificate) -> list[str]:
    """Names the certificate is valid for: SAN DNS entries, then the subject's CN(s)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = list(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = []
    for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = str(attribute.value)
        if value not in names:
            names.append(value)
    return names


def _since(moment: datetime, now: datetime) -> str:
    days = abs(now - moment).days
    return f"{moment.date().isoformat()} ({'hace' if moment <= now else 'en'} {days} días)"


def check_certificate(
    data: CertArg, expected_domain: str = "curp.gob.mx", now: datetime | None = None
) -> dict[str, Any]:
    """Read a certificate and check that it is in force and issued for ``expected_domain``.

    ``days_left`` is the whole days until ``not_after`` (negative once expired);
    ``matches_domain`` compares ``expected_domain`` with the SAN DNS names and the subject CN
    (see :func:`hostname_matches`). Dates are ISO 8601 in UTC. ``now`` (default: the current
    time; naive values are taken as UTC) makes the check reproducible.

    Raises :class:`CertificateError` when the certificate is expired, not yet valid or for
    another domain, with the result in ``.details``; ``ValueError`` when ``data`` is not a
    certificate.
    """
    cert = load_certificate(data)
    now = now or datetime.now(UTC)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    names = _dns_names(cert)
    serial = format(cert.serial_number, "X")
    result = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": serial.zfill(len(serial) + len(serial) % 2),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": math.floor((not_after - now).total_seconds() / 86400),
        "valid_now": not_before <= now <= not_after,
        "dns_names": names,
        "matches_domain": any(hostname_matches(name, expected_domain) for name in names),
    }
    problems = []
    if now > not_after:
        problems.append(f"venció el {_since(not_after, now)}")
    if now < not_before:
        problems.append(f"aún no es válido: entra en vigor el {_since(not_before, now)}")
    if not result["matches_domain"]:
        shown = ", ".join(names) or "ningún dominio"
        problems.append(f"no corresponde al dominio {expected_domain} (es para {shown})")
    if problems:
        raise CertificateError("El certificado " + "; ".join(problems) + ".", details=result)
    return result


def make_check_certificate(files: Files, clock: Callable[[], datetime] | None = None) -> Callable[..., dict[str, Any]]:
    """The diagram-facing handler: checks the uploaded certificate a file reference names, as of
    ``clock()`` (the engine's time of the step, so that replays and tests with an injected clock
    judge validity the same way; the wall clock without one)."""

    def run(file: str, expected_domain: str = "curp.gob.mx") -> dict[str, Any]:
        return check_certificate(files.read(file), expected_domain, now=clock() if clock is not None else None)

    return run


class Input(Schema):
    """Diagram input of ``check_certificate``: the uploaded certificate and the expected domain."""

    file = FileRef(required=True)
    expected_domain = fields.String(load_default="curp.gob.mx")


class Output(Schema):
    """Result of :func:`check_certificate` (also ``CertificateError.details``)."""

    subject = fields.String(required=True)
    issuer = fields.String(required=True)
    serial = fields.String(required=True)
    not_before = fields.String(required=True)  # ISO 8601, UTC
    not_after = fields.String(required=True)  # ISO 8601, UTC
    days_left = fields.Integer(required=True)
    valid_now = fields.Boolean(required=True)
    dns_names = fields.List(fields.String())
    matches_domain = fields.Boolean(required=True)
