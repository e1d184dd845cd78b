"""ISO 8601 durations as the diagrams write them (``"P5D"``, ``"PT8H"``, ``"P1DT4H"``).

The date part (years, months, weeks, days) and the time part (hours, minutes, seconds) are kept
apart instead of being folded into one ``timedelta``: on a business calendar "1 día hábil" is a
whole working day, not 24 (working) hours, so the two parts are added by different rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from ._errors import DurationError

_NUM = r"(\d+(?:[.,]\d+)?)"
_PATTERN = re.compile(
    rf"P(?!$)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
)
_DATE_FIELDS = ("years", "months", "weeks", "days")


@dataclass(frozen=True)
class Duration:
    """A parsed ISO 8601 duration.

    Date components are whole numbers because a fraction of a working day has no agreed meaning
    (is half a day 4 office hours, or until noon?). The time part may be fractional
    (``PT1.5H``) and is stored as an exact ``timedelta``.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    time: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        for name in _DATE_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DurationError(f"{name} must be a non-negative integer, got {value!r}")
        if self.time < timedelta(0):
            raise DurationError(f"the time part must not be negative, got {self.time!r}")

    @property
    def is_zero(self) -> bool:
        """True for ``PT0S`` and friends: adding it leaves the instant unchanged."""
        return not (self.years or self.months or self.weeks or self.days or self.time)

    @property
    def has_time_part(self) -> bool:
        """True when hours, minutes or seconds are present."""
        return bool(self.time)

    def isoformat(self) -> str:
        """Render back to a canonical ISO 8601 string (used in error messages and logs)."""
        date = "".join(
            f"{value}{unit}"
            for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"),
                                (self.days, "D"))
            if value
        )
        total = Decimal(self.time.days * 86400 + self.time.seconds) + (
            Decimal(self.time.microseconds) / 1_000_000
        )
        hours, rest = divmod(total, 3600)
        minutes, seconds = divmod(rest, 60)
        clock = "".join(
            f"{value.normalize():f}{unit}"
            for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
            if value
        )
        if not date and not clock:
            return "PT0S"
        return f"P{date}" + (f"T{clock}" if clock else "")

    def __str__(self) -> str:
        return self.isoformat()


DurationLike = str | Duration


def parse_duration(value: DurationLike) -> Duration:
    """Parse an ISO 8601 duration string; a :class:`Duration` is returned unchanged.

    Accepted: ``PnYnMnWnDTnHnMnS`` with any subset of components (at least one), the comma or the
    dot as decimal mark, fractions only in the time part. Rejected with :class:`DurationError`:
    empty strings, ``P``/``PT`` alone, negative durations, ``timedelta`` objects (they cannot say
    whether "1 day" meant a working day or 24 hours), and anything else.
    """
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise DurationError(
            f"a duration must be an ISO 8601 string such as 'P5D' or 'PT8H', "
            f"got {type(value).__name__} {value!r}"
        )
    text = value.strip().upper()
    if text.startswith("-"):
        raise DurationError(f"negative durations are not supported: {value!r}")
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise DurationError(
            f"not an ISO 8601 duration: {value!r} (expected e.g. 'P5D', 'PT8H', 'P1DT4H', 'PT15M')"
        )
    parts = [_number(group, value) for group in match.groups()]
    years, months, weeks, days, hours, minutes, seconds = parts
    date_parts = {"years": years, "months": months, "weeks": weeks, "days": days}
    for name, number in date_parts.items():
        if number != number.to_integral_value():
            raise DurationError(
                f"{value!r}: {name} must be a whole number; state fractions in hours (PT4H)"
            )
    total_seconds = hours * 3600 + minutes * 60 + seconds
    micro = (total_seconds * 1_000_000).to_integral_value()
    return Duration(
        years=int(years),
        months=int(months),
        weeks=int(weeks),
        days=int(days),
        time=timedelta(microseconds=int(micro)),
    )


def _number(group: str | None, original: str) -> Decimal:
    """Convert one regex group to Decimal (``None`` means the component was absent)."""
    if group is None:
        return Decimal(0)
    try:
        return Decimal(group.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the regex only lets digits through
        raise DurationError(f"bad number {group!r} in {original!r}") from exc
