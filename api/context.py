"""Access to the objects ``create_app`` wired, from inside a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from engine.service import WorkflowService
from engine.settings import Settings


@dataclass
class Cauce:
    settings: Settings
    service: WorkflowService
    scheduler: Any = None


def cauce() -> Cauce:
    return current_app.extensions["cauce"]


def service() -> WorkflowService:
    return cauce().service
