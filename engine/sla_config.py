"""SLA definitions: what is measured, against which target, and what happens at each threshold.

They are read from ``bpmn/slas.yaml`` (next to the diagrams and ``calendars.yaml``, because the
process owners who maintain the diagrams also agree the service levels), keyed by process key; a
diagram marks the user tasks that wait on the requester with the property ``slaPause``. The format
is documented in ``docs/sla.md`` and ``bpmn/CONVENTIONS.md``. Validation is strict and every error
names the process and the SLA, because a mistyped key would silently stop a legal deadline from
being watched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .calendars import CalendarRegistry, DurationError, parse_duration
from .models.sla import SLA_METRICS

DEFAULT_SLAS_PATH = Path(__file__).resolve().parent.parent / "bpmn" / "slas.yaml"
#: The user-task property that pauses the instance's SLA clocks while the task is ready.
PAUSE_PROPERTY = "slaPause"
ACTION_KINDS = ("notify", "reassign")

_SLA_KEYS = {"name", "metric", "scope", "element", "calendar", "level", "target", "target_hours_variable",
             "when", "start_after", "stop_at", "pause_while", "thresholds", "description"}


class SlaConfigError(ValueError):
    """``bpmn/slas.yaml`` (or a test's mapping) is not a valid SLA configuration."""


@dataclass(frozen=True)
class Action:
    """One thing done when a threshold is reached: ``notify`` (template, to) runs the ``notify``
    handler; ``reassign`` (role) hands a task-scoped clock's task to the next level's role."""

    kind: str
    params: dict[str, str]


@dataclass(frozen=True)
class Threshold:
    percent: int
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class SlaDefinition:
    """One SLA of one process (see ``docs/sla.md`` for each field)."""

    process_key: str
    name: str
    metric: str
    scope: str  # instance | task
    calendar: str
    thresholds: tuple[Threshold, ...]
    element: str | None = None  # task scope: the user task measured
    level_variable: str | None = None
    targets: dict[str, str] = field(default_factory=dict)  # level (or "*" for every level) -> duration
    target_hours_variable: str | None = None  # the target is this variable's number of hours
    when: dict[str, Any] = field(default_factory=dict)  # variable -> value the SLA applies to
    start_after: tuple[str, ...] = ()  # instance scope: elements whose completion starts the clock
    stop_at: tuple[str, ...] = ()  # instance scope: elements whose completion stops it
    pause_while: tuple[str, ...] = ()  # instance scope: user tasks during which it is paused

    def applies(self, data: Mapping[str, Any]) -> bool:
        """Whether the ``when`` conditions hold for the process data."""
        return all(data.get(name) == value for name, value in self.when.items())

    def target_for(self, data: Mapping[str, Any]) -> tuple[str | None, str] | None:
        """``(level, ISO duration)`` for the process data; None while the data does not say yet."""
        level = data.get(self.level_variable) if self.level_variable else None
        level_text = None if level is None else str(level)
        if self.target_hours_variable:
            hours = data.get(self.target_hours_variable)
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
                return None
            return level_text, f"PT{hours:g}H"
        if level_text is not None and level_text in self.targets:
            return level_text, self.targets[level_text]
        if "*" in self.targets:
            return level_text, self.targets["*"]
        return None

    def threshold(self, percent: int) -> Threshold | None:
        return next((t for t in self.thresholds if t.percent == percent), None)


class SlaCatalog:
    """Every SLA by process key, with the lookups the engine needs on each step."""

    def __init__(self, definitions: Iterable[SlaDefinition] = ()) -> None:
        self.by_process: dict[str, list[SlaDefinition]] = {}
        for definition in definitions:
            same = self.by_process.setdefault(definition.process_key, [])
            if any(d.name == definition.name for d in same):
                raise SlaConfigError(f"{definition.process_key}: two SLAs are named {definition.name!r}")
            same.append(definition)
        self._keys = frozenset(self.by_process)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_SLAS_PATH) -> SlaCatalog:
        file = Path(path)
        if not file.exists():
            return cls()
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SlaConfigError(f"{file}: invalid YAML: {exc}") from exc
        return cls.from_mapping(raw, source=str(file))

    @classmethod
    def from_mapping(cls, raw: Any, source: str = "slas") -> SlaCatalog:
        if raw is None:
            return cls()
        if not isinstance(raw, dict) or set(raw) - {"version", "slas"}:
            raise SlaConfigError(f"{source}: expected the keys 'version' and 'slas'")
        processes = raw.get("slas") or {}
        if not isinstance(processes, dict):
            raise SlaConfigError(f"{source}: 'slas' maps process keys to lists of SLAs")
        definitions = []
        for process_key, items in processes.items():
            if not isinstance(items, list):
                raise SlaConfigError(f"{source}: slas.{process_key} must be a list of SLAs")
            for index, item in enumerate(items):
                where = f"{source}: slas.{process_key}[{index}]"
                definitions.append(_definition(str(process_key), item, where))
        return cls(definitions)

    def __bool__(self) -> bool:
        return bool(self.by_process)

    def for_process(self, process_key: str) -> list[SlaDefinition]:
        return self.by_process.get(process_key, [])

    def process_keys(self) -> frozenset[str]:
        return self._keys

    def all(self) -> list[SlaDefinition]:
        return [d for items in self.by_process.values() for d in items]

    def check_calendars(self, registry: CalendarRegistry) -> None:
        """Every SLA names a calendar that exists (raises naming the process, SLA and element)."""
        for definition in self.all():
            if definition.calendar not in registry:
                raise SlaConfigError(
                    f"SLA {definition.name!r} of {definition.process_key} (element "
                    f"{definition.element or '-'}) names the unknown calendar {definition.calendar!r}; "
                    f"known: {', '.join(registry.names())}")
            calendar = registry.get(definition.calendar)
            for target in definition.targets.values():
                try:
                    calendar.add(_EPOCH, target)  # months on a business calendar are refused here
                except (DurationError, ValueError) as exc:
                    raise SlaConfigError(f"SLA {definition.name!r} of {definition.process_key}: {exc}") from exc


def _definition(process_key: str, item: Any, where: str) -> SlaDefinition:
    if not isinstance(item, dict):
        raise SlaConfigError(f"{where}: an SLA is a mapping")
    unknown = set(item) - _SLA_KEYS
    if unknown:
        raise SlaConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_SLA_KEYS)}")
    name = _text(item, "name", where)
    where = f"{where} ({name})"
    metric = _text(item, "metric", where)
    if metric not in SLA_METRICS:
        raise SlaConfigError(f"{where}: metric must be one of {', '.join(SLA_METRICS)}, not {metric!r}")
    element = item.get("element")
    scope = item.get("scope") or ("task" if element else "instance")
    if scope not in ("instance", "task"):
        raise SlaConfigError(f"{where}: scope must be 'instance' or 'task'")
    if scope == "task" and not element:
        raise SlaConfigError(f"{where}: a task SLA names its user task in 'element'")
    if scope == "task" and any(item.get(k) for k in ("start_after", "stop_at", "pause_while")):
        raise SlaConfigError(f"{where}: a task SLA runs while its task is ready; start_after, stop_at and "
                             "pause_while are for instance SLAs")
    targets, hours_variable = _targets(item, where)
    return SlaDefinition(
        process_key=process_key, name=name, metric=metric, scope=scope, element=element,
        calendar=_text(item, "calendar", where), level_variable=item.get("level"), targets=targets,
        target_hours_variable=hours_variable, when=dict(item.get("when") or {}),
        start_after=_ids(item.get("start_after"), where), stop_at=_ids(item.get("stop_at"), where),
        pause_while=_ids(item.get("pause_while"), where), thresholds=_thresholds(item.get("thresholds"), where),
    )


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SlaConfigError(f"{where}: '{key}' is required")
    return value.strip()


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise SlaConfigError(f"{where}: element ids are a string or a list of strings")
    return tuple(values)


def _targets(item: dict[str, Any], where: str) -> tuple[dict[str, str], str | None]:
    hours_variable = item.get("target_hours_variable")
    target = item.get("target")
    if hours_variable:
        if target is not None:
            raise SlaConfigError(f"{where}: give 'target' or 'target_hours_variable', not both")
        return {}, str(hours_variable)
    if isinstance(target, str):
        targets = {"*": target}
    elif isinstance(target, dict) and target:
        if not item.get("level"):
            raise SlaConfigError(f"{where}: targets by level need 'level', the variable holding the level")
        targets = {str(k): v for k, v in target.items()}
    else:
        raise SlaConfigError(f"{where}: 'target' is an ISO 8601 duration or a mapping level -> duration")
    for level, duration in targets.items():
        try:
            parse_duration(duration)
        except DurationError as exc:
            raise SlaConfigError(f"{where}: target of {level!r}: {exc}") from exc
    return targets, None


def _thresholds(value: Any, where: str) -> tuple[Threshold, ...]:
    if not isinstance(value, dict) or not value:
        raise SlaConfigError(f"{where}: 'thresholds' maps percents (e.g. 50, 75, 100) to lists of actions")
    result = []
    for percent, actions in value.items():
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
            raise SlaConfigError(f"{where}: threshold {percent!r} is not a percent between 1 and 100")
        result.append(Threshold(percent, tuple(_action(a, f"{where} at {percent} %") for a in actions or [])))
    if 100 not in value:
        result.append(Threshold(100))  # the breach is always recorded
    return tuple(sorted(result, key=lambda t: t.percent))


def _action(value: Any, where: str) -> Action:
    if not isinstance(value, dict) or len(value) != 1:
        raise SlaConfigError(f"{where}: an action is {{notify: {{template, to}}}} or {{reassign: {{role}}}}")
    (kind, params), = value.items()
    if kind not in ACTION_KINDS or not isinstance(params, dict):
        raise SlaConfigError(f"{where}: unknown action {kind!r}; use one of {', '.join(ACTION_KINDS)}")
    required = {"notify": {"template", "to"}, "reassign": {"role"}}[kind]
    if set(params) != required or not all(isinstance(v, str) and v for v in params.values()):
        raise SlaConfigError(f"{where}: {kind} takes exactly {sorted(required)} (strings)")
    return Action(kind, dict(params))


#: Any instant: checking a target against its calendar only needs one addition to succeed.
_EPOCH = datetime(2026, 1, 5, 9, tzinfo=UTC)

__all__ = ["ACTION_KINDS", "DEFAULT_SLAS_PATH", "PAUSE_PROPERTY", "Action", "SlaCatalog", "SlaConfigError",
           "SlaDefinition", "Threshold", "check_document"]


# -- deploy-time checks (called by engine/parsing.py) ----------------------------------------------

_CACHE: dict[str, tuple[float, Any]] = {}


def _cached(path: Path, load: Any) -> Any:
    """Load ``path`` once per modification time: a deploy of 58 diagrams reads each file once."""
    stamp = path.stat().st_mtime if path.exists() else -1.0
    key = str(path)
    hit = _CACHE.get(key)
    if hit is None or hit[0] != stamp:
        hit = (stamp, load(path))
        _CACHE[key] = hit
    return hit[1]


def check_document(xml: bytes | Any, process_key: str, *, calendars: CalendarRegistry | None = None,
                   catalog: SlaCatalog | None = None) -> None:
    """Refuse a diagram whose ``calendar`` properties, or whose SLAs in ``bpmn/slas.yaml``, name a
    calendar that does not exist or an element the diagram does not have; the error names the
    element, so the process owner knows what to fix before any instance runs into it.

    Called when a diagram is deployed, not when a stored one is parsed again: a later change of
    the configuration must not make running instances unloadable (their timers then fail on the
    element, and their SLAs are skipped with a log line)."""
    from lxml import etree

    from .calendars import load_calendars
    from .calendars._config import DEFAULT_CALENDARS_PATH
    from .errors import InvalidDefinition

    root = xml
    if isinstance(xml, bytes):
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))

    try:
        registry = calendars if calendars is not None else _cached(DEFAULT_CALENDARS_PATH, load_calendars)
        slas = catalog if catalog is not None else _cached(DEFAULT_SLAS_PATH, SlaCatalog.load)
    except ValueError as exc:  # SlaConfigError, CalendarConfigError
        raise InvalidDefinition(f"The calendars or SLAs configuration is not valid, so no diagram can be "
                                f"checked against it: {exc}", element_id=None) from exc
    spiff = "http://spiffworkflow.org/bpmn/schema/1.0/core"
    for prop in root.iter(f"{{{spiff}}}property"):
        if prop.get("name") != "calendar":
            continue
        owner = next((a for a in prop.iterancestors() if a.get("id") is not None), None)
        element_id = owner.get("id") if owner is not None else None
        name = (prop.get("value") or "").strip()
        if name and name not in registry:
            raise InvalidDefinition(
                f"Element {element_id!r} names the calendar {name!r}, which bpmn/calendars.yaml does not define "
                f"(known: {', '.join(registry.names())}).", element_id=element_id, calendar=name)
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    for definition in slas.for_process(process_key):
        referenced = [definition.element, *definition.start_after, *definition.stop_at, *definition.pause_while]
        for element_id in (e for e in referenced if e):
            if element_id not in ids:
                raise InvalidDefinition(
                    f"SLA {definition.name!r} in bpmn/slas.yaml names the element {element_id!r}, which this "
                    "diagram does not have.", element_id=element_id, sla=definition.name)
        if definition.calendar not in registry:
            raise InvalidDefinition(
                f"SLA {definition.name!r} in bpmn/slas.yaml names the calendar {definition.calendar!r}, which "
                f"bpmn/calendars.yaml does not define (known: {', '.join(registry.names())}).",
                element_id=definition.element, sla=definition.name, calendar=definition.calendar)
