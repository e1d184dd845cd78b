"""Files: upload what a procedure needs (layouts, certificates, oficios) and read it back.

The answer to an upload is the file's reference, which a client puts in process data (a form
field of type ``file``); the file handlers resolve it through the engine's file store.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.file_schemas import StoredFileSchema, UploadResultSchema
from engine.errors import InvalidInput
from engine.files import FileService, FileTooLarge

blp = Blueprint("files", __name__, url_prefix="/api/v1/files",
                description="Uploaded and produced files, content-addressed (SHA-256).")

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary"}}}}},
    }
}


_COLUMNS = ("id", "size_bytes", "media_type", "original_name", "uploaded_by", "uploaded_at")


def _files() -> FileService:
    return current_app.extensions["cauce_files"]


@blp.route("")
class Files(MethodView):
    @blp.doc(**_UPLOAD_DOC)
    @blp.response(201, UploadResultSchema)
    @blp.alt_response(200, schema=UploadResultSchema, description="The same content was already stored.")
    def post(self) -> tuple[SimpleNamespace, int]:
        """Upload a file (multipart field ``file``): 413 above the size limit, 415 for a content
        that is not a kind the procedures use; uploading the same bytes again answers 200 with
        the same file."""
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("Send the file as multipart/form-data field 'file'.")
        limit = _files().store.max_bytes
        data = upload.stream.read(limit + 1)  # never more than one byte past the limit in memory
        if len(data) > limit:
            raise FileTooLarge(f"The file is larger than {limit} bytes (CAUCE_MAX_UPLOAD_BYTES).", max_bytes=limit)
        row, created = _files().upload(data, name=upload.filename, uploaded_by=current_actor().name)
        return SimpleNamespace(**{c: getattr(row, c) for c in _COLUMNS}, created=created), (201 if created else 200)


@blp.route("/<string:file_id>")
class FileDetail(MethodView):
    @blp.response(200, StoredFileSchema)
    def get(self, file_id: str) -> object:
        """A file's metadata and reference."""
        return _files().metadata(file_id)


@blp.route("/<string:file_id>/content")
class FileContent(MethodView):
    @blp.response(200, description="The file's bytes, with its detected media type.",
                  content_type="application/octet-stream")
    def get(self, file_id: str) -> Response:
        """The file's bytes (a download, named as uploaded)."""
        row, data = _files().content(file_id)
        response = Response(data, mimetype=row.media_type)
        response.headers["Content-Disposition"] = _disposition(row.original_name or row.id)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["ETag"] = f'"{row.id}"'
        return response


def _disposition(name: str) -> str:
    """``attachment`` (never rendered inline: an uploaded file is not trusted content), with
    the UTF-8 name of RFC 6266 and an ASCII fallback."""
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
