"""Exceptions raised by :mod:`engine.calendars`.

They all derive from :class:`CalendarError` so the engine can catch "anything the calendar layer
refused" in one place (a timer with a bad deadline must fail the deploy, not crash the worker), and
from the matching builtin (``ValueError``/``KeyError``) so generic callers keep working.
"""

from __future__ import annotations

from collections.abc import Iterable


class CalendarError(Exception):
    """Base class of every error raised by the calendar layer."""


class DurationError(CalendarError, ValueError):
    """An ISO 8601 duration that is malformed or has no meaning on the chosen calendar."""


class NaiveDatetimeError(CalendarError, ValueError):
    """A naive datetime reached the calendar.

    Deadlines are legal facts ("5 días hábiles from the notification"); guessing the zone of a naive
    value would silently move them by hours, so naive input is always refused.
    """


class CalendarConfigError(CalendarError, ValueError):
    """The calendars file (or mapping) is invalid.

    ``path`` is the dotted location of the offending key (``calendars.habil.hours.mon``) so the
    person editing ``bpmn/calendars.yaml`` can find it without reading a traceback.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class UnknownCalendarError(CalendarError, KeyError):
    """A diagram names a calendar that is not configured; the message lists the known ones."""

    def __init__(self, name: object, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would print only repr(name)
        known = ", ".join(self.known) or "(none)"
        return f"unknown calendar {self.name!r}; known calendars: {known}"
