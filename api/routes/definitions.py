"""Definitions: deploy BPMN documents and read their versions."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.context import service
from api.schemas import DefinitionDetailSchema, DefinitionListSchema, DeployResultSchema
from engine.errors import InvalidInput

blp = Blueprint("definitions", __name__, url_prefix="/api/v1/definitions",
                description="BPMN process definitions and their versions.")

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}


@blp.route("")
class Definitions(MethodView):
    @blp.response(200, DefinitionListSchema)
    def get(self) -> dict:
        """List every deployed definition version."""
        items = service().list_definitions()
        return {"items": items, "total": len(items)}

    @blp.doc(**_UPLOAD_DOC)
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(200, schema=DeployResultSchema, description="The same XML was already deployed.")
    def post(self) -> tuple[dict, int]:
        """Deploy a BPMN file (multipart field ``file`` or a raw XML body); unchanged XML is not a new version."""
        if "file" in request.files:
            upload = request.files["file"]
            xml, name = upload.read(), upload.filename or "upload.bpmn"
        elif request.mimetype in ("application/xml", "text/xml", "application/bpmn+xml"):
            xml, name = request.get_data(), request.headers.get("X-Filename", "upload.bpmn")
        else:
            raise InvalidInput("Send the BPMN file as multipart field 'file' or as an application/xml body.")
        result = service().deploy(xml, source_name=name, actor=current_actor().name)
        return {"created": result.created, "definition": result.definition}, (201 if result.created else 200)


@blp.route("/<string:key>")
class DefinitionDetail(MethodView):
    @blp.response(200, DefinitionDetailSchema)
    def get(self, key: str) -> dict:
        """One definition with all its versions (the latest last)."""
        versions = service().definition_versions(key)
        return {"key": key, "latest": versions[-1], "versions": versions}


@blp.route("/<string:key>/versions/<int:version>/bpmn")
class DefinitionXml(MethodView):
    @blp.response(200, description="The BPMN XML of that version.", content_type="application/xml")
    def get(self, key: str, version: int) -> Response:
        """The BPMN XML of one version, as deployed."""
        definition = service().definition_version(key, version)
        return Response(definition.bpmn_xml, mimetype="application/xml")
