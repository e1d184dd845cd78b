"""``/api/v1/files``: content-addressed uploads with a size limit and a type check by content."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.settings import Settings
from tests.api.conftest import Login

LIMIT = 4096
LAYOUT = "Nombre,Primer Apellido,CURP\r\nGloria,Hernández,HEGG560427MVZRRL04\r\n".encode()
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, max_upload_bytes=LIMIT)


def upload(client: FlaskClient, data: bytes, name: str = "layout.csv"):  # noqa: ANN201 - a test response
    return client.post("/api/v1/files", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_is_content_addressed_and_idempotent(client: FlaskClient, login: Login, settings: Settings) -> None:
    first = upload(client, LAYOUT, "layout ñ.csv")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    digest = hashlib.sha256(LAYOUT).hexdigest()
    assert body["id"] == body["sha256"] == digest and body["created"] is True
    assert (body["media_type"], body["size_bytes"], body["name"], body["uploaded_by"]) == (
        "text/csv", len(LAYOUT), "layout ñ.csv", "tester")
    assert body["reference"] == {"id": digest, "name": "layout ñ.csv", "media_type": "text/csv",
                                 "size_bytes": len(LAYOUT)}
    assert (Path(settings.files_dir) / digest[:2] / digest).read_bytes() == LAYOUT

    again = upload(login("mesa", "mesa-de-servicio"), LAYOUT, "otro nombre.csv")
    assert again.status_code == 200
    assert again.get_json()["created"] is False
    assert {k: v for k, v in again.get_json().items() if k != "created"} == {
        k: v for k, v in body.items() if k != "created"}  # the first upload's record, unchanged

    meta = client.get(f"/api/v1/files/{digest}")
    assert meta.status_code == 200 and meta.get_json()["content_url"] == f"/api/v1/files/{digest}/content"
    content = client.get(f"/api/v1/files/{digest}/content")
    assert content.status_code == 200 and content.data == LAYOUT
    assert content.mimetype == "text/csv" and content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''layout%20%C3%B1.csv" in content.headers["Content-Disposition"]


def test_too_large_is_413_with_the_limit(client: FlaskClient) -> None:
    response = upload(client, b"CURP\n" + b"HEGG560427MVZRRL04\n" * (LIMIT // 19 + 1))
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "file_too_large" and error["details"]["max_bytes"] == LIMIT
    exactly = b"a,b\n" * (LIMIT // 4)
    assert len(exactly) == LIMIT and upload(client, exactly).status_code == 201


@pytest.mark.parametrize(("data", "name"), [
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "layout.csv"),  # an executable named like a layout
    (b"PK\x03\x04" + b"\x00" * 40, "layout.xlsx"),  # a bare zip is not a workbook
    (b"GIF89a" + b"\x00" * 20, "foto.gif"),
    (bytes(range(256)) * 4, "datos.csv"),  # binary noise
])
def test_content_not_allowed_is_415(client: FlaskClient, data: bytes, name: str) -> None:
    response = upload(client, data, name)
    assert response.status_code == 415, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "text/csv" in error["details"]["allowed"]


def test_type_comes_from_the_content_not_the_name(client: FlaskClient) -> None:
    response = upload(client, PNG, "layout.csv")
    assert response.status_code == 201 and response.get_json()["media_type"] == "image/png"


@pytest.mark.parametrize(("path", "status"), [("/api/v1/files/" + "0" * 64, 404), ("/api/v1/files/nope", 422),
                                              ("/api/v1/files/" + "0" * 64 + "/content", 404)])
def test_unknown_or_malformed_ids(client: FlaskClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status and response.get_json()["error"]["code"]


def test_missing_field_or_empty_file_is_422(client: FlaskClient) -> None:
    assert client.post("/api/v1/files", data={"other": "x"}).status_code == 422
    empty = upload(client, b"")
    assert empty.status_code == 422 and empty.get_json()["error"]["code"] == "invalid_input"
