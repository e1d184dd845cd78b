"""The one business-error type that handlers raise.

A business error is an expected outcome of the procedure (an expired certificate, an unreadable
layout sent by the requester) that a diagram handles with an error boundary event, as opposed to a
bug or an infrastructure failure. The engine maps it to the BPMN error whose code equals
:attr:`BusinessError.code`, so the code is part of the contract with the diagrams and must be a
stable ASCII identifier; the message is for people and is written in Spanish.
"""

from __future__ import annotations

from typing import Any


class BusinessError(Exception):
    """An expected, routable failure of a handler.

    Subclasses set ``code`` as a class attribute; it can also be given per instance.
    ``details`` carries the handler's partial result (JSON-serialisable) so that the process can
    still show what was found, e.g. the dates of a certificate that turned out to be expired.
    """

    code: str = "error_de_negocio"

    def __init__(
        self, message: str, *, code: str | None = None, details: Any | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    @property
    def bpmn_error_code(self) -> str:
        """The code of the BPMN error the engine throws for this outcome (see engine.business_errors)."""
        return self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class PermanentError(Exception):
    """A failure that trying again cannot fix: the data the handler was given is wrong (an
    authority's answer that cannot be read, an unknown source). The worker raises the incident at
    once instead of spending the retry policy's attempts and delays on it; a person fixes the data
    and retries or resolves the incident. Unlike :class:`BusinessError`, no diagram routes it."""

    retryable = False
