"""The declarative table of where each indicator reads its data (``kpi_sources.yaml``).

The table is data, not code, so that a process owner can see and change which form field,
service task, lane or status label an indicator comes from when a diagram changes. This module
only reads and checks it: a typo fails at load with the entry that holds it, instead of silently
producing an empty indicator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("kpi_sources.yaml")

SOURCE_KINDS = ("field", "result", "reached", "open_in_process", "status_label", "instance_status")
INDICATOR_KINDS = ("share", "ratio", "response_time", "resolution_time", "response_target", "sla_compliance",
                   "unavailable")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


class SourceTableError(ValueError):
    """The table is malformed; the message names the entry."""


@dataclass(frozen=True)
class Source:
    """One way to read a dimension's value from an instance's history (see the YAML's header)."""

    kind: str
    name: Any  # the field / element id / element ids / process map / status map, by kind
    process: str | None = None
    element: str | None = None
    key: str | None = None
    value: str | None = None
    map: dict[str, str] = field(default_factory=dict)
    only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Closing:
    process: str
    element: str


@dataclass(frozen=True)
class SupportLevel:
    level: str
    roles: frozenset[str]
    closes: tuple[Closing, ...]
    target: timedelta | None = None


@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    kind: str
    name: str
    source: str
    definitions: tuple[str, ...] = ()  # empty: every definition
    group_by: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    dimension: str | None = None
    numerator: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class SourceTable:
    dimensions: dict[str, tuple[Source, ...]]
    levels: tuple[SupportLevel, ...]
    indicators: tuple[IndicatorSpec, ...]


def parse_duration(text: str) -> timedelta:
    """``PT10M``, ``PT24H``: hours, minutes and seconds only, which is what response targets use."""
    match = _DURATION.match(text or "")
    if not match or not any(match.groups()):
        raise SourceTableError(f"target {text!r} is not an ISO 8601 duration of hours/minutes/seconds (e.g. PT10M)")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceTableError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _source(raw: Any, where: str) -> Source:
    if not isinstance(raw, dict):
        raise SourceTableError(f"{where}: a source is a mapping, got {raw!r}")
    kinds = [k for k in SOURCE_KINDS if k in raw]
    if len(kinds) != 1:
        raise SourceTableError(f"{where}: a source names exactly one of {', '.join(SOURCE_KINDS)}; got {sorted(raw)}")
    kind = kinds[0]
    allowed = {kind, "process", "element", "key", "value", "map", "only"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SourceTableError(f"{where}: unknown keys {unknown}")
    name = raw[kind]
    if kind in ("field", "result") and not isinstance(name, str):
        raise SourceTableError(f"{where}: {kind} names one variable or element id")
    if kind == "reached":
        name = _tuple(name, where)
        if not isinstance(raw.get("value"), str):
            raise SourceTableError(f"{where}: reached needs value: <label>")
    if kind in ("open_in_process", "instance_status") and not (
            isinstance(name, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in name.items())):
        raise SourceTableError(f"{where}: {kind} maps names to labels")
    mapping = raw.get("map") or {}
    if not isinstance(mapping, dict):
        raise SourceTableError(f"{where}: map must be a mapping of raw value to label")
    return Source(kind=kind, name=name, process=raw.get("process"), element=raw.get("element"), key=raw.get("key"),
                  value=raw.get("value"), map={str(k): str(v) for k, v in mapping.items()},
                  only=_tuple(raw.get("only"), where))


def _level(raw: Any, n: int) -> SupportLevel:
    where = f"support_levels[{n}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("level"), str):
        raise SourceTableError(f"{where}: needs level: <name>")
    closes = []
    for i, c in enumerate(raw.get("closes") or []):
        if not isinstance(c, dict) or not isinstance(c.get("process"), str) or not isinstance(c.get("element"), str):
            raise SourceTableError(f"{where}.closes[{i}]: needs process and element")
        closes.append(Closing(c["process"], c["element"]))
    target = parse_duration(str(raw["target"])) if raw.get("target") else None
    return SupportLevel(level=raw["level"], roles=frozenset(_tuple(raw.get("roles"), where)), closes=tuple(closes),
                        target=target)


def _indicator(raw: Any, n: int, dimensions: dict[str, tuple[Source, ...]]) -> IndicatorSpec:
    where = f"indicators[{n}]"
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("id", "kind", "name")):
        raise SourceTableError(f"{where}: needs id, kind and name")
    where = f"indicator {raw['id']!r}"
    if raw["kind"] not in INDICATOR_KINDS:
        raise SourceTableError(f"{where}: kind must be one of {', '.join(INDICATOR_KINDS)}")
    spec = IndicatorSpec(
        id=raw["id"], kind=raw["kind"], name=raw["name"], source=str(raw.get("source") or ""),
        definitions=_tuple(raw.get("definitions"), where), group_by=_tuple(raw.get("group_by"), where),
        by=_tuple(raw.get("by"), where), dimension=raw.get("dimension"), numerator=_tuple(raw.get("numerator"), where),
        reason=raw.get("reason"),
    )
    named = list(spec.group_by) + list(spec.by) + ([spec.dimension] if spec.dimension else [])
    missing = [d for d in named if d not in dimensions]
    if missing:
        raise SourceTableError(f"{where}: unknown dimensions {missing}; defined: {sorted(dimensions)}")
    if spec.kind == "share" and not spec.group_by:
        raise SourceTableError(f"{where}: a share needs group_by")
    if spec.kind == "ratio" and not (spec.dimension and spec.numerator):
        raise SourceTableError(f"{where}: a ratio needs dimension and numerator")
    if spec.kind == "unavailable" and not spec.reason:
        raise SourceTableError(f"{where}: say why it is unavailable (reason)")
    return spec


def load_table(path: Path = DEFAULT_PATH) -> SourceTable:
    """Read and check the table; raises :class:`SourceTableError` naming the bad entry."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise SourceTableError(f"{path.name}: expected a mapping at the top")
    dimensions = {}
    for name, sources in (doc.get("dimensions") or {}).items():
        if not isinstance(sources, list) or not sources:
            raise SourceTableError(f"dimension {name!r}: a non-empty list of sources")
        dimensions[str(name)] = tuple(_source(s, f"dimension {name!r}[{i}]") for i, s in enumerate(sources))
    levels = tuple(_level(raw, n) for n, raw in enumerate(doc.get("support_levels") or []))
    indicators = tuple(_indicator(raw, n, dimensions) for n, raw in enumerate(doc.get("indicators") or []))
    ids = [i.id for i in indicators]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise SourceTableError(f"indicator ids must be unique: {duplicated}")
    return SourceTable(dimensions=dimensions, levels=levels, indicators=indicators)
