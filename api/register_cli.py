"""``cauce register import FILE``: load the producers' register from the programme's CSV/XLSX.

The file is read as a CURP layout is (``handlers.curp_layout.read_layout``: CSV in UTF-8 or
cp1252 with any common delimiter, or XLSX; a title above the header is fine), so the register
and the layouts checked against it accept the same files. Rows whose CURP is not well formed are
not loaded and are listed by row number; the rest go in one transaction.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.bootstrap import build
from engine.settings import Settings
from handlers.curp import field_key, normalize_curp, validate_curp
from handlers.curp_layout import LayoutError, read_layout

#: How many rejected rows are listed one by one before the rest are only counted.
_SHOWN = 20
_NAME_PARTS = (("nombre_completo",), ("nombre", "nombres"), ("primer_apellido", "apellido_paterno"),
               ("segundo_apellido", "apellido_materno"))


def _name(cells: dict[str, str]) -> str | None:
    by_key = {field_key(k): v.strip() for k, v in cells.items() if v and v.strip()}
    if by_key.get("nombre_completo"):
        return by_key["nombre_completo"][:300]
    parts = [next((by_key[k] for k in keys if by_key.get(k)), "") for keys in _NAME_PARTS[1:]]
    return " ".join(p for p in parts if p)[:300] or None


def read_register(path: Path) -> tuple[dict[str, str | None], list[tuple[int, str]], int]:
    """``(CURP → name, rejected (row, reason), repeated rows)`` of a register file."""
    producers: dict[str, str | None] = {}
    rejected: list[tuple[int, str]] = []
    repeated = 0
    for row, raw, cells in read_layout(path):
        curp = normalize_curp(raw)
        checked = validate_curp(curp)
        if not checked["format_ok"]:
            rejected.append((row, f"{curp or '(vacía)'}: {'; '.join(checked['errors'])}"))
            continue
        repeated += curp in producers
        producers[curp] = _name(cells) or producers.get(curp)
    return producers, rejected, repeated


def import_register(settings: Settings, path: Path, *, replace: bool = False) -> int:
    """Load ``path`` into the register; prints the counts. Exit code 1 if the file cannot be read."""
    try:
        producers, rejected, repeated = read_register(path)
    except LayoutError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    for row, reason in rejected[:_SHOWN]:
        print(f"rejected   row {row}: {reason}", file=sys.stderr)
    if len(rejected) > _SHOWN:
        print(f"rejected   … and {len(rejected) - _SHOWN} more rows", file=sys.stderr)
    wiring = build(settings)
    try:
        report = wiring.register.load(producers, replace=replace)
    finally:
        wiring.db.dispose()
    print(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {report.removed} removed, "
          f"{len(rejected)} rejected, {repeated} repeated rows; the register has {report.total} CURPs")
    return 0
