"""Stored files and the CURP producers' register (issue 5: the handlers' data)."""

from __future__ import annotations

from . import Base  # noqa: F401
