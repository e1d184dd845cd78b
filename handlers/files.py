"""Files as handlers see them: a reference in process data, resolved by a store the application
injects (``engine.files.StepFiles``), so that handlers never open paths taken from process data
and never import the engine.

A reference is what ``POST /api/v1/files`` answers (``{"id", "name", "media_type",
"size_bytes"}``) or just its id, the SHA-256 of the content as 64 hexadecimal characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from marshmallow import ValidationError, fields

__all__ = ["FileRef", "Files", "file_id"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Files(Protocol):
    """Where handlers read uploaded files and store the files they produce."""

    def read(self, ref: Any) -> bytes:
        """The content of the file a reference names."""
        ...

    def save(self, content: bytes, *, name: str) -> dict[str, Any]:
        """Store ``content`` and return its reference (for the handler's result)."""
        ...


def file_id(value: Any) -> str:
    """The id of a reference; ``ValueError`` (in Spanish) when it is not one."""
    raw = value.get("id") if isinstance(value, Mapping) else value
    text = raw.strip().lower() if isinstance(raw, str) else ""
    if not _HEX64.match(text):
        raise ValueError("Se esperaba la referencia de un archivo cargado (su id SHA-256 de 64 caracteres "
                         "hexadecimales, o un objeto con ese id).")
    return text


class FileRef(fields.Field):
    """A file reference in a handler's input; loads as the file's id."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        try:
            return file_id(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value
