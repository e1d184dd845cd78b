"""Handlers: plain functions that automated steps call by name.

Registering a name twice fails at start-up (two handlers fighting over one name is a bug that
would otherwise show up as the wrong e-mail sent); asking for an unknown name lists the known
ones, so a typo in a diagram is easy to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from .errors import HandlerError, InvalidInput


@dataclass(frozen=True)
class Handler:
    name: str
    func: Callable[..., Any]
    input_schema: Schema | None = None
    output_schema: Schema | None = None


class HandlerRegistry:
    """Handlers by name; one registry per app, filled by the composition root."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        input_schema: Schema | None = None,
        output_schema: Schema | None = None,
    ) -> Handler:
        if name in self._handlers:
            raise ValueError(f"A handler named {name!r} is already registered.")
        handler = Handler(name, func, input_schema, output_schema)
        self._handlers[name] = handler
        return handler

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, name: str) -> bool:
        return name in self._handlers

    def get(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            raise HandlerError(
                f"No handler is registered as {name!r}. Known handlers: "
                + (", ".join(self.names()) or "none"),
                handler=name,
            ) from None

    def call(self, name: str, params: dict[str, Any]) -> Any:
        """Validate the input, run the handler, validate and return its JSON-ready output."""
        handler = self.get(name)
        if handler.input_schema is not None:
            try:
                params = handler.input_schema.load(params)
            except ValidationError as exc:
                raise InvalidInput(
                    f"Handler {name!r} received invalid parameters.", fields=exc.messages
                ) from exc
        result = handler.func(**params)
        if handler.output_schema is not None:
            result = handler.output_schema.dump(result)
        return result
