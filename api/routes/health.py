"""Liveness and readiness: answers without auth, checks the database."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from api.context import service

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        with service().uow.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of a health check is to report, not to raise
        return jsonify({"status": "error", "database": str(exc.__class__.__name__)}), 503
    return jsonify({"status": "ok", "database": "ok"})
