"""Service-level agreements: the clocks kept per instance or task (issue 8)."""

from __future__ import annotations

from . import Base  # noqa: F401
