"""SLA arithmetic on calendars: due and threshold times, "1 día hábil" vs 24 working hours, pauses.

Local times are Mexico City (UTC-6 all year since 2022): 10:00 local is 16:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendars import load_calendars
from engine.sla_time import due_time, percent_reached, shift_for_pause, threshold_time

CALENDARS = load_calendars()
HABIL = CALENDARS.get("habil")
ALWAYS = CALENDARS.get("24x7")
MONDAY_10 = datetime(2026, 1, 12, 16, 0, tzinfo=UTC)  # Monday 12 January 2026, 10:00 local
FRIDAY_BEFORE_HOLIDAY = datetime(2026, 1, 30, 16, 0, tzinfo=UTC)  # Monday 2 February is a holiday


def _local(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour + 6, minute, tzinfo=UTC)


def test_one_working_day_is_the_next_working_day_not_24_working_hours() -> None:
    assert due_time(HABIL, MONDAY_10, "P1D") == _local(13, 10)  # Tuesday 10:00
    # 24 office hours are three office days: the trap other engines fall into.
    assert due_time(HABIL, MONDAY_10, "PT24H") == _local(15, 10)  # Thursday 10:00
    # Half of one working day is four office hours, not twelve.
    due = due_time(HABIL, MONDAY_10, "P1D")
    assert threshold_time(HABIL, MONDAY_10, due, 0, 50, MONDAY_10) == _local(12, 14)
    assert threshold_time(HABIL, MONDAY_10, due, 0, 75, MONDAY_10) == _local(12, 16)  # 6 office hours
    assert threshold_time(HABIL, MONDAY_10, due, 0, 100, MONDAY_10) == due


def test_five_working_days_from_friday_skip_the_holiday_monday() -> None:
    assert due_time(HABIL, FRIDAY_BEFORE_HOLIDAY, "P5D") == _local(9, 10, month=2)


def test_round_the_clock_thresholds_are_real_minutes() -> None:
    start = datetime(2026, 1, 11, 3, 7, tzinfo=UTC)  # a Sunday night: 24x7 does not care
    due = due_time(ALWAYS, start, "PT15M")
    assert due == start + timedelta(minutes=15)
    assert threshold_time(ALWAYS, start, due, 0, 50, start) == start + timedelta(minutes=7, seconds=30)
    assert threshold_time(ALWAYS, start, due, 0, 75, start) == start + timedelta(minutes=11, seconds=15)


def test_a_threshold_already_passed_is_due_now() -> None:
    due = due_time(ALWAYS, MONDAY_10, "PT1H")
    later = MONDAY_10 + timedelta(minutes=50)
    assert threshold_time(ALWAYS, MONDAY_10, due, 0, 75, later) == later


def test_a_pause_over_the_weekend_costs_nothing_and_a_weekday_pause_moves_the_due_time() -> None:
    due = due_time(HABIL, MONDAY_10, "P5D")  # Monday 19th, 10:00
    friday_17 = _local(16, 17)
    assert shift_for_pause(HABIL, due, friday_17, _local(19, 9)) == (due, 0)
    shifted, seconds = shift_for_pause(HABIL, due, _local(12, 12), _local(13, 12))  # Mon 12:00 to Tue 12:00
    assert seconds == 8 * 3600  # 5 h on Monday, 3 h on Tuesday
    assert shifted == _local(20, 10)  # one working day later
    # Half the budget after the pause: 20 office hours of work, plus the 8 paused ones.
    assert threshold_time(HABIL, MONDAY_10, shifted, seconds, 50, _local(13, 12)) == _local(15, 14)


@settings(max_examples=60, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20), timezones=st.just(UTC)),
       days=st.integers(min_value=1, max_value=27), hours=st.integers(min_value=0, max_value=16),
       calendar=st.sampled_from(["habil", "24x7", "natural"]))
def test_thresholds_are_ordered_and_reach_their_percent(start: datetime, days: int, hours: int, calendar: str) -> None:
    cal = CALENDARS.get(calendar)
    target = f"P{days}DT{hours}H" if hours else f"P{days}D"
    due = due_time(cal, start, target)
    times = [threshold_time(cal, start, due, 0, p, start) for p in (25, 50, 75, 100)]
    assert times == sorted(times) and times[-1] == due
    for percent, at in zip((25, 50, 75), times, strict=False):
        assert abs(percent_reached(cal, start, due, at, 0) - percent) < 1e-6
