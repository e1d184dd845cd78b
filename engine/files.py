"""Stored files: what requesters upload (CURP layouts, certificates, oficios) and what handlers
produce (validation reports), kept by the service and referenced from process data.

Files are content-addressed: the id is the SHA-256 of the bytes, the bytes live on disk at
``<CAUCE_FILES_DIR>/<id[:2]>/<id>`` and a ``stored_files`` row says what they are. So an upload
repeated after a network error, or the same report produced by a retried step, is the same file,
and a reference in process data can never point at bytes that changed later.

What is accepted is decided by the content, not the name a browser sends: the type is sniffed
(:func:`sniff`) and only the kinds the procedures exchange are kept (:data:`ALLOWED`). A reference
is ``{"id", "name", "media_type", "size_bytes"}`` (or just the id); handlers read files through
:class:`StepFiles`, never from a path found in process data, so a diagram cannot make the
service read an arbitrary file of the server.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filetype
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .errors import EngineError, InvalidInput, NotFound
from .models.files import StoredFile
from .steps import current_step
from .uow import UnitOfWork

__all__ = ["ALLOWED", "FileService", "FileStore", "FileTooLarge", "StepFiles", "UnsupportedFileType",
           "file_id_of", "reference", "sniff"]

CSV, TEXT, PDF = "text/csv", "text/plain", "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PEM, DER_CERT, PKCS7 = "application/x-pem-file", "application/pkix-cert", "application/pkcs7-mime"
PNG, JPEG = "image/png", "image/jpeg"
#: The media types the procedures exchange: layouts and reports (CSV, XLSX), certificates
#: (PEM, DER, PKCS#7), oficios and evidence (PDF, DOCX, scans), notes (plain text).
ALLOWED: frozenset[str] = frozenset({CSV, TEXT, PDF, XLSX, DOCX, PEM, DER_CERT, PKCS7, PNG, JPEG})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class FileTooLarge(EngineError):
    """The upload exceeds ``CAUCE_MAX_UPLOAD_BYTES``."""

    code = "file_too_large"


class UnsupportedFileType(EngineError):
    """The content is not one of :data:`ALLOWED` (whatever its name says)."""

    code = "unsupported_media_type"


def _is_certificate(data: bytes) -> str | None:
    try:
        x509.load_der_x509_certificate(data)
        return DER_CERT
    except ValueError:
        pass
    try:
        pkcs7.load_der_pkcs7_certificates(data)
        return PKCS7
    except ValueError:
        return None


def _text(data: bytes) -> str | None:
    """The content as text if it is text (UTF-8, or cp1252 as Excel writes CSV in es-MX)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        # cp1252 decodes almost anything: require it to look like text (few control characters).
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t")
        return None if controls > len(text) // 100 else text


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in ",;\t|":
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if widths and max(widths) > 1 and sum(w > 1 for w in widths) >= len(widths) // 2:
            return True
    return False


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` judged by its content; None for anything not recognised.

    Binary formats are recognised by their signatures (``filetype``), certificates by parsing
    them, and text by decoding it; a text whose lines split into columns is CSV.
    """
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime
    if data.lstrip().startswith(b"-----BEGIN "):
        return PEM
    if data[:1] == b"\x30":
        found = _is_certificate(data)
        if found:
            return found
    text = _text(data)
    if text is None or not text.strip():
        return None
    return CSV if _looks_like_csv(text) else TEXT


def file_id_of(ref: Any) -> str:
    """The id in a file reference (the reference itself, or a mapping with ``id``)."""
    value = ref.get("id") if isinstance(ref, Mapping) else ref
    if not isinstance(value, str) or not _HEX64.match(value.strip().lower()):
        raise InvalidInput("A file reference is the id (SHA-256, 64 hex characters) of an uploaded file, "
                           "or an object with that id; upload with POST /api/v1/files.", reference=str(ref)[:200])
    return value.strip().lower()


def reference(row: StoredFile) -> dict[str, Any]:
    """What process data holds for a file: enough to show and download it."""
    return {"id": row.id, "name": row.original_name, "media_type": row.media_type, "size_bytes": row.size_bytes}


@dataclass(frozen=True)
class FileStore:
    """The bytes on disk plus their ``stored_files`` row, inside a caller's session."""

    directory: Path
    max_bytes: int

    def path(self, file_id: str) -> Path:
        return self.directory / file_id[:2] / file_id

    def check(self, data: bytes) -> str:
        """The sniffed media type; raises when the content is empty, too large or not allowed."""
        if len(data) > self.max_bytes:
            raise FileTooLarge(f"The file has {len(data)} bytes; the limit is {self.max_bytes} "
                               "(CAUCE_MAX_UPLOAD_BYTES).", size_bytes=len(data), max_bytes=self.max_bytes)
        if not data:
            raise InvalidInput("The file is empty.", size_bytes=0)
        media_type = sniff(data)
        if media_type not in ALLOWED:
            raise UnsupportedFileType(
                "The file's content is not a kind cauce keeps (CSV, XLSX, PDF, DOCX, PNG, JPEG, plain text or "
                "an X.509 certificate in PEM/DER); the name does not matter, the content does.",
                detected=media_type, allowed=sorted(ALLOWED))
        return media_type

    def put(self, session: Session, data: bytes, *, name: str | None, uploaded_by: str | None,
            now: datetime) -> tuple[StoredFile, bool]:
        """Store ``data`` (checked) and its row; ``(row, created)``: an existing file is returned
        as it was first stored, so repeating an upload changes nothing."""
        media_type = self.check(data)
        file_id = hashlib.sha256(data).hexdigest()
        self._write(file_id, data)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(StoredFile.__table__).values(
            id=file_id, size_bytes=len(data), media_type=media_type,
            original_name=(name or "").strip()[:500] or None, uploaded_by=uploaded_by, uploaded_at=now,
        ).on_conflict_do_nothing(index_elements=["id"]).returning(StoredFile.__table__.c.id)
        created = session.execute(statement).first() is not None  # no row back: it was already stored
        row = session.get(StoredFile, file_id, populate_existing=True)
        assert row is not None
        return row, created

    def get(self, session: Session, file_id: str) -> StoredFile:
        row = session.get(StoredFile, file_id_of(file_id))
        if row is None:
            raise NotFound(f"No file has the id {file_id!r}; upload it with POST /api/v1/files.", file=file_id)
        return row

    def read(self, row: StoredFile) -> bytes:
        """The bytes of a stored file, checked against their digest (a disk fault is not data)."""
        try:
            data = self.path(row.id).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"The content of file {row.id} is missing from {self.directory}.", file=row.id) from None
        if hashlib.sha256(data).hexdigest() != row.id:
            raise EngineError(f"The content of file {row.id} on disk does not match its digest.", file=row.id)
        return data

    def _write(self, file_id: str, data: bytes) -> None:
        """Write once, atomically: a reader never sees a half-written file under its final name."""
        target = self.path(file_id)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class FileService:
    """The use cases of ``/api/v1/files``: one transaction each."""

    def __init__(self, uow: UnitOfWork, store: FileStore, *, clock: Callable[[], datetime] | None = None) -> None:
        self.uow = uow
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))

    def upload(self, data: bytes, *, name: str | None, uploaded_by: str | None) -> tuple[StoredFile, bool]:
        with self.uow.write() as session:
            row, created = self.store.put(session, data, name=name, uploaded_by=uploaded_by, now=self.clock())
            session.commit()
            return row, created

    def metadata(self, file_id: str) -> StoredFile:
        with self.uow.read() as session:
            return self.store.get(session, file_id)

    def content(self, file_id: str) -> tuple[StoredFile, bytes]:
        row = self.metadata(file_id)
        return row, self.store.read(row)


class StepFiles:
    """``handlers.files.Files`` over the running step: reads and writes in the step's transaction,
    so a report stored by a step that rolls back leaves no row behind (the bytes may stay on disk,
    unreferenced and harmless, and are reused if the step runs again)."""

    def __init__(self, store: FileStore) -> None:
        self.store = store

    def read(self, ref: Any) -> bytes:
        session = current_step().session
        return self.store.read(self.store.get(session, file_id_of(ref)))

    def save(self, content: bytes, *, name: str) -> dict[str, Any]:
        context = current_step()
        row, _ = self.store.put(context.session, content, name=name, uploaded_by=None, now=context.now)
        return reference(row)
