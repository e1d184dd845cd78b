"""The engine's error types. Only ``api/`` maps them to HTTP status codes, in one place.

Messages say what to do next; ``details`` carries machine-readable context.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EngineError):
    code = "not_found"


class InvalidDefinition(EngineError):
    """A BPMN document that cannot be deployed; details name the element when known."""

    code = "invalid_definition"


class InvalidInput(EngineError):
    code = "invalid_input"
    retryable = False  # the same input fails the same way: the handler worker does not retry it


class Conflict(EngineError):
    """The state changed under the caller (task already completed, instance not running)."""

    code = "conflict"


class Forbidden(EngineError):
    code = "forbidden"


class ScriptError(EngineError):
    """A script or condition in a diagram failed or tried something it may not do."""

    code = "script_error"


class HandlerError(EngineError):
    code = "handler_error"
