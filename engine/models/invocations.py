"""Handler invocations, retries and incidents (issue 5: the mechanism)."""

from __future__ import annotations

from . import Base  # noqa: F401
