"""Deadline calendars for cauce timers: ``natural``, ``habil`` (días hábiles) and ``24x7``.

A BPMN timer carries a ``calendar`` property (see ``bpmn/CONVENTIONS.md``); the engine resolves it
with :meth:`CalendarRegistry.get` and computes the due time with :meth:`Calendar.add`::

    registry = load_calendars()                    # bpmn/calendars.yaml
    due = registry.get("habil").add(received_at, "P5D")

All datetimes must be timezone-aware; results come back in the zone of the argument.
"""

from ._base import DEFAULT_TIMEZONE, Calendar
from ._business import BusinessCalendar
from ._config import (
    DEFAULT_CALENDAR,
    DEFAULT_CALENDARS_PATH,
    CalendarRegistry,
    load_calendars,
)
from ._durations import Duration, DurationLike, parse_duration
from ._errors import (
    CalendarConfigError,
    CalendarError,
    DurationError,
    NaiveDatetimeError,
    UnknownCalendarError,
)
from ._hours import OfficeHours
from ._natural import NaturalCalendar
from ._nonworking import ExtraDay, NonWorkingDays

__all__ = [
    "DEFAULT_CALENDAR",
    "DEFAULT_CALENDARS_PATH",
    "DEFAULT_TIMEZONE",
    "BusinessCalendar",
    "Calendar",
    "CalendarConfigError",
    "CalendarError",
    "CalendarRegistry",
    "Duration",
    "DurationError",
    "DurationLike",
    "ExtraDay",
    "NaiveDatetimeError",
    "NaturalCalendar",
    "NonWorkingDays",
    "OfficeHours",
    "UnknownCalendarError",
    "load_calendars",
    "parse_duration",
]
