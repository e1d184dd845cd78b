"""Named calendars loaded from ``bpmn/calendars.yaml`` and the registry timers look them up in.

The file lives next to the diagrams because process owners maintain both: when a ministry
decrees a non-working day, they add one line here, not a code change. Validation is strict
(unknown keys are errors) and every error names the dotted path of the bad key, because a typo
such as ``holiday:`` silently ignored would move legal deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ._base import Calendar
from ._business import BusinessCalendar
from ._errors import CalendarConfigError, CalendarError, UnknownCalendarError
from ._hours import WEEKDAYS, OfficeHours, parse_range
from ._natural import NaturalCalendar
from ._nonworking import ExtraDay

DEFAULT_CALENDARS_PATH = Path(__file__).resolve().parents[2] / "bpmn" / "calendars.yaml"
DEFAULT_CALENDAR = "natural"

_TOP_KEYS = {"version", "default", "calendars"}
_COMMON_KEYS = {"kind", "timezone", "description"}
_BUSINESS_KEYS = _COMMON_KEYS | {"hours", "holidays", "subdiv", "non_working"}


class CalendarRegistry:
    """Calendars by name. ``get(None)`` returns the default (``natural``, as the conventions say).

    Not a ``Mapping``: ``Mapping.get`` returns ``None`` for a missing key, whereas an unknown
    calendar in a diagram must fail loudly with the list of valid names.
    """

    def __init__(self, calendars: Iterable[Calendar], default: str = DEFAULT_CALENDAR) -> None:
        self._calendars: dict[str, Calendar] = {}
        for calendar in calendars:
            if calendar.name in self._calendars:
                raise CalendarError(f"duplicate calendar name {calendar.name!r}")
            self._calendars[calendar.name] = calendar
        if default not in self._calendars:
            raise UnknownCalendarError(default, self._calendars)
        self.default = default

    def get(self, name: str | None = None) -> Calendar:
        """The calendar called ``name`` (the default when ``None``/empty); unknown names raise."""
        if name is None or name == "":
            name = self.default
        try:
            return self._calendars[name]
        except (KeyError, TypeError):
            raise UnknownCalendarError(name, self._calendars) from None

    __getitem__ = get

    def names(self) -> tuple[str, ...]:
        """Configured names, in file order."""
        return tuple(self._calendars)

    def __contains__(self, name: object) -> bool:
        return name in self._calendars

    def __iter__(self) -> Iterator[str]:
        return iter(self._calendars)

    def __len__(self) -> int:
        return len(self._calendars)

    def __repr__(self) -> str:
        return f"<CalendarRegistry {list(self._calendars)} default={self.default!r}>"

    @classmethod
    def from_mapping(cls, data: Any, source: str = "") -> CalendarRegistry:
        """Validate a parsed calendars document (see ``bpmn/calendars.yaml``) and build it."""
        prefix = f"{source}: " if source else ""
        try:
            return _build(data)
        except CalendarConfigError as exc:
            if not prefix:
                raise
            location = f"{source}:{exc.path}" if exc.path else source
            raise CalendarConfigError(location, exc.message) from None

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_CALENDARS_PATH) -> CalendarRegistry:
        """Read and validate a calendars YAML file."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CalendarConfigError(str(file), f"cannot read calendars file: {exc}") from exc
        try:
            data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise CalendarConfigError(str(file), f"invalid YAML: {exc}") from exc
        return cls.from_mapping(data, source=str(file))


def load_calendars(path: str | Path = DEFAULT_CALENDARS_PATH) -> CalendarRegistry:
    """Load the registry from ``path`` (default: the repository's ``bpmn/calendars.yaml``)."""
    return CalendarRegistry.from_yaml(path)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (YAML would silently keep the last one)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _fail(path: str, message: str) -> CalendarConfigError:
    return CalendarConfigError(path, message)


def _mapping(value: Any, path: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"expected a mapping, got {type(value).__name__}")
    return value


def _check_keys(value: Mapping[Any, Any], allowed: set[str], path: str) -> None:
    for key in value:
        if key not in allowed:
            raise _fail(f"{path}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _build(data: Any) -> CalendarRegistry:
    top = _mapping(data, "")
    _check_keys(top, _TOP_KEYS, "")
    if top.get("version", 1) != 1:
        raise _fail("version", f"unsupported version {top.get('version')!r} (expected 1)")
    if "calendars" not in top:
        raise _fail("calendars", "missing")
    entries = _mapping(top["calendars"], "calendars")
    if not entries:
        raise _fail("calendars", "no calendars defined")
    calendars = [_calendar(str(name), spec, f"calendars.{name}") for name, spec in entries.items()]
    default = top.get("default", DEFAULT_CALENDAR)
    if not isinstance(default, str) or default not in {str(name) for name in entries}:
        known = ", ".join(str(name) for name in entries)
        raise _fail("default", f"{default!r} is not a defined calendar (known: {known})")
    return CalendarRegistry(calendars, default=default)


def _calendar(name: str, spec: Any, path: str) -> Calendar:
    if not name.strip():
        raise _fail(path, "a calendar needs a non-empty name")
    spec = _mapping(spec, path)
    kind = spec.get("kind")
    if kind not in ("natural", "business"):
        raise _fail(f"{path}.kind", f"must be 'natural' or 'business', got {kind!r}")
    _check_keys(spec, _COMMON_KEYS if kind == "natural" else _BUSINESS_KEYS, path)
    timezone = spec.get("timezone")
    if timezone is not None and not isinstance(timezone, str):
        raise _fail(f"{path}.timezone", f"expected a zone name, got {timezone!r}")
    try:
        if kind == "natural":
            return NaturalCalendar(name, timezone=timezone)
        return BusinessCalendar(
            name,
            timezone=timezone,
            office_hours=_hours(spec.get("hours"), f"{path}.hours"),
            country=_country(spec.get("holidays", "MX"), f"{path}.holidays"),
            subdiv=spec.get("subdiv"),
            extra_non_working=_extra(spec.get("non_working", []), f"{path}.non_working"),
        )
    except CalendarConfigError:
        raise
    except CalendarError as exc:  # unknown time zone
        raise _fail(f"{path}.timezone", str(exc)) from exc
    except (NotImplementedError, KeyError) as exc:  # the holidays package refused country/subdiv
        raise _fail(f"{path}.holidays", f"unsupported country/subdivision: {exc}") from exc


def _hours(value: Any, path: str) -> OfficeHours:
    if value is None:
        raise _fail(path, "missing (e.g. {'mon-fri': '09:00-17:00'} or 'always')")
    if value == "always":
        return OfficeHours.always()
    days: dict[int, list[str]] = {}
    for key, ranges in _mapping(value, path).items():
        for index in _weekday_keys(key, f"{path}.{key}"):
            if index in days:
                raise _fail(f"{path}.{key}", f"{WEEKDAYS[index]} is given more than once")
            days[index] = _ranges(ranges, f"{path}.{key}")
    try:
        return OfficeHours.from_mapping(days)
    except (ValueError, TypeError) as exc:
        raise _fail(path, str(exc)) from exc


def _weekday_keys(key: Any, path: str) -> list[int]:
    text = str(key).strip().lower()
    bounds = text.split("-")
    if len(bounds) > 2 or any(bound not in WEEKDAYS for bound in bounds):
        raise _fail(path, f"not a weekday or range of weekdays ({', '.join(WEEKDAYS)}; 'mon-fri')")
    first, last = WEEKDAYS.index(bounds[0]), WEEKDAYS.index(bounds[-1])
    if last < first:
        raise _fail(path, "weekday range must go forward (e.g. 'mon-fri')")
    return list(range(first, last + 1))


def _ranges(value: Any, path: str) -> list[str]:
    if value is None or value == []:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _fail(path, f"expected 'HH:MM-HH:MM' or a list of them (quote them), got {value!r}")
    for item in items:
        try:
            parse_range(item)
        except (ValueError, TypeError) as exc:
            raise _fail(path, str(exc)) from exc
    return items


def _country(value: Any, path: str) -> str | None:
    if value is None or value is False or value == "none":
        return None
    if not isinstance(value, str):
        raise _fail(path, f"expected a country code such as 'MX' or 'none', got {value!r}")
    return value


def _extra(value: Any, path: str) -> list[ExtraDay]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, "expected a list of dates ('MM-DD' or 'YYYY-MM-DD')")
    result = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        name = ""
        if isinstance(item, Mapping):
            _check_keys(item, {"date", "name"}, item_path)
            name = str(item.get("name") or "")
            item = item.get("date")
            item_path += ".date"
        try:
            if isinstance(item, date):  # YAML turns unquoted 2026-04-02 into a date
                result.append(ExtraDay.of(item, name))
            elif isinstance(item, str):
                result.append(ExtraDay.parse(item, name))
            else:
                raise TypeError(f"expected 'MM-DD' or 'YYYY-MM-DD', got {item!r}")
        except (ValueError, TypeError) as exc:
            raise _fail(item_path, str(exc)) from exc
    return result
