"""The KPI report: the indicators the documents name, computed from what the histories record.

Each indicator of ``kpi_sources.yaml`` becomes a list of rows ``(group, metric, value, unit)``:
the same shape for JSON and CSV, and for every kind of indicator. An indicator the diagrams cannot
answer is reported with ``available: false`` and its reason instead of a number.

Percentiles use the nearest-rank method (the value at rank ⌈p·n⌉ of the sorted sample), so every
reported time is one that a ticket actually took and can be checked by hand.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.models import Base, Definition

from .facts import InstanceFacts, by_definition, dimension_value, elements_named, load_facts, select_instances
from .sources import IndicatorSpec, SourceTable, SupportLevel, load_table

PERCENT, COUNT, SECONDS = "percent", "count", "s"
SLA_OPEN_STATES = ("on_track", "at_risk", "paused")
FACT_FREE = ("sla_compliance", "unavailable")  # kinds that read no task rows or events


@dataclass(frozen=True)
class Row:
    group: dict[str, str]
    metric: str
    value: float | int
    unit: str


@dataclass
class Indicator:
    id: str
    name: str
    kind: str
    source: str
    definitions: list[str]
    available: bool = True
    reason: str | None = None
    rows: list[Row] = field(default_factory=list)


@dataclass
class KpiReport:
    definition: str | None
    started_from: datetime | None
    started_to: datetime | None
    generated_at: datetime
    instances: int
    indicators: list[Indicator]


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sample."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _round(value: float) -> float:
    return round(value, 3)


def _time_rows(group: dict[str, str], samples: list[float]) -> list[Row]:
    rows = [Row(group, "count", len(samples), COUNT)]
    if samples:
        ordered = sorted(samples)
        rows += [Row(group, "mean", _round(sum(ordered) / len(ordered)), SECONDS)]
        rows += [Row(group, f"p{p}", _round(percentile(ordered, p)), SECONDS) for p in (50, 90, 95)]
    return rows


def _share_rows(counter: Counter[tuple[str, ...]], names: tuple[str, ...], total: int) -> list[Row]:
    rows = [Row({}, "instances", total, COUNT)]
    for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        group = dict(zip(names, key, strict=True))
        rows += [Row(group, "count", count, COUNT), Row(group, "percent", _round(100 * count / total), PERCENT)]
    return rows


def response_seconds(level: SupportLevel, facts: InstanceFacts) -> float | None:
    """From the moment the level first had a task of the ticket to its first completed task."""
    mine = [t for t in facts.tasks if t.roles & level.roles]
    done = [t.completed_at for t in mine if t.status == "completed" and t.completed_at is not None]
    if not mine or not done:
        return None
    return (min(done) - min(t.created_at for t in mine)).total_seconds()


def resolution(levels: Iterable[SupportLevel], facts: InstanceFacts) -> tuple[str, float] | None:
    """The level whose closing step completed first, and seconds from the start of the instance."""
    closings = {(c.process, c.element): level.level for level in levels for c in level.closes}
    for element in facts.elements:  # recorded order: the first closing is the resolution
        level = closings.get((element.process or "", element.element))
        if level is not None:
            return level, (element.at - facts.started_at).total_seconds()
    return None


class _Computer:
    """One method per indicator kind, over the facts of the instances the indicator counts
    (``ids``: the same selection as a query, for the indicators read straight from a table)."""

    def __init__(self, table: SourceTable, session: Session, ids: Any, selected: list[InstanceFacts]) -> None:
        self.table, self.session, self.ids, self.selected = table, session, ids, selected

    def dim(self, name: str, facts: InstanceFacts) -> str:
        return dimension_value(self.table.dimensions[name], facts)

    def share(self, spec: IndicatorSpec) -> list[Row]:
        counter = Counter(tuple(self.dim(d, f) for d in spec.group_by) for f in self.selected)
        return _share_rows(counter, spec.group_by, len(self.selected))

    def ratio(self, spec: IndicatorSpec) -> list[Row]:
        assert spec.dimension is not None
        values = Counter(self.dim(spec.dimension, f) for f in self.selected)
        hits = sum(n for value, n in values.items() if value in spec.numerator)
        rows = [Row({}, "instances", len(self.selected), COUNT), Row({}, "count", hits, COUNT)]
        if self.selected:
            rows.append(Row({}, "percent", _round(100 * hits / len(self.selected)), PERCENT))
        # The breakdown behind the ratio, so that a reader sees what the rest is.
        rows += [Row({spec.dimension: value}, "count", n, COUNT) for value, n in sorted(values.items())]
        return rows

    def _grouped_times(self, spec: IndicatorSpec, samples: list[tuple[str, InstanceFacts, float]]) -> list[Row]:
        rows = [Row({}, "instances", len(self.selected), COUNT)]
        for level in self.table.levels:
            mine = [(f, s) for name, f, s in samples if name == level.level]
            rows += _time_rows({"level": level.level}, [s for _, s in mine])
            for dim in spec.by:
                values: dict[str, list[float]] = {}
                for f, s in mine:
                    values.setdefault(self.dim(dim, f), []).append(s)
                for value in sorted(values):
                    rows += _time_rows({"level": level.level, dim: value}, values[value])
        return rows

    def response_time(self, spec: IndicatorSpec) -> list[Row]:
        samples = [(level.level, f, s) for f in self.selected for level in self.table.levels
                   if (s := response_seconds(level, f)) is not None]
        return self._grouped_times(spec, samples)

    def resolution_time(self, spec: IndicatorSpec) -> list[Row]:
        samples = [(r[0], f, r[1]) for f in self.selected if (r := resolution(self.table.levels, f)) is not None]
        return self._grouped_times(spec, samples)

    def response_target(self, spec: IndicatorSpec) -> list[Row]:
        rows = []
        for level in self.table.levels:
            if level.target is None:
                continue
            group = {"level": level.level}
            samples = [s for f in self.selected if (s := response_seconds(level, f)) is not None]
            met = sum(1 for s in samples if s <= level.target.total_seconds())
            rows += [Row(group, "target", level.target.total_seconds(), SECONDS),
                     Row(group, "count", len(samples), COUNT), Row(group, "within_target", met, COUNT)]
            if samples:
                rows.append(Row(group, "percent_within_target", _round(100 * met / len(samples)), PERCENT))
        return rows

    def sla_compliance(self, spec: IndicatorSpec, indicator: Indicator) -> list[Row]:
        clocks = Base.metadata.tables.get("sla_clocks")
        needed = {"instance_id", "definition_key", "sla_name", "metric", "level", "state"}
        if clocks is None or not needed <= set(clocks.c.keys()):
            indicator.available = False
            indicator.reason = ("The SLA clocks (table sla_clocks, issue 8) are not part of this installation, so no "
                                "SLA was measured.")
            return []
        c = clocks.c
        query = (select(c.metric, c.level, c.definition_key, c.sla_name, c.state, func.count())
                 .where(c.instance_id.in_(self.ids.scalar_subquery()))
                 .group_by(c.metric, c.level, c.definition_key, c.sla_name, c.state))
        groups: dict[tuple[tuple[str, str], ...], Counter[str]] = {}
        for metric, level, process, name, state, n in self.session.execute(query):
            keys = [(("metric", metric),), (("metric", metric), ("sla", f"{process}/{name}"))]
            if level is not None:
                keys.insert(1, (("metric", metric), ("level", str(level))))
            for key in keys:
                groups.setdefault(key, Counter())[str(state)] += n
        rows: list[Row] = []
        for key in sorted(groups, key=lambda k: (k[0][1], len(k), k)):
            rows += _sla_rows(dict(key), groups[key])
        return rows


def _sla_rows(group: dict[str, str], states: Counter[str]) -> list[Row]:
    met, breached = states["met"], states["breached"]
    rows = [Row(group, "met", met, COUNT), Row(group, "breached", breached, COUNT),
            Row(group, "open", sum(states[s] for s in SLA_OPEN_STATES), COUNT)]
    if met + breached:
        rows.append(Row(group, "percent_met", _round(100 * met / (met + breached)), PERCENT))
    return rows


def kpi_report(session: Session, *, clock_now: datetime, definition: str | None = None,
               started_from: datetime | None = None, started_to: datetime | None = None,
               table: SourceTable | None = None) -> KpiReport:
    """Compute every indicator of ``table`` (default: ``kpi_sources.yaml``) over the instances of
    ``definition`` (default: all) started in ``[started_from, started_to)``.

    With ``definition``, only the indicators that count that definition (and those that count
    every definition) are reported.
    """
    table = table or load_table()
    if definition is not None and session.scalar(select(func.count()).where(Definition.key == definition)) == 0:
        raise NotFound(f"No definition has the key {definition!r}.", key=definition)
    specs = [s for s in table.indicators if definition is None or not s.definitions or definition in s.definitions]
    # Facts (task rows, events) are loaded only for the definitions the fact-based indicators count:
    # the SLA indicator reads sla_clocks alone, and must not pull every instance's tasks with it.
    needs = [s for s in specs if s.kind not in FACT_FREE]
    wanted: set[str] | None
    if definition is not None:
        wanted = {definition}
    elif any(not s.definitions for s in needs):
        wanted = None
    else:
        wanted = {key for s in needs for key in s.definitions}
    facts = (load_facts(session, select_instances(wanted, started_from, started_to), elements_named(table))
             if needs and wanted != set() else {})
    in_period = select_instances({definition} if definition else None, started_from, started_to).subquery()
    instances = session.scalar(select(func.count()).select_from(in_period)) or 0
    grouped = by_definition(facts)
    indicators = []
    for spec in specs:
        keys = [definition] if definition is not None else list(spec.definitions)
        selected = ([f for k in keys for f in grouped.get(k, [])] if spec.definitions else list(facts.values()))
        indicator = Indicator(id=spec.id, name=spec.name, kind=spec.kind, source=spec.source,
                              definitions=list(spec.definitions))
        if spec.kind == "unavailable":
            indicator.available, indicator.reason = False, spec.reason
        else:
            spec_ids = select_instances(set(keys) if keys else None, started_from, started_to)
            computer = _Computer(table, session, spec_ids, selected)
            if spec.kind == "sla_compliance":
                indicator.rows = computer.sla_compliance(spec, indicator)
            else:
                indicator.rows = getattr(computer, spec.kind)(spec)
        indicators.append(indicator)
    return KpiReport(definition=definition, started_from=started_from, started_to=started_to,
                     generated_at=clock_now, instances=instances, indicators=indicators)

