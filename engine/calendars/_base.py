"""The interface shared by every calendar, and the datetime checks they all need.

Timers, SLA reports and the API only ever talk to :class:`Calendar`, so a diagram can switch a
timer between ``natural``, ``habil`` and ``24x7`` without the engine caring which one it got.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._durations import DurationLike
from ._errors import CalendarError, NaiveDatetimeError

DEFAULT_TIMEZONE = "America/Mexico_City"


def resolve_timezone(value: str | ZoneInfo | None) -> ZoneInfo:
    """Return a ``ZoneInfo``; unknown names raise :class:`CalendarError` naming the zone."""
    if value is None:
        value = DEFAULT_TIMEZONE
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {value!r}") from exc


def require_aware(value: datetime, argument: str = "datetime") -> datetime:
    """Return ``value`` converted to UTC, refusing naive datetimes with a clear message.

    All internal arithmetic is done in UTC: subtracting two aware datetimes that share a tzinfo
    ignores their UTC offsets in Python, which would miscount elapsed time across a DST change.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{argument} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{argument} must be timezone-aware (got naive {value.isoformat()}); "
            f"attach a zone, e.g. value.replace(tzinfo=ZoneInfo({DEFAULT_TIMEZONE!r}))"
        )
    return value.astimezone(UTC)


class Calendar(ABC):
    """A way of measuring deadlines.

    Every method takes aware datetimes (naive ones raise :class:`NaiveDatetimeError`, a
    ``ValueError``) and returns datetimes in the **time zone of the argument** (``add(start, …)``
    answers in ``start.tzinfo``), so a caller working in UTC stays in UTC and one working in local
    time stays local. Elapsed time is always real (UTC) time.
    """

    def __init__(self, name: str, timezone: str | ZoneInfo | None = None) -> None:
        if not name or not isinstance(name, str):
            raise CalendarError("a calendar needs a non-empty name")
        self.name = name
        self.tz = resolve_timezone(timezone)

    @abstractmethod
    def add(self, start: datetime, duration: DurationLike) -> datetime:
        """The instant ``duration`` after ``start`` measured on this calendar."""

    @abstractmethod
    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b``; negative when ``b`` is before ``a``."""

    @abstractmethod
    def is_working_time(self, dt: datetime) -> bool:
        """True when ``dt`` falls inside working time."""

    @abstractmethod
    def next_working_start(self, dt: datetime) -> datetime:
        """``dt`` itself if it is working time, otherwise the next moment work resumes."""

    @abstractmethod
    def is_working_day(self, day: date) -> bool:
        """True when the (local) date has any working time."""

    def local(self, dt: datetime) -> datetime:
        """``dt`` expressed in the calendar's time zone (for display and day arithmetic)."""
        return require_aware(dt).astimezone(self.tz)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.tz.key}>"
