"""Non-working dates: official holidays plus dates added by configuration.

The ``holidays`` package knows only the Ley Federal del Trabajo (art. 74) days, including the
"Monday" moves (Revolution Day 2026 is observed on Monday 16 November). Government offices also
close on dates that the law does not list: the federal calendar adds 5 May every year, and each
ministry decrees its own days (Holy Thursday/Friday, 2 November, year-end breaks) in the DOF or
the state's gazette. Those come from ``bpmn/calendars.yaml`` as recurring ``MM-DD`` or dated
``YYYY-MM-DD`` entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from threading import Lock

import holidays as holidays_lib


@dataclass(frozen=True)
class ExtraDay:
    """A configured non-working date.

    ``year`` is ``None`` for a date that repeats every year (5 May); ``name`` says why the office
    is closed, which is what a user asks when a deadline "jumps" a day.
    """

    month: int
    day: int
    year: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        # Validate with a leap year so 29 February is accepted as a recurring date.
        date(self.year or 2024, self.month, self.day)

    @classmethod
    def parse(cls, text: str, name: str = "") -> ExtraDay:
        """Parse ``"MM-DD"`` (every year) or ``"YYYY-MM-DD"`` (that date only)."""
        parts = str(text).strip().split("-")
        try:
            if len(parts) == 2:
                return cls(int(parts[0]), int(parts[1]), None, name)
            if len(parts) == 3 and len(parts[0]) == 4:
                return cls(int(parts[1]), int(parts[2]), int(parts[0]), name)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid date: {exc}") from exc
        raise ValueError(f"{text!r} is neither MM-DD (every year) nor YYYY-MM-DD")

    @classmethod
    def of(cls, value: date, name: str = "") -> ExtraDay:
        """A one-off non-working date."""
        return cls(value.month, value.day, value.year, name)

    def matches(self, day: date) -> bool:
        """True when ``day`` is this configured date."""
        return (
            day.month == self.month
            and day.day == self.day
            and (self.year is None or self.year == day.year)
        )


@dataclass
class NonWorkingDays:
    """Answers "is this date a holiday, and why?" for one calendar.

    ``country`` (and optional ``subdiv``) select official holidays from the ``holidays`` package;
    ``None`` disables them (a 24x7 service works on holidays). Official holidays are loaded lazily
    one year at a time and cached, because deadlines may reach any year.
    """

    country: str | None = "MX"
    subdiv: str | None = None
    extra: tuple[ExtraDay, ...] = ()
    language: str | None = "es"
    _cache: dict[int, dict[date, str]] = field(default_factory=dict, init=False, repr=False)
    _lock: Lock = field(default_factory=Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.extra = tuple(self.extra)
        if self.country is not None:
            # Fail at configuration time, not when the first timer fires.
            self._load(datetime.now(UTC).year)

    def _load(self, year: int) -> dict[date, str]:
        cached = self._cache.get(year)
        if cached is not None:
            return cached
        with self._lock:
            if year not in self._cache:
                official: dict[date, str] = {}
                if self.country is not None:
                    table = holidays_lib.country_holidays(
                        self.country, subdiv=self.subdiv, years=year, language=self.language
                    )
                    official = dict(table.items())
                self._cache[year] = official
            return self._cache[year]

    def reason(self, day: date) -> str | None:
        """Why ``day`` is non-working (holiday or configured name), or ``None`` if it is not."""
        official = self._load(day.year).get(day)
        if official is not None:
            return official
        for extra in self.extra:
            if extra.matches(day):
                return extra.name or "día inhábil"
        return None

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.reason(day) is not None

    def in_year(self, year: int) -> dict[date, str]:
        """All non-working dates of a year with their reasons (for a UI calendar view)."""
        result = dict(self._load(year))
        for extra in self.extra:
            if extra.year in (None, year):
                try:
                    when = date(year, extra.month, extra.day)
                except ValueError:  # 29 February in a common year
                    continue
                result.setdefault(when, extra.name or "día inhábil")
        return dict(sorted(result.items()))


def extra_days(values: Iterable[date | ExtraDay | str]) -> tuple[ExtraDay, ...]:
    """Coerce dates, ``"MM-DD"``/``"YYYY-MM-DD"`` strings and :class:`ExtraDay` into a tuple."""
    result: list[ExtraDay] = []
    for value in values:
        if isinstance(value, ExtraDay):
            result.append(value)
        elif isinstance(value, date):
            result.append(ExtraDay.of(value))
        else:
            result.append(ExtraDay.parse(value))
    return tuple(result)
