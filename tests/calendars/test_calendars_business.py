"""Worked examples of días hábiles and office hours on the government calendar.

The examples are checked both on a calendar built in code (Mon–Fri 09:00–17:00, official MX
holidays, 5 May) and on the ``habil`` calendar shipped in ``bpmn/calendars.yaml``, so an edit of
the file that breaks a legal deadline fails here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.calendars import (
    BusinessCalendar,
    DurationError,
    NaiveDatetimeError,
    OfficeHours,
    load_calendars,
)

MX = ZoneInfo("America/Mexico_City")


def mx(*args: int) -> datetime:
    return datetime(*args, tzinfo=MX)


def code_habil() -> BusinessCalendar:
    return BusinessCalendar("habil", extra_non_working=["05-05"])


@pytest.fixture(params=["code", "yaml"])
def habil(request: pytest.FixtureRequest) -> BusinessCalendar:
    if request.param == "code":
        return code_habil()
    calendar = load_calendars().get("habil")
    assert isinstance(calendar, BusinessCalendar)
    return calendar


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # Friday before Revolution Day (observed Monday 16 Nov 2026): 17, 18, 19, 20, 23.
        (mx(2026, 11, 13, 10, 0), "P5D", mx(2026, 11, 23, 10, 0)),
        # Same request arriving after closing on Friday counts from Tuesday 17 (Monday is off).
        (mx(2026, 11, 13, 18, 0), "P5D", mx(2026, 11, 24, 9, 0)),
        # 16:30 + 1 working hour: 30 minutes today, 30 tomorrow.
        (mx(2026, 11, 12, 16, 30), "PT1H", mx(2026, 11, 13, 9, 30)),
        # Christmas Eve 16:30 + 1 hour: Friday 25 is Christmas, then the weekend.
        (mx(2026, 12, 24, 16, 30), "PT1H", mx(2026, 12, 28, 9, 30)),
        (mx(2026, 12, 24, 11, 0), "P1D", mx(2026, 12, 28, 11, 0)),
        # 5 May is not in the labour law but is a federal non-working day.
        (mx(2026, 5, 4, 12, 0), "P1D", mx(2026, 5, 6, 12, 0)),
        (mx(2026, 5, 5, 12, 0), "PT2H", mx(2026, 5, 6, 11, 0)),
        # 1 día hábil is not 24 working hours (that is three office days).
        (mx(2026, 6, 1, 10, 0), "P1D", mx(2026, 6, 2, 10, 0)),
        (mx(2026, 6, 1, 10, 0), "PT24H", mx(2026, 6, 4, 10, 0)),
        # Exactly a full office day ends at closing time, not next morning.
        (mx(2026, 6, 1, 9, 0), "PT8H", mx(2026, 6, 1, 17, 0)),
        # Saturday request: counts from Monday 09:00.
        (mx(2026, 6, 6, 11, 0), "P1D", mx(2026, 6, 9, 9, 0)),
        (mx(2026, 6, 6, 11, 0), "PT15M", mx(2026, 6, 8, 9, 15)),
        # Before opening: moved to 09:00 first.
        (mx(2026, 6, 1, 7, 0), "P1DT4H", mx(2026, 6, 2, 13, 0)),
        (mx(2026, 6, 1, 15, 0), "P1DT4H", mx(2026, 6, 3, 11, 0)),
        # A week is five working days.
        (mx(2026, 6, 3, 10, 0), "P1W", mx(2026, 6, 10, 10, 0)),
        (mx(2026, 11, 11, 10, 0), "P1W", mx(2026, 11, 19, 10, 0)),
    ],
)
def test_worked_examples(habil: BusinessCalendar, start: datetime, duration: str,
                         due: datetime) -> None:
    assert habil.add(start, duration) == due


def test_one_working_day_is_not_24_working_hours(habil: BusinessCalendar) -> None:
    start = mx(2026, 6, 1, 10, 0)
    one_day = habil.add(start, "P1D")
    assert one_day != habil.add(start, "PT24H")
    assert habil.working_time_between(start, one_day) == timedelta(hours=8)


def test_result_keeps_the_input_time_zone(habil: BusinessCalendar) -> None:
    start_utc = datetime(2026, 11, 12, 22, 30, tzinfo=UTC)  # 16:30 in Mexico City
    due = habil.add(start_utc, "PT1H")
    assert due.tzinfo is UTC
    assert due == mx(2026, 11, 13, 9, 30)
    assert habil.next_working_start(start_utc + timedelta(hours=1)).tzinfo is UTC


def test_zero_duration_returns_start(habil: BusinessCalendar) -> None:
    saturday = mx(2026, 6, 6, 11, 0)
    assert habil.add(saturday, "PT0S") is saturday


def test_queries(habil: BusinessCalendar) -> None:
    assert habil.is_working_time(mx(2026, 6, 1, 9, 0))
    assert habil.is_working_time(mx(2026, 6, 1, 16, 59))
    assert not habil.is_working_time(mx(2026, 6, 1, 17, 0))  # closing time is closed
    assert not habil.is_working_time(mx(2026, 11, 16, 12, 0))  # Revolution Day
    assert not habil.is_working_time(mx(2026, 5, 5, 12, 0))
    assert habil.next_working_start(mx(2026, 6, 1, 12, 0)) == mx(2026, 6, 1, 12, 0)
    assert habil.next_working_start(mx(2026, 6, 1, 17, 0)) == mx(2026, 6, 2, 9, 0)
    assert habil.next_working_start(mx(2026, 11, 13, 17, 0)) == mx(2026, 11, 17, 9, 0)
    assert habil.next_working_start(mx(2026, 12, 31, 18, 0)) == mx(2027, 1, 4, 9, 0)
    assert not habil.is_working_day(date(2026, 12, 25))
    assert habil.is_working_day(date(2026, 12, 24))
    assert habil.non_working_reason(date(2026, 11, 16)) == "Día de la Revolución"


def test_working_time_between(habil: BusinessCalendar) -> None:
    friday = mx(2026, 11, 13, 16, 0)
    tuesday = mx(2026, 11, 17, 10, 0)
    assert habil.working_time_between(friday, tuesday) == timedelta(hours=2)
    assert habil.working_time_between(tuesday, friday) == -timedelta(hours=2)
    assert habil.working_time_between(mx(2026, 6, 6), mx(2026, 6, 7, 23)) == timedelta(0)
    assert habil.working_time_between(mx(2026, 6, 1), mx(2026, 6, 8)) == timedelta(hours=40)


def test_months_and_years_are_rejected(habil: BusinessCalendar) -> None:
    with pytest.raises(DurationError, match="months and years are not defined.*'habil'"):
        habil.add(mx(2026, 6, 1, 10), "P1M")
    with pytest.raises(DurationError, match="natural"):
        habil.add(mx(2026, 6, 1, 10), "P1Y")


def test_naive_datetimes_are_rejected(habil: BusinessCalendar) -> None:
    naive = datetime(2026, 6, 1, 10)
    for call in (
        lambda: habil.add(naive, "P1D"),
        lambda: habil.is_working_time(naive),
        lambda: habil.next_working_start(naive),
        lambda: habil.working_time_between(naive, mx(2026, 6, 2)),
        lambda: habil.working_time_between(mx(2026, 6, 2), naive),
    ):
        with pytest.raises(NaiveDatetimeError, match="timezone-aware"):
            call()
    with pytest.raises(ValueError):
        habil.add(naive, "PT1H")


def shorter_friday() -> BusinessCalendar:
    """Mon–Thu 09:00–14:00 and 15:00–18:00 (lunch break), Friday 09:00–14:00."""
    hours = OfficeHours.from_mapping(
        {"mon": ["09:00-14:00", "15:00-18:00"], "tue": ["09:00-14:00", "15:00-18:00"],
         "wed": ["09:00-14:00", "15:00-18:00"], "thu": ["09:00-14:00", "15:00-18:00"],
         "fri": "09:00-14:00"}
    )
    return BusinessCalendar("corto", office_hours=hours, country=None)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # 16:00 Thursday + 1 day: Friday closes at 14:00, so the due time is Friday's close.
        (mx(2026, 6, 4, 16, 0), "P1D", mx(2026, 6, 5, 14, 0)),
        # ...and then 1 more hour continues on Monday.
        (mx(2026, 6, 4, 16, 0), "P1DT1H", mx(2026, 6, 8, 10, 0)),
        # The lunch break is not working time.
        (mx(2026, 6, 1, 13, 30), "PT1H", mx(2026, 6, 1, 15, 30)),
        (mx(2026, 6, 1, 14, 30), "PT30M", mx(2026, 6, 1, 15, 30)),
        # Same clock time falling in the lunch break on the target day is still that day.
        (mx(2026, 6, 5, 13, 0), "P1D", mx(2026, 6, 8, 13, 0)),
        # A week on a 5-weekday schedule is 5 working days.
        (mx(2026, 6, 1, 10, 0), "P1W", mx(2026, 6, 8, 10, 0)),
    ],
)
def test_uneven_office_hours(start: datetime, duration: str, due: datetime) -> None:
    assert shorter_friday().add(start, duration) == due


def test_saturday_morning_office_makes_a_six_day_week() -> None:
    hours = OfficeHours.from_mapping({**{d: "09:00-17:00" for d in range(5)}, 5: "09:00-13:00"})
    calendar = BusinessCalendar("sabatino", office_hours=hours, country=None)
    assert calendar.office_hours.working_weekdays == 6
    assert calendar.add(mx(2026, 6, 1, 10), "P1W") == mx(2026, 6, 8, 10)
    assert calendar.add(mx(2026, 6, 5, 16), "P1D") == mx(2026, 6, 6, 13)


def test_dst_zone_office_hours_are_local_wall_clock() -> None:
    """Tijuana still observes DST; office hours follow the local clock across the change."""
    tijuana = ZoneInfo("America/Tijuana")
    calendar = BusinessCalendar("bc", timezone=tijuana, country=None)
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=tijuana)  # DST starts Sunday 8 March 2026
    assert calendar.add(friday, "PT2H") == datetime(2026, 3, 9, 10, 0, tzinfo=tijuana)
    assert calendar.add(friday, "P1D") == datetime(2026, 3, 9, 16, 0, tzinfo=tijuana)
    assert calendar.working_time_between(friday, datetime(2026, 3, 9, 10, tzinfo=tijuana)) == (
        timedelta(hours=2)
    )
