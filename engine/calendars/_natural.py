"""The natural calendar: plain wall-clock arithmetic, every instant is working time.

It is the default of the BPMN conventions (``calendar`` absent means ``natural``) and what the
federal protocols mean by "24 horas a partir de la notificación".

Date components are added to the **local wall clock** of the calendar's zone (``P1D`` is the same
clock time tomorrow even across a DST change; ``P1M`` from 31 January is the last day of February),
time components as **elapsed time** (``PT24H`` is exactly 24 real hours). This is the ISO 8601 /
``java.time`` reading and what people expect from "mañana a la misma hora" vs "en 24 horas".
"""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ._base import Calendar, require_aware
from ._durations import DurationLike, parse_duration


def add_months(wall: datetime, months: int) -> datetime:
    """Add calendar months to a naive wall time, clamping the day to the month's length."""
    index = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(wall.day, stdlib_calendar.monthrange(year, month)[1])
    return wall.replace(year=year, month=month, day=day)


class NaturalCalendar(Calendar):
    """Wall-clock time: no office hours, no holidays."""

    def __init__(self, name: str = "natural", *, timezone: str | ZoneInfo | None = None) -> None:
        """``timezone`` decides where "the same clock time tomorrow" is read."""
        super().__init__(name, timezone)

    def add(self, start: datetime, duration: DurationLike) -> datetime:
        """``start`` + ``duration``: Y/M/W/D on the local wall clock, then H/M/S elapsed.

        The result is in ``start``'s time zone; a zero duration returns ``start`` unchanged.
        """
        instant = require_aware(start, "start")
        parsed = parse_duration(duration)
        if parsed.is_zero:
            return start
        months = parsed.years * 12 + parsed.months
        days = parsed.weeks * 7 + parsed.days
        if months or days:
            wall = instant.astimezone(self.tz).replace(tzinfo=None, fold=0)
            if months:
                wall = add_months(wall, months)
            wall += timedelta(days=days)
            instant = wall.replace(tzinfo=self.tz).astimezone(UTC)
        instant += parsed.time
        return instant.astimezone(start.tzinfo)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Real elapsed time ``b - a`` (negative if ``b`` precedes ``a``)."""
        return require_aware(b, "b") - require_aware(a, "a")

    def is_working_time(self, dt: datetime) -> bool:
        """Always true (after checking ``dt`` is aware)."""
        require_aware(dt, "dt")
        return True

    def next_working_start(self, dt: datetime) -> datetime:
        """``dt`` itself: the natural calendar never closes."""
        require_aware(dt, "dt")
        return dt

    def is_working_day(self, day: date) -> bool:
        """Always true: every date counts on the natural calendar."""
        if isinstance(day, datetime):
            require_aware(day, "day")
        return True

    def describe(self) -> dict[str, object]:
        """A JSON-friendly summary (for the API's calendar listing)."""
        return {"name": self.name, "kind": "natural", "timezone": self.tz.key}
