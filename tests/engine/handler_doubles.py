"""Handler doubles shared by engine tests."""

from __future__ import annotations


class FlakyStamp:
    """A folio-like handler that fails while ``broken`` and records every value it was called with."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.broken = True

    def __call__(self, value: str) -> str:
        self.calls.append(value)
        if self.broken:
            raise RuntimeError("folio service unreachable")
        return f"{value}-{len(self.calls):04d}"
