"""The one place where errors become HTTP responses: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    HandlerError,
    InvalidDefinition,
    InvalidInput,
    NotFound,
    ScriptError,
)
from engine.files import FileTooLarge, UnsupportedFileType

STATUS: dict[type[EngineError], int] = {
    NotFound: 404,
    InvalidDefinition: 422,
    InvalidInput: 422,
    Conflict: 409,
    Forbidden: 403,
    ScriptError: 422,
    HandlerError: 422,
    FileTooLarge: 413,
    UnsupportedFileType: 415,
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError) -> ResponseReturnValue:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        return jsonify(error_body(exc.code, exc.message, exc.details)), status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        details: Any = None
        data = getattr(exc, "data", None)  # webargs puts field errors here
        if isinstance(data, dict) and "messages" in data:
            details = {"fields": data["messages"]}
        code = {422: "validation_error", 404: "not_found", 405: "method_not_allowed",
                400: "bad_request", 413: "too_large", 415: "unsupported_media_type"}.get(status, "http_error")
        message = exc.description or exc.name
        if status == 422 and details:
            message = "The request has invalid fields; see details.fields."
        return jsonify(error_body(code, message, details)), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        return jsonify(error_body("internal_error", "An unexpected error occurred; it was logged.")), 500
