"""Access to the objects ``create_app`` wired, from inside a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from engine.identity import IdentityService
from engine.inbox import InboxService
from engine.service import WorkflowService
from engine.settings import Settings


@dataclass
class Cauce:
    settings: Settings
    service: WorkflowService
    scheduler: Any = None
    identity: IdentityService | None = None
    inbox: InboxService | None = None


def cauce() -> Cauce:
    return current_app.extensions["cauce"]


def service() -> WorkflowService:
    return cauce().service


def identity() -> IdentityService:
    found = cauce().identity
    assert found is not None, "create_app wires the identity service"
    return found


def inbox() -> InboxService:
    found = cauce().inbox
    assert found is not None, "create_app wires the inbox"
    return found
