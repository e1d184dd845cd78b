"""The natural (wall-clock) calendar and the 24x7 business calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.calendars import (
    BusinessCalendar,
    DurationError,
    NaiveDatetimeError,
    NaturalCalendar,
)

MX = ZoneInfo("America/Mexico_City")
TIJUANA = ZoneInfo("America/Tijuana")


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (datetime(2026, 11, 13, 10, tzinfo=MX), "P5D", datetime(2026, 11, 18, 10, tzinfo=MX)),
        (datetime(2026, 12, 24, 16, 30, tzinfo=MX), "PT1H",
         datetime(2026, 12, 24, 17, 30, tzinfo=MX)),
        (datetime(2026, 1, 31, 9, tzinfo=MX), "P1M", datetime(2026, 2, 28, 9, tzinfo=MX)),
        (datetime(2028, 2, 29, 9, tzinfo=MX), "P1Y", datetime(2029, 2, 28, 9, tzinfo=MX)),
        (datetime(2026, 3, 31, 9, tzinfo=MX), "P1Y1M1W1DT1H",
         datetime(2027, 5, 8, 10, tzinfo=MX)),  # 30 Apr (clamped) + 8 days
        (datetime(2026, 6, 1, 10, tzinfo=MX), "P2W", datetime(2026, 6, 15, 10, tzinfo=MX)),
    ],
)
def test_natural_examples(start: datetime, duration: str, due: datetime) -> None:
    assert NaturalCalendar().add(start, duration) == due


def test_natural_days_follow_the_wall_clock_hours_are_elapsed() -> None:
    """Across Tijuana's DST start, P1D keeps the clock time; PT24H is 24 real hours."""
    calendar = NaturalCalendar(timezone=TIJUANA)
    start = datetime(2026, 3, 7, 12, tzinfo=TIJUANA)
    assert calendar.add(start, "P1D") == datetime(2026, 3, 8, 12, tzinfo=TIJUANA)
    assert calendar.add(start, "PT24H") == datetime(2026, 3, 8, 13, tzinfo=TIJUANA)
    assert calendar.working_time_between(start, calendar.add(start, "P1D")) == timedelta(hours=23)


def test_natural_queries_and_time_zone() -> None:
    calendar = NaturalCalendar()
    start = datetime(2026, 12, 25, 3, tzinfo=UTC)
    assert calendar.is_working_time(start)
    assert calendar.is_working_day(date(2026, 12, 25))
    assert calendar.next_working_start(start) == start
    due = calendar.add(start, "P1D")
    assert due.tzinfo is UTC and due == datetime(2026, 12, 26, 3, tzinfo=UTC)
    assert calendar.working_time_between(due, start) == -timedelta(days=1)
    assert calendar.add(start, "PT0S") is start


def test_natural_rejects_naive() -> None:
    calendar = NaturalCalendar()
    with pytest.raises(NaiveDatetimeError):
        calendar.add(datetime(2026, 1, 1), "P1D")
    with pytest.raises(NaiveDatetimeError):
        calendar.is_working_time(datetime(2026, 1, 1))
    with pytest.raises(NaiveDatetimeError):
        calendar.working_time_between(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))


def test_24x7_counts_every_hour_including_holidays() -> None:
    calendar = BusinessCalendar.always_open()
    christmas_eve = datetime(2026, 12, 24, 23, tzinfo=MX)
    assert calendar.is_working_time(datetime(2026, 12, 25, 3, tzinfo=MX))
    assert calendar.is_working_day(date(2026, 12, 25))
    assert calendar.add(christmas_eve, "PT2H") == datetime(2026, 12, 25, 1, tzinfo=MX)
    assert calendar.add(christmas_eve, "P1D") == datetime(2026, 12, 25, 23, tzinfo=MX)
    assert calendar.add(christmas_eve, "P1W") == datetime(2026, 12, 31, 23, tzinfo=MX)
    assert calendar.working_time_between(christmas_eve, christmas_eve + timedelta(days=3)) == (
        timedelta(days=3)
    )
    assert calendar.next_working_start(christmas_eve) == christmas_eve


def test_24x7_across_dst_matches_natural() -> None:
    calendar = BusinessCalendar.always_open(timezone=TIJUANA)
    natural = NaturalCalendar(timezone=TIJUANA)
    for start in (datetime(2026, 3, 7, 12, tzinfo=TIJUANA), datetime(2026, 10, 31, 23, 30,
                                                                      tzinfo=TIJUANA)):
        for duration in ("P1D", "PT24H", "PT3H", "P2DT5H"):
            assert calendar.add(start, duration) == natural.add(start, duration)
        end = start + timedelta(days=3)
        assert calendar.working_time_between(start, end) == natural.working_time_between(
            start, end
        )


def test_24x7_rejects_months() -> None:
    with pytest.raises(DurationError, match="'24x7'"):
        BusinessCalendar.always_open().add(datetime(2026, 1, 1, tzinfo=MX), "P1M")
