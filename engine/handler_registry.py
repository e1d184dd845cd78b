"""Handlers: plain functions that automated steps call by name, each with its execution policy.

Registering a name twice fails at start-up (two handlers fighting over one name is a bug that
would otherwise show up as the wrong e-mail sent); asking for an unknown name lists the known
ones, so a typo in a diagram is easy to fix.

A handler's :class:`HandlerPolicy` says where it runs (docs/handlers.md):

* ``inline``: inside the step's transaction, like a script. For fast, pure handlers and for those
  whose effect must commit or roll back with the step (a folio number, an outbox row). One attempt:
  a failure puts the instance in ``error`` and ``POST /instances/{id}/retry`` runs the step again.
* ``async``: in the scheduler's worker, outside any request and any instance lock, with the
  :class:`RetryPolicy`'s exponential backoff; when the attempts run out the instance shows an
  incident. For slow handlers and those that talk to the network.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError

from .errors import HandlerError, InvalidInput

INLINE, ASYNC = "inline", "async"
MODES = (INLINE, ASYNC)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts and the delay before each retry: ``min(cap_s, base_s * factor ** (n - 1))`` after the
    ``n``-th failed attempt. Jitter (off by default, so that tests and replays are deterministic)
    spreads retries of many instances that failed together over ``[delay / 2, delay]``."""

    max_attempts: int = 1
    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 300.0
    jitter: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.factor < 1 or self.cap_s < 0:
            raise ValueError("backoff needs base_s >= 0, factor >= 1 and cap_s >= 0")

    def delay_s(self, failed_attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the ``failed_attempt``-th attempt (1-based) failed."""
        delay = min(self.cap_s, self.base_s * self.factor ** max(failed_attempt - 1, 0))
        if self.jitter:
            delay *= 0.5 + rng() / 2
        return delay


@dataclass(frozen=True)
class HandlerPolicy:
    mode: str = INLINE
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"A handler's mode is one of {', '.join(MODES)}, not {self.mode!r}.")


@dataclass(frozen=True)
class Handler:
    name: str
    func: Callable[..., Any]
    input_schema: Schema | None = None
    output_schema: Schema | None = None
    policy: HandlerPolicy = field(default_factory=HandlerPolicy)


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
        mode: str = INLINE,
        retry: RetryPolicy | Mapping[str, Any] | None = None,
    ) -> Handler:
        """Register ``func`` as ``name``; ``retry`` is a :class:`RetryPolicy` or its fields as a
        mapping (so that ``handlers/`` can declare policies without importing the engine)."""
        if name in self._handlers:
            raise ValueError(f"A handler named {name!r} is already registered.")
        if retry is None:
            retry_policy = RetryPolicy()
        elif isinstance(retry, RetryPolicy):
            retry_policy = retry
        else:
            retry_policy = RetryPolicy(**dict(retry))
        handler = Handler(name, func, input_schema, output_schema, HandlerPolicy(mode, retry_policy))
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

    def policy(self, name: str) -> HandlerPolicy:
        return self.get(name).policy

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
