"""Weekly office hours: which wall-clock intervals of each weekday count as working time.

Intervals are stored as offsets from local midnight (``timedelta``) rather than ``datetime.time``
because a 24x7 calendar needs the end "24:00", which ``time`` cannot represent. Intervals are
half-open ``[start, end)``: at 17:00 a 09:00-17:00 office is closed, so a request arriving at
17:00 is handled from the next opening.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = timedelta(days=1)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")

Interval = tuple[timedelta, timedelta]
ClockLike = str | time | timedelta


def parse_clock(value: ClockLike) -> timedelta:
    """Turn ``"09:00"``, ``"24:00"``, a ``time`` or a ``timedelta`` into an offset from midnight.

    Raises ``ValueError`` (``TypeError`` for a non-time type) with the offending text; callers
    add the config path.
    """
    if isinstance(value, timedelta):
        offset = value
    elif isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(f"office hours are local wall-clock times, got aware {value!r}")
        offset = timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                           microseconds=value.microsecond)
    elif isinstance(value, str):
        match = _CLOCK.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a clock time HH:MM")
        hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        if minutes > 59 or seconds > 59:
            raise ValueError(f"{value!r} is not a clock time HH:MM")
        offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    else:
        raise TypeError(f"{value!r} is not a clock time HH:MM")
    if not timedelta(0) <= offset <= _DAY:
        raise ValueError(f"{value!r} is outside 00:00-24:00")
    return offset


def parse_range(text: str) -> Interval:
    """Parse ``"09:00-17:00"`` into an interval; the end must be after the start."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"{text!r} is not a range HH:MM-HH:MM")
    start_text, end_text = text.split("-")
    start, end = parse_clock(start_text), parse_clock(end_text)
    if end <= start:
        raise ValueError(f"{text!r}: the end must be after the start (ranges cannot cross midnight)")
    return start, end


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort and merge touching/overlapping intervals so lookups can assume disjoint ranges."""
    merged: list[list[timedelta]] = []
    for start, end in sorted(intervals):
        if end <= start:
            raise ValueError(f"empty or reversed interval {start}-{end}")
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


@dataclass(frozen=True)
class OfficeHours:
    """Working intervals for each weekday (index 0 = Monday, as ``date.weekday()``).

    Several intervals per day are allowed (an office closed for lunch); a weekday with no intervals
    is not a working day.
    """

    days: tuple[tuple[Interval, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("office hours need exactly 7 weekdays")
        object.__setattr__(self, "days", tuple(_normalise(day) for day in self.days))
        if not any(self.days):
            raise ValueError("office hours have no working time on any weekday")

    @classmethod
    def weekdays(cls, start: ClockLike = "09:00", end: ClockLike = "17:00") -> OfficeHours:
        """Monday to Friday, the same hours every day (the government's standard office)."""
        interval = (parse_clock(start), parse_clock(end))
        return cls(tuple((interval,) if i < 5 else () for i in range(7)))

    @classmethod
    def always(cls) -> OfficeHours:
        """Every hour of every day (24x7 services such as incident response)."""
        return cls(tuple(((timedelta(0), _DAY),) for _ in range(7)))

    @classmethod
    def from_mapping(cls, mapping: Mapping[int | str, Sequence[Interval] | str]) -> OfficeHours:
        """Build from ``{weekday: intervals}``; keys are 0-6 or ``mon``..``sun``.

        Values are a ``"HH:MM-HH:MM"`` string, a list of such strings, or ``(start, end)`` pairs.
        Missing weekdays are closed.
        """
        days: list[list[Interval]] = [[] for _ in range(7)]
        for key, value in mapping.items():
            index = WEEKDAYS.index(key.lower()) if isinstance(key, str) else int(key)
            ranges = [value] if isinstance(value, str) else list(value)
            for item in ranges:
                if isinstance(item, str):
                    days[index].append(parse_range(item))
                else:
                    start, end = item
                    days[index].append((parse_clock(start), parse_clock(end)))
        return cls(tuple(tuple(day) for day in days))

    def intervals(self, weekday: int) -> tuple[Interval, ...]:
        """The working intervals of a weekday (0 = Monday)."""
        return self.days[weekday]

    @property
    def working_weekdays(self) -> int:
        """How many weekdays have office hours; also the number of working days in a week."""
        return sum(1 for day in self.days if day)

    def describe(self) -> dict[str, list[str]]:
        """A readable ``{"mon": ["09:00-17:00"], …}`` view for APIs and logs."""
        return {
            WEEKDAYS[i]: [f"{_fmt(a)}-{_fmt(b)}" for a, b in day]
            for i, day in enumerate(self.days)
        }


def _fmt(offset: timedelta) -> str:
    """Format an offset as HH:MM (HH:MM:SS when it has seconds); 24:00 stays 24:00."""
    total = int(offset.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")
