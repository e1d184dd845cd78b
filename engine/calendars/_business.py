"""Business calendars: office hours, official holidays and decreed non-working days.

Rules (they follow how Mexican administrative law counts "días hábiles"):

* **Days** count whole working days. ``add(start, "P1D")`` is the same office-clock time on the
  next working day, never "24 working hours" (which would be three office days). A start outside
  office hours is first moved to the next opening, so a request received Saturday counts from
  Monday 09:00.
* If that clock time is not within office hours on the target day (a shorter Friday, a lunch
  break), the due time is the next opening on that same day, or its closing time when the office
  has already closed: the deadline never spills into the following day.
* **Weeks** are as many working days as the schedule has working weekdays (5 for Monday–Friday,
  7 for 24x7), so ``P1W`` from a Wednesday is the next Wednesday unless a holiday intervenes.
* **Hours, minutes, seconds** count working time inside office hours. A duration that ends exactly
  at closing time answers the closing time (09:00 + ``PT8H`` = 17:00 the same day).
* **Months and years** are rejected: the law counts hábiles in days, and "one working month" has
  no agreed length.
* Office hours are local wall-clock times in the calendar's zone; working time is measured in real
  elapsed time, so an office day crossing a DST change is an hour longer or shorter. Wall times a
  DST change skips or repeats are resolved by ``zoneinfo`` with ``fold=0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ._base import Calendar, require_aware
from ._durations import Duration, DurationLike, parse_duration
from ._errors import CalendarError, DurationError
from ._hours import OfficeHours
from ._nonworking import ExtraDay, NonWorkingDays, extra_days

#: Searching further than this for a working day means the configuration is broken.
MAX_IDLE_DAYS = 400
_ONE_DAY = timedelta(days=1)
UtcInterval = tuple[datetime, datetime]


class BusinessCalendar(Calendar):
    """A calendar with office hours and non-working dates (see the module docstring for rules)."""

    def __init__(
        self,
        name: str = "habil",
        *,
        timezone: str | ZoneInfo | None = None,
        office_hours: OfficeHours | None = None,
        country: str | None = "MX",
        subdiv: str | None = None,
        extra_non_working: Iterable[date | ExtraDay | str] = (),
    ) -> None:
        """Build a calendar.

        ``office_hours`` defaults to Monday–Friday 09:00–17:00; ``country``/``subdiv`` choose the
        official holidays (``None`` for none); ``extra_non_working`` adds dates as ``date``,
        ``"MM-DD"`` (every year), ``"YYYY-MM-DD"`` or :class:`ExtraDay`.
        """
        super().__init__(name, timezone)
        self.office_hours = office_hours if office_hours is not None else OfficeHours.weekdays()
        self.non_working = NonWorkingDays(
            country=country, subdiv=subdiv, extra=extra_days(extra_non_working)
        )

    @classmethod
    def always_open(cls, name: str = "24x7", *, timezone: str | ZoneInfo | None = None,
                    country: str | None = None) -> BusinessCalendar:
        """Every hour of every day, holidays included unless ``country`` is given.

        It differs from the natural calendar only in refusing months/years, which keeps 24x7 SLAs
        stated in days and hours.
        """
        return cls(name, timezone=timezone, office_hours=OfficeHours.always(), country=country)

    # -- dates ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` has office hours and is not a holiday or configured closure."""
        if isinstance(day, datetime):
            day = self.local(day).date()
        return bool(self.office_hours.intervals(day.weekday())) and day not in self.non_working

    def non_working_reason(self, day: date) -> str | None:
        """Why the office is closed on ``day`` (holiday or decree name); ``None`` if it is open."""
        return self.non_working.reason(day)

    def _next_working_day(self, day: date) -> date:
        for _ in range(MAX_IDLE_DAYS):
            day += _ONE_DAY
            if self.is_working_day(day):
                return day
        raise CalendarError(f"calendar {self.name!r} has no working day after {day}")

    # -- intervals in UTC ------------------------------------------------------------------

    def _at(self, day: date, offset: timedelta) -> datetime:
        """The UTC instant of local wall time ``day`` + ``offset`` (offset may be 24:00)."""
        wall = datetime.combine(day, time()) + offset
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def _day_intervals(self, day: date) -> list[UtcInterval]:
        if not self.is_working_day(day):
            return []
        result = []
        for lo, hi in self.office_hours.intervals(day.weekday()):
            start, end = self._at(day, lo), self._at(day, hi)
            if end > start:  # an interval swallowed by a DST gap disappears
                result.append((start, end))
        return result

    def _intervals_from(self, instant: datetime) -> Iterator[UtcInterval]:
        """Working intervals that end after ``instant`` (UTC), in order, forever."""
        day = instant.astimezone(self.tz).date()
        idle = 0
        while True:
            intervals = self._day_intervals(day)
            idle = 0 if intervals else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise CalendarError(f"calendar {self.name!r} has no working time after {day}")
            for lo, hi in intervals:
                if hi > instant:
                    yield lo, hi
            day += _ONE_DAY

    # -- queries -------------------------------------------------------------------------

    def is_working_time(self, dt: datetime) -> bool:
        """True when ``dt`` is inside an office interval of a working day (end excluded)."""
        instant = require_aware(dt, "dt")
        day = instant.astimezone(self.tz).date()
        return any(lo <= instant < hi for lo, hi in self._day_intervals(day))

    def next_working_start(self, dt: datetime) -> datetime:
        """``dt`` if the office is open, else the next opening; in ``dt``'s time zone."""
        instant = require_aware(dt, "dt")
        return self._first_working(instant).astimezone(dt.tzinfo)

    def _first_working(self, instant: datetime) -> datetime:
        lo, _hi = next(self._intervals_from(instant))
        return max(lo, instant)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Office time elapsed from ``a`` to ``b`` (negative if ``b`` precedes ``a``)."""
        start, end = require_aware(a, "a"), require_aware(b, "b")
        if end < start:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            for lo, hi in self._day_intervals(day):
                overlap = min(hi, end) - max(lo, start)
                if overlap > timedelta(0):
                    total += overlap
            day += _ONE_DAY
        return total

    # -- arithmetic ----------------------------------------------------------------------

    def add(self, start: datetime, duration: DurationLike) -> datetime:
        """``start`` plus ``duration`` in working days/time; the result is in ``start``'s zone.

        Days (and weeks) are applied first, then the time part: ``P1DT4H`` is "same time next
        working day, then four more office hours". A zero duration returns ``start`` unchanged.
        """
        instant = require_aware(start, "start")
        parsed = parse_duration(duration)
        self._check_supported(parsed)
        if parsed.is_zero:
            return start
        days = parsed.days + parsed.weeks * self.office_hours.working_weekdays
        if days:
            instant = self._add_days(instant, days)
        if parsed.time:
            instant = self._add_time(instant, parsed.time)
        return instant.astimezone(start.tzinfo)

    def _check_supported(self, duration: Duration) -> None:
        if duration.years or duration.months:
            raise DurationError(
                f"{duration}: months and years are not defined on business calendar "
                f"{self.name!r}; state the deadline in working days (e.g. 'P20D') "
                f"or use the 'natural' calendar"
            )

    def _add_days(self, instant: datetime, days: int) -> datetime:
        """Same local clock time on the ``days``-th next working day (see module rules)."""
        opening = self._first_working(instant)
        local = opening.astimezone(self.tz)
        day = local.date()
        clock = local.replace(tzinfo=None) - datetime.combine(day, time())
        for _ in range(days):
            day = self._next_working_day(day)
        target = self._at(day, clock)
        intervals = self._day_intervals(day)
        for lo, hi in intervals:
            if target < hi:
                return max(lo, target)
        if not intervals:  # pragma: no cover - _next_working_day only returns working days
            raise CalendarError(f"calendar {self.name!r}: {day} has no office hours")
        return intervals[-1][1]

    def _add_time(self, instant: datetime, amount: timedelta) -> datetime:
        """Walk office intervals consuming ``amount`` of working time."""
        remaining = amount
        for lo, hi in self._intervals_from(instant):
            begin = max(lo, instant)
            available = hi - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover

    def describe(self) -> dict[str, object]:
        """A JSON-friendly summary (for the API's calendar listing)."""
        return {
            "name": self.name,
            "kind": "business",
            "timezone": self.tz.key,
            "hours": self.office_hours.describe(),
            "holidays": self.non_working.country,
            "extra_non_working": [
                (f"{e.year:04d}-" if e.year else "") + f"{e.month:02d}-{e.day:02d}"
                for e in self.non_working.extra
            ],
        }
