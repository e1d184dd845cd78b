"""An in-memory ``handlers.files.Files`` for handler tests (the engine's store is tested apart)."""

from __future__ import annotations

import hashlib
from typing import Any

from handlers.files import file_id


class MemoryFiles:
    def __init__(self) -> None:
        self.content: dict[str, bytes] = {}
        self.names: dict[str, str] = {}

    def add(self, content: bytes, name: str = "archivo") -> dict[str, Any]:
        key = hashlib.sha256(content).hexdigest()
        self.content[key], self.names[key] = content, name
        return {"id": key, "name": name, "media_type": "application/octet-stream", "size_bytes": len(content)}

    def read(self, ref: Any) -> bytes:
        return self.content[file_id(ref)]

    def save(self, content: bytes, *, name: str) -> dict[str, Any]:
        return self.add(content, name)
