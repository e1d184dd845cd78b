"""Schemas of ``/api/v1/files``."""

from __future__ import annotations

from marshmallow import Schema, fields

from engine.files import reference


class StoredFileSchema(Schema):
    """A stored file; ``reference`` is what to put in process data (a form field of type ``file``)."""

    id = fields.String(metadata={"description": "SHA-256 of the content (hex); the file's id."})
    sha256 = fields.Function(lambda row: row.id)
    size_bytes = fields.Integer()
    media_type = fields.String(metadata={"description": "Detected from the content, not the file name."})
    name = fields.String(attribute="original_name", allow_none=True)
    uploaded_by = fields.String(allow_none=True)
    uploaded_at = fields.DateTime()
    reference = fields.Method("_reference")
    content_url = fields.Method("_content_url")

    def _reference(self, row: object) -> dict:
        return reference(row)  # type: ignore[arg-type]

    def _content_url(self, row: object) -> str:
        return f"/api/v1/files/{row.id}/content"  # type: ignore[attr-defined]


class UploadResultSchema(StoredFileSchema):
    created = fields.Boolean(metadata={"description": "False when the same content was already stored."})
