"""Stored files and the CURP producers' register (issue 5: the handlers' data).

A file's bytes live on disk under ``CAUCE_FILES_DIR`` named by their SHA-256 (see
:mod:`engine.files`); this table holds what the API shows about them. The id *is* the digest, so
uploading the same content twice finds the same row instead of creating a second one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from . import Base, UTCDateTime


class StoredFile(Base):
    """One uploaded (or handler-produced) file, content-addressed."""

    __tablename__ = "stored_files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the content, hex
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str | None] = mapped_column(String(500))
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Producer(Base):
    """One CURP of the producers' register that ``validate_curp_layout`` checks layouts against."""

    __tablename__ = "producers"

    curp: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
