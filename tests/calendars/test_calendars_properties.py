"""Property-based checks of calendar arithmetic against brute-force oracles.

The oracles know nothing about intervals: they walk minute by minute (working time) or day by day
(working days) over naive Mexico City wall time, asking only "is this minute/date working?" from
the schedule and the ``holidays`` package. Mexico City has had no DST since October 2022, so naive
wall time equals elapsed time in the sampled range (2023-2030); a test below guards that.
DST behaviour is covered by the Tijuana properties, whose oracle walks in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.calendars import BusinessCalendar, NaturalCalendar, OfficeHours

MX = ZoneInfo("America/Mexico_City")
TIJUANA = ZoneInfo("America/Tijuana")
MINUTE = timedelta(minutes=1)

FAST = settings(
    max_examples=200,
    deadline=timedelta(milliseconds=1000),
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Schedule:
    """A schedule the oracle understands: weekday -> [(start minute, end minute)]."""

    name: str
    hours: tuple[tuple[tuple[int, int], ...], ...]
    country: str | None
    extra: tuple[tuple[int, int], ...]  # recurring (month, day)

    def calendar(self, timezone: ZoneInfo = MX) -> BusinessCalendar:
        office = OfficeHours(
            tuple(
                tuple((timedelta(minutes=a), timedelta(minutes=b)) for a, b in day)
                for day in self.hours
            )
        )
        return BusinessCalendar(
            self.name,
            timezone=timezone,
            office_hours=office,
            country=self.country,
            extra_non_working=[f"{m:02d}-{d:02d}" for m, d in self.extra],
        )


def _days(mon_fri: tuple[tuple[int, int], ...], fri: tuple[tuple[int, int], ...] | None = None):
    week = [mon_fri] * 5 + [(), ()]
    if fri is not None:
        week[4] = fri
    return tuple(week)


HABIL = Schedule("habil", _days(((540, 1020),)), "MX", ((5, 5),))
LUNCH = Schedule(
    "lunch", _days(((540, 840), (900, 1080)), fri=((540, 840),)), "MX", ((5, 5), (12, 12))
)
ALWAYS = Schedule("24x7", tuple(((0, 1440),) for _ in range(7)), None, ())
SCHEDULES = [HABIL, LUNCH, ALWAYS]
CALENDARS = {s.name: s.calendar() for s in SCHEDULES}


@cache
def _official(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


@cache
def working_date(schedule: Schedule, day: date) -> bool:
    if not schedule.hours[day.weekday()]:
        return False
    if schedule.country and day in _official(schedule.country, day.year):
        return False
    return (day.month, day.day) not in schedule.extra


def working_minute(schedule: Schedule, wall: datetime) -> bool:
    """Is the minute starting at naive local ``wall`` working time?"""
    if not working_date(schedule, wall.date()):
        return False
    minute = wall.hour * 60 + wall.minute
    return any(a <= minute < b for a, b in schedule.hours[wall.weekday()])


def brute_add_minutes(schedule: Schedule, wall: datetime, minutes: int) -> datetime:
    while minutes:
        if working_minute(schedule, wall):
            minutes -= 1
        wall += MINUTE
    return wall


def brute_add_days(schedule: Schedule, wall: datetime, days: int) -> datetime:
    while not working_minute(schedule, wall):  # move to the next opening
        wall += MINUTE
    day, clock = wall.date(), wall.time()
    while days:
        day += timedelta(days=1)
        if working_date(schedule, day):
            days -= 1
    target = datetime.combine(day, clock)
    end_of_day = datetime.combine(day, time()) + timedelta(days=1)
    last_close = None
    probe = datetime.combine(day, time())
    while probe < end_of_day:
        if working_minute(schedule, probe):
            if probe >= target:
                return max(probe, target)
            last_close = probe + MINUTE
        probe += MINUTE
    assert last_close is not None
    return last_close


def brute_minutes_between(schedule: Schedule, a: datetime, b: datetime) -> int:
    count, wall = 0, a
    while wall < b:
        count += working_minute(schedule, wall)
        wall += MINUTE
    return count


walls = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2030, 12, 15)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
schedules = st.sampled_from(SCHEDULES)


def as_duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"PT{hours}H{rest}M" if rest else f"PT{hours}H"


def test_mexico_city_has_no_dst_in_the_sampled_range() -> None:
    offsets = {datetime(2023, 1, 1, tzinfo=MX).utcoffset()}
    day = datetime(2023, 1, 1, 12)
    while day < datetime(2031, 1, 1):
        offsets.add(day.replace(tzinfo=MX).utcoffset())
        day += timedelta(days=7)
    assert offsets == {timedelta(hours=-6)}


@FAST
@given(schedule=schedules, wall=walls, minutes=st.integers(1, 24 * 60))
def test_add_hours_matches_minute_by_minute(schedule: Schedule, wall: datetime,
                                            minutes: int) -> None:
    result = CALENDARS[schedule.name].add(wall.replace(tzinfo=MX), as_duration(minutes))
    assert result == brute_add_minutes(schedule, wall, minutes).replace(tzinfo=MX)


@FAST
@given(schedule=schedules, wall=walls, days=st.integers(1, 30))
def test_add_days_matches_day_by_day(schedule: Schedule, wall: datetime, days: int) -> None:
    result = CALENDARS[schedule.name].add(wall.replace(tzinfo=MX), f"P{days}D")
    assert result == brute_add_days(schedule, wall, days).replace(tzinfo=MX)


@FAST
@given(schedule=schedules, wall=walls, minutes=st.integers(1, 200 * 60))
def test_working_time_between_inverts_add_inside_office_hours(
    schedule: Schedule, wall: datetime, minutes: int
) -> None:
    calendar = CALENDARS[schedule.name]
    start = calendar.next_working_start(wall.replace(tzinfo=MX))
    assert calendar.is_working_time(start)
    duration = timedelta(minutes=minutes)
    assert calendar.working_time_between(start, calendar.add(start, as_duration(minutes))) == (
        duration
    )


@FAST
@given(schedule=schedules, wall=walls, first=st.integers(0, 3000), second=st.integers(1, 3000))
def test_add_hours_is_additive_from_any_start(schedule: Schedule, wall: datetime, first: int,
                                              second: int) -> None:
    calendar = CALENDARS[schedule.name]
    start = wall.replace(tzinfo=MX)
    middle = calendar.add(start, as_duration(first))
    assert calendar.add(middle, as_duration(second)) == calendar.add(
        start, as_duration(first + second)
    )
    assert calendar.working_time_between(start, calendar.add(start, as_duration(second))) == (
        timedelta(minutes=second)
    )


@settings(FAST, max_examples=100)
@given(schedule=schedules, wall=walls, span=st.integers(0, 6 * 24 * 60))
def test_working_time_between_matches_minute_count(schedule: Schedule, wall: datetime,
                                                   span: int) -> None:
    end = wall + timedelta(minutes=span)
    measured = CALENDARS[schedule.name].working_time_between(
        wall.replace(tzinfo=MX), end.replace(tzinfo=MX)
    )
    assert measured == timedelta(minutes=brute_minutes_between(schedule, wall, end))


@FAST
@given(schedule=schedules, wall=walls)
def test_next_working_start_is_first_working_minute(schedule: Schedule, wall: datetime) -> None:
    calendar = CALENDARS[schedule.name]
    expected = wall
    while not working_minute(schedule, expected):
        expected += MINUTE
    assert calendar.next_working_start(wall.replace(tzinfo=MX)) == expected.replace(tzinfo=MX)
    assert calendar.is_working_time(wall.replace(tzinfo=MX)) == working_minute(schedule, wall)


# -- DST: Tijuana, oracle in UTC ----------------------------------------------------------------

tijuana_instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2029, 12, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(second=0, microsecond=0))
ALWAYS_TIJUANA = ALWAYS.calendar(TIJUANA)
HABIL_TIJUANA = Schedule("bc", HABIL.hours, None, ()).calendar(TIJUANA)


@FAST
@given(start=tijuana_instants, minutes=st.integers(1, 5 * 24 * 60), days=st.integers(0, 10))
def test_24x7_across_dst(start: datetime, minutes: int, days: int) -> None:
    natural = NaturalCalendar(timezone=TIJUANA)
    assert ALWAYS_TIJUANA.add(start, as_duration(minutes)) == start + timedelta(minutes=minutes)
    if days:
        wall = start.astimezone(TIJUANA).replace(tzinfo=None) + timedelta(days=days)
        expected = wall.replace(tzinfo=TIJUANA)
        assert ALWAYS_TIJUANA.add(start, f"P{days}D") == expected
        assert natural.add(start, f"P{days}D") == expected


def utc_working_minute(instant: datetime) -> bool:
    local = instant.astimezone(TIJUANA)
    return local.weekday() < 5 and 540 <= local.hour * 60 + local.minute < 1020


@settings(FAST, max_examples=100)
@given(start=tijuana_instants, minutes=st.integers(1, 16 * 60))
def test_business_hours_across_dst_match_utc_walk(start: datetime, minutes: int) -> None:
    expected, remaining = start, minutes
    while remaining:
        remaining -= utc_working_minute(expected)
        expected += MINUTE
    result = HABIL_TIJUANA.add(start, as_duration(minutes))
    assert result == expected
    assert result.tzinfo is UTC
