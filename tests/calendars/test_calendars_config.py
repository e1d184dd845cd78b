"""Loading ``bpmn/calendars.yaml``, validation messages and the registry."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.calendars import (
    DEFAULT_CALENDARS_PATH,
    BusinessCalendar,
    CalendarConfigError,
    CalendarRegistry,
    NaturalCalendar,
    UnknownCalendarError,
    load_calendars,
)

MX = ZoneInfo("America/Mexico_City")


def test_shipped_file_defines_the_three_calendars() -> None:
    registry = load_calendars()
    assert DEFAULT_CALENDARS_PATH.name == "calendars.yaml"
    assert registry.names() == ("natural", "habil", "24x7")
    assert isinstance(registry.get("natural"), NaturalCalendar)
    assert isinstance(registry.get(None), NaturalCalendar)  # timers without `calendar`
    habil = registry.get("habil")
    assert isinstance(habil, BusinessCalendar)
    assert habil.tz.key == "America/Mexico_City"
    for year in (2026, 2027, 2031):
        assert not habil.is_working_day(date(year, 5, 5)) or date(year, 5, 5).weekday() >= 5
        assert habil.non_working_reason(date(year, 5, 5))
    always = registry.get("24x7")
    assert always.is_working_time(datetime(2026, 12, 25, 3, tzinfo=MX))
    assert "habil" in registry and "nope" not in registry and len(registry) == 3
    assert list(registry) == ["natural", "habil", "24x7"]


def test_unknown_calendar_lists_known_names() -> None:
    registry = load_calendars()
    with pytest.raises(UnknownCalendarError) as info:
        registry.get("hábil")
    message = str(info.value)
    assert "'hábil'" in message and "24x7, habil, natural" in message
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownCalendarError):
        registry["nope"]


def base(**calendar: Any) -> dict[str, Any]:
    spec = {"kind": "business", "hours": {"mon-fri": "09:00-17:00"}, **calendar}
    return {"calendars": {"natural": {"kind": "natural"}, "x": spec}}


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        (base(holiday="MX"), "calendars.x.holiday", "unknown key"),
        (base(kind="habil"), "calendars.x.kind", "'natural' or 'business'"),
        (base(timezone="Mars/Olympus"), "calendars.x.timezone", "Mars/Olympus"),
        (base(hours={"mon-fri": "9-17"}), "calendars.x.hours.mon-fri", "HH:MM"),
        (base(hours={"monday": "09:00-17:00"}), "calendars.x.hours.monday", "weekday"),
        (base(hours={"fri-mon": "09:00-17:00"}), "calendars.x.hours.fri-mon", "forward"),
        (base(hours={"mon-fri": "17:00-09:00"}), "calendars.x.hours.mon-fri", "after the start"),
        (base(hours={"mon-fri": "09:00-17:00", "fri": "09:00-14:00"}), "calendars.x.hours.fri",
         "more than once"),
        (base(hours={"mon-fri": 1020}), "calendars.x.hours.mon-fri", "quote"),
        (base(hours={"sat": []}), "calendars.x.hours", "no working time"),
        (base(hours=None), "calendars.x.hours", "missing"),
        (base(holidays="ZZ"), "calendars.x.holidays", "unsupported"),
        (base(holidays=7), "calendars.x.holidays", "country code"),
        (base(non_working=["13-45"]), "calendars.x.non_working[0]", "valid date"),
        (base(non_working=[{"date": "2026-02-30"}]), "calendars.x.non_working[0].date",
         "valid date"),
        (base(non_working=[{"day": "05-05"}]), "calendars.x.non_working[0].day", "unknown key"),
        (base(non_working="05-05"), "calendars.x.non_working", "list"),
        ({"calendars": {"natural": {"kind": "natural", "hours": "always"}}},
         "calendars.natural.hours", "unknown key"),
        ({"calendars": {"x": {"kind": "natural"}}}, "default", "'natural' is not a defined"),
        ({"calendars": {}}, "calendars", "no calendars"),
        ({"calendar": {}}, ".calendar", "unknown key"),
        ({"version": 2, "calendars": {}}, "version", "unsupported"),
        ([], "", "mapping"),
        ({"calendars": {"x": "business"}}, "calendars.x", "mapping"),
    ],
)
def test_validation_errors_name_the_bad_key(data: Any, path: str, fragment: str) -> None:
    with pytest.raises(CalendarConfigError) as info:
        CalendarRegistry.from_mapping(data)
    assert info.value.path == path
    assert fragment in str(info.value)


def test_valid_mapping_with_lunch_break_and_dated_days() -> None:
    registry = CalendarRegistry.from_mapping(
        base(
            timezone="America/Tijuana",
            hours={"mon-thu": ["09:00-14:00", "15:00-18:00"], "fri": "09:00-14:00", "sat": None},
            holidays="none",
            non_working=[date(2026, 6, 3), "2026-06-04", {"date": "12-12", "name": "Guadalupe"}],
        )
    )
    calendar = registry.get("x")
    assert isinstance(calendar, BusinessCalendar)
    assert calendar.tz.key == "America/Tijuana"
    assert calendar.is_working_day(date(2026, 11, 16))  # holidays: none
    assert not calendar.is_working_day(date(2026, 6, 3))
    assert calendar.is_working_day(date(2027, 12, 13))
    assert calendar.non_working_reason(date(2030, 12, 12)) == "Guadalupe"
    assert calendar.office_hours.describe()["mon"] == ["09:00-14:00", "15:00-18:00"]


def test_yaml_file_errors_carry_the_file_name(tmp_path: Path) -> None:
    bad = tmp_path / "calendars.yaml"
    bad.write_text("calendars:\n  natural: {kind: natural}\n  natural: {kind: natural}\n")
    with pytest.raises(CalendarConfigError, match="duplicate key 'natural'"):
        load_calendars(bad)
    bad.write_text("calendars:\n  natural: {kind: natural}\n  x: {kind: business, hours: {}}\n")
    with pytest.raises(CalendarConfigError) as info:
        load_calendars(bad)
    assert info.value.path == f"{bad}:calendars.x.hours"
    bad.write_text("calendars: [\n")
    with pytest.raises(CalendarConfigError, match="invalid YAML"):
        load_calendars(bad)
    with pytest.raises(CalendarConfigError, match="cannot read"):
        load_calendars(tmp_path / "missing.yaml")


def test_unquoted_yaml_dates_are_accepted(tmp_path: Path) -> None:
    good = tmp_path / "calendars.yaml"
    good.write_text(
        "calendars:\n"
        "  natural: {kind: natural}\n"
        "  habil:\n"
        "    kind: business\n"
        "    hours: {mon-fri: '09:00-17:00'}\n"
        "    non_working: [2026-06-03]\n"
    )
    calendar = load_calendars(good).get("habil")
    assert not calendar.is_working_day(date(2026, 6, 3))
