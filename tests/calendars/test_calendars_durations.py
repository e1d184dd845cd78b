"""ISO 8601 duration parsing: what timers may write and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.calendars import Duration, DurationError, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P5D", Duration(days=5)),
        ("PT8H", Duration(time=timedelta(hours=8))),
        ("P1DT4H", Duration(days=1, time=timedelta(hours=4))),
        ("PT15M", Duration(time=timedelta(minutes=15))),
        ("P2W", Duration(weeks=2)),
        ("P1Y2M", Duration(years=1, months=2)),
        ("PT1.5H", Duration(time=timedelta(minutes=90))),
        ("PT0,5H", Duration(time=timedelta(minutes=30))),
        ("PT30S", Duration(time=timedelta(seconds=30))),
        ("p1dt2h", Duration(days=1, time=timedelta(hours=2))),
        ("  P3D ", Duration(days=3)),
        ("PT0S", Duration()),
    ],
)
def test_parses_valid_durations(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "5D", "P1DT", "P1H", "PT1D", "P-1D", "-P1D", "P1.5D", "P0.5W", "R/P1D"]
)
def test_rejects_invalid_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_fraction_in_days_message_suggests_hours() -> None:
    with pytest.raises(DurationError, match="whole number"):
        parse_duration("P1.5D")


@pytest.mark.parametrize("value", [timedelta(days=1), 5, None])
def test_rejects_non_strings(value: object) -> None:
    with pytest.raises(DurationError, match="ISO 8601 string"):
        parse_duration(value)  # type: ignore[arg-type]


def test_duration_passes_through() -> None:
    duration = Duration(days=2)
    assert parse_duration(duration) is duration


@pytest.mark.parametrize("text", ["P5D", "PT8H", "P1DT4H30M", "P1Y2M3W4D", "PT1.5S", "PT0S"])
def test_isoformat_round_trips(text: str) -> None:
    assert parse_duration(parse_duration(text).isoformat()) == parse_duration(text)
    assert str(parse_duration("PT90M")) == "PT1H30M"


def test_negative_components_are_refused() -> None:
    with pytest.raises(DurationError):
        Duration(days=-1)
    with pytest.raises(DurationError):
        Duration(time=timedelta(hours=-1))
